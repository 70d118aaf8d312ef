"""Celery tasks: a few lines each, calling the domain."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from celery import Task

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
from workers import catalogue
from workers.app import app
from workers.dispatch import CeleryDispatcher, clear_relay_request

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def task(spec: catalogue.TaskSpec) -> Callable[[Callable[P, R]], Task[P, R]]:
    """Register a task under its name in the catalogue, with its policy (its base class)."""
    decorate: Callable[[Callable[P, R]], Task[P, R]] = app.task(name=spec.name, base=spec.base)
    return decorate


def _drain_for(operation_id: str) -> int:
    logs.bind(operation_id=operation_id)
    return Engine(REGISTRY, dispatcher=CeleryDispatcher()).run(operation_id)


@task(catalogue.APPLY_OPERATION)
def apply_operation(operation_id: str) -> int:
    return _drain_for(operation_id)


# Full groups one persona may take while others wait behind it in the same message.
SHARE_GROUPS = 5


@task(catalogue.DRAIN_PERSONAS)
def drain_persona(*persona_ids: str) -> int:
    """Drain each persona in turn: a group commit asks for every persona it touched in one message
    (a message's own overhead outweighs draining one operation). A busy persona gets a
    share, then a message of its own at the back of the queue, so it never holds up the others."""
    dispatcher = CeleryDispatcher()
    engine = Engine(REGISTRY, dispatcher=dispatcher)
    applied, unfinished = 0, []
    for index, persona_id in enumerate(persona_ids):
        others_wait = index < len(persona_ids) - 1
        # The request flag goes before the drain reads pending operations (with the lock, in one
        # round trip): anything accepted later sends a message.
        done, cut_short = engine.drain_some(
            persona_id, SHARE_GROUPS if others_wait else None, clear_drain_request=True
        )
        applied += done
        if cut_short:
            unfinished.append(persona_id)
    if unfinished:
        dispatcher.request_drains(unfinished)
    return applied


@task(catalogue.APPLY_ACK)
def apply_ack(operation_id: str) -> int:
    return _drain_for(operation_id)


@task(catalogue.EXPIRE_PROPOSALS)
def expire_proposals() -> int:
    return expire_overdue()


@task(catalogue.SWEEP_OPERATIONS)
def sweep_operations() -> int:
    with unit_of_work() as session:
        ids = stalled_heads(session, get_settings().sweep_after_seconds)
    dispatcher = CeleryDispatcher()
    for operation_id in ids:
        dispatcher.enqueue_operation(operation_id)
    if ids:
        log.info("sweeper re-enqueued %d stalled operations", len(ids))
    return len(ids)


@task(catalogue.RUN_SCHEDULES)
def run_schedules() -> int:
    return len(submit_due(CeleryDispatcher()))


@task(catalogue.RELAY_EVENTS)
def relay_events() -> int:
    clear_relay_request()
    return Notifier().pump(CeleryDispatcher())


@task(catalogue.SEND_WEBHOOK)
def send_webhook(delivery_id: str, claim_token: str) -> int:
    return Notifier().deliver(Claim(delivery_id, claim_token))
