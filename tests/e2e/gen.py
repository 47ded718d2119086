"""Seeded random input for the end-to-end tests.

Every generated record knows what its producer meant: a good record carries the id and the
*semantic* value (`data`, or None for a tombstone) that the oracle applies; a bad record carries
the word its dead letter's error sentence must mention. The wire bytes are rendered from the
semantic value with the tolerances of SPEC §1 picked at random (ids as JSON integers or strings,
numeric strings, camelCase names, RFC 3339 with offsets or epoch ms, keyless records, unknown
fields), so the oracle never has to parse the tolerant format itself.

Each id is always written to the same partition (chosen here, from the id), so the records of one
key keep their order, whether or not the record carries a key.

`data` holds everything the job keeps of a record (src/model.rs: unknown fields are dropped, a
missing optional is None), so the oracle can tell a duplicate (a value equal to the key's current
one) from a change; `Gen.again` re-sends a record, byte for byte or rendered afresh. Bad records
also carry the kind of error the job must count them under in `data_quality`.
"""

from __future__ import annotations

import json
import random
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Optional

INPUT_TOPICS = ("orders", "customers", "products", "fx_rates", "inventory")
INPUT_PARTITIONS = 3
# SPEC §1: inputs are compacted "or kept forever". A compacted topic refuses keyless records, so the
# topics that get keyless records here are kept forever instead; the others are compacted.
KEYLESS_TOPICS = ("orders", "fx_rates", "inventory")

HOUR_MS = 3_600_000
# The width of the burst alerts' buckets the job runs with (harness.job_command, oracle.BUCKET_MS).
BUCKET_MS = 30 * 60_000
# 2026-03-31T21:30:00Z: hours around it cross a day and a month boundary in UTC; it is also the
# start of a burst bucket, so BASE_TS + k * BUCKET_MS are bucket bounds.
BASE_TS = int(datetime(2026, 3, 31, 21, 30, tzinfo=timezone.utc).timestamp()) * 1000

ORDER_IDS = [f"o-{i}" for i in range(1, 31)] + [str(i) for i in range(100, 112)]
# Only `Gen.burst` writes these orders, so a burst it makes fires until a later burst moves its
# orders. Numeric and other ids mixed, so the alerts' `order_ids` show the reading order (9 before
# 10 before 1000, then "007", "b-10" before "b-2" by bytes), and more than 20 of them for the cut.
BURST_IDS = (["0", "9", "10", "99", "250", "1000", "007"] + [f"b-{i}" for i in range(1, 19)]
             + ["B-7"])
CUSTOMER_IDS = [f"c-{i}" for i in range(1, 8)] + ["7", "8", "9"]
# Orders also name customers and products that never get a record: they stay `unknown`.
ORDER_CUSTOMER_IDS = CUSTOMER_IDS + ["c-99", "42"]
PRODUCT_IDS = [str(i) for i in range(1, 13)] + ["p-a", "p-b", "p-c"]
ORDER_PRODUCT_IDS = PRODUCT_IDS + ["p-zz", "77"]
# Stock is counted for products with and without a product record or orders.
INVENTORY_IDS = PRODUCT_IDS + ["p-zz", "77", "p-stock"]
FX_CURRENCIES = ["EUR", "GBP", "JPY"]
# CHF never gets a rate: its orders stay unpriced (and never alert as high-value).
ORDER_CURRENCIES = [None, "USD", "EUR", "GBP", "JPY", "EUR", "GBP", "JPY", "CHF"]

# Known statuses match in any case (SPEC §1); "on-hold" is kept as given and is live.
STATUSES = ["placed", "paid", "shipped", "delivered", "cancelled", "returned", "on-hold", None,
            "PAID", "Cancelled"]
