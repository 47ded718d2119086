"""Seeded random input for the end-to-end tests.

Every generated record knows what its producer meant: a good record carries the id and the
*semantic* value (`data`, or None for a tombstone) that the oracle applies; a bad record carries
the word its dead letter's error sentence must mention. The wire bytes are rendered from the
semantic value with the tolerances of SPEC §1 picked at random (ids as JSON integers or strings,
numeric strings, camelCase names, RFC 3339 with offsets or epoch ms, keyless records, unknown
fields), so the oracle never has to parse the tolerant format itself.

Each id is always written to the same partition (chosen here, from the id), so the records of one
key keep their order, whether or not the record carries a key.
"""

from __future__ import annotations

import json
import random
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Optional

INPUT_TOPICS = ("orders", "customers", "products", "fx_rates")
INPUT_PARTITIONS = 3
# SPEC §1: inputs are compacted "or kept forever". A compacted topic refuses keyless records, so the
# topics that get keyless records here are kept forever instead; the others are compacted.
KEYLESS_TOPICS = ("orders", "fx_rates")

HOUR_MS = 3_600_000
# 2026-03-31T21:30:00Z: hours around it cross a day and a month boundary in UTC.
BASE_TS = int(datetime(2026, 3, 31, 21, 30, tzinfo=timezone.utc).timestamp()) * 1000

ORDER_IDS = [f"o-{i}" for i in range(1, 31)] + [str(i) for i in range(100, 112)]
CUSTOMER_IDS = [f"c-{i}" for i in range(1, 8)] + ["7", "8", "9"]
# Orders also name customers and products that never get a record: they stay `unknown`.
ORDER_CUSTOMER_IDS = CUSTOMER_IDS + ["c-99", "42"]
PRODUCT_IDS = [str(i) for i in range(1, 13)] + ["p-a", "p-b", "p-c"]
ORDER_PRODUCT_IDS = PRODUCT_IDS + ["p-zz", "77"]
FX_CURRENCIES = ["EUR", "GBP", "JPY"]
ORDER_CURRENCIES = [None, "USD", "EUR", "GBP", "JPY", "EUR", "GBP", "JPY"]

STATUSES = ["placed", "paid", "shipped", "delivered", "cancelled", "returned", "on-hold", None]
STATUS_WEIGHTS = [3, 3, 2, 2, 2, 1, 1, 3]
PAYMENT_METHODS = ["card", "paypal", "bank_transfer", "apple_pay", None]
GENDERS = ["F", "female", "FEMALE", "m", "Male", "nonbinary", "x", None]
COUNTRIES = ["DE", "US", "FR", "JP", "BR", None]
CATEGORIES = ["kitchen", "garden", "toys", "books", "Electronics", None]
OFFSETS = [timedelta(0), timedelta(hours=2), timedelta(hours=-5), timedelta(hours=5, minutes=30),
           timedelta(hours=-9, minutes=-30), timedelta(hours=14)]


@dataclass
class Rec:
    """One input record: where it goes, its bytes, and what it means."""

    topic: str  # unprefixed input topic name
    partition: int
    key: Optional[bytes]
    value: Optional[bytes]
    good: bool
    kind: str  # "order", "tombstone", ... or the kind of bad input
    ident: Optional[str] = None  # the id the record applies to (good records)
    data: Optional[dict] = None  # the semantic value; None is a tombstone (good records)
    error_word: Optional[str] = None  # a word the dead letter's error must mention (bad records)
    offset: int = -1  # filled in once the broker acknowledged it

    def describe(self) -> str:
        return (f"{self.topic}[{self.partition}]@{self.offset} key={self.key!r} "
                f"value={self.value!r} ({'good' if self.good else 'BAD'} {self.kind})")


def partition_of(ident: str) -> int:
    return zlib.crc32(ident.encode()) % INPUT_PARTITIONS


def is_int_id(ident: str) -> bool:
    return ident.isdigit() and (ident == "0" or not ident.startswith("0"))


def rfc3339(ts_ms: int, offset: timedelta, with_ms: bool) -> str:
    at = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=ts_ms)
    local = at.astimezone(timezone(offset))
    text = local.isoformat(timespec="milliseconds" if with_ms else "seconds")
    return text.replace("+00:00", "Z") if offset == timedelta(0) else text


