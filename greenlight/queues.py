"""The work queues, declared once: which kind of work waits where.

The domain names a queue (an operation kind declares its own); ``workers/`` maps these names to
Celery queues and tasks. Names only: nothing here knows how messages travel.
"""

from __future__ import annotations

from enum import StrEnum


class Queue(StrEnum):
    # Every persona's operations, applied in order by the engine.
    OPERATIONS = "greenlight.operations"
    # Acks of dormant drafts: their own queue, so a backlog of edits never delays a decision.
    ACKS = "greenlight.acks"
    # The outbox relay and the live event stream's fan-out.
    NOTIFICATIONS = "greenlight.notifications"
    # Webhook requests wait on other people's servers: their own queue (and workers), so a slow
    # receiver never delays the relay and the live event stream.
    WEBHOOKS = "greenlight.webhooks"


# The queues one kind of worker process takes: the engine's (operations in persona order, acks)
# and the notifications' (compose runs each notification queue as its own service).
ENGINE_QUEUES = (Queue.OPERATIONS, Queue.ACKS)
NOTIFICATION_QUEUES = (Queue.NOTIFICATIONS, Queue.WEBHOOKS)
