"""End-to-end cross-checks of the salesflow job: random input into a real Kafka broker (through
confluent-kafka, not the project's client), the real job binary, every output topic read back with
a read_committed consumer and folded, and each table compared with the Python oracle.

Needs SALESFLOW_TEST_BROKERS (fails loudly without it); see conftest.py.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import zlib

import pytest

import harness
from gen import INPUT_TOPICS, Gen, Rec
from harness import DEAD_LETTERS, PROGRESS, Msg
from oracle import ALERT_RULES, TOPICS, oracle

RECORDS = 600


def seed_for(base_seed: int, name: str) -> int:
    seed = base_seed + zlib.crc32(name.encode())
    print(f"seed for {name}: {seed} (SALESFLOW_E2E_SEED={base_seed})")
    return seed


# ---- shared checks -----------------------------------------------------------------------------

def check_tables(expected, outputs: dict[str, list[Msg]], envelope: str, what: str) -> None:
    actual = {topic: harness.fold(outputs[topic], envelope) for topic in TOPICS}
    report = harness.diff_tables(expected, actual)
    assert not report, f"{what}: folded output ({envelope}) differs from the oracle:\n{report}"
    # The comparison above must not be vacuous.
    assert expected["sales_total"], "the generated input has no live order"
    missing = vacuous(expected)
    assert not missing, f"{what}: the generated input does not exercise {missing}"


def check_every_progress_is_a_cut(records: list[Rec], outputs: dict[str, list[Msg]],
                                  envelope: str, prefix: str, job: str = harness.JOB) -> None:
    """Each committed progress record is a resume point: the output up to the offsets it names
    must fold into the oracle of exactly the input up to the offsets it binds. A restart that
    binds input whose changes are not yet written fails this at once, where the final tables
    would show it only if a kill landed before those changes were."""
    points = [harness.parse_json(m.value, m.where()) for m in outputs[harness.PROGRESS]
              if m.key == job.encode() and m.value is not None]
    assert points, "no progress record"
    for point in points:
        bound = harness.progress_offsets(point, "inputs")
        named = harness.progress_offsets(point, "outputs")
        read = [r for r in records
                if r.offset < bound.get(prefix + r.topic, {}).get(r.partition, 0)]
        written = {topic: [m for m in outputs[topic]
                           if m.offset < named.get(prefix + topic, {}).get(m.partition, 0)]
                   for topic in TOPICS}
        actual = {topic: harness.fold(written[topic], envelope) for topic in TOPICS}
        report = harness.diff_tables(oracle(read, prefix), actual)
        assert not report, (f"the output committed with the progress of time {point['time']} "
                            f"is not that of the input it binds:\n{report}")
    print(f"{len(points)} progress records: each binds the input of the output before it")


def vacuous(expected) -> list[str]:
    """What the newer tables of `expected` fail to show: every alert rule firing, stock levels,
    and data_quality rows with duplicates, tombstones, dead letters, orphans and unpriced orders."""
    missing = []
    fired = {row["rule"] for row in expected["alerts"].values()}
    missing += [f"alert rule {rule}" for rule in ALERT_RULES if rule not in fired]
    if not expected["stock_levels"]:
        missing.append("stock levels")
    quality = list(expected["data_quality"].values())
    for counter in ("duplicates", "tombstones", "dead_lettered"):
        if not any(row[counter] for row in quality):
            missing.append(f"data_quality {counter}")
    for counter in ("orphans", "unpriced"):  # only the orders row has them
        if not any(row.get(counter) for row in quality):
            missing.append(f"data_quality {counter}")
    return missing


def check_dead_letters(prefix: str, records: list[Rec], dead: list[Msg]) -> None:
    """Every bad record is dead-lettered exactly once, with its coordinates, key, an error naming
    the field and the original bytes; no good record is."""
    by_place = {(prefix + r.topic, r.partition, r.offset): r for r in records}
    bad = {place for place, r in by_place.items() if not r.good}
    assert bad, "the generated input has no bad record"
    seen: dict[tuple, Msg] = {}
    problems = []
    for m in dead:
        m.time()
        letter = json.loads(m.value.decode()) if m.value is not None else None
        if not isinstance(letter, dict):
            problems.append(f"{m.where()}: dead letter is not a JSON object: {m.value!r}")
            continue
        place = (letter.get("source_topic"), letter.get("partition"), letter.get("offset"))
        if place in seen:
            problems.append(f"{m.where()}: second dead letter for {place} (first at "
                            f"{seen[place].where()})")
            continue
        seen[place] = m
        rec = by_place.get(place)
        if rec is None:
            problems.append(f"{m.where()}: dead letter for {place}, which is no input record: "
                            f"{letter}")
            continue
        if rec.good:
            problems.append(f"{m.where()}: GOOD record dead-lettered: {rec.describe()}; "
                            f"error {letter.get('error')!r}")
            continue
        want_key = None if rec.key is None else rec.key.decode("utf-8", "replace")
        want_payload = None if rec.value is None else rec.value.decode("utf-8", "replace")
        error = letter.get("error")
        if letter.get("key") != want_key:
            problems.append(f"{rec.describe()}: dead letter key {letter.get('key')!r}, "
                            f"expected {want_key!r}")
        if letter.get("payload") != want_payload:
            problems.append(f"{rec.describe()}: dead letter payload {letter.get('payload')!r}, "
                            f"expected {want_payload!r}")
        if not isinstance(error, str) or rec.error_word.lower() not in error.lower():
            problems.append(f"{rec.describe()}: error {error!r} does not mention "
                            f"{rec.error_word!r}")
    for place in sorted(bad - set(seen)):
        problems.append(f"bad record never dead-lettered: {by_place[place].describe()}")
    assert not problems, f"{len(problems)} dead-letter problems:\n" + "\n".join(problems[:20])


def output_times(outputs: dict[str, list[Msg]]) -> list[int]:
    return [m.time() for topic in TOPICS + (DEAD_LETTERS,) for m in outputs[topic]]


# ---- 1. bounded run, every envelope ------------------------------------------------------------

@pytest.mark.parametrize("envelope", ["upsert", "debezium", "diff"])
def test_bounded_run_matches_oracle(brokers, salesflow_bin, base_seed, prefix, envelope):
    records = Gen(seed_for(base_seed, f"bounded-{envelope}")).records(RECORDS)
    harness.produce(brokers, prefix, records)
    harness.run_bounded(salesflow_bin, brokers, prefix, envelope)
    outputs = harness.read_all(brokers, prefix)
    expected = oracle(records, prefix)
    check_tables(expected, outputs, envelope, "bounded run")
    assert any(len(row.get("order_ids", ())) < row.get("orders", 0)
               for row in expected["alerts"].values()), \
        "no burst alert has more orders than it lists"
    # `salesflow tail --once --json` folds each topic to exactly what this client folds.
    for topic in ("sales_by_category", "sales_by_customer", "top_products_by_units"):
        shown = subprocess.run(
            [salesflow_bin, "tail", topic, "-b", brokers, "--topic-prefix", prefix,
             "--envelope", envelope, "--once", "--json"],
            check=True, capture_output=True, text=True, timeout=60).stdout
        canonical = lambda row: json.dumps(row, sort_keys=True, default=str)  # noqa: E731
        tailed = sorted(canonical(harness.parse_json(line.encode(), f"tail {topic}")) for line in shown.splitlines())
        folded = sorted(canonical(row) for row in harness.fold(outputs[topic], envelope).values())
        assert tailed == folded, f"tail {topic} ({envelope}) differs from the Python fold"


# ---- 2. dead letters ---------------------------------------------------------------------------

def test_dead_letters(brokers, salesflow_bin, base_seed, prefix):
    gen = Gen(seed_for(base_seed, "dead-letters"), bad_share=0.2)
    records = gen.records(RECORDS // 2)
    # Every kind of bad record at least once, on every topic.
    for _ in range(12):
        records += [gen.bad(topic) for topic in INPUT_TOPICS]
    records += [gen.bad_order() for _ in range(30)]
    harness.produce(brokers, prefix, records)
    harness.run_bounded(salesflow_bin, brokers, prefix, "upsert")
    outputs = harness.read_all(brokers, prefix, topics=(DEAD_LETTERS,) + TOPICS)
    check_dead_letters(prefix, records, outputs[DEAD_LETTERS])
    check_tables(oracle(records, prefix), outputs, "upsert", "bounded run with many bad records")


# ---- 3. progress -------------------------------------------------------------------------------

def test_progress_covers_all_input_and_output(brokers, salesflow_bin, base_seed, prefix):
    records = Gen(seed_for(base_seed, "progress")).records(RECORDS)
    harness.produce(brokers, prefix, records)
    harness.run_bounded(salesflow_bin, brokers, prefix, "upsert")
    outputs = harness.read_all(brokers, prefix)
    progress_records = [harness.parse_json(m.value, m.where()) for m in outputs[PROGRESS]
                        if m.key == harness.JOB.encode() and m.value is not None]
    assert progress_records, "no progress record"
    progress = progress_records[-1]
    assert progress.get("job") == harness.JOB

    ends = harness.end_offsets(brokers, [prefix + t for t in INPUT_TOPICS])
    inputs = harness.progress_offsets(progress, "inputs")
    assert set(inputs) <= set(ends), f"progress names unknown inputs: {set(inputs) - set(ends)}"
    covered = {t: {p: inputs.get(t, {}).get(p, 0) for p in parts} for t, parts in ends.items()}
    assert covered == ends, (f"the last progress does not cover the input:\nprogress inputs "
                             f"{inputs}\nend offsets     {ends}")

    times = output_times(outputs)
    assert progress["time"] == max(times), (
        f"last progress time {progress['time']} != the largest {harness.TIME_HEADER} of any output "
        f"message {max(times)}")

    # The offsets it names cover every output message written.
    named = harness.progress_offsets(progress, "outputs")
    for topic in TOPICS + (DEAD_LETTERS,):
        for m in outputs[topic]:
            assert m.offset < named.get(prefix + topic, {}).get(m.partition, 0), (
                f"{m.where()} (time {m.time()}) is beyond the offsets of the last progress "
                f"{named.get(prefix + topic)}")

    # Progress only moves forward.
    for earlier, later in zip(progress_records, progress_records[1:]):
        assert later["time"] >= earlier["time"], f"progress went back: {earlier} then {later}"
        for field in ("inputs", "outputs"):
            a, b = harness.progress_offsets(earlier, field), harness.progress_offsets(later, field)
            for topic, parts in a.items():
                for p, offset in parts.items():
                    assert b.get(topic, {}).get(p, 0) >= offset, \
                        f"progress {field} of {topic}/{p} went back: {earlier} then {later}"


# ---- 4. restart --------------------------------------------------------------------------------

@pytest.mark.parametrize("envelope", ["upsert", "diff"])
def test_restart_continues_without_loss_or_repeats(brokers, salesflow_bin, base_seed, prefix,
                                                    envelope):
    records = Gen(seed_for(base_seed, f"restart-{envelope}")).records(RECORDS)
    first, second = records[: len(records) // 2], records[len(records) // 2:]

    harness.produce(brokers, prefix, first)
    harness.run_bounded(salesflow_bin, brokers, prefix, envelope)
    outputs = harness.read_all(brokers, prefix)
    check_tables(oracle(first, prefix), outputs, envelope, "first run (first half of the input)")

    harness.produce(brokers, prefix, second)
    harness.run_bounded(salesflow_bin, brokers, prefix, envelope)
    outputs = harness.read_all(brokers, prefix)
    # For diff, fold() also asserts that no (key, row) count ever leaves {0, 1}: a change written
    # twice, or a retraction of a row never written, fails there.
    check_tables(oracle(records, prefix), outputs, envelope, "after the restart (all input)")
    check_dead_letters(prefix, records, outputs[DEAD_LETTERS])
    progress = harness.last_progress(outputs[PROGRESS])
    ends = harness.end_offsets(brokers, [prefix + t for t in INPUT_TOPICS])
    inputs = harness.progress_offsets(progress, "inputs")
    assert {t: {p: inputs.get(t, {}).get(p, 0) for p in parts} for t, parts in ends.items()} == ends


# ---- 5. clean shutdown -------------------------------------------------------------------------

class Trickle(threading.Thread):
    """Feeds records (mostly orders) one at a time until halted."""

    def __init__(self, brokers: str, prefix: str, gen: Gen, interval: float) -> None:
        super().__init__(daemon=True)
        self.producer = harness.new_producer(brokers, **{"linger.ms": 0})
        self.prefix, self.gen, self.interval = prefix, gen, interval
        self.records: list[Rec] = []
        self.errors: list[str] = []
        self.halt = threading.Event()
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.halt.is_set():
                rec = self.gen.record(weights=(80, 5, 5, 5, 5))
                self.records.append(rec)
                harness.send(self.producer, self.prefix, rec, self.errors)
                self.halt.wait(self.interval)
        except BaseException as e:  # reported by the test
            self.failure = e
        finally:
            self.producer.flush(30)

    def delivered(self, before: list[Rec]) -> list[Rec]:
        """`before` and every record sent since, once halted; asserts each was acknowledged."""
        assert self.failure is None, f"trickle producer failed: {self.failure!r}"
        assert not self.errors, self.errors[:5]
        records = before + self.records
        assert all(r.offset >= 0 for r in records), "some input records were not acknowledged"
        return records


def test_sigterm_stops_cleanly_at_a_consistent_instant(brokers, salesflow_bin, base_seed, prefix,
                                                       tmp_path):
    gen = Gen(seed_for(base_seed, "shutdown"))
    initial = gen.records(250)
    harness.produce(brokers, prefix, initial)

    log_path = tmp_path / "salesflow.log"
    job = harness.start_unbounded(salesflow_bin, brokers, prefix, "upsert", str(log_path))
    trickle = Trickle(brokers, prefix, gen, interval=0.03)
    trickle.start()
    try:
        # Wait until the job has caught up with the initial input, then let it run on the trickle.
        harness.wait_for_progress(brokers, prefix, harness.input_ends(prefix, initial), [job],
                                  lambda: log_path.read_text()[-3000:], timeout=45)
        time.sleep(1.0)
        started = time.monotonic()
        code = harness.stop(job, timeout=30)
        took = time.monotonic() - started
        time.sleep(0.5)  # input keeps arriving after the job stopped
    finally:
        trickle.halt.set()
        trickle.join(30)
        if job.poll() is None:
            job.kill()
            job.wait(10)
    log = log_path.read_text(errors="replace")
    assert code is not None, f"the job did not exit within 30 s of SIGTERM:\n{log[-3000:]}"
    assert code == 0, f"the job exited {code} after SIGTERM:\n{log[-3000:]}"
    print(f"job stopped {took:.2f}s after SIGTERM")
    records = trickle.delivered(initial)

    outputs = harness.read_all(brokers, prefix)
    progress = harness.last_progress(outputs[PROGRESS])
    assert progress is not None, "no progress record after a clean stop"
    next_offsets = harness.progress_offsets(progress, "inputs")
    consumed = [r for r in records
                if r.offset < next_offsets.get(prefix + r.topic, {}).get(r.partition, 0)]
    # The offsets name a prefix of each partition (they are never past its end).
    ends = harness.end_offsets(brokers, [prefix + t for t in INPUT_TOPICS])
    for topic, parts in next_offsets.items():
        for p, offset in parts.items():
            assert offset <= ends[topic][p], f"progress names {topic}/{p}@{offset} past the end"
    consumed_ids = {id(r) for r in consumed}
    late = [r for r in trickle.records if id(r) not in consumed_ids]
    print(f"input: {len(initial)} initial + {len(trickle.records)} trickled; the last progress "
          f"(time {progress['time']}) covers {len(consumed)}, {len(late)} arrived after it")
    assert all(id(r) in consumed_ids for r in initial)
    assert len(consumed) > len(initial), "the job read none of the trickle before it stopped"
    assert late, "every trickled record was read: the stop did not happen mid-stream"

    # Nothing beyond the last progress is visible, and the tables are exactly that prefix's.
    times = output_times(outputs)
    assert max(times) <= progress["time"], (
        f"output written at time {max(times)}, after the last progress {progress['time']}")
    check_tables(oracle(consumed, prefix), outputs, "upsert",
                 "after SIGTERM (input prefix of the last progress)")
    check_dead_letters(prefix, consumed, outputs[DEAD_LETTERS])