class Obj:
    """A JSON object written field by field from raw JSON texts (numbers stay exact text)."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def raw(self, name: str, raw: str) -> "Obj":
        self.parts.append(f"{json.dumps(name)}:{raw}")
        return self

    def s(self, name: str, text: str) -> "Obj":
        return self.raw(name, json.dumps(text))

    def text(self) -> str:
        return "{" + ",".join(self.parts) + "}"


class Gen:
    """A seeded source of records; its methods may be mixed freely (bounded runs, trickles)."""

    def __init__(self, seed: int, bad_share: float = 0.1) -> None:
        self.r = random.Random(seed)
        self.bad_share = bad_share

    # ---- small random pieces -------------------------------------------------------------

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def pick(self, items):
        return self.r.choice(items)

    def id_raw(self, ident: str) -> str:
        """An id as JSON: integers sometimes as JSON numbers, sometimes as strings."""
        if is_int_id(ident) and self.chance(0.6):
            return ident
        return json.dumps(ident)

    def num_raw(self, text: str) -> str:
        """A number as a JSON number or a numeric string."""
        return json.dumps(text) if self.chance(0.35) else text

    def ts_raw(self, ts_ms: int) -> str:
        roll = self.r.random()
        if roll < 0.35:
            return str(ts_ms)
        if roll < 0.45:
            return json.dumps(str(ts_ms))
        with_ms = ts_ms % 1000 != 0 or self.chance(0.3)
        return json.dumps(rfc3339(ts_ms, self.pick(OFFSETS), with_ms))

    def price(self, currency: str) -> Decimal:
        roll = self.r.random()
        if roll < 0.05:
            return Decimal("0")
        if currency == "JPY":
            return Decimal(self.r.randint(100, 40000))
        if roll < 0.25:  # a third decimal makes the cents rounding matter
            return Decimal(self.r.randint(1, 300_000)) / 1000
        return Decimal(self.r.randint(1, 50_000)) / 100

    def order_ts(self) -> int:
        ts = BASE_TS + self.r.randint(0, 5 * HOUR_MS)
        if self.chance(0.15):  # a late order, hours in the past
            ts -= self.r.randint(1 * HOUR_MS, 30 * HOUR_MS)
        if self.chance(0.3):
            ts -= ts % 1000
        return ts

    def keyed(self, topic: str, ident: str, value: Optional[str], kind: str, data) -> Rec:
        keyless = topic in KEYLESS_TOPICS and value is not None and self.chance(0.12)
        key = None if keyless else ident.encode()
        return Rec(topic, partition_of(ident), key, None if value is None else value.encode(),
                   True, kind, ident, data)

    # ---- good records --------------------------------------------------------------------

    def order(self, ident: Optional[str] = None) -> Rec:
        ident = ident or self.pick(ORDER_IDS)
        if self.chance(0.1):
            return self.keyed("orders", ident, None, "tombstone", None)
        currency = self.pick(ORDER_CURRENCIES)
        data = {
            "ts": self.order_ts(),
            "customer_id": self.pick(ORDER_CUSTOMER_IDS),
            "product_id": self.pick(ORDER_PRODUCT_IDS),
            "quantity": self.r.choices([1, 2, 3, 4, 5, 7, 12], [6, 4, 3, 2, 2, 1, 1])[0],
            "price": self.price(currency or "USD"),
            "currency": currency or "USD",
            "status": self.r.choices(STATUSES, STATUS_WEIGHTS)[0],
            "payment_method": self.pick(PAYMENT_METHODS),
        }
        rec = self.keyed("orders", ident, "", "order", data)
        rec.value = self.order_json(ident, data, currency, id_required=rec.key is None).encode()
        return rec

    def order_json(self, ident: str, data: dict, currency_given: Optional[str],
                   id_required: bool) -> str:
        camel = self.chance(0.3)
        o = Obj()
        fields = []
        if id_required or self.chance(0.7):
            fields.append(("orderId" if camel else "order_id", self.id_raw(ident)))
        fields.append(("ts", self.ts_raw(data["ts"])))
        fields.append(("customerId" if camel else "customer_id", self.id_raw(data["customer_id"])))
        fields.append(("productId" if camel else "product_id", self.id_raw(data["product_id"])))
        fields.append(("quantity", self.num_raw(str(data["quantity"]))))
        fields.append(("unitPrice" if camel and self.chance(0.7) else "price",
                       self.num_raw(str(data["price"]))))
        if currency_given is not None:
            fields.append(("currency", json.dumps(currency_given)))
        elif self.chance(0.2):
            fields.append(("currency", "null"))
        if data["status"] is not None:
            fields.append(("status", json.dumps(data["status"])))
        if data["payment_method"] is not None:
            fields.append(("paymentMethod" if camel else "payment_method",
                           json.dumps(data["payment_method"])))
        if self.chance(0.5):
            fields.append(("ip", json.dumps(f"10.0.0.{self.r.randint(1, 9)}")))
        if self.chance(0.15):
            fields.append(("coupon", json.dumps("SPRING")))
        if self.chance(0.1):
            fields.append(("extra", '{"nested":[1,2.5,"x"],"flag":true}'))
        self.r.shuffle(fields)
        for name, raw in fields:
            o.raw(name, raw)
        return o.text()

    def customer(self, ident: Optional[str] = None) -> Rec:
        ident = ident or self.pick(CUSTOMER_IDS)
        if self.chance(0.1):
            return self.keyed("customers", ident, None, "tombstone", None)
        age = self.r.choice([None, 15, 17, 18, 24, 25, 34, 35, 44, 45, 54, 55, 64, 65, 90, 130, -3])
        data = {"gender": self.pick(GENDERS), "age": age, "country": self.pick(COUNTRIES)}
        rec = self.keyed("customers", ident, "", "customer", data)
        o = Obj()
        if rec.key is None or self.chance(0.6):
            o.raw("customerId" if self.chance(0.3) else "customer_id", self.id_raw(ident))
        if data["gender"] is not None:
            o.s("gender", data["gender"])
        if age is not None:
            o.raw("age", self.num_raw(str(age)))
        elif self.chance(0.3):
            o.raw("age", "null")
        if data["country"] is not None:
            o.s("country", data["country"])
        if self.chance(0.5):
            o.s("name", f"Customer {ident}")
        if self.chance(0.3):
            o.s("email", f"{ident}@example.com")
        rec.value = o.text().encode()
        return rec

    def product(self, ident: Optional[str] = None) -> Rec:
        ident = ident or self.pick(PRODUCT_IDS)
        if self.chance(0.1):
            return self.keyed("products", ident, None, "tombstone", None)
        data = {"name": self.pick([f"Product {ident}", f"Gadget {ident}", None]),
                "category": self.pick(CATEGORIES)}
        rec = self.keyed("products", ident, "", "product", data)
        o = Obj()
        if rec.key is None or self.chance(0.6):
            o.raw("productId" if self.chance(0.3) else "product_id", self.id_raw(ident))
        if data["name"] is not None:
            o.s("name", data["name"])
        if data["category"] is not None:
            o.s("category", data["category"])
        if self.chance(0.4):
            o.s("brand", "Acme")
        if self.chance(0.4):
            o.raw("unitPrice" if self.chance(0.5) else "price", self.num_raw("9.99"))
        rec.value = o.text().encode()
        return rec

    def fx(self, currency: Optional[str] = None) -> Rec:
        currency = currency or self.pick(FX_CURRENCIES)
        if self.chance(0.15):
            return self.keyed("fx_rates", currency, None, "tombstone", None)
        base = {"EUR": 1.08, "GBP": 1.27, "JPY": 0.0067}[currency]
        places = self.r.choice([2, 4, 6])
        scale = 10 ** places if currency != "JPY" else 10 ** (places + 2)
        rate = Decimal(round(base * (1 + self.r.uniform(-0.1, 0.1)) * scale)) / scale
        rec = self.keyed("fx_rates", currency, "", "rate", {"rate": rate})
        o = Obj()
        if rec.key is None or self.chance(0.8):
            o.s("currency", currency)
        o.raw("rate", self.num_raw(format(rate, "f")))
        rec.value = o.text().encode()
        return rec

    # ---- bad records ---------------------------------------------------------------------

    def bad(self, topic: str) -> Rec:
        if topic == "orders":
            return self.bad_order()
        ident = {"customers": lambda: self.pick(CUSTOMER_IDS),
                 "products": lambda: self.pick(PRODUCT_IDS),
                 "fx_rates": lambda: self.pick(FX_CURRENCIES)}[topic]()
        other = ident
        while other == ident:
            other = {"customers": lambda: self.pick(CUSTOMER_IDS),
                     "products": lambda: self.pick(PRODUCT_IDS),
                     "fx_rates": lambda: self.pick(FX_CURRENCIES)}[topic]()
        options = {
            "customers": [
                ("not_json", b'{"customer_id": "' + ident.encode() + b'", gender: F}', "json"),
                ("key_mismatch", Obj().s("customer_id", other).s("country", "DE").text().encode(),
                 "customer_id"),
                ("bad_age", Obj().s("customer_id", ident).s("age", "thirty").text().encode(), "age"),
                ("invalid_utf8", b'{"customer_id":"' + ident.encode() + b'","country":"D\xffE"}',
                 "utf-8"),
            ],
            "products": [
                ("not_json", b"product " + ident.encode() + b" is great", "json"),
                ("key_mismatch", Obj().s("product_id", other).s("category", "toys").text().encode(),
                 "product_id"),
                ("negative_price", Obj().s("product_id", ident).raw("price", "-4.50").text().encode(),
                 "price"),
            ],
            "fx_rates": [
                ("not_json", b"EUR=1.08", "json"),
                ("key_mismatch", Obj().s("currency", other).s("rate", "1.1").text().encode(),
                 "currency"),
                ("zero_rate", Obj().s("currency", ident).raw("rate", "0").text().encode(), "rate"),
                ("negative_rate", Obj().s("currency", ident).s("rate", "-1.2").text().encode(),
                 "rate"),
            ],
        }[topic]
        kind, value, word = self.pick(options)
        return Rec(topic, partition_of(ident), ident.encode(), value, False, kind,
                   error_word=word)

    def bad_order(self) -> Rec:
        ident = self.pick(ORDER_IDS)
        other = self.pick([i for i in ORDER_IDS if i != ident])

        def good_fields(**change) -> str:
            fields = {"order_id": json.dumps(ident), "ts": str(self.order_ts()),
                      "customer_id": json.dumps(self.pick(CUSTOMER_IDS)),
                      "product_id": json.dumps(self.pick(PRODUCT_IDS)),
                      "quantity": "2", "price": "10.50", "currency": '"EUR"'}
            for name, raw in change.items():
                if raw is None:
                    fields.pop(name)
                else:
                    fields[name] = raw
            o = Obj()
            for name, raw in fields.items():
                o.raw(name, raw)
            return o.text()

        key: Optional[bytes] = ident.encode()
        partition = partition_of(ident)
        kind = self.pick(["not_json", "quantity_zero", "negative_price", "missing_customer_id",
                          "bad_ts", "key_mismatch", "invalid_utf8_value", "invalid_utf8_key",
                          "quantity_fraction", "keyless_tombstone"])
        if kind == "not_json":
            value: Optional[bytes] = self.pick([b"{not json", b"order " + ident.encode() + b" x2",
                                                b'{"order_id":"' + ident.encode() + b'",}'])
            word = "json"
        elif kind == "quantity_zero":
            value, word = good_fields(quantity=self.pick(["0", '"0"', "-1"])).encode(), "quantity"
        elif kind == "quantity_fraction":
            value, word = good_fields(quantity="2.5").encode(), "quantity"
        elif kind == "negative_price":
            value, word = good_fields(price=self.pick(["-1.00", '"-0.01"'])).encode(), "price"
        elif kind == "missing_customer_id":
            value, word = good_fields(customer_id=None).encode(), "customer_id"
        elif kind == "bad_ts":
            value = good_fields(ts=self.pick(['"yesterday"', '"2026-13-45T99:00:00Z"',
                                              '"2026-03-31 10:00"'])).encode()
            word = "ts"
        elif kind == "key_mismatch":
            value, word = good_fields(order_id=json.dumps(other)).encode(), "order_id"
        elif kind == "invalid_utf8_value":
            value = good_fields().encode()[:-1] + b',"ip":"10.0.0.\xff"}'
            word = "utf-8"
        elif kind == "invalid_utf8_key":
            key = ident.encode() + b"\xff"
            value, word = good_fields(order_id=None).encode(), "utf-8"
        else:  # keyless_tombstone
            key, value, word = None, None, "key"
        return Rec("orders", partition, key, value, False, kind, error_word=word)

    # ---- mixtures ------------------------------------------------------------------------

    def record(self, weights=(60, 14, 14, 12)) -> Rec:
        topic = self.r.choices(INPUT_TOPICS, weights)[0]
        if self.chance(self.bad_share):
            return self.bad(topic)
        return {"orders": self.order, "customers": self.customer, "products": self.product,
                "fx_rates": self.fx}[topic]()

    def records(self, n: int) -> list[Rec]:
        """`n` records of every topic, interleaved: dimensions and rates arrive before and after
        the orders that need them, and change while orders keep coming."""
        out = [self.record() for _ in range(n)]
        # Every fx rate is absent for a while first: rates only from the second tenth on.
        head = n // 10
        for i, rec in enumerate(out[:head]):
            if rec.topic == "fx_rates":
                out[i] = self.order()
        return out
