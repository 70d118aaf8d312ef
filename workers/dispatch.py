"""The Celery implementation of the domain's Dispatcher port."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

import redis
from celery import Celery

from greenlight import drain_request
from greenlight.dispatch import Accepted
from greenlight.kinds import REGISTRY
from greenlight.queues import Queue
from greenlight.redis_client import get_redis, key
from greenlight.settings import get_settings
from workers.app import app
from workers.broker import TRANSPORT, only_if_newly_set
from workers.catalogue import APPLY_ACK, APPLY_OPERATION, DRAIN_PERSONAS, RELAY_EVENTS, SEND_WEBHOOK

log = logging.getLogger(__name__)

# While set, a relay is already queued: nudges after commits coalesce into it. Expires in case the
# message is lost; beat relays periodically anyway.
RELAY_REQUESTED_TTL_SECONDS = 5


def relay_requested_key() -> str:
    return key("notifications", "relay-requested")


def clear_relay_request() -> None:
    """Called by the relay as it starts: a commit after this point queues a fresh relay."""
    try:
        get_redis().delete(relay_requested_key())
    except redis.RedisError:
        log.warning("could not clear the relay request flag", exc_info=True)


def _acked(kind: str) -> bool:
    """Whether operations of this kind wait on the acks queue (their kind declares it)."""
    return REGISTRY.queue(kind) is Queue.ACKS


class CeleryDispatcher:
    def __init__(self, celery: Celery | None = None):
        self.app = celery or app

    def enqueue_operation(self, operation_id: str, kind: str = "") -> None:
        task = APPLY_ACK if _acked(kind) else APPLY_OPERATION
        try:
            self.app.send_task(task.name, args=[operation_id], queue=task.queue.value)
        except Exception:  # the broker is down: the operation is committed, the sweeper sends it later
            log.warning("could not enqueue operation %s; the sweeper will", operation_id, exc_info=True)

    def enqueue_operations(self, operations: Sequence[Accepted]) -> None:
        personas: list[str] = []
        for op in operations:
            if _acked(op.kind):
                self.enqueue_operation(op.id, op.kind)
            elif op.persona_id not in personas:
                personas.append(op.persona_id)
        self.request_drains(personas)

    def request_drains(self, persona_ids: Sequence[str]) -> None:
        """Get these personas drained: a message for those whose drain is not already waiting."""
        if not persona_ids:
            return
        if len(persona_ids) == 1 and self.app.conf.broker_transport == TRANSPORT:
            self._request_drain(persona_ids[0])
            return
        try:
            redis_client = get_redis()
            requested = drain_request.set_all(redis_client, persona_ids)
        except redis.RedisError:  # the operations are committed: the sweeper sends them later
            log.warning("could not request drains of %s; the sweeper will", list(persona_ids), exc_info=True)
            return
        wanted = [persona_id for persona_id, first in zip(persona_ids, requested, strict=True) if first]
        # A message drains several personas in turn (a message's own overhead outweighs draining
        # one operation); a few messages per group still spread it over the workers.
        size = max(1, get_settings().drain_personas_per_message)
        for start in range(0, len(wanted), size):
            chunk = wanted[start : start + size]
            try:
                self.app.send_task(DRAIN_PERSONAS.name, args=chunk, queue=DRAIN_PERSONAS.queue.value)
            except Exception:
                log.warning("could not enqueue a drain of %s; the sweeper will", chunk, exc_info=True)
                with contextlib.suppress(redis.RedisError):
                    drain_request.clear(redis_client, chunk)

    def _request_drain(self, persona_id: str) -> None:
        """One persona: its flag and its message in one round trip (see workers/broker.py)."""
        try:
            with only_if_newly_set(drain_request.key(persona_id), drain_request.TTL_SECONDS):
                self.app.send_task(DRAIN_PERSONAS.name, args=[persona_id], queue=DRAIN_PERSONAS.queue.value)
        except Exception:  # the operations are committed: the sweeper sends them later
            log.warning("could not request a drain of %s; the sweeper will", persona_id, exc_info=True)
            with contextlib.suppress(redis.RedisError):
                drain_request.clear(get_redis(), [persona_id])

    def enqueue_relay(self) -> None:
        try:
            if get_redis().set(relay_requested_key(), "1", nx=True, ex=RELAY_REQUESTED_TTL_SECONDS):
                self.app.send_task(RELAY_EVENTS.name, queue=RELAY_EVENTS.queue.value)
        except Exception:  # the events are committed: beat's periodic relay finds them
            log.warning("could not enqueue a relay; beat will run it", exc_info=True)

    def enqueue_delivery(self, delivery_id: str, claim_token: str) -> None:
        try:
            self.app.send_task(
                SEND_WEBHOOK.name, args=[delivery_id, claim_token], queue=SEND_WEBHOOK.queue.value
            )
        except Exception:  # the claim's lease runs out and the next relay claims it again
            log.warning("could not enqueue delivery %s; it is re-claimed later", delivery_id, exc_info=True)
