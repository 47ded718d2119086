"""The oracle: every output table of SPEC §3–4 recomputed from scratch from the input records.

Written from the contract alone, with plain loops: the current state is the latest good record of
every key of every input topic (a tombstone removes the key; bad records change nothing), and each
table is a small function of that state. Money is `decimal.Decimal`, exact until a figure is
written, then rounded to cents half away from zero (ROUND_HALF_UP works on the absolute value).

Tables are `{topic: {key_json: row}}` where `key_json` is the compact JSON key object the job must
write and `row` the value as a dict (money as Decimal cents, counts as int). A topic with no rows
maps to `{}`.

Choices where SPEC leaves room, matching what the job documents:
- `top_products_last_hour`: W is the largest `ts` among the *current* orders (any status), so a
  deleted or corrected order no longer anchors the window; the window holds live orders only.
- "Ties by smaller product_id": canonical non-negative integer ids first, by value, then every
  other id by its bytes. The same reading order lists a burst alert's `order_ids`.

The alert thresholds are the small ones the harness runs the job with (`harness.job_command`), so
every rule fires on the generated input.
"""

from __future__ import annotations

import decimal
import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Iterable, Optional

CTX = decimal.Context(prec=80)
CENT = Decimal("0.01")
BASE_CURRENCY = "USD"
HOUR_MS = 3_600_000
TOP_N = 10
LIVE_EXCLUDED = {"cancelled", "returned"}
KNOWN_STATUSES = {"placed", "paid", "shipped", "delivered", "cancelled", "returned"}
INPUT_TOPICS = ("orders", "customers", "products", "fx_rates", "inventory")

# Alert thresholds: passed to the job as flags by harness.job_command.
HIGH_VALUE_ORDER = Decimal("400.00")
IP_BURST = 3
CUSTOMER_BURST = 3
BURST_BUCKET_MINUTES = 30
BUCKET_MS = BURST_BUCKET_MINUTES * 60_000
LISTED_ORDERS = 20  # a burst alert lists the first 20 of its orders
ALERT_RULES = ("high_value_order", "ip_burst", "customer_burst", "low_stock")

TOPICS = (
    "sales_total", "sales_by_category", "sales_by_segment", "sales_by_country",
    "sales_by_payment_method", "sales_by_currency", "sales_by_hour", "sales_by_day",
    "sales_by_month", "sales_by_customer", "orders_by_status", "top_products_by_units",
    "top_products_by_revenue", "top_products_last_hour", "stock_levels", "alerts",
    "data_quality",
)


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=decimal.ROUND_HALF_UP, context=CTX)


def key_json(fields: list[tuple[str, str]]) -> str:
    return json.dumps(dict(fields), separators=(",", ":"), ensure_ascii=False)


class Quality:
    """What happened to the records of one input topic (SPEC §2, `data_quality`)."""

    def __init__(self) -> None:
        self.consumed = 0
        self.applied = 0
        self.dead_lettered = 0
        self.tombstones = 0
        self.duplicates = 0
        self.errors: Counter = Counter()


class State:
    """The current value of every key of every input topic, and what each record did."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, dict]] = {t: {} for t in INPUT_TOPICS}
        self.quality: dict[str, Quality] = {t: Quality() for t in INPUT_TOPICS}

    def apply(self, rec) -> None:
        quality = self.quality[rec.topic]
        quality.consumed += 1
        if not rec.good:
            quality.dead_lettered += 1
            quality.errors[rec.error_kind] += 1
            return
        quality.applied += 1
        quality.tombstones += rec.data is None
        table = self.tables[rec.topic]
        # A duplicate leaves the key as it was: a value equal to the current one, as the job
        # decodes both, or a tombstone of an absent key.
        current = decoded(rec.topic, table.get(rec.ident))
        quality.duplicates += current == decoded(rec.topic, rec.data)
        if rec.data is None:
            table.pop(rec.ident, None)
        else:
            table[rec.ident] = rec.data


def decoded(topic: str, data: Optional[dict]) -> Optional[dict]:
    """What the job keeps of a value (src/model.rs). Generated values hold exactly those fields
    (numbers as Decimal, so 9.99 == 9.990), except that an order's status is normalised here."""
    if data is None or topic != "orders":
        return data
    return {**data, "status": status_of(data)}


