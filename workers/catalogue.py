"""Every Celery task Greenlight runs, in one table: its name, its queue, its retry policy, its schedule.

The queues are the domain's (``greenlight.queues.Queue``); a task is named after its queue
(``<queue>.<action>``), so the app's routes, the dispatcher's messages, the metrics and the tests all
read names from here. A task's retry policy is its base class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis
from celery import Task
from sqlalchemy.exc import DBAPIError

from greenlight.queues import Queue
from greenlight.settings import Settings

# Infrastructure failures are retried with backoff; they never mark an operation failed.
RETRYABLE = (DBAPIError, redis.RedisError)


class GreenlightTask(Task[Any, Any]):
    """What every task shares: messages carry ids, results are never stored, no retry by default."""

    ignore_result = True


class EngineTask(GreenlightTask):
    """Applying never gives up on an infrastructure error: the operation is durable, backoff capped."""

    autoretry_for = RETRYABLE
    retry_backoff = 1
    retry_backoff_max = 30
    retry_jitter = True
    max_retries = None


class NotificationTask(GreenlightTask):
    """A few quick retries: beat's periodic relay and the deliveries' leases catch what these miss."""

    autoretry_for = RETRYABLE
    retry_backoff = 1
    retry_backoff_max = 10
    retry_jitter = True
    max_retries = 5


@dataclass(frozen=True)
class TaskSpec:
    queue: Queue
    action: str
    base: type[GreenlightTask] = GreenlightTask
    name: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", f"{self.queue.value}.{self.action}")


# Each names an operation; whoever holds the persona's lock drains everything pending (the sweeper
# and retries send it).
APPLY_OPERATION = TaskSpec(Queue.OPERATIONS, "apply", EngineTask)
# Arguments: persona ids, drained in turn (what the API asks for after a group commit).
DRAIN_PERSONAS = TaskSpec(Queue.OPERATIONS, "drain", EngineTask)
SWEEP_OPERATIONS = TaskSpec(Queue.OPERATIONS, "sweep")
RUN_SCHEDULES = TaskSpec(Queue.OPERATIONS, "run_schedules")
# Acks ride the same ordered drain as every operation of the persona, on their own queue.
APPLY_ACK = TaskSpec(Queue.ACKS, "apply", EngineTask)
EXPIRE_PROPOSALS = TaskSpec(Queue.ACKS, "expire")
RELAY_EVENTS = TaskSpec(Queue.NOTIFICATIONS, "relay", NotificationTask)
SEND_WEBHOOK = TaskSpec(Queue.WEBHOOKS, "send", NotificationTask)

TASKS = (
    APPLY_OPERATION,
    DRAIN_PERSONAS,
    SWEEP_OPERATIONS,
    RUN_SCHEDULES,
    APPLY_ACK,
    EXPIRE_PROPOSALS,
    RELAY_EVENTS,
    SEND_WEBHOOK,
)


@dataclass(frozen=True)
class Periodic:
    """A beat entry: `task` every `interval(settings)` seconds; a run not started within two
    intervals is dropped (the next one does the same work)."""

    entry: str
    task: TaskSpec
    interval: Callable[[Settings], float]


PERIODIC = (
    Periodic("sweep-stalled-operations", SWEEP_OPERATIONS, lambda s: s.sweep_interval_seconds),
    Periodic("expire-dormant-proposals", EXPIRE_PROPOSALS, lambda s: s.expire_interval_seconds),
    Periodic("submit-due-scheduled-promotions", RUN_SCHEDULES, lambda s: s.schedule_interval_seconds),
    # Relays new outbox events and hands due webhook deliveries (first tries and retries) to senders.
    Periodic("relay-outbox-events", RELAY_EVENTS, lambda s: s.outbox_relay_interval_seconds),
)


def task_routes() -> dict[str, dict[str, str]]:
    return {spec.name: {"queue": spec.queue.value} for spec in TASKS}


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    schedule: dict[str, dict[str, Any]] = {}
    for periodic in PERIODIC:
        every = periodic.interval(settings)
        schedule[periodic.entry] = {
            "task": periodic.task.name,
            "schedule": every,
            "options": {"expires": every * 2},
        }
    return schedule
