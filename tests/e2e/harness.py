"""Kafka plumbing for the end-to-end tests, on confluent-kafka (librdkafka): topics, producing the
generated input, running the job binary, reading output topics back and folding change streams."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable, Iterable, Optional

from confluent_kafka import (OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer,
                             TopicPartition)
from confluent_kafka.admin import AdminClient, NewTopic

from gen import INPUT_PARTITIONS, INPUT_TOPICS, KEYLESS_TOPICS, Rec
from oracle import BURST_BUCKET_MINUTES, CUSTOMER_BURST, HIGH_VALUE_ORDER, IP_BURST, TOPICS

DEAD_LETTERS = "dead_letters"
PROGRESS = "salesflow_progress"
OUTPUT_TOPICS = TOPICS + (DEAD_LETTERS, PROGRESS)
TIME_HEADER = "salesflow-time"
JOB = "salesflow"


def new_prefix() -> str:
    return f"e2e-{uuid.uuid4().hex}."


# ---- topics ------------------------------------------------------------------------------------

def create_input_topics(brokers: str, prefix: str) -> None:
    admin = AdminClient({"bootstrap.servers": brokers})
    def config(topic: str) -> dict:
        if topic in KEYLESS_TOPICS:
            return {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}
        return {"cleanup.policy": "compact"}

    new = [NewTopic(prefix + t, num_partitions=INPUT_PARTITIONS, replication_factor=1,
                    config=config(t)) for t in INPUT_TOPICS]
    for topic, future in admin.create_topics(new, operation_timeout=30).items():
        future.result()  # raises on failure
    wait_for_topics(brokers, [prefix + t for t in INPUT_TOPICS])


def wait_for_topics(brokers: str, topics: list[str], timeout: float = 30) -> None:
    admin = AdminClient({"bootstrap.servers": brokers})
    deadline = time.monotonic() + timeout
    while True:
        md = admin.list_topics(timeout=10)
        missing = [t for t in topics if t not in md.topics or md.topics[t].error is not None
                   or not md.topics[t].partitions]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"topics did not appear: {missing}")
        time.sleep(0.1)


def delete_topics_with_prefix(brokers: str, prefix: str) -> None:
    admin = AdminClient({"bootstrap.servers": brokers})
    names = [t for t in admin.list_topics(timeout=10).topics if t.startswith(prefix)]
    if not names:
        return
    for _, future in admin.delete_topics(names, operation_timeout=30).items():
        try:
            future.result()
        except KafkaException as e:
            if e.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise


# ---- producing ---------------------------------------------------------------------------------

def new_producer(brokers: str, **extra) -> Producer:
    config = {"bootstrap.servers": brokers, "enable.idempotence": True, "linger.ms": 5}
    config.update(extra)
    return Producer(config)


def send(producer: Producer, prefix: str, rec: Rec, errors: list) -> None:
    def delivered(err, msg, rec=rec):
        if err is not None:
            errors.append(f"{rec.describe()}: {err}")
        else:
            assert msg.partition() == rec.partition
            rec.offset = msg.offset()

    while True:
        try:
            producer.produce(prefix + rec.topic, key=rec.key, value=rec.value,
                             partition=rec.partition, on_delivery=delivered)
            break
        except BufferError:
            producer.poll(0.05)
    producer.poll(0)


def produce(brokers: str, prefix: str, records: Iterable[Rec]) -> None:
    """Produces every record to its partition, in order, and waits for all acknowledgements."""
    producer = new_producer(brokers)
    errors: list[str] = []
    records = list(records)
    for rec in records:
        send(producer, prefix, rec, errors)
    left = producer.flush(60)
    assert left == 0, f"{left} input records were not acknowledged"
    assert not errors, "producing input failed:\n" + "\n".join(errors[:10])
    assert all(rec.offset >= 0 for rec in records)


def end_offsets(brokers: str, topics: Iterable[str],
                isolation: str = "read_committed") -> dict[str, dict[int, int]]:
    """End offsets of every partition of `topics` (missing topics are left out): with
    read_committed the last stable offsets, which stop before any transaction still open, with
    read_uncommitted the high watermarks."""
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": f"e2e-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "isolation.level": isolation})
    try:
        md = consumer.list_topics(timeout=10)
        out: dict[str, dict[int, int]] = {}
        for topic in topics:
            if topic not in md.topics or md.topics[topic].error is not None:
                continue
            out[topic] = {}
            for p in md.topics[topic].partitions:
                out[topic][p] = high_watermark(consumer, topic, p)
        return out
    finally:
        consumer.close()


def settled_end_offsets(brokers: str, topics: Iterable[str], timeout: float,
                        open_ok: bool = False) -> dict[str, dict[int, int]]:
    """The end offsets of `topics` once no transaction on them is open: the last stable offsets,
    waited for (up to `timeout`) until they reach the high watermarks. A job that has exited
    committed or aborted every transaction, but the broker writes a committed transaction's
    markers after the commit returns, so for a moment a read_committed reader still stops before
    that transaction. `open_ok`: a transaction still open then (a killed writer's, open until
    its next instance aborts it) is left out rather than failing."""
    topics = list(topics)
    deadline = time.monotonic() + timeout
    while True:
        stable = end_offsets(brokers, topics)
        high = end_offsets(brokers, topics, "read_uncommitted")
        if stable == high:
            return stable
        if time.monotonic() >= deadline:
            open_ = {(t, p): (stable.get(t, {}).get(p), end) for t, parts in high.items()
                     for p, end in parts.items() if stable.get(t, {}).get(p) != end}
            assert open_ok, \
                f"transactions still open after {timeout} s: (last stable, high) offsets {open_}"
            return stable
        time.sleep(0.05)


# A topic the job has just created may not have a leader for a moment.
TRANSIENT = {KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE,
             KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._TIMED_OUT, KafkaError.REQUEST_TIMED_OUT}


def high_watermark(consumer: Consumer, topic: str, partition: int, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            return high
        except KafkaException as e:
            if e.args[0].code() not in TRANSIENT or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# ---- running the job ---------------------------------------------------------------------------

def alert_flags() -> list[str]:
    """Alert limits small enough for the generated input to fire every alert rule; the oracle
    uses the same ones."""
    return ["--high-value-order", format(HIGH_VALUE_ORDER, "f"), "--ip-burst", str(IP_BURST),
            "--customer-burst", str(CUSTOMER_BURST),
            "--burst-bucket-minutes", str(BURST_BUCKET_MINUTES)]


def job_command(binary: str, brokers: str, prefix: str, envelope: str, bounded: bool,
                extra: Iterable[str] = ()) -> list[str]:
    cmd = [binary, "run", "-b", brokers, "--topic-prefix", prefix, "--envelope", envelope,
           "--workers", "2", "--epoch-ms", "50", *alert_flags(), *extra]
    if bounded:
        cmd.append("--bounded")
    return cmd


def run_bounded(binary: str, brokers: str, prefix: str, envelope: str, timeout: float = 120,
                extra: Iterable[str] = ()) -> str:
    """Runs the job with --bounded; asserts it exits 0 and returns its log."""
    cmd = job_command(binary, brokers, prefix, envelope, bounded=True, extra=extra)
    try:
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                              env={**os.environ, "SALESFLOW_LOG": "info"})
    except subprocess.TimeoutExpired as e:
        log = (e.stderr or b"").decode(errors="replace")
        raise AssertionError(f"`{' '.join(cmd)}` did not finish within {timeout}s; log:\n"
                             f"{log[-4000:]}") from None
    log = done.stderr.decode(errors="replace")
    assert done.returncode == 0, (f"`{' '.join(cmd)}` exited {done.returncode}; log tail:\n"
                                  f"{log[-4000:]}")
    return log


def start_unbounded(binary: str, brokers: str, prefix: str, envelope: str,
                    log_path: str, extra: Iterable[str] = ()) -> subprocess.Popen:
    cmd = job_command(binary, brokers, prefix, envelope, bounded=False, extra=extra)
    log = open(log_path, "wb")
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            env={**os.environ, "SALESFLOW_LOG": "info"})


def stop(process: subprocess.Popen, timeout: float) -> Optional[int]:
    """SIGTERM, then the exit code, or None if it did not exit within `timeout` (then killed)."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
        return None


