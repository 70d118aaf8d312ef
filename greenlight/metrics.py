"""Prometheus metrics, computed at scrape time from the database and Redis.

Why not counters in process memory? The API runs as several gunicorn workers and the
operations are applied by Celery prefork children, possibly on other machines: counters
in memory would be split over dozens of processes, reset at every restart, and need a
scrape target per process (prometheus_client's multiprocess mode only merges the
processes of one host). The database already records every accepted operation with its
kind, status and timestamps, and Redis holds the queues, so any API process can compute
the same exact numbers at scrape time, whichever process Prometheus happens to reach:
counters are counts of rows, histograms are durations bucketed in SQL.

Failed authentications leave no row: the auth back-off (greenlight/auth_throttle.py) counts them,
and its refusals, in two Redis hashes that every API process increments and any of them reads back.

Cost: a few aggregate queries per scrape over ``operations``; fine for millions of rows.
Deleting old operations makes counters drop, which Prometheus reads as a counter reset.
Durations compare timestamps written by different hosts: keep their clocks in sync (NTP).

Definitions (also in README):
- accept to applied: ``finished_at - created_at`` of succeeded operations.
- lock wait: ``started_at - created_at``, where ``started_at`` is when a drain holding the
  persona's lock claimed the operation (operations claimed in one batch share that time).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache, partial
from typing import Any

import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import Connection, case, column, func, inspect, select, table
from sqlalchemy.sql.elements import ColumnElement

from greenlight.auth_throttle import failures_key, refusals_key
from greenlight.clock import utcnow
from greenlight.db import get_engine
from greenlight.dialects import capabilities_of
from greenlight.models import Operation, OperationStatus, OutboxEvent
from greenlight.models.base import UTCDateTime
from greenlight.models.operations import PENDING_STATUSES
from greenlight.queues import Queue
from greenlight.settings import get_settings

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Seconds. From a few milliseconds (a drain on an idle persona) to an hour (a lost message
# found by the sweeper after a long outage).
BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)

# Kombu's Redis transport keeps a queue's messages in a list named after it, plus one list
# per priority step for prioritised messages; unacknowledged messages sit in one hash.
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)
_UNACKED_HASH = "unacked"

# Hook for the webhooks feature: when a table of this name exists with one of these columns,
# ``greenlight_webhook_deliveries_total{outcome}`` counts its rows by that column.
WEBHOOK_DELIVERIES_TABLE = "webhook_deliveries"
WEBHOOK_OUTCOME_COLUMNS = ("outcome", "status")


@dataclass
class Histogram:
    count: int = 0
    total: float = 0.0
    # Cumulative counts, one per bound of BUCKETS.
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))


@dataclass
class Snapshot:
    # (kind, status) -> number of operations
    operations: dict[tuple[str, str], int] = field(default_factory=dict)
    accept_to_applied: dict[str, Histogram] = field(default_factory=dict)
    lock_wait: dict[str, Histogram] = field(default_factory=dict)
    oldest_pending_age: float = 0.0
    outbox_backlog: int = 0
    outbox_oldest_age: float = 0.0
    webhook_deliveries: dict[str, int] | None = None
    queue_depth: dict[str, int] = field(default_factory=dict)
    unacked: int = 0
    # (where, reason) -> count, from the auth throttle's hashes in Redis
    auth_failures: dict[tuple[str, str], int] = field(default_factory=dict)
    auth_throttled: dict[tuple[str, str], int] = field(default_factory=dict)
    sources_up: dict[str, bool] = field(default_factory=dict)


def _seconds(connection: Connection, end: Any, start: Any) -> ColumnElement[float]:
    seconds = capabilities_of(connection).seconds_between(end, start)
    # Clocks of different hosts may disagree by a little: never report a negative duration.
    return case((seconds < 0, 0.0), else_=seconds)


def _histograms(
    connection: Connection, seconds: ColumnElement[float], *where: ColumnElement[bool]
) -> dict[str, Histogram]:
    columns = [func.count(), func.coalesce(func.sum(seconds), 0.0)]
    columns += [func.sum(case((seconds <= bound, 1), else_=0)) for bound in BUCKETS]
    query = select(Operation.kind, *columns).where(*where).group_by(Operation.kind)
    result: dict[str, Histogram] = {}
    for row in connection.execute(query).all():
        kind, count, total, *buckets = tuple(row)
        result[str(kind)] = Histogram(int(count), float(total), [int(b or 0) for b in buckets])
    return result


def _age(oldest: datetime | None) -> float:
    return max(0.0, (utcnow() - oldest).total_seconds()) if oldest is not None else 0.0


def _webhook_deliveries(connection: Connection) -> dict[str, int] | None:
    inspector = inspect(connection)
    if not inspector.has_table(WEBHOOK_DELIVERIES_TABLE):
        return None
    names = {col["name"] for col in inspector.get_columns(WEBHOOK_DELIVERIES_TABLE)}
    outcome = next((name for name in WEBHOOK_OUTCOME_COLUMNS if name in names), None)
    if outcome is None:
        return None
    deliveries = table(WEBHOOK_DELIVERIES_TABLE, column(outcome))
    rows = connection.execute(select(deliveries.c[outcome], func.count()).group_by(deliveries.c[outcome]))
    return {str(value): int(count) for value, count in rows}


def _from_database(snapshot: Snapshot) -> None:
    with get_engine().connect() as connection:
        rows = connection.execute(
            select(Operation.kind, Operation.status, func.count()).group_by(Operation.kind, Operation.status)
        )
        snapshot.operations = {(kind, status): int(count) for kind, status, count in rows}
        snapshot.accept_to_applied = _histograms(
            connection,
            _seconds(connection, Operation.finished_at, Operation.created_at),
            Operation.status == OperationStatus.SUCCEEDED.value,
            Operation.finished_at.is_not(None),
        )
        snapshot.lock_wait = _histograms(
            connection,
            _seconds(connection, Operation.started_at, Operation.created_at),
            Operation.started_at.is_not(None),
        )
        # Aggregates lose the column's type on SQLite; read them back through it.
        oldest = select(func.min(Operation.created_at, type_=UTCDateTime()))
        snapshot.oldest_pending_age = _age(
            connection.scalar(oldest.where(Operation.status.in_(PENDING_STATUSES)))
        )
        unrelayed = OutboxEvent.relayed_at.is_(None)
        snapshot.outbox_backlog = int(connection.scalar(select(func.count()).where(unrelayed)) or 0)
        snapshot.outbox_oldest_age = _age(
            connection.scalar(select(func.min(OutboxEvent.created_at, type_=UTCDateTime())).where(unrelayed))
        )
        snapshot.webhook_deliveries = _webhook_deliveries(connection)


@lru_cache(maxsize=1)
def _redis() -> redis.Redis:
    # Its own client with timeouts: a stuck Redis must not hold a scrape forever.
    return redis.Redis.from_url(
        get_settings().require_redis_url(), socket_timeout=2, socket_connect_timeout=2
    )


def _from_redis(snapshot: Snapshot) -> None:
    queues = [queue.value for queue in Queue]
    pipe = _redis().pipeline(transaction=False)
    for queue in queues:
        pipe.llen(queue)
        for step in _PRIORITY_STEPS:
            pipe.llen(f"{queue}{_PRIORITY_SEPARATOR}{step}")
    pipe.hlen(_UNACKED_HASH)
    pipe.hgetall(failures_key())
    pipe.hgetall(refusals_key())
    *replies, failures, throttled = pipe.execute()
    snapshot.auth_failures = _by_where_and_reason(failures)
    snapshot.auth_throttled = _by_where_and_reason(throttled)
    lengths = [int(n) for n in replies]
    per_queue = len(_PRIORITY_STEPS) + 1
    snapshot.queue_depth = {
        queue: sum(lengths[i * per_queue : (i + 1) * per_queue]) for i, queue in enumerate(queues)
    }
    snapshot.unacked = lengths[-1]


def _by_where_and_reason(counts: dict[bytes, bytes]) -> dict[tuple[str, str], int]:
    """A hash of ``where:reason`` fields (greenlight/auth_throttle.py) read back as label pairs."""
    result: dict[tuple[str, str], int] = {}
    for name, count in counts.items():
        where, _, reason = name.decode().partition(":")
        result[(where, reason)] = int(count)
    return result


def take_snapshot() -> Snapshot:
    """Everything /metrics reports; a source that fails is reported down, the rest still are."""
    snapshot = Snapshot()
    readers: dict[str, Callable[[], None]] = {
        "database": partial(_from_database, snapshot),
        "redis": partial(_from_redis, snapshot),
    }
    for source, read in readers.items():
        try:
            read()
            snapshot.sources_up[source] = True
        except Exception:
            log.warning("metrics: could not read the %s", source, exc_info=True)
            snapshot.sources_up[source] = False
    return snapshot


def _histogram_family(name: str, documentation: str, data: dict[str, Histogram]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, documentation, labels=["kind"])
    for kind, histogram in sorted(data.items()):
        buckets = [(f"{bound:g}", float(n)) for bound, n in zip(BUCKETS, histogram.buckets, strict=True)]
        buckets.append(("+Inf", float(histogram.count)))
        family.add_metric([kind], buckets, histogram.total)
    return family


def families(snapshot: Snapshot) -> Iterator[Metric]:
    up = GaugeMetricFamily(
        "greenlight_metrics_source_up", "1 if the source could be read for this scrape", labels=["source"]
    )
    for source, ok in sorted(snapshot.sources_up.items()):
        up.add_metric([source], 1.0 if ok else 0.0)
    yield up

    if snapshot.sources_up.get("database"):
        yield from _database_families(snapshot)
    if snapshot.sources_up.get("redis"):
        depth = GaugeMetricFamily(
            "greenlight_queue_depth", "Messages waiting in a Celery queue (Redis LLEN)", labels=["queue"]
        )
        for queue, count in sorted(snapshot.queue_depth.items()):
            depth.add_metric([queue], float(count))
        yield depth
        yield GaugeMetricFamily(
            "greenlight_broker_unacked_messages",
            "Messages delivered to a worker and not yet acknowledged",
            value=float(snapshot.unacked),
        )
        failures = CounterMetricFamily(
            "greenlight_auth_failures",
            "Failed authentications (where: api or console; reason: invalid key, or missing key)",
            labels=["where", "reason"],
        )
        for (where, reason), count in sorted(snapshot.auth_failures.items()):
            failures.add_metric([where, reason], float(count))
        yield failures
        throttled = CounterMetricFamily(
            "greenlight_auth_throttled",
            "Authentication attempts refused (429) by the back-off (reason: the address or key-prefix limit)",
            labels=["where", "reason"],
        )
        for (where, reason), count in sorted(snapshot.auth_throttled.items()):
            throttled.add_metric([where, reason], float(count))
        yield throttled


def _database_families(snapshot: Snapshot) -> Iterator[Metric]:
    kinds = sorted({kind for kind, _ in snapshot.operations})
    by_status: dict[str, dict[str, int]] = {kind: {} for kind in kinds}
    for (kind, status), count in snapshot.operations.items():
        by_status[kind][status] = by_status[kind].get(status, 0) + count
    accepted = CounterMetricFamily(
        "greenlight_operations_accepted", "Operations accepted (recorded)", labels=["kind"]
    )
    applied = CounterMetricFamily(
        "greenlight_operations_applied", "Operations applied successfully", labels=["kind"]
    )
    failed = CounterMetricFamily(
        "greenlight_operations_failed", "Operations refused by the domain or given up", labels=["kind"]
    )
    pending = GaugeMetricFamily(
        "greenlight_operations_pending", "Operations accepted and not finished", labels=["kind", "status"]
    )
    for kind in kinds:
        counts = by_status[kind]
        accepted.add_metric([kind], float(sum(counts.values())))
        applied.add_metric([kind], float(counts.get(OperationStatus.SUCCEEDED.value, 0)))
        failed.add_metric([kind], float(counts.get(OperationStatus.FAILED.value, 0)))
        for status in PENDING_STATUSES:
            pending.add_metric([kind, status], float(counts.get(status, 0)))
    yield from (accepted, applied, failed, pending)
    yield GaugeMetricFamily(
        "greenlight_oldest_pending_operation_age_seconds",
        "Age of the oldest operation still queued or running (0 when none)",
        value=snapshot.oldest_pending_age,
    )
    yield _histogram_family(
        "greenlight_operation_accept_to_applied_seconds",
        "Time from acceptance to applied, for succeeded operations",
        snapshot.accept_to_applied,
    )
    yield _histogram_family(
        "greenlight_operation_lock_wait_seconds",
        "Time from acceptance until a drain holding the persona's lock claimed the operation",
        snapshot.lock_wait,
    )
    yield GaugeMetricFamily(
        "greenlight_outbox_backlog", "Outbox events not yet relayed", value=float(snapshot.outbox_backlog)
    )
    yield GaugeMetricFamily(
        "greenlight_outbox_oldest_unrelayed_age_seconds",
        "Age of the oldest outbox event not yet relayed (0 when none)",
        value=snapshot.outbox_oldest_age,
    )
    if snapshot.webhook_deliveries is not None:
        deliveries = CounterMetricFamily(
            "greenlight_webhook_deliveries", "Webhook delivery attempts by outcome", labels=["outcome"]
        )
        for outcome, count in sorted(snapshot.webhook_deliveries.items()):
            deliveries.add_metric([outcome], float(count))
        yield deliveries


class _SnapshotCollector(Collector):
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        return families(self.snapshot)


def render() -> bytes:
    """The Prometheus text exposition of a fresh snapshot."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SnapshotCollector(take_snapshot()))
    return generate_latest(registry)
