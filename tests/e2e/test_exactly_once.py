"""Exactly once across crashes, against a real Kafka broker: the job is killed with SIGKILL at
random moments while input keeps arriving, a second instance of the job fences the first, and the
broker itself goes away for 10 s. Every time, a read_committed consumer (confluent-kafka) folds
each output topic strictly (a change written twice fails the fold) and compares it with the oracle.

Needs SALESFLOW_TEST_BROKERS (fails loudly without it); see conftest.py. The broker-restart test
starts a broker of its own with scripts/kafka.sh (Java and Maven, jars cached by the first start).
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

import harness
from gen import Gen
from harness import Msg
from oracle import TOPICS, oracle
from test_job import (Trickle, check_dead_letters, check_every_progress_is_a_cut, check_tables,
                      seed_for)

REPO = Path(__file__).resolve().parents[2]
KAFKA_SH = REPO / "scripts" / "kafka.sh"
KILLS = 20
FENCED = "another instance of job salesflow registered the transactional id"


def tail(paths: list[Path], chars: int = 3000) -> str:
    return "\n".join(f"---- {p.name}\n{p.read_text(errors='replace')[-chars:]}"
                     for p in paths if p.exists())


def check_no_repeated_upsert(outputs: dict[str, list[Msg]]) -> None:
    """In the upsert envelope a key's message says its row changed, so the same value twice in a
    row for one key is a change written twice."""
    for topic in TOPICS:
        last: dict[bytes, bytes | None] = {}
        for m in outputs[topic]:
            assert m.key not in last or last[m.key] != m.value, \
                f"{m.where()}: key {m.key!r} got the same value twice in a row: {m.value!r}"
            last[m.key] = m.value


def message_count(brokers: str, prefix: str, isolation: str) -> int:
    return sum(len(msgs) for msgs in
               harness.read_all(brokers, prefix, TOPICS, isolation=isolation,
                                settle=0).values())


@pytest.mark.parametrize("envelope", ["upsert", "diff"])
def test_kill_9_at_random_moments_loses_and_repeats_nothing(brokers, salesflow_bin, base_seed,
                                                            prefix, tmp_path, envelope):
    seed = seed_for(base_seed, f"kill-9-{envelope}")
    gen, moments = Gen(seed), random.Random(seed)
    initial = gen.records(300)
    harness.produce(brokers, prefix, initial)
    trickle = Trickle(brokers, prefix, gen, interval=0.01)
    logs: list[Path] = []
    trickle.start()
    try:
        for run in range(KILLS):
            logs.append(tmp_path / f"run-{run}.log")
            # Replays in steps of a few records as well as in one: the state rebuilt is the same.
            step = str(moments.choice([1, 13, 200, 300_000]))
            job = harness.start_unbounded(salesflow_bin, brokers, prefix, envelope, str(logs[-1]),
                                          extra=["--replay-step-records", step])
            # Long enough to commit some instants, short enough to land in the middle of others.
            time.sleep(moments.uniform(1.0, 4.0))
            assert job.poll() is None, f"run {run} exited {job.returncode}\n{tail(logs[-1:])}"
            job.send_signal(signal.SIGKILL)
            job.wait(10)
    finally:
        trickle.halt.set()
        trickle.join(30)
    records = trickle.delivered(initial)

    # Killed transactions were aborted, not committed: their messages exist but no committed
    # consumer sees them.
    committed = message_count(brokers, prefix, "read_committed")
    everything = message_count(brokers, prefix, "read_uncommitted")
    print(f"{len(records)} input records, {KILLS} kills: {committed} committed output messages, "
          f"{everything - committed} in aborted transactions")
    assert everything > committed, "no kill landed inside a transaction"
    progress = harness.read_all(brokers, prefix, (harness.PROGRESS,),
                                settle=0)[harness.PROGRESS]
    assert len(progress) > KILLS, f"only {len(progress)} instants committed over {KILLS} runs"

    logs.append(tmp_path / "final.log")
    logs[-1].write_text(harness.run_bounded(salesflow_bin, brokers, prefix, envelope))
    outputs = harness.read_all(brokers, prefix)
    check_tables(oracle(records, prefix), outputs, envelope, f"after {KILLS} kills")
    check_every_progress_is_a_cut(records, outputs, envelope, prefix)
    check_dead_letters(prefix, records, outputs[harness.DEAD_LETTERS])
    if envelope == "upsert":
        check_no_repeated_upsert(outputs)


def test_at_least_once_restart_after_a_kill_repairs_the_tables(brokers, salesflow_bin, base_seed,
                                                               prefix, tmp_path):
    gen = Gen(seed_for(base_seed, "at-least-once"))
    initial = gen.records(250)
    harness.produce(brokers, prefix, initial)
    at_least_once = ("--delivery", "at-least-once")
    log = tmp_path / "run.log"
    job = harness.start_unbounded(salesflow_bin, brokers, prefix, "upsert", str(log),
                                  extra=at_least_once)
    trickle = Trickle(brokers, prefix, gen, interval=0.01)
    trickle.start()
    try:
        harness.wait_for_progress(brokers, prefix, harness.input_ends(prefix, initial), [job],
                                  lambda: tail([log]), timeout=45)
        time.sleep(1.5)
        job.send_signal(signal.SIGKILL)
        job.wait(10)
    finally:
        trickle.halt.set()
        trickle.join(30)
    records = initial + trickle.records
    assert all(r.offset >= 0 for r in records), "some input records were not acknowledged"
    # The restart's replay goes in many small steps: the repairs must still see its whole state.
    harness.run_bounded(salesflow_bin, brokers, prefix, "upsert",
                        extra=at_least_once + ("--replay-step-records", "7"))
    outputs = harness.read_all(brokers, prefix)
    # Without transactions a consumer may see a change the restart takes back, so a key may get
    # a repeated tombstone; the folded tables must still be the oracle's.
    actual = {t: harness.fold_upsert_at_least_once(outputs[t]) for t in TOPICS}
    report = harness.diff_tables(oracle(records, prefix), actual)
    assert not report, f"after kill -9 and an at-least-once restart:\n{report}"


def test_a_second_instance_fences_the_first(brokers, salesflow_bin, base_seed, prefix, tmp_path):
    gen = Gen(seed_for(base_seed, "fencing"))
    initial = gen.records(250)
    harness.produce(brokers, prefix, initial)
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    jobs: list[subprocess.Popen] = []
    trickle = Trickle(brokers, prefix, gen, interval=0.02)
    try:
        jobs.append(harness.start_unbounded(salesflow_bin, brokers, prefix, "diff", str(logs[0])))
        trickle.start()
        harness.wait_for_progress(brokers, prefix, harness.input_ends(prefix, initial), jobs,
                                  lambda: tail(logs), timeout=45)
        jobs.append(harness.start_unbounded(salesflow_bin, brokers, prefix, "diff", str(logs[1])))
        first, second = jobs
        try:
            code = first.wait(30)
        except subprocess.TimeoutExpired:
            code = None
        assert code == 1, f"the first instance exited {code} (None: still running)\n{tail(logs)}"
        assert FENCED in logs[0].read_text(), f"the first instance does not say why\n{tail(logs)}"
        time.sleep(1.0)
        trickle.halt.set()
        trickle.join(30)
        records = initial + trickle.records
        assert all(r.offset >= 0 for r in records), "some input records were not acknowledged"
        harness.wait_for_progress(brokers, prefix, harness.input_ends(prefix, records), [second],
                                  lambda: tail(logs), timeout=45)
        code = harness.stop(second, timeout=30)
        assert code == 0, f"the second instance exited {code}\n{tail(logs)}"
    finally:
        trickle.halt.set()
        for job in jobs:
            if job.poll() is None:
                job.kill()
    outputs = harness.read_all(brokers, prefix)
    check_tables(oracle(records, prefix), outputs, "diff", "after one instance fenced the other")
    check_every_progress_is_a_cut(records, outputs, "diff", prefix)


def free_port_pair() -> int:
    """A port P such that P and P+1 (kafka.sh's controller) are free on 127.0.0.1."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise AssertionError("no two free consecutive ports on 127.0.0.1")


def kafka_sh(*args: str) -> str:
    done = subprocess.run([str(KAFKA_SH), *args], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"kafka.sh {' '.join(args)} failed:\n{done.stderr[-3000:]}"
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


@pytest.fixture
def own_broker(tmp_path):
    """A broker of this test's own, which it may stop and start again."""
    directory = str(tmp_path / "kafka")
    address = kafka_sh("start", "--port", str(free_port_pair()), "--dir", directory)
    yield address, directory
    kafka_sh("stop", "--dir", directory)


def job_with_trickle(brokers: str, salesflow_bin: str, seed: int, tmp_path: Path):
    """A job on a fresh prefix over 250 records, and a trickle of more, both started."""
    prefix = harness.new_prefix()
    harness.create_input_topics(brokers, prefix)
    gen = Gen(seed)
    initial = gen.records(250)
    harness.produce(brokers, prefix, initial)
    log = tmp_path / "run.log"
    job = harness.start_unbounded(salesflow_bin, brokers, prefix, "upsert", str(log))
    trickle = Trickle(brokers, prefix, gen, interval=0.02)
    trickle.start()
    return prefix, initial, log, job, trickle


def test_a_broker_down_for_10_s_is_waited_for(own_broker, salesflow_bin, base_seed, tmp_path):
    brokers, directory = own_broker
    prefix, initial, log, job, trickle = job_with_trickle(
        brokers, salesflow_bin, seed_for(base_seed, "broker-restart"), tmp_path)
    try:
        harness.wait_for_progress(brokers, prefix, harness.input_ends(prefix, initial), [job],
                                  lambda: tail([log]), timeout=45)
        time.sleep(1.0)
        kafka_sh("stop", "--dir", directory)
        time.sleep(10)
        assert job.poll() is None, f"the job exited while the broker was down\n{tail([log])}"
        kafka_sh("restart", "--dir", directory)
        time.sleep(3)
    finally:
        trickle.halt.set()
        trickle.join(60)
    records = trickle.delivered(initial)
    harness.wait_for_progress(brokers, prefix, harness.input_ends(prefix, records), [job],
                              lambda: tail([log]), timeout=90)
    assert harness.stop(job, timeout=30) == 0, tail([log])
    outputs = harness.read_all(brokers, prefix)
    check_tables(oracle(records, prefix), outputs, "upsert", "after the broker was down for 10 s")
    check_every_progress_is_a_cut(records, outputs, "upsert", prefix)


def test_sigterm_while_the_broker_hangs_exits_and_a_restart_is_exact(own_broker, salesflow_bin,
                                                                     base_seed, tmp_path):
    brokers, directory = own_broker
    broker_pid = int((Path(directory) / "kafka.pid").read_text().strip())
    prefix, initial, log, job, trickle = job_with_trickle(
        brokers, salesflow_bin, seed_for(base_seed, "sigterm-broker-hangs"), tmp_path)
    frozen = False
    try:
        harness.wait_for_progress(brokers, prefix, harness.input_ends(prefix, initial), [job],
                                  lambda: tail([log]), timeout=45)
        time.sleep(1.0)
        # A frozen broker answers nothing: with records arriving every 20 ms, the job is
        # committing an instant when it freezes, and waits on it when the SIGTERM comes.
        os.kill(broker_pid, signal.SIGSTOP)
        frozen = True
        time.sleep(2)
        started = time.monotonic()
        code = harness.stop(job, timeout=25)
        waited = time.monotonic() - started
    finally:
        if frozen:
            os.kill(broker_pid, signal.SIGCONT)
        trickle.halt.set()
        trickle.join(60)
    assert code is not None, f"the job did not exit within 25 s of SIGTERM\n{tail([log])}"
    log_text = log.read_text(errors="replace")
    # Either nothing was waiting to be written (a clean stop), or the job says what it left.
    assert code == 0 or "stopped while the broker was unreachable" in log_text, \
        f"exit {code} after {waited:.1f} s without saying why\n{tail([log])}"
    records = trickle.delivered(initial)
    harness.run_bounded(salesflow_bin, brokers, prefix, "upsert", timeout=120)
    outputs = harness.read_all(brokers, prefix)
    check_tables(oracle(records, prefix), outputs, "upsert", "after a SIGTERM while the broker hung")
    check_every_progress_is_a_cut(records, outputs, "upsert", prefix)