def state_of(records: Iterable) -> State:
    """Applies the records in the order given (per key that is their partition order); a bad
    record only counts in `data_quality`."""
    state = State()
    for rec in records:
        state.apply(rec)
    return state


# ---- dimensions (SPEC §3) --------------------------------------------------------------------

def status_of(order: dict) -> str:
    """Known statuses in any case are that status; any other is kept as given."""
    status = order["status"]
    if status is None:
        return "placed"
    return status.lower() if status.lower() in KNOWN_STATUSES else status


def is_live(order: dict) -> bool:
    return status_of(order) not in LIVE_EXCLUDED


def gender_of(customer: Optional[dict]) -> str:
    g = (customer or {}).get("gender")
    if g is None or g == "":
        return "unknown"
    if g.lower() in ("f", "female"):
        return "F"
    if g.lower() in ("m", "male"):
        return "M"
    return "other"


def age_band_of(customer: Optional[dict]) -> str:
    age = (customer or {}).get("age")
    if age is None or not 0 <= age <= 120:
        return "unknown"
    for upper, band in ((17, "<18"), (24, "18-24"), (34, "25-34"), (44, "35-44"), (54, "45-54"),
                        (64, "55-64")):
        if age <= upper:
            return band
    return "65+"


def given_or_unknown(value: Optional[str]) -> str:
    return value if value else "unknown"


def utc(ts_ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=ts_ms)


def seconds_label(ts_ms: int) -> str:
    return utc(ts_ms).strftime("%Y-%m-%dT%H:%M:%SZ")


def millis_label(ts_ms: int) -> str:
    return utc(ts_ms).strftime("%Y-%m-%dT%H:%M:%S") + f".{ts_ms % 1000:03d}Z"


def money_text(amount: Decimal) -> str:
    return format(cents(amount), "f")


def id_sort_key(ident: str):
    canonical = ident.isascii() and ident.isdigit() and (ident == "0" or not ident.startswith("0"))
    return (0, len(ident), ident.encode()) if canonical else (1, 0, ident.encode())


# ---- figures -----------------------------------------------------------------------------------

class Figures:
    def __init__(self) -> None:
        self.orders = 0
        self.units = 0
        self.revenue = Decimal(0)
        self.native = Decimal(0)

    def add(self, sale: "Sale") -> None:
        self.orders += 1
        self.units += sale.order["quantity"]
        self.revenue = CTX.add(self.revenue, sale.value)
        self.native = CTX.add(self.native, sale.native)

    def sales_row(self, fields: list[tuple[str, str]]) -> dict:
        row: dict = dict(fields)
        row["orders"] = self.orders
        row["units"] = self.units
        row["revenue"] = cents(self.revenue)
        row["avg_unit_price"] = cents(CTX.divide(self.revenue, Decimal(self.units)))
        row["avg_order_value"] = cents(CTX.divide(self.revenue, Decimal(self.orders)))
        return row


class Sale:
    """A current order left-joined with its customer, product and rate."""

    def __init__(self, order_id: str, order: dict, state: State) -> None:
        self.order_id = order_id
        self.order = order
        self.customer = state.tables["customers"].get(order["customer_id"])
        self.product = state.tables["products"].get(order["product_id"])
        self.currency = order["currency"]
        self.native = CTX.multiply(Decimal(order["quantity"]), order["price"])
        if self.currency == BASE_CURRENCY:
            rate: Optional[Decimal] = Decimal(1)
        else:
            rate = (state.tables["fx_rates"].get(self.currency) or {}).get("rate")
        self.priced = rate is not None
        self.value = CTX.multiply(self.native, rate) if rate is not None else Decimal(0)

    def category(self) -> str:
        return category_of(self.product)


def category_of(product: Optional[dict]) -> str:
    return given_or_unknown((product or {}).get("category"))


def group(sales: Iterable[Sale], key_of) -> dict[tuple, Figures]:
    groups: dict[tuple, Figures] = defaultdict(Figures)
    for sale in sales:
        groups[tuple(key_of(sale))].add(sale)
    return groups


