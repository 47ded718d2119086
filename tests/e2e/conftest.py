"""End-to-end tests of the `salesflow` job binary against a REAL Apache Kafka broker.

Environment:
  SALESFLOW_TEST_BROKERS  bootstrap address of the broker (required). There is no skip: every test
                          fails loudly when it is unset, because CI always sets it. Start one with
                          `scripts/kafka.sh start --port 19092 --dir /tmp/e2e-kafka` (prints the address).
  SALESFLOW_BIN           the job binary (default /work/main/target/release/salesflow;
                          build it with `cargo build --release`).
  SALESFLOW_E2E_SEED      base seed of the generated input (default 20261122); each test derives its
                          own seed from it and prints it.

Each test uses its own topic prefix `e2e-<uuid>.`, creates its input topics (3 partitions;
customers and products compacted, orders, fx_rates and inventory kept forever because they also
get keyless records, which a compacted topic refuses) and deletes every topic with that prefix at
the end. The job runs with small alert limits (harness.job_command) so every alert rule fires.
"""

from __future__ import annotations

import os

import pytest

import harness

DEFAULT_BIN = "/work/main/target/release/salesflow"


@pytest.fixture(scope="session")
def brokers() -> str:
    value = os.environ.get("SALESFLOW_TEST_BROKERS", "").strip()
    if not value:
        pytest.fail("SALESFLOW_TEST_BROKERS is not set: these tests need a real Kafka broker "
                    "(e.g. `scripts/kafka.sh start --port 19092 --dir /tmp/e2e-kafka`, then "
                    "SALESFLOW_TEST_BROKERS=127.0.0.1:19092)", pytrace=False)
    return value


@pytest.fixture(scope="session")
def salesflow_bin() -> str:
    path = os.environ.get("SALESFLOW_BIN", DEFAULT_BIN)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"the job binary {path} does not exist or is not executable: build it with "
                    "`cargo build --release` or set SALESFLOW_BIN", pytrace=False)
    return path


@pytest.fixture(scope="session")
def base_seed() -> int:
    return int(os.environ.get("SALESFLOW_E2E_SEED", "20261122"))


@pytest.fixture
def prefix(brokers):
    """A fresh topic prefix with its input topics; every topic under it is deleted afterwards."""
    p = harness.new_prefix()
    harness.create_input_topics(brokers, p)
    yield p
    harness.delete_topics_with_prefix(brokers, p)
