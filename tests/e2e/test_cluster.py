"""End-to-end tests of the job as a cluster of timely processes, launched the way k8s/base runs its
pods: the StatefulSet's command, args and env (ConfigMap through envFrom, the optional Secret
absent), one local process per pod, with only what cannot work on one machine changed.

Checked: the cluster's tables equal the oracle and a single process's; every input partition is
read by exactly one worker; losing one process stops the others at once (exit 1) and restarting all
of them resumes from the progress topic; a job rescaled from 2 to 3 processes continues correctly.

Needs SALESFLOW_TEST_BROKERS (fails loudly without it); see conftest.py. Process I has its own
address 127.0.0.(I+1), as a pod has its own IP, and listens there at the manifests' timely port
(2101) and http port (9100); Linux routes 127.0.0.2 and .3 over loopback without setup. Those
ports must be free (checked before each start).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import yaml

import harness
from gen import INPUT_PARTITIONS, INPUT_TOPICS, Gen
from harness import PROGRESS
from oracle import TOPICS, key_json, oracle
from test_job import Trickle, check_every_progress_is_a_cut, check_tables, seed_for

REPO = Path(__file__).resolve().parents[2]
BASE = REPO / "k8s" / "base"
RECORDS = 600
RUN_TIMEOUT = 120  # s; a bounded run takes a few
LOST_PEER = "lost the connection to another process"


# ---- the pod, as Kubernetes would run it -------------------------------------------------------

@dataclass
class Pod:
    """What a pod of the StatefulSet runs: every `$(VAR)` resolved as Kubernetes resolves it."""

    statefulset: str  # pod I is named (and its host name is) f"{statefulset}-{I}"
    service: str  # the StatefulSet's serviceName: pod I's DNS name is {statefulset}-I.{service}
    replicas: int
    argv: list[str]  # the container's command + args
    env: dict[str, str]  # the container's environment (envFrom, then env)
    ports: dict[str, int]  # containerPort by name


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion (k8s.io/kubernetes third_party/forked/golang/expansion):
    `$(VAR)` becomes VAR's value when the container defines VAR and stays literal otherwise, `$$`
    is `$`, and any other `$` (an unclosed `$(` included) is kept as it is."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "$" and i + 1 < len(text):
            following = text[i + 1]
            if following == "$":
                out.append("$")
                i += 2
                continue
            if following == "(":
                close = text.find(")", i + 2)
                if close >= 0:
                    name = text[i + 2:close]
                    out.append(env[name] if name in env else f"$({name})")
                    i = close + 1
                    continue
            out.append("$" + following)
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def config_maps(directory: Path, kustomization: dict, docs: list[dict]) -> dict[str, dict]:
    """Every ConfigMap the kustomization makes, by name (before kustomize appends its hash):
    ConfigMap resources and configMapGenerator entries (literals and env files)."""
    maps = {doc["metadata"]["name"]: {k: str(v) for k, v in (doc.get("data") or {}).items()}
            for doc in docs if doc.get("kind") == "ConfigMap"}
    for generator in kustomization.get("configMapGenerator") or []:
        unknown = set(generator) - {"name", "literals", "envs", "options", "behavior"}
        assert not unknown, \
            f"configMapGenerator {generator['name']}: this test cannot read {unknown}"
        data: dict[str, str] = {}
        lines = [(f"{directory / path}", line) for path in generator.get("envs") or []
                 for line in (directory / path).read_text().splitlines()]
        lines += [("literals", line) for line in generator.get("literals") or []]
        for source, line in lines:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            assert "=" in line, f"{source}: {line!r} is not KEY=VALUE"
            key, value = line.split("=", 1)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]  # kustomize drops one pair of surrounding quotes
            data[key.strip()] = value
        maps[generator["name"]] = data
    return maps


def load_pod(directory: Path = BASE) -> Pod:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    docs = [doc for resource in kustomization.get("resources") or []
            for doc in yaml.safe_load_all((directory / resource).read_text()) if doc]
    statefulsets = [doc for doc in docs if doc.get("kind") == "StatefulSet"]
    assert len(statefulsets) == 1, \
        f"{directory}: expected one StatefulSet, found {len(statefulsets)}"
    sts = statefulsets[0]
    spec = sts["spec"]["template"]["spec"]
    assert not spec.get("initContainers"), \
        "the pod has init containers, which this test does not run"
    (container,) = spec["containers"]
    maps = config_maps(directory, kustomization, docs)

    # The container's environment, built in Kubernetes' order: envFrom first, then env (which wins).
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        if "configMapRef" in source:
            ref = source["configMapRef"]
            if ref["name"] not in maps:
                assert ref.get("optional"), \
                    f"envFrom names ConfigMap {ref['name']}, which is not made"
                continue
            for key, value in maps[ref["name"]].items():
                env[source.get("prefix", "") + key] = value
        elif "secretRef" in source:
            # No Secret exists here; a required one would keep the pod from starting.
            assert source["secretRef"].get("optional"), \
                f"envFrom needs Secret {source['secretRef']}"
        else:
            raise AssertionError(f"envFrom {source}: this test does not know that source")
    for var in container.get("env") or []:
        name = var["name"]
        if "value" in var:
            env[name] = expand(str(var["value"]), env)
        elif "secretKeyRef" in (var.get("valueFrom") or {}):
            # The Secret is not part of the manifests: an optional reference to a missing Secret
            # leaves the variable undefined, so `$(NAME)` in args stays literal.
            ref = var["valueFrom"]["secretKeyRef"]
            assert ref.get("optional"), \
                f"env {name} needs Secret {ref['name']}: the pod would not start"
        elif "configMapKeyRef" in (var.get("valueFrom") or {}):
            ref = var["valueFrom"]["configMapKeyRef"]
            env[name] = maps[ref["name"]][ref["key"]]
        else:
            raise AssertionError(f"env {var}: this test does not know that source")
    argv = [expand(str(a), env) for a in
            list(container.get("command") or []) + list(container.get("args") or [])]
    assert argv, "the container names no command (the image's entrypoint is not known here)"
    ports = {p["name"]: int(p["containerPort"])
             for p in container.get("ports") or [] if "name" in p}
    return Pod(sts["metadata"]["name"], sts["spec"].get("serviceName", ""),
               int(sts["spec"]["replicas"]), argv, env, ports)


def host_port(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    return host, int(port)


# ---- running the pods as local processes -------------------------------------------------------

class Cluster:
    """`processes` local processes launched like the pods salesflow-0.. of `pod`, with only what
    cannot work on one machine changed:
    - the program is the binary under test, not the image's path;
    - SALESFLOW_BROKERS and SALESFLOW_TOPIC_PREFIX name the test broker and the test's topics;
    - SALESFLOW_PEERS: the manifest's `salesflow-{i}.salesflow-peers` resolve only through cluster
      DNS, so process I is 127.0.0.(I+1) instead (its own address, as a pod has its own IP), at
      the manifest's port: the job listens at its own entry's address when that is local;
    - SALESFLOW_HTTP_ADDR: the manifest's port, on the process's own 127.0.0.(I+1).
    `env` overrides or adds more (SALESFLOW_PROCESSES for rescaling), `args` are appended."""

    def __init__(self, pod: Pod, binary: str, brokers: str, prefix: str, log_dir: Path,
                 name: str, processes: Optional[int] = None, args: tuple[str, ...] = (),
                 env: Optional[dict[str, str]] = None) -> None:
        self.processes = processes or pod.replicas
        assert os.path.basename(pod.argv[0]) == "salesflow", \
            f"the pod runs {pod.argv[0]}, not the salesflow binary"
        self.argv = [binary, *pod.argv[1:], *args]
        _, peer_port = host_port(pod.env["SALESFLOW_PEERS"].split(",")[0])
        self.peers = [(f"127.0.0.{i + 1}", peer_port) for i in range(self.processes)]
        _, metrics_port = host_port(pod.env["SALESFLOW_HTTP_ADDR"])
        self.metrics = [(f"127.0.0.{i + 1}", metrics_port) for i in range(self.processes)]
        # A container sees only its own environment (the image sets PATH).
        self.envs = [{**pod.env, "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                      "HOSTNAME": f"{pod.statefulset}-{i}",
                      "SALESFLOW_BROKERS": brokers, "SALESFLOW_TOPIC_PREFIX": prefix,
                      "SALESFLOW_PEERS": ",".join(f"{h}:{p}" for h, p in self.peers),
                      "SALESFLOW_HTTP_ADDR": "%s:%d" % self.metrics[i],
                      **(env or {})}
                     for i in range(self.processes)]
        self.logs = [log_dir / f"{name}-{i}.log" for i in range(self.processes)]
        self.procs: list[subprocess.Popen] = []

    def start(self) -> "Cluster":
        for host, port in self.peers + self.metrics:
            check_free(host, port)
        for i in range(self.processes):
            with open(self.logs[i], "wb") as log:
                self.procs.append(subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                                   stderr=log, env=self.envs[i]))
        return self

    def wait(self, timeout: float, which: Optional[list[int]] = None) -> list[Optional[int]]:
        """Exit codes of the processes `which` (all by default); None for one still running
        after `timeout` seconds."""
        which = list(range(self.processes)) if which is None else which
        deadline = time.monotonic() + timeout
        while any(self.procs[i].poll() is None for i in which) and time.monotonic() < deadline:
            time.sleep(0.05)
        return [self.procs[i].poll() for i in which]

    def run(self, timeout: float = RUN_TIMEOUT) -> None:
        """Starts the processes and asserts that every one exits 0 within `timeout`."""
        try:
            self.start()
            codes = self.wait(timeout)
        finally:
            self.kill()
        assert codes == [0] * self.processes, \
            f"exit codes {codes} (None: still running after {timeout} s)\n{self.tails()}"

    def kill(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)

    def log(self, i: int) -> str:
        return self.logs[i].read_text(errors="replace") if self.logs[i].exists() else ""

    def tails(self, chars: int = 2500) -> str:
        return "\n".join(f"---- {self.logs[i].name} (HOSTNAME={self.envs[i]['HOSTNAME']}), last "
                         f"{chars} chars:\n{self.log(i)[-chars:]}" for i in range(self.processes))


def check_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            raise AssertionError(f"{host}:{port} is taken ({e}); this test needs it for a process "
                                 "of the cluster") from None


# ---- shared checks -----------------------------------------------------------------------------

ASSIGNED = re.compile(r"INFO salesflow::runtime: assigned worker=(\d+) partitions=\[(.*?)\]")


def check_assignments(cluster: Cluster, prefix: str, workers: int) -> None:
    """Each process logs one `assigned` line per worker, with timely's global worker indexes
    (process I has I*W..I*W+W-1), and each process reads some partitions; every input partition
    is assigned exactly once over all workers."""
    owner: dict[str, list[str]] = {}
    for i in range(cluster.processes):
        lines = ASSIGNED.findall(cluster.log(i))
        indexes = sorted(int(worker) for worker, _ in lines)
        assert indexes == list(range(i * workers, (i + 1) * workers)), \
            f"process {i} logged assignments for workers {indexes}\n{cluster.tails()}"
        mine = [p for _, listed in lines for p in re.findall(r'"([^"]*)"', listed)]
        assert mine, f"process {i} was assigned no partition\n{cluster.tails()}"
        for worker, listed in lines:
            for partition in re.findall(r'"([^"]*)"', listed):
                owner.setdefault(partition, []).append(f"process {i} worker {worker}")
    expected = {f"{prefix}{t}/{p}" for t in INPUT_TOPICS for p in range(INPUT_PARTITIONS)}
    twice = {p: who for p, who in owner.items() if len(who) > 1}
    assert not twice, f"partitions assigned more than once: {twice}"
    assert set(owner) == expected, (f"assigned partitions differ from the input's: missing "
                                    f"{sorted(expected - set(owner))}, unknown "
                                    f"{sorted(set(owner) - expected)}")


def check_progress_covers_input(brokers: str, prefix: str, job: str) -> None:
    progress = harness.last_progress(harness.read_all(brokers, prefix, (PROGRESS,))[PROGRESS], job)
    assert progress is not None, "no progress record"
    ends = harness.end_offsets(brokers, [prefix + t for t in INPUT_TOPICS])
    inputs = harness.progress_offsets(progress, "inputs")
    covered = {t: {p: inputs.get(t, {}).get(p, 0) for p in parts} for t, parts in ends.items()}
    assert covered == ends, (f"the last progress does not cover the input:\nprogress inputs "
                             f"{inputs}\nend offsets     {ends}")


def last_writes(expected, actual, outputs, at_crash, progress, prefix: str, show: int = 4) -> str:
    """For the keys whose rows differ, where their last message sits: up to the offsets of the
    progress record the restart resumed from, after them but before the crash, or after the
    restart."""
    named = harness.progress_offsets(progress, "outputs")
    lines = []
    for topic in TOPICS:
        ends: dict[int, int] = {}
        for m in at_crash[topic]:
            ends[m.partition] = max(ends.get(m.partition, 0), m.offset + 1)
        keys = [k for k in sorted(set(expected[topic]) | set(actual[topic]))
                if harness.normal(expected[topic].get(k)) != harness.normal(actual[topic].get(k))]
        for key in keys[:show]:
            mine = [m for m in outputs[topic] if m.key is not None and m.key.decode() == key]
            if not mine:
                lines.append(f"  {topic} {key}: never written")
                continue
            last = mine[-1]
            if last.offset < named.get(prefix + topic, {}).get(last.partition, 0):
                when = "covered by the progress resumed from"
            elif last.offset < ends.get(last.partition, 0):
                when = (f"AFTER the progress resumed from (time {progress['time']}), before the "
                        "crash, and not written again by the restart")
            else:
                when = "by the restart"
            lines.append(f"  {topic} {key}: {last.where()} time {last.time()}, {when}")
    return "\n".join(lines)


def renamed(tables: dict[str, dict[str, dict]], old: str, new: str) -> dict[str, dict[str, dict]]:
    """`tables` of a run under topic prefix `old` as under `new`: data_quality names its topics."""
    def rename(row: dict) -> dict:
        topic = row.get("source_topic")
        if isinstance(topic, str) and topic.startswith(old):
            return {**row, "source_topic": new + topic[len(old):]}
        return row
    return {topic: {key_json(list(rename(json.loads(k)).items())): rename(row)
                    for k, row in table.items()}
            for topic, table in tables.items()}


# ---- 1. the manifests' cluster = one process = the oracle --------------------------------------

def test_cluster_launched_from_the_manifests_matches_one_process_and_the_oracle(
        brokers, salesflow_bin, base_seed, prefix, tmp_path):
    pod = load_pod()
    envelope = pod.env.get("SALESFLOW_ENVELOPE", "upsert")
    workers = int(pod.env.get("SALESFLOW_WORKERS", "1"))
    assert int(pod.env["SALESFLOW_PROCESSES"]) == pod.replicas == 3, \
        f"SALESFLOW_PROCESSES {pod.env['SALESFLOW_PROCESSES']} / replicas {pod.replicas}"
    # The addresses this test replaces are the pods' own: each pod's DNS name under the headless
    # Service at the timely port, and the http port, both declared by the container.
    peers_host, peers_port = host_port(pod.env["SALESFLOW_PEERS"])
    assert peers_host == f"{pod.statefulset}-{{i}}.{pod.service}", pod.env["SALESFLOW_PEERS"]
    assert peers_port == pod.ports.get("timely"), (pod.env["SALESFLOW_PEERS"], pod.ports)
    assert host_port(pod.env["SALESFLOW_HTTP_ADDR"])[1] == pod.ports.get("http"), \
        (pod.env["SALESFLOW_HTTP_ADDR"], pod.ports)

    records = Gen(seed_for(base_seed, "cluster-manifests")).records(RECORDS)
    single = harness.new_prefix()
    harness.create_input_topics(brokers, single)
    try:
        harness.produce(brokers, prefix, records)
        harness.produce(brokers, single, records)

        cluster = Cluster(pod, salesflow_bin, brokers, prefix, tmp_path, "manifests",
                          args=("--bounded", *harness.alert_flags()))
        started = time.monotonic()
        cluster.run()
        print(f"3-process bounded run took {time.monotonic() - started:.1f}s")
        check_assignments(cluster, prefix, workers)
        outputs = harness.read_all(brokers, prefix)
        check_tables(oracle(records, prefix), outputs, envelope, "3 processes from k8s/base")
        check_progress_covers_input(brokers, prefix, pod.env["SALESFLOW_JOB"])

        harness.run_bounded(salesflow_bin, brokers, single, envelope)
        alone = harness.read_all(brokers, single, TOPICS)
        together = {t: harness.fold(outputs[t], envelope) for t in TOPICS}
        one = renamed({t: harness.fold(alone[t], envelope) for t in TOPICS}, single, prefix)
        report = harness.diff_tables(one, together)
        assert not report, f"the 3-process tables differ from one process's (expected):\n{report}"
    finally:
        harness.delete_topics_with_prefix(brokers, single)


# ---- 2. one process killed -------------------------------------------------------------------

def test_killing_one_process_stops_the_rest_and_a_restart_resumes(
        brokers, salesflow_bin, base_seed, prefix, tmp_path):
    pod = load_pod()
    job = pod.env["SALESFLOW_JOB"]
    gen = Gen(seed_for(base_seed, "cluster-kill"))
    initial = gen.records(250)
    harness.produce(brokers, prefix, initial)

    cluster = Cluster(pod, salesflow_bin, brokers, prefix, tmp_path, "live",
                      args=("--epoch-ms", "50", *harness.alert_flags()))
    trickle = Trickle(brokers, prefix, gen, interval=0.03)
    victim = 1
    try:
        cluster.start()
        trickle.start()
        # Wait until the cluster has caught up with the initial input, let it run on the trickle
        # for 2 s, then kill one process in the middle of the stream.
        harness.wait_for_progress(brokers, prefix, harness.input_ends(prefix, initial),
                                  cluster.procs, cluster.tails, timeout=60, job=job)
        time.sleep(2.0)
        cluster.procs[victim].send_signal(signal.SIGKILL)
        killed = time.monotonic()
        rest = [i for i in range(3) if i != victim]
        codes = cluster.wait(10, rest)
        took = time.monotonic() - killed
        assert codes == [1, 1], (f"after kill -9 of process {victim}, processes {rest} exited "
                                 f"{codes} (None: still running 10 s later)\n{cluster.tails()}")
        print(f"processes {rest} exited {took:.2f}s after process {victim} was killed")
        for i in rest:
            log = cluster.log(i)
            assert LOST_PEER in log, f"process {i} does not say {LOST_PEER!r}\n{cluster.tails()}"
            assert "panicked" not in log, f"process {i} panicked\n{cluster.tails()}"
        time.sleep(0.5)  # input keeps arriving while the job is down
    finally:
        trickle.halt.set()
        trickle.join(30)
        cluster.kill()
    records = trickle.delivered(initial)
    # A transaction the killed cluster left open stays open until the restart aborts it.
    at_crash = harness.read_all(brokers, prefix, settle=5, open_ok=True)
    after_crash = harness.last_progress(at_crash[PROGRESS], job)
    print(f"input: {len(initial)} initial + {len(trickle.records)} trickled; progress at the "
          f"crash: time {after_crash['time']}")

    restart = Cluster(pod, salesflow_bin, brokers, prefix, tmp_path, "restart",
                      args=("--bounded", *harness.alert_flags()))
    restart.run()
    for i in range(3):
        assert f"resuming after the last progress time={after_crash['time']}" in restart.log(i), \
            f"process {i} did not resume from the progress at the crash\n{restart.tails()}"
    outputs = harness.read_all(brokers, prefix)
    # Output is written in transactions: the strict fold fails on a change written twice.
    expected = oracle(records, prefix)
    actual = {t: harness.fold(outputs[t], "upsert") for t in TOPICS}
    report = harness.diff_tables(expected, actual)
    assert not report, (f"after kill -9 and a restart, the upsert tables differ from the oracle:\n"
                        f"{report}\nwhere each differing key was last written:\n"
                        f"{last_writes(expected, actual, outputs, at_crash, after_crash, prefix)}")
    check_every_progress_is_a_cut(records, outputs, "upsert", prefix, job)
    check_progress_covers_input(brokers, prefix, job)


# ---- 3. rescaling ------------------------------------------------------------------------------

def test_scaling_from_two_to_three_processes_continues_correctly(
        brokers, salesflow_bin, base_seed, prefix, tmp_path):
    pod = load_pod()
    job = pod.env["SALESFLOW_JOB"]
    records = Gen(seed_for(base_seed, "cluster-rescale")).records(RECORDS)
    first, second = records[: len(records) // 2], records[len(records) // 2:]
    # The diff envelope, not the manifests' upsert: after clean stops a change written twice or
    # never must show, and only the diff envelope's fold shows it.
    args = ("--bounded", *harness.alert_flags())
    env = {"SALESFLOW_ENVELOPE": "diff"}

    harness.produce(brokers, prefix, first)
    two = Cluster(pod, salesflow_bin, brokers, prefix, tmp_path, "two", processes=2, args=args,
                  env={**env, "SALESFLOW_PROCESSES": "2"})
    two.run()
    check_assignments(two, prefix, int(pod.env.get("SALESFLOW_WORKERS", "1")))
    check_tables(oracle(first, prefix), harness.read_all(brokers, prefix), "diff",
                 "2 processes, first half of the input")

    harness.produce(brokers, prefix, second)
    three = Cluster(pod, salesflow_bin, brokers, prefix, tmp_path, "three", args=args, env=env)
    three.run()
    check_assignments(three, prefix, int(pod.env.get("SALESFLOW_WORKERS", "1")))
    check_tables(oracle(records, prefix), harness.read_all(brokers, prefix), "diff",
                 "rescaled to 3 processes, all input")
    check_progress_covers_input(brokers, prefix, job)