def sales_table(sales: list[Sale], names: tuple[str, ...], key_of) -> dict[str, dict]:
    out = {}
    for values, figures in group(sales, key_of).items():
        fields = list(zip(names, values))
        out[key_json(fields)] = figures.sales_row(fields)
    return out


def top_table(sales: list[Sale], state: State, score) -> dict[str, dict]:
    by_product = group(sales, lambda s: [s.order["product_id"]])
    ranked = sorted(by_product.items(), key=lambda item: (-score(item[1]), id_sort_key(item[0][0])))
    out = {}
    for rank, ((product_id,), figures) in enumerate(ranked[:TOP_N], start=1):
        product = state.tables["products"].get(product_id)
        fields = [("product_id", product_id)]
        row = {"product_id": product_id, "rank": rank,
               "name": (product or {}).get("name"), "category": category_of(product)}
        row.update({k: v for k, v in figures.sales_row(fields).items() if k != "product_id"})
        out[key_json(fields)] = row
    return out


def stock_levels(live: list[Sale], state: State) -> dict[str, dict]:
    out = {}
    for product_id, count in state.tables["inventory"].items():
        sold_since = sum(s.order["quantity"] for s in live
                         if s.order["product_id"] == product_id and s.order["ts"] >= count["as_of"])
        available = count["on_hand"] - sold_since
        fields = [("product_id", product_id)]
        out[key_json(fields)] = {
            "product_id": product_id, "on_hand": count["on_hand"],
            "as_of": millis_label(count["as_of"]), "reorder_point": count["reorder_point"],
            "sold_since": sold_since, "available": available,
            "low_stock": available <= count["reorder_point"],
        }
    return out


def alert_key(rule: str, subject: str) -> str:
    return key_json([("rule", rule), ("subject", subject)])


