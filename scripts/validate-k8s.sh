#!/usr/bin/env bash
# Offline check of the Kubernetes manifests (k8s/): renders every kustomization with kustomize,
# validates each resource against the Kubernetes API schema, and checks what the schema cannot see:
# replicas = SALESFLOW_PROCESSES, a headless Service that publishes not-ready pods, --peers ports,
# cpu request = workers, every $(VAR) in args defined, selectors that match the pods, and, when a
# salesflow binary is at hand, that every flag and SALESFLOW_* variable is one `salesflow run`
# knows and that `salesflow check-config` accepts the rendered configuration.
#
#   scripts/validate-k8s.sh [TOOLS_DIR]
#
# TOOLS_DIR keeps the venv and the kustomize binary between runs (then the run needs no network);
# without it a temporary dir is used and removed. Needs Go and Python 3; downloads only from the Go
# module proxy and PyPI, and only on the first run for a TOOLS_DIR. Exits non-zero on any failure.
#
# Environment: SALESFLOW_BIN (default target/release/salesflow; the binary checks are skipped when it
# does not exist), K8S_VERSIONS (space-separated, default below).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
started=$(date +%s)

# Pinned tools. kustomize v5.8.1 builds with Go >= 1.24 (v5.8.2 needs Go 1.26, v5.8.3 Go 1.27).
# kubernetes-validate 1.37.0 (the newest) bundles the schemas of Kubernetes 1.25 to 1.37, so
# K8S_VERSIONS can be any of those.
KUSTOMIZE_VERSION=v5.8.1
KUBERNETES_VALIDATE_VERSION=1.37.0
# The oldest Kubernetes the manifests must work on (1.31: unhealthyPodEvictionPolicy is GA there)
# and a current one.
K8S_VERSIONS=${K8S_VERSIONS:-"1.31.0 1.35.0"}

