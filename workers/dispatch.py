"""The Celery implementation of the domain's Dispatcher port."""

from __future__ import annotations

import logging

import redis
from celery import Celery

from greenlight.operations.kinds import DRAFT_ACK
from greenlight.redis_client import get_redis, key
from workers.app import ACKS_QUEUE, NOTIFICATIONS_QUEUE, OPERATIONS_QUEUE, WEBHOOKS_QUEUE, app

log = logging.getLogger(__name__)

APPLY_OPERATION = "greenlight.operations.apply"
APPLY_ACK = "greenlight.acks.apply"
RELAY_EVENTS = "greenlight.notifications.relay"
SEND_WEBHOOK = "greenlight.webhooks.send"

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


class CeleryDispatcher:
    def __init__(self, celery: Celery | None = None):
        self.app = celery or app

    def enqueue_operation(self, operation_id: str, kind: str = "") -> None:
        task, queue = (APPLY_ACK, ACKS_QUEUE) if kind == DRAFT_ACK else (APPLY_OPERATION, OPERATIONS_QUEUE)
        try:
            self.app.send_task(task, args=[operation_id], queue=queue)
        except Exception:  # the broker is down: the operation is committed, the sweeper sends it later
            log.warning("could not enqueue operation %s; the sweeper will", operation_id, exc_info=True)

    def enqueue_relay(self) -> None:
        try:
            if get_redis().set(relay_requested_key(), "1", nx=True, ex=RELAY_REQUESTED_TTL_SECONDS):
                self.app.send_task(RELAY_EVENTS, queue=NOTIFICATIONS_QUEUE)
        except Exception:  # the events are committed: beat's periodic relay finds them
            log.warning("could not enqueue a relay; beat will run it", exc_info=True)

    def enqueue_delivery(self, delivery_id: str, claim_token: str) -> None:
        try:
            self.app.send_task(SEND_WEBHOOK, args=[delivery_id, claim_token], queue=WEBHOOKS_QUEUE)
        except Exception:  # the claim's lease runs out and the next relay claims it again
            log.warning("could not enqueue delivery %s; it is re-claimed later", delivery_id, exc_info=True)
