"""Knowing when a burst is done, and when each piece of it was: from the database and Redis."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis
import sqlalchemy as sa

from bench.stack import BenchError
from greenlight.db import unit_of_work
from greenlight.models import Operation, OperationStatus, Promotion
from greenlight.models.operations import PENDING_STATUSES

POLL_SECONDS = 0.05


def as_datetime(wall: float) -> datetime:
    """A wall-clock time as the database stores it (UTC, to the millisecond, rounded down)."""
    moment = datetime.fromtimestamp(wall, UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def wait_for(done: Callable[[], bool], timeout: float, what: str, poll: float = POLL_SECONDS) -> float:
    """Poll until `done()`; the wall-clock time it was first seen true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return time.time()
        time.sleep(poll)
    raise BenchError(f"{what} did not finish within {timeout:.0f} s")


@dataclass(frozen=True)
class Applied:
    count: int
    failed: int
    first_created: float
    last_finished: float
    latencies: list[float]  # finished_at - created_at, seconds


def pending_operations(persona_ids: list[str]) -> int:
    with unit_of_work() as session:
        return int(
            session.scalar(
                sa.select(sa.func.count())
                .select_from(Operation)
                .where(Operation.persona_id.in_(persona_ids), Operation.status.in_(PENDING_STATUSES))
            )
            or 0
        )


def wait_operations(persona_ids: list[str], since_wall: float, expected: int, timeout: float) -> Applied:
    """Wait until nothing is pending on these personas, then read what was applied since."""
    wait_for(lambda: pending_operations(persona_ids) == 0, timeout, "draining the operations")
    since = as_datetime(since_wall) - timedelta(milliseconds=1)
    with unit_of_work() as session:
        rows = session.execute(
            sa.select(Operation.status, Operation.created_at, Operation.finished_at).where(
                Operation.persona_id.in_(persona_ids), Operation.created_at >= since
            )
        ).all()
    finished = [row for row in rows if row.finished_at is not None]
    if len(rows) != expected or len(finished) != expected:
        raise BenchError(f"expected {expected} operations, found {len(rows)} ({len(finished)} finished)")
    return Applied(
        count=len(rows),
        failed=sum(1 for row in rows if row.status == OperationStatus.FAILED.value),
        first_created=min(row.created_at for row in rows).timestamp(),
        last_finished=max(row.finished_at for row in finished).timestamp(),
        latencies=[(row.finished_at - row.created_at).total_seconds() for row in finished],
    )


def promotions_since(persona_ids: list[str], since: datetime) -> tuple[int, datetime | None]:
    with unit_of_work() as session:
        row = session.execute(
            sa.select(sa.func.count(), sa.func.max(Promotion.promoted_at)).where(
                Promotion.persona_id.in_(persona_ids), Promotion.promoted_at >= since
            )
        ).one()
    return int(row[0]), row[1]


def wait_promotions(persona_ids: list[str], since_wall: float, expected: int, timeout: float) -> float:
    """Wait until `expected` promotions were committed on these personas; the last one's time."""
    since = as_datetime(since_wall) - timedelta(milliseconds=1)
    wait_for(lambda: promotions_since(persona_ids, since)[0] >= expected, timeout, "the naive promotions")
    count, last = promotions_since(persona_ids, since)
    if count != expected or last is None:
        raise BenchError(f"expected {expected} naive promotions, found {count}")
    return last.timestamp()


def queue_idle(client: redis.Redis, queue: str) -> bool:
    """No message waiting in `queue` and none delivered but unacknowledged (kombu's `unacked`)."""
    pipe = client.pipeline()
    pipe.llen(queue)
    pipe.hlen("unacked")
    waiting, unacked = pipe.execute()
    return int(waiting) == 0 and int(unacked) == 0


def wait_queue_idle(client: redis.Redis, queue: str, timeout: float) -> float:
    """The first moment the queue was seen idle, confirmed by two more looks 2 ms apart (kombu
    moves a message from the list to `unacked` in two steps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if queue_idle(client, queue):
            seen = time.time()
            time.sleep(0.002)
            if queue_idle(client, queue):
                time.sleep(0.002)
                if queue_idle(client, queue):
                    return seen
        time.sleep(0.002)
    raise BenchError(f"queue {queue} did not drain within {timeout:.0f} s")
