"""End-to-end tests of the commands around the job: `salesflow generate` (seeded, with the shares
its flags ask for), `salesflow demo` (in a pseudo-terminal, stopped with Ctrl-C) and `salesflow
tail` (its table, its JSON lines and its --until-progress snapshot against the Python fold).

Needs SALESFLOW_TEST_BROKERS (fails loudly without it); see conftest.py.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import time
import uuid
from collections import Counter
from decimal import Decimal

import pytest

import harness

# A small workload with every kind of record often enough to count.
SMALL = ["--customers", "500", "--products", "100", "--count", "20000", "--bad", "1",
         "--max-record-bytes", "20000"]
INPUTS = ("orders", "customers", "products", "fx_rates", "inventory")


def generate(binary: str, brokers: str, prefix: str, *flags: str) -> str:
    done = subprocess.run([binary, "generate", "-b", brokers, "--topic-prefix", prefix, *flags],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"generate exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture
def fresh_prefix(brokers):
    """A topic prefix whose topics the command under test creates; deleted afterwards."""
    p = harness.new_prefix()
    yield p
    harness.delete_topics_with_prefix(brokers, p)


def inputs(brokers: str, prefix: str) -> dict[str, list[harness.Msg]]:
    return harness.read_all(brokers, prefix, INPUTS)


# ---- generate ----------------------------------------------------------------------------------

def test_generate_repeats_byte_for_byte_and_has_its_shares(brokers, salesflow_bin, fresh_prefix):
    other = harness.new_prefix()
    third = harness.new_prefix()
    try:
        generate(salesflow_bin, brokers, fresh_prefix, *SMALL)
        generate(salesflow_bin, brokers, other, *SMALL)
        generate(salesflow_bin, brokers, third, *SMALL, "--seed", "7")
        first, again, seeded = (inputs(brokers, p) for p in (fresh_prefix, other, third))
    finally:
        harness.delete_topics_with_prefix(brokers, other)
        harness.delete_topics_with_prefix(brokers, third)
    records = lambda run: {t: [(m.partition, m.key, m.value) for m in msgs]  # noqa: E731
                           for t, msgs in run.items()}
    assert records(first) == records(again), "the same seed produced different records"
    assert records(first)["orders"] != records(seeded)["orders"], "seeds 42 and 7 agree"

    orders = first["orders"]
    load = 500 + 100 + 100 + 4
    changes = sum(len(msgs) for msgs in first.values()) - load
    assert changes == 20000, f"{changes} records after the load, not --count 20000"
    kinds: Counter = Counter()
    for m in orders:
        if m.value is None:
            kinds["deleted"] += 1
            continue
        try:
            order = json.loads(m.value.decode("utf-8"), parse_float=Decimal)
        except (UnicodeDecodeError, ValueError):
            kinds["bad"] += 1
            continue
        if len(m.key) + len(m.value) > 20000:
            kinds["bad"] += 1
        elif order.get("status") in ("cancelled", "returned"):
            kinds[order["status"]] += 1
        if str(order.get("currency", "USD")) != "USD":
            kinds["foreign"] += 1
        if str(order.get("ip", "")).startswith("198.51.100."):
            kinds["busy ip"] += 1
    # Defaults: 2.5% deletes, 2.5% cancellations, 1% returns of all records; 30% of new orders
    # foreign, 2% from busy ips; --bad 1 (of which 3 in 9 kinds fail as JSON, text or size).
    for kind, expected in [("deleted", 0.025), ("cancelled", 0.025), ("returned", 0.01),
                           ("bad", 0.01 * 3 / 9)]:
        share = kinds[kind] / changes
        assert abs(share - expected) <= expected * 0.2, f"{kind}: {share:.4f}, expected {expected}"
    new_orders = len({m.key for m in orders})
    assert abs(kinds["foreign"] / len(orders) - 0.3) < 0.05, kinds
    assert 0.01 < kinds["busy ip"] / new_orders < 0.035, kinds


def test_generate_holds_a_rate(brokers, salesflow_bin, fresh_prefix):
    started = time.monotonic()
    out = generate(salesflow_bin, brokers, fresh_prefix, "--customers", "100", "--products", "10",
                   "--count", "6000", "--rate", "2000")
    took = time.monotonic() - started
    assert took >= 2.7, f"6000 records at 2000/s took only {took:.2f} s"
    assert took < 15, f"6000 records at 2000/s took {took:.2f} s"
    assert "produced 6124 records" in out, out
    achieved = re.search(r"after the load 6000 records at (\d+) records/s", out)
    assert achieved and 1800 <= int(achieved.group(1)) <= 2100, out


# ---- demo --------------------------------------------------------------------------------------

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def test_demo_in_a_terminal_shows_live_tables_and_stops_on_ctrl_c(salesflow_bin):
    pid, fd = pty.fork()
    if pid == 0:  # the child: the demo, on the pseudo-terminal
        os.execv(salesflow_bin, [salesflow_bin, "demo", "--customers", "2000", "--products", "200",
                                 "--rate", "3000"])
    screen = b""
    deadline = time.monotonic() + 60
    try:
        # Until a frame shows every table with rows, and at least 8 s for changes to show.
        shown_at = None
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    screen += os.read(fd, 65536)
                except OSError:
                    break
            if shown_at is None and every_table_has_rows(last_frame(screen)):
                shown_at = time.monotonic()
            if shown_at is not None and time.monotonic() - shown_at > 3:
                break
        frame = last_frame(screen)
        assert every_table_has_rows(frame), f"the demo showed no full frame in 60 s:\n{frame}"
        assert b"\x1b[7m" in screen, "no changed row was ever highlighted"
        os.kill(pid, signal.SIGINT)
        code = wait_exit(pid, fd, 45)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert code == 0, f"the demo exited {code} after Ctrl-C"


def last_frame(screen: bytes) -> str:
    """The text of the last complete frame: frames start by clearing the screen."""
    frames = screen.split(b"\x1b[H\x1b[2J")
    complete = frames[-2] if len(frames) > 2 else frames[-1]
    return ANSI.sub(b"", complete).decode(errors="replace").replace("\r", "")


def table(frame: str, title: str) -> list[str]:
    """The data lines under a table's title (after its header line)."""
    lines = frame.split("\n")
    for i, line in enumerate(lines):
        if line.startswith(title):
            rows = []
            for row in lines[i + 2:]:
                if not row.strip():
                    break
                rows.append(row)
            return rows
    return []