def bursts(live: list[Sale], rule: str, field: str, who: str, limit: int, source_of) -> dict:
    """At least `limit` live orders from one source in one UTC-aligned bucket."""
    groups: dict[tuple, list[str]] = defaultdict(list)
    for s in live:
        source = source_of(s.order)
        if source:
            groups[(source, s.order["ts"] // BUCKET_MS * BUCKET_MS)].append(s.order_id)
    out = {}
    for (source, start), ids in groups.items():
        if len(ids) < limit:
            continue
        start_text, end_text = seconds_label(start), seconds_label(start + BUCKET_MS)
        subject = f"{source}@{start_text}"
        out[alert_key(rule, subject)] = {
            "rule": rule, "subject": subject,
            "reason": f"{len(ids)} live orders from {who} {source} between {start_text} and "
                      f"{end_text}, at or above the limit of {limit}",
            field: source, "bucket": start_text, "orders": len(ids),
            "order_ids": sorted(ids, key=id_sort_key)[:LISTED_ORDERS],
        }
    return out


def alerts(live: list[Sale], stock: dict[str, dict]) -> dict[str, dict]:
    out = {}
    for s in live:
        # An order in a currency without a rate has no value yet: it never alerts.
        if not s.priced or s.value < HIGH_VALUE_ORDER:
            continue
        out[alert_key("high_value_order", s.order_id)] = {
            "rule": "high_value_order", "subject": s.order_id,
            "reason": f"order {s.order_id} is worth {money_text(s.value)} {BASE_CURRENCY}, at or "
                      f"above the limit of {money_text(HIGH_VALUE_ORDER)} {BASE_CURRENCY}",
            "order_id": s.order_id, "customer_id": s.order["customer_id"],
            "product_id": s.order["product_id"], "value": cents(s.value),
        }
    out.update(bursts(live, "ip_burst", "ip", "ip", IP_BURST, lambda o: o["ip"]))
    out.update(bursts(live, "customer_burst", "customer_id", "customer", CUSTOMER_BURST,
                      lambda o: o["customer_id"]))
    for level in stock.values():
        if not level["low_stock"]:
            continue
        product_id = level["product_id"]
        out[alert_key("low_stock", product_id)] = {
            "rule": "low_stock", "subject": product_id,
            "reason": f"product {product_id} has {level['available']} units available "
                      f"({level['on_hand']} on hand at {level['as_of']}, "
                      f"{level['sold_since']} sold since), at or below its reorder point of "
                      f"{level['reorder_point']}",
            "product_id": product_id, "on_hand": level["on_hand"],
            "sold_since": level["sold_since"], "available": level["available"],
            "reorder_point": level["reorder_point"],
        }
    return out


def data_quality(live: list[Sale], state: State, prefix: str) -> dict[str, dict]:
    out = {}
    for topic, q in state.quality.items():
        if q.consumed == 0:
            continue
        fields = [("source_topic", prefix + topic)]
        row = dict(fields)
        row.update(consumed=q.consumed, applied=q.applied, dead_lettered=q.dead_lettered,
                   tombstones=q.tombstones, duplicates=q.duplicates,
                   errors={kind: n for kind, n in sorted(q.errors.items()) if n})
        if topic == "orders":
            row["orphans"] = sum(1 for s in live if s.customer is None or s.product is None)
            row["unpriced"] = sum(1 for s in live if not s.priced)
        out[key_json(fields)] = row
    return out


def tables(state: State, prefix: str = "") -> dict[str, dict[str, dict]]:
    """Every output table of the current state; `prefix` is the run's topic prefix, which
    `data_quality` keys carry."""
    all_sales = [Sale(order_id, order, state)
                 for order_id, order in state.tables["orders"].items()]
    live = [s for s in all_sales if is_live(s.order)]

    t: dict[str, dict[str, dict]] = {}
    t["sales_total"] = sales_table(live, ("scope",), lambda s: ["all"])
    t["sales_by_category"] = sales_table(live, ("category",), lambda s: [s.category()])
    t["sales_by_segment"] = sales_table(live, ("gender", "age_band"),
                                        lambda s: [gender_of(s.customer), age_band_of(s.customer)])
    t["sales_by_country"] = sales_table(
        live, ("country",), lambda s: [given_or_unknown((s.customer or {}).get("country"))])
    t["sales_by_payment_method"] = sales_table(
        live, ("payment_method",), lambda s: [given_or_unknown(s.order["payment_method"])])

    t["sales_by_currency"] = {}
    for (currency,), figures in group(live, lambda s: [s.currency]).items():
        fields = [("currency", currency)]
        row = figures.sales_row(fields)
        row["revenue_native"] = cents(figures.native)
        t["sales_by_currency"][key_json(fields)] = row

    t["sales_by_hour"] = sales_table(
        live, ("hour",), lambda s: [utc(s.order["ts"]).strftime("%Y-%m-%dT%H:00:00Z")])
    t["sales_by_day"] = sales_table(live, ("day",), lambda s: [utc(s.order["ts"]).strftime("%Y-%m-%d")])
    t["sales_by_month"] = sales_table(live, ("month",), lambda s: [utc(s.order["ts"]).strftime("%Y-%m")])
    t["sales_by_customer"] = sales_table(live, ("customer_id",), lambda s: [s.order["customer_id"]])

    t["orders_by_status"] = {}
    for (status,), figures in group(all_sales, lambda s: [status_of(s.order)]).items():
        fields = [("status", status)]
        row = dict(fields)
        row.update(orders=figures.orders, units=figures.units, value=cents(figures.revenue))
        t["orders_by_status"][key_json(fields)] = row

    t["top_products_by_units"] = top_table(live, state, lambda f: f.units)
    t["top_products_by_revenue"] = top_table(live, state, lambda f: f.revenue)
    if all_sales:
        w = max(s.order["ts"] for s in all_sales)
        recent = [s for s in live if w - HOUR_MS < s.order["ts"] <= w]
    else:
        recent = []
    t["top_products_last_hour"] = top_table(recent, state, lambda f: f.units)
    t["stock_levels"] = stock_levels(live, state)
    t["alerts"] = alerts(live, t["stock_levels"])
    t["data_quality"] = data_quality(live, state, prefix)
    assert set(t) == set(TOPICS)
    return t


def oracle(records: Iterable, prefix: str = "") -> dict[str, dict[str, dict]]:
    return tables(state_of(records), prefix)
