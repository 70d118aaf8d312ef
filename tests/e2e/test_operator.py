"""The operator surface: /readyz tells the truth about each dependency, /metrics moves.

Some tests start their own API process (as in production: gunicorn, two workers) against
a private Redis server that no worker listens to, or against a Redis port nobody listens on.
"""

from __future__ import annotations

import collections
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from cli.embedded import EmbeddedRedis, free_port
from greenlight.operations.submit import Submission, submit
from greenlight.queues import Queue
from greenlight.readiness import CheckFailed
from tests.support.actors import own
from tests.support.http import create_persona, wait_operation
from tests.support.processes import Process, start_api, start_worker, wait_until
from workers.dispatch import CeleryDispatcher
from workers.health import ping_workers

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(base: str) -> Samples:
    response = httpx.get(f"{base}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def readyz(base: str) -> tuple[int, dict[str, object]]:
    response = httpx.get(f"{base}/readyz", timeout=10)
    return response.status_code, response.json()


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis server of our own: no worker listens to it unless a test starts one."""
    server = EmbeddedRedis(workdir=str(tmp_path_factory.mktemp("private-redis"))).start()
    yield server.url
    server.cleanup()


@pytest.fixture(scope="module")
def private_api(services: dict[str, str], private_redis: str) -> Iterator[str]:
    """The production API set-up (`greenlight api`, gunicorn, 2 workers) on the private Redis."""
    api, base = start_api(env={"GREENLIGHT_REDIS_URL": private_redis}, name="api-private", gunicorn_workers=2)
    yield base
    api.stop()


def test_ready_when_everything_answers(api_url: str, client: httpx.Client) -> None:
    started = time.monotonic()
    status, body = readyz(api_url)
    assert time.monotonic() - started < 3
    assert status == 200, body
    assert body["status"] == "ready" and body["failed"] == []
    checks = body["checks"]
    assert isinstance(checks, dict)
    assert set(checks) == {"database", "migrations", "redis", "workers"}
    assert all(check["ok"] for check in checks.values())
    assert checks["workers"]["workers"]  # the session worker answered


def test_readyz_follows_a_worker_stopping_and_starting(private_api: str, private_redis: str) -> None:
    status, body = readyz(private_api)
    assert status == 503
    assert body["status"] == "not_ready" and body["failed"] == ["workers"]
    assert "no worker answered" in str(body["checks"]["workers"]["error"])  # type: ignore[index]

    worker = start_worker(concurrency=1, env={"GREENLIGHT_REDIS_URL": private_redis})
    try:
        wait_until(lambda: readyz(private_api)[0] == 200, timeout=20, interval=0.2)
    finally:
        worker.stop()
    wait_until(lambda: readyz(private_api)[0] == 503, timeout=20, interval=0.2)
    assert readyz(private_api)[1]["failed"] == ["workers"]


def test_the_worker_check_finds_a_worker_on_every_probe_while_several_answer(
    own_workers: list[Process],
) -> None:
    """Every worker answers each ping; the answers after the first must not spoil a later probe.

    Probed as /readyz probes: one after the other, on the readiness module's threads.
    """
    own_workers.extend(start_worker(concurrency=1) for _ in range(3))
    with ThreadPoolExecutor(max_workers=8) as threads:
        outcomes = collections.Counter(_probe_outcome(threads) for _ in range(1500))
    assert outcomes == {"answered": 1500}


def _probe_outcome(threads: ThreadPoolExecutor) -> str:
    try:
        threads.submit(ping_workers, 1.0).result()
    except CheckFailed:
        return "no worker"
    return "answered"


def test_readyz_reports_an_unreachable_redis(services: dict[str, str]) -> None:
    api, base = start_api(
        env={"GREENLIGHT_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}, name="api-no-redis"
    )
    try:
        started = time.monotonic()
        status, body = readyz(base)
        assert time.monotonic() - started < 4
    finally:
        api.stop()
    assert status == 503
    assert body["failed"] == ["redis", "workers"]
    checks = body["checks"]
    assert isinstance(checks, dict)
    assert checks["database"]["ok"] and checks["migrations"]["ok"]
    assert "Connection refused" in checks["redis"]["error"] or "connecting" in checks["redis"]["error"]


def test_readyz_reports_a_database_behind_its_migrations(worker: object, tmp_path: Path) -> None:
    api, base = start_api(
        env={"GREENLIGHT_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}, name="api-empty-db"
    )
    try:
        status, body = readyz(base)
    finally:
        api.stop()
    assert status == 503
    assert body["failed"] == ["migrations"]
    assert "schema is at nothing" in body["checks"]["migrations"]["error"]  # type: ignore[index]


def test_metrics_move_when_operations_run(api_url: str, client: httpx.Client, auth: dict[str, str]) -> None:
    unknown_kind = f"test.unknown_{uuid.uuid4().hex[:6]}"
    before = scrape(api_url)

    persona = create_persona(client, auth)
    edit = client.patch(
        f"/v1/personas/{persona['id']}/draft", json={"personality_prompt": "Be brief"}, headers=auth
    )
    assert wait_operation(client, auth, edit.json()["data"]["id"])["status"] == "succeeded"
    promoted = client.post(f"/v1/personas/{persona['id']}/versions/promote", headers=auth)
    assert promoted.status_code == 200
    # A kind no handler knows: the worker refuses it, and the failure is counted.
    doomed = submit(own(persona["user_id"]), Submission(unknown_kind, {}, persona["id"]), CeleryDispatcher())
    assert wait_operation(client, auth, doomed.id)["status"] == "failed"

    after = scrape(api_url)
    for kind in ("persona.create", "draft.update", "persona.promote"):
        accepted = "greenlight_operations_accepted_total"
        assert value(after, accepted, kind=kind) == value(before, accepted, kind=kind) + 1, kind
        applied = "greenlight_operations_applied_total"
        assert value(after, applied, kind=kind) >= value(before, applied, kind=kind) + 1, kind
        histogram = "greenlight_operation_accept_to_applied_seconds_count"
        assert value(after, histogram, kind=kind) >= value(before, histogram, kind=kind) + 1, kind
    assert value(after, "greenlight_operations_failed_total", kind=unknown_kind) == 1
    assert value(after, "greenlight_operations_applied_total", kind=unknown_kind) == 0
    wait_count = "greenlight_operation_lock_wait_seconds_count"
    assert value(after, wait_count, kind=unknown_kind) == 1
    assert value(after, "greenlight_operation_lock_wait_seconds_bucket", kind=unknown_kind, le="+Inf") == 1
    # persona.created, draft.updated, version.promoted, operation.failed: nothing relays them in tests.
    assert value(after, "greenlight_outbox_backlog") >= value(before, "greenlight_outbox_backlog") + 4
    assert value(after, "greenlight_metrics_source_up", source="database") == 1
    assert value(after, "greenlight_metrics_source_up", source="redis") == 1
    for queue in Queue:
        assert ("greenlight_queue_depth", frozenset({("queue", queue.value)})) in after


def test_queue_depth_reports_every_queue(private_api: str, private_redis: str) -> None:
    # No worker reads the private Redis's notification queues: what waits there is counted.
    client = redis.Redis.from_url(private_redis)
    client.lpush(Queue.WEBHOOKS.value, "{}")
    try:
        samples = scrape(private_api)
    finally:
        client.delete(Queue.WEBHOOKS.value)
    assert value(samples, "greenlight_queue_depth", queue=Queue.WEBHOOKS.value) == 1
    for queue in Queue:
        assert ("greenlight_queue_depth", frozenset({("queue", queue.value)})) in samples, queue


def test_queue_depth_counts_waiting_messages_in_every_api_process(
    private_api: str, client: httpx.Client, auth: dict[str, str]
) -> None:
    persona = create_persona(client, auth)
    # Accepted through the API whose Redis no worker reads: the message waits in its queue.
    response = httpx.patch(
        f"{private_api}/v1/personas/{persona['id']}/draft",
        json={"personality_prompt": "stuck"},
        headers={**auth, "Prefer": "respond-async"},
        timeout=10,
    )
    assert response.status_code == 202, response.text
    # Several scrapes reach both gunicorn workers: each reads the same shared state.
    for _ in range(4):
        samples = scrape(private_api)
        assert value(samples, "greenlight_queue_depth", queue=Queue.OPERATIONS.value) == 1
        assert value(samples, "greenlight_oldest_pending_operation_age_seconds") > 0
    # The database is the source of truth: the sweeper (on the session's Redis) finds it.
    assert wait_operation(client, auth, response.json()["data"]["id"])["status"] == "succeeded"
