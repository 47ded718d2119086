"""The Kafka Streams peer of salesflow (benches/peers/kafka-streams) against a REAL Kafka broker:
the generated input of the other end-to-end tests (bad records, corrections, deletes, late data,
dimension changes), the peer's six output tables read back with a read_committed consumer and
folded, and each compared with the Python oracle, as test_job.py does for the salesflow job.

Needs SALESFLOW_TEST_BROKERS (skips without it), java 17 and mvn (the jar is built if missing).
`SALESFLOW_PEER_BENCH=ORDERS` also runs the throughput measurement (opt-in, for information).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import time
import uuid
import zlib
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from confluent_kafka import (Consumer, ConsumerGroupTopicPartitions, KafkaError, KafkaException,
                             TopicPartition)
from confluent_kafka.admin import AdminClient

import harness
from gen import Gen, Rec, partition_of
from harness import Msg
from oracle import oracle

PEER_DIR = Path(__file__).resolve().parents[2] / "benches" / "peers" / "kafka-streams"
JAR = PEER_DIR / "target" / "salesflow-kafka-streams.jar"
PEER_INPUTS = ("orders", "customers", "products", "fx_rates")
PEER_OUTPUTS = ("sales_total", "sales_by_category", "sales_by_segment", "sales_by_day",
                "sales_by_customer", "top_products_by_units")
# Longer than the peer's commit interval (1 s) and its top-products emit interval (200 ms).
QUIET_SECONDS = 3.0


# Overrides conftest's `brokers` (which fails when the variable is unset), for this module and the
# `prefix` fixture it uses: the peer test is optional, so it skips instead.
@pytest.fixture(scope="session")
def brokers() -> str:
    value = os.environ.get("SALESFLOW_TEST_BROKERS", "").strip()
    if not value:
        pytest.skip("SALESFLOW_TEST_BROKERS is not set: the peer test needs a real Kafka broker "
                    "(scripts/kafka.sh start --port 19092 --dir /tmp/e2e-kafka)")
    return value


@pytest.fixture(scope="session")
def peer_jar() -> Path:
    if not JAR.is_file():
        subprocess.run(["mvn", "-q", "-B", "-f", str(PEER_DIR / "pom.xml"), "package", "-DskipTests"],
                       check=True, timeout=900)
    assert JAR.is_file(), f"mvn did not build {JAR}"
    return JAR


def seed_for(base_seed: int, name: str) -> int:
    seed = base_seed + zlib.crc32(name.encode())
    print(f"seed for {name}: {seed} (SALESFLOW_E2E_SEED={base_seed})")
    return seed


def peer_records(gen: Gen, n: int) -> list[Rec]:
    """`n` generated records plus bad records of every kind, on the topics the peer reads."""
    records = gen.records(n)
    for _ in range(8):
        records += [gen.bad(topic) for topic in PEER_INPUTS]
    records += [gen.bad_order() for _ in range(20)]
    return [r for r in records if r.topic in PEER_INPUTS]


# ---- running the peer ----------------------------------------------------------------------------

class Peer:
    """The peer as a child process, and what its consumer group has done."""

    def __init__(self, jar: Path, brokers: str, prefix: str, eos: bool, state_dir: Path,
                 log_path: Path) -> None:
        mode = "eos" if eos else "alo"
        self.brokers, self.prefix = brokers, prefix
        # Under the test's prefix, so the fixture deletes its outputs and internal topics too.
        self.application_id = f"{prefix}peer-{mode}"
        self.output_prefix = f"{prefix}{mode}."
        self.log_path = log_path
        cmd = ["java", "-jar", str(jar), "--bootstrap", brokers, "--input-prefix", prefix,
               "--output-prefix", self.output_prefix, "--application-id", self.application_id,
               "--eos", "true" if eos else "false", "--threads", "2", "--state-dir", str(state_dir)]
        self.started = time.monotonic()
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def caught_up(self, admin: AdminClient) -> bool:
        """Whether the group has committed every record of the inputs and of the internal
        topics it reads (repartition and join topics; not the changelogs, which only restores
        read). Under exactly-once those are written in transactions, so a partition can end in
        commit markers, past which the committed offset may not have moved: there, what lies
        between the committed offset and the end is read to see that it holds no record."""
        request = [ConsumerGroupTopicPartitions(self.application_id)]
        try:
            result = admin.list_consumer_group_offsets(request)[self.application_id].result()
        except KafkaException:
            return False
        committed = {(tp.topic, tp.partition): max(tp.offset, 0) for tp in result.topic_partitions}
        inputs = [self.prefix + t for t in PEER_INPUTS]
        internal = [t for t in admin.list_topics(timeout=10).topics
                    if t.startswith(self.application_id + "-") and not t.endswith("-changelog")]
        behind = {(t, p): end for t, parts in harness.end_offsets(self.brokers, inputs + internal).items()
                  for p, end in parts.items() if committed.get((t, p), 0) < end}
        if any(t in inputs for (t, _) in behind):
            return False
        return not any_record_before(self.brokers, {tp: (committed.get(tp, 0), end)
                                                    for tp, end in behind.items()})

    def wait_until_done(self, timeout: float) -> float:
        """Waits until the group has caught up and the outputs have been quiet for a while;
        returns the seconds from start until it had caught up."""
        admin = AdminClient({"bootstrap.servers": self.brokers})
        deadline = time.monotonic() + timeout
        caught_up_after = None
        last_ends, quiet_since = None, None
        while True:
            assert self.process.poll() is None, \
                f"the peer exited early ({self.process.returncode}):\n{self.log()}"
            assert time.monotonic() < deadline, \
                f"the peer did not catch up within {timeout:.0f} s:\n{self.log()}"
            if self.caught_up(admin):
                if caught_up_after is None:
                    caught_up_after = time.monotonic() - self.started
                ends = harness.end_offsets(self.brokers,
                                           [self.output_prefix + t for t in PEER_OUTPUTS])
                now = time.monotonic()
                if ends != last_ends:
                    last_ends, quiet_since = ends, now
                elif now - quiet_since >= QUIET_SECONDS:
                    return caught_up_after
            else:
                caught_up_after, last_ends = None, None
            time.sleep(0.25)

    def tables(self) -> dict[str, dict[str, dict]]:
        outputs = harness.read_all(self.brokers, self.output_prefix, topics=PEER_OUTPUTS)
        return {topic: fold_upsert(outputs[topic]) for topic in PEER_OUTPUTS}

    def stop(self) -> None:
        code = harness.stop(self.process, timeout=60)
        assert code is not None, f"the peer did not stop within 60 s of SIGTERM:\n{self.log()}"
        # The JVM reports SIGTERM as 143 after its shutdown hook closed Kafka Streams.
        assert code in (0, 143), f"the peer exited {code} after SIGTERM:\n{self.log()}"
        admin = AdminClient({"bootstrap.servers": self.brokers})
        for future in admin.delete_consumer_groups([self.application_id]).values():
            future.result()


def any_record_before(brokers: str, ranges: dict[tuple[str, int], tuple[int, int]]) -> bool:
    """Whether any record lies in [start, end) of the partitions of `ranges`, or may: a
    read_committed consumer stops at an open transaction, short of the end."""
    if not ranges:
        return False
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": f"e2e-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "isolation.level": "read_committed",
                         "enable.partition.eof": True})
    try:
        consumer.assign([TopicPartition(t, p, start) for (t, p), (start, _) in ranges.items()])
        pending = set(ranges)
        deadline = time.monotonic() + 10
        while pending and time.monotonic() < deadline:
            for m in consumer.consume(num_messages=100, timeout=0.2):
                tp = (m.topic(), m.partition())
                if m.error() is None:
                    if m.offset() < ranges[tp][1]:
                        return True
                elif m.error().code() != KafkaError._PARTITION_EOF:
                    raise KafkaException(m.error())
                elif m.offset() < ranges[tp][1]:
                    return True  # stopped short of the end: a transaction still open there
                pending.discard(tp)
        return bool(pending)  # not known to be empty: not caught up yet
    finally:
        consumer.close()


def fold_upsert(msgs: list[Msg]) -> dict[str, dict]:
    """harness.fold(msgs, "upsert") without its `salesflow-time` header check: the peer has no
    logical time to put in one. A tombstone must still delete a row that exists."""
    table: dict[str, dict] = {}
    for m in msgs:
        where = m.where()
        assert m.key is not None, f"{where}: message without key"
        key = m.key.decode()
        if m.value is None:
            assert key in table, f"{where}: tombstone for key {key} that has no row"
            del table[key]
        else:
            row = harness.parse_json(m.value, where)
            harness.check_key_matches(key, row, where)
            table[key] = row
    return table


def check_peer(peer: Peer, records: list[Rec], prefix: str, what: str) -> None:
    peer.wait_until_done(timeout=300)
    expected = {topic: table for topic, table in oracle(records, prefix).items()
                if topic in PEER_OUTPUTS}
    assert expected["sales_total"] and expected["top_products_by_units"], \
        "the generated input has no live order"
    report = harness.diff_tables(expected, peer.tables())
    assert not report, f"{what}: the peer's folded output differs from the oracle:\n{report}"


# ---- tests ---------------------------------------------------------------------------------------

def test_peer_with_exactly_once_matches_oracle(brokers, peer_jar, base_seed, prefix, tmp_path):
    records = peer_records(Gen(seed_for(base_seed, "peer-eos")), 3000)
    first, second = records[: len(records) // 2], records[len(records) // 2:]
    harness.produce(brokers, prefix, first)
    peer = Peer(peer_jar, brokers, prefix, True, tmp_path / "state", tmp_path / "peer-eos.log")
    try:
        check_peer(peer, first, prefix, "exactly-once, first half of the input")
        # The second half arrives while it runs: corrections and deletes of what it has written.
        harness.produce(brokers, prefix, second)
        check_peer(peer, records, prefix, "exactly-once, all input")
    finally:
        peer.stop()


def test_peer_with_at_least_once_matches_oracle(brokers, peer_jar, base_seed, prefix, tmp_path):
    records = peer_records(Gen(seed_for(base_seed, "peer-alo")), 800)
    harness.produce(brokers, prefix, records)
    peer = Peer(peer_jar, brokers, prefix, False, tmp_path / "state", tmp_path / "peer-alo.log")
    try:
        check_peer(peer, records, prefix, "at-least-once")
    finally:
        peer.stop()


# ---- throughput (opt-in) -------------------------------------------------------------------------

BENCH_BASE_TS = int(datetime(2026, 11, 20, tzinfo=timezone.utc).timestamp()) * 1000


def bench_records(orders: int, seed: int = 7) -> list[Rec]:
    """A salesflow-like workload, as Rec objects the oracle reads: customers, products and rates
    first, then `orders` changes (70% new orders, 15% corrections, 5% cancellations or deletes,
    10% customer and product changes), product popularity following a power law."""
    r = random.Random(seed)
    n_customers, n_products = max(10, orders // 2), max(10, orders // 20)
    out: list[Rec] = []

    def rec(topic: str, ident: str, data, value) -> Rec:
        body = None if value is None else json.dumps(value, separators=(",", ":")).encode()
        return Rec(topic, partition_of(ident), ident.encode(), body, True,
                   "tombstone" if data is None else topic, ident, data)

    def customer(i: int) -> Rec:
        ident = f"c{i}"
        data = {"gender": r.choice(["F", "M", "x", None]), "age": r.choice([None, r.randint(12, 90)]),
                "country": r.choice(["DE", "US", "FR"]), "name": None, "email": None}
        return rec("customers", ident, data, {"customer_id": ident, **{k: v for k, v in data.items() if v is not None}})

    def product(i: int) -> Rec:
        ident = str(i)
        data = {"name": f"Product {i}", "category": r.choice(["books", "toys", "garden", "kitchen"]),
                "brand": None, "price": None}
        return rec("products", ident, data, {"product_id": i, "name": data["name"], "category": data["category"]})

    def order(ident: str) -> Rec:
        currency = r.choice(["USD", "USD", "EUR", "GBP"])
        cents = r.randint(100, 20_000)
        data = {"ts": BENCH_BASE_TS + r.randint(0, 3 * 86_400_000), "customer_id": f"c{r.randrange(n_customers)}",
                "product_id": str(min(int(r.paretovariate(1.2)), n_products) - 1),
                "quantity": r.randint(1, 4), "price": Decimal(cents) / 100, "currency": currency,
                "status": r.choice(["placed", "paid", "shipped"]), "payment_method": "card", "ip": None}
        value = {"order_id": ident, **{k: (str(v) if k == "price" else v) for k, v in data.items()
                                        if v is not None}}
        return rec("orders", ident, data, value)

    for currency, rate in (("EUR", "1.0842"), ("GBP", "1.2512")):
        out.append(rec("fx_rates", currency, {"rate": Decimal(rate)}, {"currency": currency, "rate": rate}))
    out += [customer(i) for i in range(n_customers)]
    out += [product(i) for i in range(n_products)]
    next_order = 0
    for _ in range(orders):
        roll = r.random()
        if roll < 0.70 or next_order == 0:
            out.append(order(f"o{next_order}"))
            next_order += 1
        elif roll < 0.85:
            out.append(order(f"o{r.randrange(next_order)}"))
        elif roll < 0.90:
            ident = f"o{r.randrange(next_order)}"
            if r.random() < 0.5:
                out.append(rec("orders", ident, None, None))
            else:
                cancelled = order(ident)
                cancelled.data["status"] = "cancelled"
                body = json.loads(cancelled.value)
                body["status"] = "cancelled"
                cancelled.value = json.dumps(body, separators=(",", ":")).encode()
                out.append(cancelled)
        elif roll < 0.95:
            out.append(customer(r.randrange(n_customers)))
        else:
            out.append(product(r.randrange(n_products)))
    return out


@pytest.mark.skipif(not os.environ.get("SALESFLOW_PEER_BENCH"),
                    reason="set SALESFLOW_PEER_BENCH=ORDERS to measure the peer's throughput")
def test_peer_throughput(brokers, peer_jar, prefix, tmp_path):
    orders = int(os.environ["SALESFLOW_PEER_BENCH"])
    records = bench_records(orders)
    harness.produce(brokers, prefix, records)
    expected = {t: table for t, table in oracle(records, prefix).items() if t in PEER_OUTPUTS}
    for eos in (True, False):
        peer = Peer(peer_jar, brokers, prefix, eos, tmp_path / f"state-{eos}", tmp_path / f"bench-{eos}.log")
        try:
            seconds = peer.wait_until_done(timeout=1800)
            report = harness.diff_tables(expected, peer.tables())
        finally:
            peer.stop()
        print(f"\npeer throughput, {'exactly_once_v2' if eos else 'at_least_once'}: "
              f"{len(records)} input records ({orders} order changes) in {seconds:.1f} s from start "
              f"to zero lag = {len(records) / seconds:,.0f} records/s")
        assert not report, f"bench run (eos={eos}) differs from the oracle:\n{report}"
