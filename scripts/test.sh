#!/usr/bin/env bash
# The whole test suite, as the README and CI run it: starts a real Apache Kafka broker
# (scripts/kafka.sh), runs the Rust tests and the Python cross-checks against it, stops the broker.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d "${TMPDIR:-/tmp}/salesflow-test.XXXXXX")
port=${SALESFLOW_TEST_KAFKA_PORT:-19192}
trap 'scripts/kafka.sh stop --dir "$work/kafka" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

echo "== starting Kafka on 127.0.0.1:$port"
SALESFLOW_TEST_BROKERS=$(scripts/kafka.sh start --port "$port" --dir "$work/kafka" | tail -n 1)
export SALESFLOW_TEST_BROKERS

echo "== Rust tests"
cargo test --release --locked

echo "== Python cross-checks (confluent-kafka) against the real broker"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt
SALESFLOW_BIN="$PWD/target/release/salesflow" "$work/venv/bin/python" -m pytest -q tests/e2e
