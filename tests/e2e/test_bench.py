"""`salesflow bench`, small: on the embedded broker alone, and on the real broker against the Kafka
Streams peer. The figures are the machine's; what these tests check is that every phase ran and
measured what it says, and that "the tables are equal" is true: both engines' output topics are
read back here with confluent-kafka, folded, and compared independently of the Rust comparison.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import harness
from test_peer_kafka_streams import PEER_OUTPUTS, fold_upsert, peer_jar  # noqa: F401 (fixture)

SMALL = ["--count", "20000", "--customers", "2000", "--products", "200", "--seed", "5"]


def run_bench(binary: str, args: list[str], json_path: Path, timeout: float) -> tuple[dict, str]:
    done = subprocess.run([binary, "bench", *args, "--json", str(json_path)], capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"bench exited {done.returncode}:\n{done.stdout}\n{done.stderr[-4000:]}"
    return json.loads(json_path.read_text()), done.stdout


def check_engine(engine: dict, generated: int) -> None:
    t = engine["throughput"]
    assert 0 < t["input_records"] <= generated, t
    assert t["seconds"] > 0 and t["records_per_sec"] == pytest.approx(t["input_records"] / t["seconds"])
    assert t["cpu_seconds"] > 0 and t["peak_rss_mib"] > 10, t
    lat = engine["latency"]
    assert lat["probes"] > 0 and lat["seen"] == lat["probes"], f"probes lost: {lat}"
    assert 0 < lat["p50_ms"] <= lat["p99_ms"] <= lat["max_ms"], lat


def test_bench_alone_on_the_embedded_broker(salesflow_bin, tmp_path):
    report, stdout = run_bench(salesflow_bin, [*SMALL, "--latency-secs", "3", "--rate", "2000"],
                               tmp_path / "bench.json", timeout=600)
    assert report["parameters"]["broker"] == "embedded"
    assert [e["engine"] for e in report["engines"]] == ["salesflow"]
    sf = report["engines"][0]
    # Alone, the job reads every input topic, inventory included.
    assert sf["throughput"]["input_records"] == report["generated"]["records"]
    check_engine(sf, report["generated"]["records"])
    assert sf["restore"]["seconds"] > 0 and sf["restore"]["live_orders"] > 0, sf["restore"]
    assert report["tables"] == []
    assert "input records/s" in stdout and "latency p99 ms" in stdout


def test_bench_against_kafka_streams_folds_to_equal_tables(brokers, salesflow_bin, peer_jar,
                                                           tmp_path):
    report, stdout = run_bench(
        salesflow_bin,
        ["-b", brokers, *SMALL, "--peer", "kafka-streams", "--peer-jar", str(peer_jar),
         "--latency-secs", "3", "--rate", "500"],
        tmp_path / "bench.json", timeout=1200)
    prefix = report["parameters"]["topic_prefix"]
    try:
        assert [e["engine"] for e in report["engines"]] == ["salesflow", "kafka-streams"]
        for engine in report["engines"]:
            check_engine(engine, report["generated"]["records"])
        tables = {t["topic"]: t for t in report["tables"]}
        assert sorted(tables) == sorted(PEER_OUTPUTS)
        assert all(t["equal"] for t in tables.values()), stdout
        ours = {t: harness.fold(m, "upsert")
                for t, m in harness.read_all(brokers, prefix, PEER_OUTPUTS).items()}
        theirs = {t: fold_upsert(m)
                  for t, m in harness.read_all(brokers, prefix + "ks.", PEER_OUTPUTS).items()}
        assert all(ours.values()), "salesflow wrote empty tables"
        assert harness.diff_tables(ours, theirs) == ""
        for topic in PEER_OUTPUTS:
            assert tables[topic]["rows"] == [len(ours[topic]), len(theirs[topic])], topic
    finally:
        harness.delete_topics_with_prefix(brokers, prefix)