# ---- reading outputs ---------------------------------------------------------------------------

@dataclass
class Msg:
    topic: str  # unprefixed
    partition: int
    offset: int
    key: Optional[bytes]
    value: Optional[bytes]
    headers: dict[str, list[bytes]]

    def time(self) -> int:
        values = self.headers.get(TIME_HEADER, [])
        assert len(values) == 1, f"{self.where()}: expected one {TIME_HEADER} header, got {values!r}"
        text = values[0].decode()
        assert text.isdigit(), f"{self.where()}: {TIME_HEADER} header {text!r} is not decimal ms"
        return int(text)

    def where(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


def read_all(brokers: str, prefix: str, topics: Iterable[str] = OUTPUT_TOPICS,
             timeout: float = 60, isolation: str = "read_committed", settle: float = 30,
             open_ok: bool = False) -> dict[str, list[Msg]]:
    """Every committed message of every partition of `topics`, from the beginning to the end
    offsets, with a read_committed consumer; per topic in (partition, offset) order. With
    isolation="read_uncommitted", aborted messages too (ends: the last stable offsets).

    The writer has stopped, so the ends are first waited for, up to `settle` seconds, until its
    every transaction has ended (`settled_end_offsets`; `open_ok` as there). `settle=0` while
    a job runs: the last stable offsets seen now."""
    topics = list(topics)
    names = [prefix + t for t in topics]
    ends = (settled_end_offsets(brokers, names, settle, open_ok) if settle > 0
            else end_offsets(brokers, names))
    out: dict[str, list[Msg]] = {t: [] for t in topics}
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": f"e2e-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "isolation.level": isolation,
                         "auto.offset.reset": "earliest", "enable.partition.eof": False})
    try:
        pending = {(topic, p): high for topic, parts in ends.items()
                   for p, high in parts.items() if high > 0}
        if not pending:
            return out
        consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for (t, p) in pending])
        deadline = time.monotonic() + timeout
        while pending:
            assert time.monotonic() < deadline, f"reading outputs timed out; still pending {pending}"
            for m in consumer.consume(num_messages=5000, timeout=0.2):
                if m.error():
                    raise KafkaException(m.error())
                tp = (m.topic(), m.partition())
                if tp not in pending:
                    continue  # past the end seen at start
                if m.offset() < pending[tp]:
                    headers: dict[str, list[bytes]] = defaultdict(list)
                    for name, value in m.headers() or []:
                        headers[name].append(value)
                    out[m.topic()[len(prefix):]].append(
                        Msg(m.topic()[len(prefix):], m.partition(), m.offset(), m.key(),
                            m.value(), dict(headers)))
                if m.offset() + 1 >= pending[tp]:
                    del pending[tp]
            # Transaction markers end a partition without a message: trust the position then.
            if pending:
                for tp in consumer.position([TopicPartition(t, p) for (t, p) in pending]):
                    if tp.offset >= 0 and tp.offset >= pending.get((tp.topic, tp.partition), 1 << 62):
                        del pending[(tp.topic, tp.partition)]
    finally:
        consumer.close()
    for msgs in out.values():
        msgs.sort(key=lambda m: (m.partition, m.offset))
    return out


