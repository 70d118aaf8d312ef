"""Schemathesis against the served OpenAPI document, on the real API process with real workers.

Every phase (examples, coverage, fuzzing, stateful through the document's links) with a fresh
random seed each run, printed, so a failure replays: ``GREENLIGHT_FUZZ_SEED=<seed> make test
PYTEST_ARGS=tests/e2e/test_fuzz.py``. The checks hold every answer to the document (no 5xx, each
status documented, each body, content type and header as documented), and every warning about the
document fails the run as well: an operation no link reaches, one refusing most data its schema
allows (the schema looser than validation), a regex it cannot use, ... (the exceptions are explained
in tests/e2e/schemathesis.toml: whether this seed's random walk reached every state is shown, not
failed on, and four operations acting on a state random data seldom finds). A notification worker
runs, so webhooks get deliveries and the stateful phase reaches redelivery.
Options: tests/e2e/schemathesis.toml; hooks (what no schema can say: the clock, unique keys, loopback
URLs, a persona's history): tests/e2e/fuzz_hooks.py.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from api.main import app
from greenlight.db import unit_of_work
from greenlight.keys import authenticate
from greenlight.models import Operation
from greenlight.notifications import endpoints
from tests.e2e.fuzz_hooks import SELF_IDS
from tests.support.http import new_key
from tests.support.processes import BIN, Process
from tests.support.tenants import settle, workspace_id_of

CONFIG = Path(__file__).with_name("schemathesis.toml")
# The whole run's budget. 39 operations since the workspace, members and keys routes: the run took
# 164 s on PostgreSQL on a shared 2-CPU machine at a load of 6-7 (over the 170 s budget before them).
RUN_TIMEOUT = 240
# Schemathesis's words for an operation that no link reaches.
MISSING_LINKS = "No links point to"
# Headings of its report.
WARNINGS, STATEFUL_FAILURES = "=== WARNINGS ===", "=== Stateful tests ==="


@pytest.fixture(scope="module")
def fuzz_key(api_url: str, module_worker: Process, notifications_worker: Process) -> Iterator[str]:
    key = new_key("fuzzer")
    yield key  # the notification worker makes deliveries of its events, for redeliveries to follow
    # The fuzzer's endpoints (on a closed loopback port) would take every event of its personas and
    # keep the webhook workers of later tests busy retrying them: delete them with their deliveries.
    workspace_id = workspace_id_of(key)
    with unit_of_work() as session:
        for endpoint in endpoints.list_endpoints(session, workspace_id):
            endpoints.delete_endpoint(session, workspace_id, endpoint.id)


def test_served_schema_is_the_one_fuzzed(api_url: str) -> None:
    assert httpx.get(f"{api_url}/openapi.json").json() == app.openapi()


@pytest.mark.timeout(RUN_TIMEOUT + 10)
def test_schemathesis_finds_nothing(api_url: str, fuzz_key: str, tmp_path: Path) -> None:
    seed = int(os.environ.get("GREENLIGHT_FUZZ_SEED") or secrets.randbelow(2**31))
    print(f"schemathesis seed {seed}: replay with GREENLIGHT_FUZZ_SEED={seed}", file=sys.stderr)
    command = [
        str(BIN / "schemathesis"), "--config-file", str(CONFIG), "run", f"{api_url}/openapi.json",
        "--seed", str(seed), "--header", f"authorization: {fuzz_key}", "--output-truncate", "false",
    ]  # fmt: skip
    with unit_of_work() as session:
        me = authenticate(session, fuzz_key)
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.e2e.fuzz_hooks",
        "PYTHONPATH": str(CONFIG.parents[2]),
        SELF_IDS: f"{me.user_id},{me.key_id}",  # the hooks keep the fuzzer from removing itself
    }
    # Run elsewhere: schemathesis keeps a cache in its working directory.
    run = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=RUN_TIMEOUT)
    report = run.stdout + run.stderr
    if run.returncode != 0 or MISSING_LINKS in report:
        # The warnings first: the failures after them can be long enough to push them out.
        start = report.find(WARNINGS)
        warnings = report[start : report.find(STATEFUL_FAILURES, start)] if start >= 0 else ""
        message = f"seed {seed}: GREENLIGHT_FUZZ_SEED={seed} replays it\n{warnings}\n{report[-30000:]}"
        pytest.fail(message, pytrace=False)


def test_everything_the_fuzzer_submitted_settles(fuzz_key: str) -> None:
    """Accepted 202s are finished by the workers: succeeded, or refused with a domain error."""
    workspace_id = workspace_id_of(fuzz_key)
    settle(workspace_id, timeout=90)
    with unit_of_work() as session:
        query = sa.select(Operation).where(Operation.workspace_id == workspace_id)
        operations = session.scalars(query).all()
    assert len(operations) > 10, "run with the fuzz test above: it submits the operations checked here"
    for op in operations:
        assert op.status in ("succeeded", "failed"), (op.kind, op.status)
        if op.status == "failed":
            assert op.error is not None and op.error["error"] != "TOO_MANY_ATTEMPTS", (op.kind, op.error)