STATUS_WEIGHTS = [3, 3, 2, 2, 2, 1, 1, 3, 1, 1]
LIVE_STATUSES = ["placed", "paid", "shipped", "delivered", "on-hold", None, "PAID"]
# A small pool, so orders from one ip pile up; None: the order names no ip.
IPS = ["10.0.0.1", "10.0.0.2", "192.168.7.3"]
IP_WEIGHTS = [4, 2, 1]
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
    error_kind: Optional[str] = None  # the `data_quality` error kind it counts under (bad records)
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
        # The ts of the latest order generated per product: a stock count sometimes takes it as
        # its as_of, so that order is sold "since" the count (ts >= as_of) by a hair.
        self.last_sale: dict[str, int] = {}

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
        roll = self.r.random()
        if roll < 0.05:  # exactly on a bucket bound, which stock counts use as as_of too
            return BASE_TS + self.r.randint(-2, 10) * BUCKET_MS
        if roll < 0.25:  # a busy half hour: bursts need orders close together
            return BASE_TS + self.pick([1, 2, 4]) * BUCKET_MS + self.r.randint(0, BUCKET_MS - 1)
        ts = BASE_TS + self.r.randint(0, 5 * HOUR_MS)
        if self.chance(0.15):  # a late order, hours in the past
            ts -= self.r.randint(1 * HOUR_MS, 30 * HOUR_MS)
        if self.chance(0.3):
            ts -= ts % 1000
        return ts

    def as_of_ts(self) -> int:
        """When stock was counted: among the orders' times, so some orders are before it and
        some after; often on a bucket bound, where orders sometimes are too (ts >= as_of)."""
        if self.chance(0.3):
            return BASE_TS + self.r.randint(-4, 10) * BUCKET_MS
        ts = BASE_TS + self.r.randint(-4 * HOUR_MS, 5 * HOUR_MS)
        return ts - ts % 1000 if self.chance(0.3) else ts

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
        currency = self.pick(ORDER_CURRENCIES) or "USD"
        data = {
            "ts": self.order_ts(),
            "customer_id": self.pick(ORDER_CUSTOMER_IDS),
            "product_id": self.pick(ORDER_PRODUCT_IDS),
            "quantity": self.r.choices([1, 2, 3, 4, 5, 7, 12], [6, 4, 3, 2, 2, 1, 1])[0],
            "price": self.price(currency),
            "currency": currency,
            "status": self.r.choices(STATUSES, STATUS_WEIGHTS)[0],
            "payment_method": self.pick(PAYMENT_METHODS),
            "ip": self.r.choices(IPS + [None], IP_WEIGHTS + [3])[0],
        }
        if self.chance(0.05):
            # Right at the high_value_order limit of 400.00 USD (harness.job_command), or just
            # below it: 3 x 133.333 = 399.999.
            quantity, price = self.pick([(1, "400.00"), (2, "200"), (4, "100.000"), (1, "399.99"),
                                         (3, "133.333")])
            data.update(quantity=quantity, price=Decimal(price), currency="USD")
        return self.render_order(ident, data)

    def render_order(self, ident: str, data: dict) -> Rec:
        self.last_sale[data["product_id"]] = data["ts"]
        rec = self.keyed("orders", ident, "", "order", data)
        rec.value = self.order_json(ident, data, id_required=rec.key is None).encode()
        return rec

    def order_json(self, ident: str, data: dict, id_required: bool) -> str:
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
        # The base currency is the default; a code may come in any case.
        currency_given = data["currency"] if data["currency"] != "USD" or self.chance(0.4) else None
        if currency_given is not None:
            if self.chance(0.15):
                currency_given = currency_given.lower()
            fields.append(("currency", json.dumps(currency_given)))
        elif self.chance(0.2):
            fields.append(("currency", "null"))
        if data["status"] is not None:
            fields.append(("status", json.dumps(data["status"])))
        if data["payment_method"] is not None:
            fields.append(("paymentMethod" if camel else "payment_method",
                           json.dumps(data["payment_method"])))
        if data["ip"] is not None:
            fields.append(("ip", json.dumps(data["ip"])))
        elif self.chance(0.2):  # null and "" mean no ip
            fields.append(("ip", self.pick(['null', '""'])))
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
        data = {"gender": self.pick(GENDERS), "age": age, "country": self.pick(COUNTRIES),
                "name": f"Customer {ident}" if self.chance(0.5) else None,
                "email": f"{ident}@example.com" if self.chance(0.3) else None}
        return self.render_customer(ident, data)

    def render_customer(self, ident: str, data: dict) -> Rec:
        rec = self.keyed("customers", ident, "", "customer", data)
        o = Obj()
        if rec.key is None or self.chance(0.6):
            o.raw("customerId" if self.chance(0.3) else "customer_id", self.id_raw(ident))
        if data["gender"] is not None:
            o.s("gender", data["gender"])
        if data["age"] is not None:
            o.raw("age", self.num_raw(str(data["age"])))
        elif self.chance(0.3):
            o.raw("age", "null")
        if data["country"] is not None:
            o.s("country", data["country"])
        if data["name"] is not None:
            o.s("name", data["name"])
        if data["email"] is not None:
            o.s("email", data["email"])
        rec.value = o.text().encode()
        return rec

    def product(self, ident: Optional[str] = None) -> Rec:
        ident = ident or self.pick(PRODUCT_IDS)
        if self.chance(0.1):
            return self.keyed("products", ident, None, "tombstone", None)
        data = {"name": self.pick([f"Product {ident}", f"Gadget {ident}", None]),
                "category": self.pick(CATEGORIES),
                "brand": "Acme" if self.chance(0.4) else None,
                "price": Decimal("9.99") if self.chance(0.4) else None}
        return self.render_product(ident, data)

    def render_product(self, ident: str, data: dict) -> Rec:
        rec = self.keyed("products", ident, "", "product", data)
        o = Obj()
        if rec.key is None or self.chance(0.6):
            o.raw("productId" if self.chance(0.3) else "product_id", self.id_raw(ident))
        if data["name"] is not None:
            o.s("name", data["name"])
        if data["category"] is not None:
            o.s("category", data["category"])
        if data["brand"] is not None:
            o.s("brand", data["brand"])
        if data["price"] is not None:
            # 9.99 and "9.990" are one price.
            text = self.pick(["9.99", "9.990"])
            o.raw("unitPrice" if self.chance(0.5) else "price", self.num_raw(text))
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
        return self.render_fx(currency, {"rate": rate})

    def render_fx(self, currency: str, data: dict) -> Rec:
        rec = self.keyed("fx_rates", currency, "", "rate", data)
        o = Obj()
        if rec.key is None or self.chance(0.8):
            o.s("currency", currency)
        text = format(data["rate"], "f")
        if self.chance(0.2) and "." in text:
            text += "0"  # 1.08 and 1.080 are one rate
        o.raw("rate", self.num_raw(text))
        rec.value = o.text().encode()
        return rec

    def stock(self, ident: Optional[str] = None) -> Rec:
        """A stock count of the `inventory` topic."""
        ident = ident or self.pick(INVENTORY_IDS)
        if self.chance(0.1):
            return self.keyed("inventory", ident, None, "tombstone", None)
        reorder_point = self.r.choices([0, 1, 2, 3, 5, 8], [4, 2, 2, 2, 2, 1])[0]
        if self.chance(0.3):  # just above the reorder point: a sale or two makes it low
            on_hand = reorder_point + self.r.randint(0, 3)
        else:
            on_hand = self.r.choices([0, 1, 2, 3, 5, 8, 12, 20, 40], [1, 1, 2, 2, 3, 3, 2, 2, 1])[0]
        as_of = self.as_of_ts()
        if ident in self.last_sale and self.chance(0.3):
            as_of = self.last_sale[ident]
        data = {"on_hand": on_hand, "as_of": as_of, "reorder_point": reorder_point}
        return self.render_stock(ident, data)

    def render_stock(self, ident: str, data: dict) -> Rec:
        rec = self.keyed("inventory", ident, "", "stock", data)
        camel = self.chance(0.3)
        fields = []
        if rec.key is None or self.chance(0.7):
            fields.append(("productId" if camel else "product_id", self.id_raw(ident)))
        fields.append(("onHand" if camel else "on_hand", self.num_raw(str(data["on_hand"]))))
        fields.append(("asOf" if camel else "as_of", self.ts_raw(data["as_of"])))
        # reorder_point defaults to 0: absent, null or 0 are one value.
        if data["reorder_point"] != 0 or self.chance(0.5):
            fields.append(("reorderPoint" if camel else "reorder_point",
                           self.num_raw(str(data["reorder_point"]))))
        elif self.chance(0.3):
            fields.append(("reorder_point", "null"))
        if self.chance(0.15):
            fields.append(("warehouse", json.dumps("north")))
        self.r.shuffle(fields)
        o = Obj()
        for name, raw in fields:
            o.raw(name, raw)
        rec.value = o.text().encode()
        return rec

    def again(self, rec: Rec) -> Rec:
        """The same good record once more: its very bytes, or its value rendered afresh (other
        spellings, the same decoded value). Equal to the key's current value, it is a duplicate."""
        assert rec.good
        if rec.data is None:
            return self.keyed(rec.topic, rec.ident, None, "tombstone", None)
        if self.chance(0.5):
            return Rec(rec.topic, rec.partition, rec.key, rec.value, True, rec.kind, rec.ident,
                       rec.data)
        render = {"orders": self.render_order, "customers": self.render_customer,
                  "products": self.render_product, "fx_rates": self.render_fx,
                  "inventory": self.render_stock}[rec.topic]
        return render(rec.ident, rec.data)

    def burst(self, size: int, shared_customer: int) -> list[Rec]:
        """`size` live orders from one ip in one bucket, the first `shared_customer` of them from
        one customer too: both burst rules fire when the sizes reach their limits."""
        start = BASE_TS + self.r.randint(-2, 9) * BUCKET_MS
        ip = self.pick(IPS)
        customer = self.pick(ORDER_CUSTOMER_IDS)
        out = []
        for n, ident in enumerate(self.r.sample(BURST_IDS, size)):
            # One of them in CHF, which has no rate: an unpriced order is certain.
            currency = "CHF" if n == 1 else self.pick(["USD", "EUR", "GBP", "CHF"])
            data = {
                "ts": start + self.r.randint(0, BUCKET_MS - 1),
                "customer_id": customer if n < shared_customer else self.pick(ORDER_CUSTOMER_IDS),
                "product_id": self.pick(ORDER_PRODUCT_IDS),
                "quantity": self.r.choice([1, 1, 2, 3]),
                "price": self.price(currency),
                "currency": currency,
                "status": self.pick(LIVE_STATUSES),
                "payment_method": self.pick(PAYMENT_METHODS),
                "ip": ip,
            }
            out.append(self.render_order(ident, data))
        return out

    # ---- bad records ---------------------------------------------------------------------

    def bad(self, topic: str) -> Rec:
        """A bad record of `topic`; kinds are those of src/codecs/json.rs's `ErrorKind`."""
        if topic == "orders":
            return self.bad_order()
        ids = {"customers": CUSTOMER_IDS, "products": PRODUCT_IDS, "fx_rates": FX_CURRENCIES,
               "inventory": INVENTORY_IDS}[topic]
        ident = self.pick(ids)
        other = self.pick([i for i in ids if i != ident])
        stock = lambda **fields: self.stock_fields(ident, **fields)  # noqa: E731
        options = {
            "customers": [
                ("not_json", b'{"customer_id": "' + ident.encode() + b'", gender: F}', "json",
                 "not_json"),
                ("key_mismatch", Obj().s("customer_id", other).s("country", "DE").text().encode(),
                 "customer_id", "key_mismatch"),
                ("bad_age", Obj().s("customer_id", ident).s("age", "thirty").text().encode(), "age",
                 "bad_field"),
                ("invalid_utf8", b'{"customer_id":"' + ident.encode() + b'","country":"D\xffE"}',
                 "utf-8", "invalid_utf8"),
            ],
            "products": [
                ("not_json", b"product " + ident.encode() + b" is great", "json", "not_json"),
                ("key_mismatch", Obj().s("product_id", other).s("category", "toys").text().encode(),
                 "product_id", "key_mismatch"),
                ("negative_price", Obj().s("product_id", ident).raw("price", "-4.50").text().encode(),
                 "price", "bad_field"),
            ],
            "fx_rates": [
                ("not_json", b"EUR=1.08", "json", "not_json"),
                ("key_mismatch", Obj().s("currency", other).s("rate", "1.1").text().encode(),
                 "currency", "key_mismatch"),
                ("zero_rate", Obj().s("currency", ident).raw("rate", "0").text().encode(), "rate",
                 "bad_field"),
                ("negative_rate", Obj().s("currency", ident).s("rate", "-1.2").text().encode(),
                 "rate", "bad_field"),
            ],
            "inventory": [
                ("not_json", self.pick([b"on_hand=5", b'{"on_hand":5,"as_of":}']), "json",
                 "not_json"),
                ("on_hand_not_integer",
                 stock(on_hand=self.pick(['"five"', "2.5", '"2.5"', "true"])), "on_hand",
                 "bad_field"),
                ("negative_on_hand", stock(on_hand="-3"), "on_hand", "bad_field"),
                ("bad_as_of", stock(as_of=self.pick(['"tomorrow"', '"2026-02-30T10:00:00Z"',
                                                     '"2026-03-31T10:00:00"', "1.5"])),
                 "as_of", "bad_field"),
                ("missing_as_of", stock(as_of=None), "as_of", "missing_field"),
                ("key_mismatch", stock(product_id=json.dumps(other)), "product_id", "key_mismatch"),
                ("fractional_reorder_point", stock(reorder_point="1.5"), "reorder_point",
                 "bad_field"),
            ],
        }[topic]
        kind, value, word, error_kind = self.pick(options)
        return Rec(topic, partition_of(ident), ident.encode(), value, False, kind,
                   error_word=word, error_kind=error_kind)

    def stock_fields(self, ident: str, **change) -> bytes:
        """A good stock count of `ident`, with some fields replaced by raw JSON (None: left out)."""
        fields = {"product_id": json.dumps(ident), "on_hand": "7",
                  "as_of": json.dumps(rfc3339(BASE_TS, timedelta(0), False)), "reorder_point": "2"}
        for name, raw in change.items():
            if raw is None:
                fields.pop(name)
            else:
                fields[name] = raw
        o = Obj()
        for name, raw in fields.items():
            o.raw(name, raw)
        return o.text().encode()

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
            word, error_kind = "json", "not_json"
        elif kind == "quantity_zero":
            value, word = good_fields(quantity=self.pick(["0", '"0"', "-1"])).encode(), "quantity"
            error_kind = "bad_field"
        elif kind == "quantity_fraction":
            value, word = good_fields(quantity="2.5").encode(), "quantity"
            error_kind = "bad_field"
        elif kind == "negative_price":
            value, word = good_fields(price=self.pick(["-1.00", '"-0.01"'])).encode(), "price"
            error_kind = "bad_field"
        elif kind == "missing_customer_id":
            value, word = good_fields(customer_id=None).encode(), "customer_id"
            error_kind = "missing_field"
        elif kind == "bad_ts":
            value = good_fields(ts=self.pick(['"yesterday"', '"2026-13-45T99:00:00Z"',
                                              '"2026-03-31 10:00"'])).encode()
            word, error_kind = "ts", "bad_field"
        elif kind == "key_mismatch":
            value, word = good_fields(order_id=json.dumps(other)).encode(), "order_id"
            error_kind = "key_mismatch"
        elif kind == "invalid_utf8_value":
            value = good_fields().encode()[:-1] + b',"ip":"10.0.0.\xff"}'
            word, error_kind = "utf-8", "invalid_utf8"
        elif kind == "invalid_utf8_key":
            key = ident.encode() + b"\xff"
            value, word = good_fields(order_id=None).encode(), "utf-8"
            error_kind = "invalid_utf8"
        else:  # keyless_tombstone
            key, value, word, error_kind = None, None, "key", "missing_key"
        return Rec("orders", partition, key, value, False, kind, error_word=word,
                   error_kind=error_kind)

    # ---- mixtures ------------------------------------------------------------------------

    def record(self, weights=(56, 12, 12, 10, 10)) -> Rec:
        topic = self.r.choices(INPUT_TOPICS, weights)[0]
        if self.chance(self.bad_share):
            return self.bad(topic)
        return {"orders": self.order, "customers": self.customer, "products": self.product,
                "fx_rates": self.fx, "inventory": self.stock}[topic]()

    def records(self, n: int) -> list[Rec]:
        """`n` records of every topic, interleaved (and a few more: two bursts): dimensions, rates
        and stock arrive before and after the orders that need them, and change while orders keep
        coming; some records are sent twice."""
        out: list[Rec] = []
        # Every fx rate is absent for a while first: rates only from the second tenth on.
        head = n // 10
        for i in range(n):
            if i == n // 4:
                # A burst just at the limits of 3 (harness.job_command), in the first half.
                out += self.burst(self.r.randint(3, 5), shared_customer=self.r.randint(3, 4))
            elif i == 3 * n // 4:
                # One over the 20 order ids an alert lists; it may move the first burst's orders.
                out += self.burst(self.r.randint(21, 24), shared_customer=self.r.randint(3, 6))
            recent = [r for r in out[-12:] if r.good]
            if i >= head and recent and self.chance(0.06):
                rec = self.again(self.pick(recent))
            else:
                rec = self.record()
                if i < head and rec.topic == "fx_rates":
                    rec = self.order()
            out.append(rec)
        return out