def parse_json(data: bytes, where: str):
    try:
        return json.loads(data.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise AssertionError(f"{where}: not JSON ({e}): {data!r}") from None


def check_key_matches(key: str, row: dict, where: str) -> None:
    fields = json.loads(key)
    assert isinstance(fields, dict), f"{where}: key {key!r} is not a JSON object"
    for name, value in fields.items():
        assert row.get(name) == value, f"{where}: key {key} but row has {name}={row.get(name)!r}"


def fold(msgs: list[Msg], envelope: str) -> dict[str, dict]:
    """Folds one change-stream topic into its current table {key_json: row}; asserts the stream
    is well formed for its envelope along the way."""
    table: dict[str, dict] = {}
    counts: dict[tuple[str, str], int] = defaultdict(int)
    rows: dict[tuple[str, str], dict] = {}
    for m in msgs:
        where = m.where()
        m.time()
        assert m.key is not None, f"{where}: message without key"
        key = m.key.decode()
        value = None if m.value is None else parse_json(m.value, where)
        if envelope == "upsert":
            if value is None:
                assert key in table, f"{where}: tombstone for key {key} that has no row"
                del table[key]
            else:
                check_key_matches(key, value, where)
                table[key] = value
        elif envelope == "debezium":
            assert isinstance(value, dict) and set(value) >= {"before", "after", "op", "ts_ms"}, \
                f"{where}: not a debezium envelope: {m.value!r}"
            before, after, op = value["before"], value["after"], value["op"]
            assert before == table.get(key), \
                f"{where}: before={before} but the current row of {key} is {table.get(key)}"
            expected_op = "c" if before is None else ("d" if after is None else "u")
            assert op == expected_op, f"{where}: op {op!r} for before={before} after={after}"
            assert isinstance(value["ts_ms"], int), f"{where}: ts_ms {value['ts_ms']!r} is no integer"
            if after is None:
                assert key in table, f"{where}: delete of key {key} that has no row"
                del table[key]
            else:
                check_key_matches(key, after, where)
                table[key] = after
        elif envelope == "diff":
            assert isinstance(value, dict) and set(value) >= {"row", "diff", "time"}, \
                f"{where}: not a diff envelope: {m.value!r}"
            assert value["diff"] in (1, -1), f"{where}: diff {value['diff']!r} is not +1 or -1"
            assert value["time"] == m.time(), f"{where}: time {value['time']} != header time"
            row = value["row"]
            check_key_matches(key, row, where)
            identity = (key, json.dumps(row, sort_keys=True, default=str))
            counts[identity] += value["diff"]
            rows[identity] = row
            # Retractions come first, so a running count is never negative nor above one.
            assert counts[identity] in (0, 1), \
                f"{where}: row {row} of key {key} now has count {counts[identity]}"
        else:
            raise ValueError(envelope)
    if envelope == "diff":
        for (key, ident), count in counts.items():
            assert count in (0, 1), f"row {rows[(key, ident)]} of key {key} folds to count {count}"
            if count == 1:
                assert key not in table, f"key {key} folds to two rows: {table[key]} and " \
                                         f"{rows[(key, ident)]}"
                table[key] = rows[(key, ident)]
    return table


def fold_upsert_at_least_once(msgs: list[Msg]) -> dict[str, dict]:
    """Folds an upsert topic that may hold repeats: after a crash the job writes again what it had
    written after its last progress record (at-least-once), so a key's tombstone may come twice.
    Otherwise checked like fold(msgs, "upsert"); a repeated row is harmless there anyway."""
    table: dict[str, dict] = {}
    for m in msgs:
        where = m.where()
        m.time()
        assert m.key is not None, f"{where}: message without key"
        key = m.key.decode()
        if m.value is None:
            table.pop(key, None)
        else:
            value = parse_json(m.value, where)
            check_key_matches(key, value, where)
            table[key] = value
    return table


def last_progress(msgs: list[Msg], job: str = JOB) -> Optional[dict]:
    latest = None
    for m in sorted(msgs, key=lambda m: (m.partition, m.offset)):
        if m.key == job.encode():
            latest = None if m.value is None else parse_json(m.value, m.where())
    return latest


def input_ends(prefix: str, records: Iterable[Rec]) -> dict[str, dict[int, int]]:
    """The end offset of every partition the (acknowledged) `records` went to."""
    ends: dict[str, dict[int, int]] = {}
    for rec in records:
        parts = ends.setdefault(prefix + rec.topic, {})
        parts[rec.partition] = max(parts.get(rec.partition, 0), rec.offset + 1)
    return ends


def wait_for_progress(brokers: str, prefix: str, ends: dict[str, dict[int, int]],
                      processes: list[subprocess.Popen], logs: Callable[[], str],
                      timeout: float, job: str = JOB) -> dict:
    """Waits until the job's last progress record covers the input up to `ends` and returns it;
    fails if one of `processes` exits first or the time runs out (showing `logs()`)."""
    deadline = time.monotonic() + timeout
    while True:
        codes = [p.poll() for p in processes]
        assert codes == [None] * len(codes), f"the job exited early: {codes}\n{logs()}"
        assert time.monotonic() < deadline, \
            f"the job's progress did not cover the input within {timeout} s\n{logs()}"
        progress = last_progress(
            read_all(brokers, prefix, (PROGRESS,), settle=0)[PROGRESS], job)
        if progress:
            inputs = progress_offsets(progress, "inputs")
            if all(inputs.get(t, {}).get(p, 0) >= end
                   for t, parts in ends.items() for p, end in parts.items()):
                return progress
        time.sleep(0.2)


def progress_offsets(progress: dict, field: str) -> dict[str, dict[int, int]]:
    return {topic: {int(p): int(o) for p, o in parts.items()}
            for topic, parts in progress.get(field, {}).items()}


# ---- comparing ---------------------------------------------------------------------------------

def diff_tables(expected: dict[str, dict[str, dict]], actual: dict[str, dict[str, dict]],
                show: int = 8) -> str:
    """'' when equal; otherwise a report of the first differing keys of every table."""
    lines = []
    for topic in sorted(set(expected) | set(actual)):
        exp, act = expected.get(topic, {}), actual.get(topic, {})
        bad = [k for k in sorted(set(exp) | set(act)) if normal(exp.get(k)) != normal(act.get(k))]
        if not bad:
            continue
        lines.append(f"== {topic}: {len(bad)} of {len(set(exp) | set(act))} keys differ "
                     f"(expected {len(exp)} rows, got {len(act)})")
        for k in bad[:show]:
            lines.append(f"   key {k}\n     expected {show_row(exp.get(k))}\n"
                         f"     actual   {show_row(act.get(k))}")
    return "\n".join(lines)


def normal(row):
    """Rows compare field by field; money compares as a number, so 5.0 == 5.00."""
    if row is None:
        return None
    return {k: (Decimal(v) if isinstance(v, (int, Decimal)) and not isinstance(v, bool) else v)
            for k, v in row.items()}


def show_row(row) -> str:
    if row is None:
        return "(no row)"
    return json.dumps(row, default=str)
