"""Readiness: can this deployment do its work right now?

Each check is a function that returns details or raises. ``run_checks`` runs them side
by side on a small, fixed thread pool and waits at most ``timeout`` seconds: a check
that hangs (a half-open TCP connection, a dead PostgreSQL) is reported as timed out
instead of holding the probe. Because the pool is fixed, hung checks cannot pile up
threads either: later probes time out until the hung ones give up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import redis
from sqlalchemy import text

from greenlight import migrate
from greenlight.db import get_engine
from greenlight.settings import get_settings

Check = Callable[[], dict[str, Any]]

_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="readiness")


class CheckFailed(Exception):
    """A check ran and found the dependency unusable."""


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    duration_ms: float
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": self.ok, "duration_ms": self.duration_ms, **self.details}
        if self.error is not None:
            body["error"] = self.error
        return body


@dataclass(frozen=True)
class Report:
    checks: dict[str, CheckResult]

    @property
    def ready(self) -> bool:
        return all(result.ok for result in self.checks.values())

    @property
    def failed(self) -> list[str]:
        return [name for name, result in self.checks.items() if not result.ok]

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "ready" if self.ready else "not_ready",
            "failed": self.failed,
            "checks": {name: result.as_dict() for name, result in self.checks.items()},
        }


def _describe(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}"[:300] if message else type(exc).__name__


def _timed(check: Check) -> CheckResult:
    started = time.perf_counter()
    try:
        details = check()
    except Exception as exc:
        elapsed = round((time.perf_counter() - started) * 1000, 1)
        return CheckResult(ok=False, duration_ms=elapsed, error=_describe(exc))
    return CheckResult(ok=True, duration_ms=round((time.perf_counter() - started) * 1000, 1), details=details)


def run_checks(checks: Mapping[str, Check], timeout: float) -> Report:
    futures: dict[str, Future[CheckResult]] = {
        name: _pool.submit(_timed, check) for name, check in checks.items()
    }
    done, _ = wait(futures.values(), timeout=timeout)
    results: dict[str, CheckResult] = {}
    for name, future in futures.items():
        if future in done:
            results[name] = future.result()
        else:
            future.cancel()
            results[name] = CheckResult(
                ok=False, duration_ms=round(timeout * 1000, 1), error=f"no answer within {timeout:g}s"
            )
    return Report(results)


def check_database() -> dict[str, Any]:
    with get_engine().connect() as connection:
        connection.execute(text("SELECT 1"))
    return {}


def check_migrations() -> dict[str, Any]:
    current, head = migrate.current_revision(), migrate.head_revision()
    if current != head:
        raise CheckFailed(f"database schema is at {current or 'nothing'}, this build needs {head}")
    return {"revision": current}


def check_redis(timeout: float) -> dict[str, Any]:
    client = redis.Redis.from_url(
        get_settings().require_redis_url(), socket_timeout=timeout, socket_connect_timeout=timeout
    )
    try:
        client.ping()
    finally:
        client.close()
    return {}


def storage_checks(timeout: float) -> dict[str, Check]:
    """The checks the domain knows how to make; the caller adds the worker check."""
    return {
        "database": check_database,
        "migrations": check_migrations,
        "redis": partial(check_redis, timeout),
    }
