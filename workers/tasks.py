"""Celery tasks: a few lines each, calling the domain."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import redis
from celery import Task
from sqlalchemy.exc import DBAPIError

from greenlight import logs
from greenlight.db import unit_of_work
from greenlight.drafts.expiry import expire_overdue
from greenlight.kinds import REGISTRY
from greenlight.notifications.delivery import Claim
from greenlight.notifications.service import Notifier
from greenlight.operations.engine import Engine
from greenlight.operations.scheduled import submit_due
from greenlight.operations.sweeper import stalled_heads
from greenlight.settings import get_settings
from workers.app import app
from workers.dispatch import CeleryDispatcher, clear_relay_request, drain_requested_key

log = logging.getLogger(__name__)

# Infrastructure failures are retried with backoff; they never mark an operation failed.
RETRYABLE = (DBAPIError, redis.RedisError)


def engine_task(name: str) -> Callable[[Callable[..., int]], Task[Any, Any]]:
    """Applying never gives up on an infrastructure error: the operation is durable, backoff capped."""
    return app.task(
        name=name,
        autoretry_for=RETRYABLE,
        retry_backoff=1,
        retry_backoff_max=30,
        retry_jitter=True,
        max_retries=None,
    )


def _drain_for(operation_id: str) -> int:
    logs.bind(operation_id=operation_id)
    return Engine(REGISTRY, dispatcher=CeleryDispatcher()).run(operation_id)


@engine_task("greenlight.operations.apply")
def apply_operation(operation_id: str) -> int:
    return _drain_for(operation_id)


# Full groups one persona may take while others wait behind it in the same message.
SHARE_GROUPS = 5


@engine_task("greenlight.operations.drain")
def drain_persona(*persona_ids: str) -> int:
    """Drain each persona in turn: a group commit asks for every persona it touched in one message
    (a message's overhead was most of the cost of draining one operation). A busy persona gets a
    share, then a message of its own at the back of the queue, so it never holds up the others."""
    dispatcher = CeleryDispatcher()
    engine = Engine(REGISTRY, dispatcher=dispatcher)
    applied, unfinished = 0, []
    for index, persona_id in enumerate(persona_ids):
        others_wait = index < len(persona_ids) - 1
        # The request flag goes before the drain reads pending operations (with the lock, in one
        # round trip): anything accepted later sends a message.
        done, cut_short = engine.drain_some(
            persona_id, SHARE_GROUPS if others_wait else None, clearing=[drain_requested_key(persona_id)]
        )
        applied += done
        if cut_short:
            unfinished.append(persona_id)
    if unfinished:
        dispatcher.request_drains(unfinished)
    return applied


@engine_task("greenlight.acks.apply")
def apply_ack(operation_id: str) -> int:
    # Acks ride the same ordered drain as every operation of the persona, on their own queue.
    return _drain_for(operation_id)


@app.task(name="greenlight.acks.expire", ignore_result=True)
def expire_proposals() -> int:
    return expire_overdue()


@app.task(name="greenlight.operations.sweep", ignore_result=True)
def sweep_operations() -> int:
    with unit_of_work() as session:
        ids = stalled_heads(session, get_settings().sweep_after_seconds)
    dispatcher = CeleryDispatcher()
    for operation_id in ids:
        dispatcher.enqueue_operation(operation_id)
    if ids:
        log.info("sweeper re-enqueued %d stalled operations", len(ids))
    return len(ids)


@app.task(name="greenlight.operations.run_schedules", ignore_result=True)
def run_schedules() -> int:
    return len(submit_due(CeleryDispatcher()))


@app.task(
    name="greenlight.notifications.relay",
    ignore_result=True,
    autoretry_for=RETRYABLE,
    retry_backoff=1,
    retry_backoff_max=10,
    retry_jitter=True,
    max_retries=5,
)
def relay_events() -> int:
    clear_relay_request()
    return Notifier().pump(CeleryDispatcher())


@app.task(
    name="greenlight.webhooks.send",
    ignore_result=True,
    autoretry_for=RETRYABLE,
    retry_backoff=1,
    retry_backoff_max=10,
    retry_jitter=True,
    max_retries=5,
)
def send_webhook(delivery_id: str, claim_token: str) -> int:
    return Notifier().deliver(Claim(delivery_id, claim_token))