if [[ $# -ge 1 ]]; then
    tools=$1
    mkdir -p "$tools"
else
    tools=$(mktemp -d "${TMPDIR:-/tmp}/validate-k8s.XXXXXX")
    trap 'rm -rf "$tools"' EXIT
fi
tools=$(cd "$tools" && pwd)

echo "== tools in $tools"
if [[ ! -x $tools/venv/bin/kubernetes-validate ]] ||
    [[ $("$tools/venv/bin/kubernetes-validate" --version 2>/dev/null) != *"$KUBERNETES_VALIDATE_VERSION"* ]]; then
    echo "   installing kubernetes-validate==$KUBERNETES_VALIDATE_VERSION (PyPI)"
    python3 -m venv "$tools/venv"
    "$tools/venv/bin/pip" install --quiet --disable-pip-version-check \
        "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi
if [[ ! -x $tools/bin/kustomize ]] ||
    [[ $("$tools/bin/kustomize" version 2>/dev/null) != "$KUSTOMIZE_VERSION" ]]; then
    echo "   installing kustomize $KUSTOMIZE_VERSION (Go module proxy)"
    # GOTOOLCHAIN=local: build with the installed Go, never download a toolchain.
    # GOFLAGS=-mod=mod: ignore a vendor dir or go.work the caller may have set up.
    GOBIN=$tools/bin GOTOOLCHAIN=local GOFLAGS=-mod=mod \
        go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
fi
kustomize=$tools/bin/kustomize
python=$tools/venv/bin/python
echo "   kustomize $("$kustomize" version), kubernetes-validate $KUBERNETES_VALIDATE_VERSION," \
    "Kubernetes schemas $K8S_VERSIONS"

bin=${SALESFLOW_BIN:-$repo/target/release/salesflow}
if [[ -x $bin ]]; then
    echo "   salesflow binary: $bin ($("$bin" --version 2>/dev/null || echo "no --version"))"
else
    echo "   salesflow binary: none at $bin, so the flag and check-config checks are skipped"
    bin=
fi

failed=()
rendered_dir=$tools/rendered
rm -rf "$rendered_dir"
mkdir -p "$rendered_dir"

kustomizations=()
while IFS= read -r file; do
    kustomizations+=("${file%/kustomization.yaml}")
done < <(find k8s -name kustomization.yaml | sort)
if [[ ${#kustomizations[@]} -eq 0 ]]; then
    echo "FAIL: no kustomization.yaml under k8s/"
    exit 1
fi

for dir in "${kustomizations[@]}"; do
    out=$rendered_dir/${dir//\//_}.yaml
    echo "== $dir"
    if ! "$kustomize" build "$dir" >"$out" 2>"$out.err"; then
        cat "$out.err"
        failed+=("$dir: kustomize build")
        continue
    fi
    for version in $K8S_VERSIONS; do
        # --strict rejects fields the schema does not know (typos such as podManagmentPolicy).
        if ! "$tools/venv/bin/kubernetes-validate" --strict --quiet -k "$version" "$out"; then
            failed+=("$dir: schema of Kubernetes $version")
        fi
    done
    if ! "$python" - "$dir" "$out" "$bin" "$repo/Dockerfile" <<'PY'; then
"""What the schema cannot check: the manifests agree with each other and with salesflow's flags."""
import os
import re
import subprocess
import sys

import yaml

kustomization, rendered, binary, dockerfile = sys.argv[1:5]
problems = []


def problem(message):
    problems.append(message)


docs = [d for d in yaml.safe_load_all(open(rendered)) if d]
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], []).append(d)


def one(kind):
    found = by_kind.get(kind, [])
    if len(found) != 1:
        problem(f"expected one {kind}, found {len(found)}")
        return None
    return found[0]


def cpu_cores(quantity):
    quantity = str(quantity)
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).items())


sts = one("StatefulSet")
if sts is None:
    print("\n".join(f"FAIL {kustomization}: {p}" for p in problems))
    sys.exit(1)
spec = sts["spec"]
pod = spec["template"]["spec"]
pod_labels = spec["template"]["metadata"].get("labels", {})
containers = [c for c in pod["containers"] if c["name"] == "salesflow"]
if len(containers) != 1:
    problem("the StatefulSet has no container named salesflow")
    print("\n".join(f"FAIL {kustomization}: {p}" for p in problems))
    sys.exit(1)
container = containers[0]
configmaps = {c["metadata"]["name"]: c.get("data", {}) for c in by_kind.get("ConfigMap", [])}
services = {s["metadata"]["name"]: s for s in by_kind.get("Service", [])}

# The environment the container gets: envFrom ConfigMaps, then env (which wins), as the kubelet does.
env = {}
for source in container.get("envFrom", []):
    if "configMapRef" in source:
        name = source["configMapRef"]["name"]
        if name not in configmaps:
            if not source["configMapRef"].get("optional"):
                problem(f"envFrom names ConfigMap {name}, which the kustomization does not render")
            continue
        env.update(configmaps[name])
    elif "secretRef" in source and not source["secretRef"].get("optional"):
        problem(f"envFrom Secret {source['secretRef']['name']} must be optional (it is not shipped)")
optional_secret_vars = set()
for var in container.get("env", []):
    source = var.get("valueFrom", {})
    if "value" in var:
        env[var["name"]] = var["value"]
    elif "secretKeyRef" in source:
        if not source["secretKeyRef"].get("optional"):
            problem(f"env {var['name']}: Secret {source['secretKeyRef']['name']} must be optional")
        optional_secret_vars.add(var["name"])
    elif "configMapKeyRef" in source:
        ref = source["configMapKeyRef"]
        if ref["key"] in configmaps.get(ref["name"], {}):
            env[var["name"]] = configmaps[ref["name"]][ref["key"]]
        else:
            problem(f"env {var['name']}: no key {ref['key']} in ConfigMap {ref['name']}")
    else:
        optional_secret_vars.add(var["name"])  # fieldRef etc.: defined at run time

# replicas = SALESFLOW_PROCESSES: the number of pods is the number of timely processes.
replicas = spec.get("replicas", 1)
processes = env.get("SALESFLOW_PROCESSES")
if processes is None:
    problem("SALESFLOW_PROCESSES is not set (salesflow's default is 1)")
    processes = "1"
if str(replicas) != str(processes):
    problem(f"replicas is {replicas} but SALESFLOW_PROCESSES is {processes}")
if spec.get("podManagementPolicy") != "Parallel":
    problem("podManagementPolicy must be Parallel: pods become ready only once all have started")
if not env.get("SALESFLOW_BROKERS", "").strip():
    problem("SALESFLOW_BROKERS is empty: every pod would start its own embedded broker")

# The peers: resolvable names through the headless serviceName, on the container's timely port.
headless = services.get(spec.get("serviceName"))
if headless is None:
    problem(f"serviceName {spec.get('serviceName')!r} is not a Service of this kustomization")
else:
    if headless["spec"].get("clusterIP") != "None":
        problem(f"Service {spec['serviceName']} must be headless (clusterIP: None)")
    if not headless["spec"].get("publishNotReadyAddresses"):
        problem(f"Service {spec['serviceName']} must set publishNotReadyAddresses: true")
ports = {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
peers = [p.strip() for p in env.get("SALESFLOW_PEERS", "").split(",") if p.strip()]
if int(processes) > 1:
    if len(peers) == 1 and "{i}" in peers[0]:
        peers = [peers[0].replace("{i}", str(i)) for i in range(int(processes))]
    if len(peers) != int(processes):
        problem(f"SALESFLOW_PEERS lists {len(peers)} processes but SALESFLOW_PROCESSES is {processes}")
    for i, peer in enumerate(peers):
        host, _, port = peer.rpartition(":")
        expected = f"{sts['metadata']['name']}-{i}.{spec.get('serviceName')}"
        if host != expected and not host.startswith(expected + "."):
            problem(f"peer {i} is {peer}, but pod {i} is {expected}")
        if not port.isdigit() or int(port) not in ports.values():
            problem(f"peer {i} port {port} is not a containerPort of the salesflow container")
        elif headless:
            served = [ports.get(p.get("targetPort"), p.get("targetPort", p["port"]))
                      for p in headless["spec"].get("ports", [])]
            if int(port) not in served:
                problem(f"peer {i} port {port} is not a port of Service {spec['serviceName']}")

# Probes (and metrics, dashboard) on the port salesflow serves them on.
http_port = env.get("SALESFLOW_HTTP_ADDR", "").rpartition(":")[2]
if not http_port.isdigit():
    problem("SALESFLOW_HTTP_ADDR is not host:port, so /healthz and /readyz are not served")
for probe, path in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")]:
    get = container.get(probe, {}).get("httpGet")
    if not get:
        problem(f"{probe} is not an httpGet")
        continue
    port = ports.get(get["port"], get["port"])
    if str(port) != http_port or get.get("path") != path:
        problem(f"{probe} is {get.get('path')} on port {port}, expected {path} on {http_port}")

# cpu request = worker threads.
requests = container.get("resources", {}).get("requests", {})
workers = env.get("SALESFLOW_WORKERS", "1")
if "cpu" not in requests or cpu_cores(requests["cpu"]) != float(workers):
    problem(f"cpu request {requests.get('cpu')} is not SALESFLOW_WORKERS={workers}")
if "memory" not in container.get("resources", {}).get("limits", {}):
    problem("no memory limit")

# Hardening the task asks for.
psc, csc = pod.get("securityContext", {}), container.get("securityContext", {})
for ok, what in [
    (psc.get("runAsNonRoot") or csc.get("runAsNonRoot"), "runAsNonRoot"),
    (csc.get("readOnlyRootFilesystem"), "readOnlyRootFilesystem"),
    (csc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation: false"),
    ("ALL" in csc.get("capabilities", {}).get("drop", []), "capabilities drop ALL"),
    ((psc.get("seccompProfile") or csc.get("seccompProfile") or {}).get("type") == "RuntimeDefault",
     "seccompProfile RuntimeDefault"),
]:
    if not ok:
        problem(f"securityContext lacks {what}")

# Every selector in the kustomization picks the job's pods.
for kind in ("Service", "PodDisruptionBudget", "NetworkPolicy"):
    for r in by_kind.get(kind, []):
        selector = r["spec"].get("selector") if kind == "Service" else r["spec"].get(
            "selector" if kind == "PodDisruptionBudget" else "podSelector", {}).get("matchLabels")
        if not selector or not selects(selector, pod_labels):
            problem(f"{kind} {r['metadata']['name']} does not select the salesflow pods")
if not selects(spec["selector"]["matchLabels"], pod_labels):
    problem("the StatefulSet's selector does not match its pod template")

# $(VAR) in command/args: Kubernetes leaves an undefined reference as literal text.
command = container.get("command", []) + container.get("args", [])
for token in command:
    for var in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", token):
        if var not in env and var not in optional_secret_vars:
            problem(f"{token!r} refers to ${var}, which no env or envFrom of the container defines")

# The image: the command is the binary the Dockerfile installs, run as the uid it creates.
if os.path.exists(dockerfile):
    text = open(dockerfile).read()
    entry = re.findall(r'^ENTRYPOINT\s+\["([^"]+)"', text, re.M)
    if container.get("command") and entry and container["command"][0] != entry[-1]:
        problem(f"command {container['command'][0]} is not the image's ENTRYPOINT {entry[-1]}")
    user = re.findall(r"^USER\s+(\S+)", text, re.M)
    uid = csc.get("runAsUser", psc.get("runAsUser"))
    if user and uid is not None and user[-1].split(":")[0] != str(uid):
        problem(f"runAsUser {uid} is not the Dockerfile's USER {user[-1]}")

# salesflow itself: flags and variables it knows, and the resolved config it accepts.
if binary:
    args = container.get("args", [])
    if not args or args[0] != "run":
        problem(f"args must start with the `run` subcommand, got {args[:1]}")
    help_text = subprocess.run([binary, "run", "--help"], capture_output=True, text=True).stdout
    flags = set(re.findall(r"(?<![\w-])(--[a-z0-9][a-z0-9-]*|-[A-Za-z])\b", help_text))
    env_names = set(re.findall(r"\[env: ([A-Z0-9_]+)=", help_text))
    env_names |= {"SALESFLOW_LOG"}  # the log filter, read by main(), not a flag
    for token in args[1:]:
        if token.startswith("-"):
            flag = token.split("=", 1)[0]
            if flag not in flags:
                problem(f"arg {token!r}: `salesflow run` has no flag {flag}")
    for name in sorted(set(env) | optional_secret_vars):
        if name.startswith("SALESFLOW_") and name not in env_names:
            problem(f"{name} is not a variable `salesflow run` reads (see salesflow run --help)")

    # Run check-config as pods 0 and N-1 would run, with the Secret absent (PLAINTEXT).
    def expand(token):
        return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), token)

    for ordinal in sorted({0, int(replicas) - 1}):
        pod_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env,
                   "HOSTNAME": f"{sts['metadata']['name']}-{ordinal}"}
        result = subprocess.run([binary, "check-config", *[expand(a) for a in args[1:]]],
                                env=pod_env, capture_output=True, text=True)
        if result.returncode != 0:
            problem(f"`salesflow check-config` as pod {ordinal} exited {result.returncode}: "
                    f"{((result.stderr or result.stdout).strip().splitlines() or [''])[0]}")

for p in problems:
    print(f"FAIL {kustomization}: {p}")
if problems:
    sys.exit(1)
print(f"   ok: {len(docs)} resources, {replicas} pod(s) = SALESFLOW_PROCESSES"
      + (", flags and check-config ok" if binary else ""))
PY
        failed+=("$dir: consistency checks")
    fi
done

elapsed=$(($(date +%s) - started))
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "== FAILED (${elapsed}s):"
    printf '   %s\n' "${failed[@]}"
    exit 1
fi
echo "== all ${#kustomizations[@]} kustomizations valid (${elapsed}s)"