def every_table_has_rows(frame: str) -> bool:
    total = table(frame, "sales_total")
    return (bool(total) and int(total[0].split()[0]) > 0
            and len(table(frame, "sales_by_category")) >= 5
            and bool(table(frame, "sales_by_segment"))
            and table(frame, "top_products_by_units")[:1] != []
            and table(frame, "top_products_by_units")[0].split()[0] == "1"
            and bool(table(frame, "alerts")))


def wait_exit(pid: int, fd: int, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # Keep draining the terminal, so the demo never blocks writing its last frame.
        if select.select([fd], [], [], 0.1)[0]:
            try:
                os.read(fd, 65536)
            except OSError:
                pass
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
    return None


# ---- tail --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def job_run(brokers, salesflow_bin):
    """Generated input and one bounded run of the job in each envelope tail is checked in."""
    runs = {}
    for envelope in ("upsert", "diff"):
        prefix = harness.new_prefix()
        generate(salesflow_bin, brokers, prefix, *SMALL)
        harness.run_bounded(salesflow_bin, brokers, prefix, envelope)
        runs[envelope] = prefix
    yield runs
    for prefix in runs.values():
        harness.delete_topics_with_prefix(brokers, prefix)


def tail(binary: str, brokers: str, prefix: str, topic: str, *flags: str) -> str:
    done = subprocess.run([binary, "tail", topic, "-b", brokers, "--topic-prefix", prefix, *flags],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"tail exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done.stdout


def cell(value) -> str:
    """A field as tail shows it: strings unquoted, everything else as its JSON text."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def render(topic: str, table: dict[str, dict]) -> str:
    """The text table tail prints: rows in key order, columns right-aligned."""
    rows = [table[key] for key in sorted(table)]
    columns = list(rows[0]) if rows else []
    cells = [[cell(row.get(c)) if c in row else "" for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    line = lambda values: "  " + "  ".join(v.rjust(w) for v, w in zip(values, widths)) + "\n"  # noqa: E731
    return f"{topic} ({len(rows)} rows)\n" + line(columns) + "".join(line(r) for r in cells)


def canonical(rows) -> list[str]:
    return sorted(json.dumps(row, sort_keys=True, default=str) for row in rows)


@pytest.mark.parametrize("envelope", ["upsert", "diff"])
def test_tail_once_shows_the_python_fold(brokers, salesflow_bin, job_run, envelope):
    prefix = job_run[envelope]
    outputs = harness.read_all(brokers, prefix)
    for topic in ("sales_by_category", "top_products_by_units", "sales_by_segment"):
        folded = harness.fold(outputs[topic], envelope)
        assert folded, f"{topic} is empty"
        shown = tail(salesflow_bin, brokers, prefix, topic, "--envelope", envelope, "--once")
        assert shown == render(prefix + topic, folded), f"tail --once {topic} ({envelope})"
        lines = tail(salesflow_bin, brokers, prefix, topic, "--envelope", envelope, "--once",
                     "--json")
        tailed = [harness.parse_json(line.encode(), f"tail {topic}") for line in lines.splitlines()]
        assert canonical(tailed) == canonical(folded.values()), f"tail --json {topic} ({envelope})"


def test_tail_until_progress_stops_at_the_last_progress(brokers, salesflow_bin, job_run):
    prefix = job_run["upsert"]
    topic = "sales_by_category"
    outputs = harness.read_all(brokers, prefix)
    progress = harness.last_progress(outputs[harness.PROGRESS])
    assert progress, "the bounded run wrote no progress"
    snapshot = harness.fold(outputs[topic], "upsert")
    # Changes after the progress record (as a job still writing would make): a new row and the
    # deletion of an existing one. The snapshot must not show them; a plain --once does.
    gone = sorted(snapshot)[0]
    extra_key = json.dumps({"category": f"after-{uuid.uuid4().hex[:6]}"}, separators=(",", ":"))
    extra_row = {**snapshot[gone], **json.loads(extra_key)}
    producer = harness.new_producer(brokers)
    headers = [(harness.TIME_HEADER, b"1")]
    producer.produce(prefix + topic, key=extra_key.encode(),
                     value=json.dumps(extra_row, default=str).encode(), headers=headers)
    producer.produce(prefix + topic, key=gone.encode(), value=None, headers=headers)
    assert producer.flush(30) == 0

    lines = tail(salesflow_bin, brokers, prefix, topic, "--until-progress", "--json")
    tailed = [harness.parse_json(line.encode(), "tail") for line in lines.splitlines()]
    assert canonical(tailed) == canonical(snapshot.values())
    text = tail(salesflow_bin, brokers, prefix, topic, "--until-progress")
    assert text.startswith(f"snapshot as of time {progress['time']} "), text[:200]
    latest = tail(salesflow_bin, brokers, prefix, topic, "--once", "--json")
    latest_keys = {json.dumps({"category": json.loads(l)["category"]}, separators=(",", ":"))
                   for l in latest.splitlines()}
    assert extra_key in latest_keys and gone not in latest_keys, latest
