"""The Celery implementation of the domain's Dispatcher port."""

from __future__ import annotations

import logging

from celery import Celery

from greenlight.operations.kinds import DRAFT_ACK
from workers.app import ACKS_QUEUE, OPERATIONS_QUEUE, app

log = logging.getLogger(__name__)

APPLY_OPERATION = "greenlight.operations.apply"
APPLY_ACK = "greenlight.acks.apply"


class CeleryDispatcher:
    def __init__(self, celery: Celery | None = None):
        self.app = celery or app

    def enqueue_operation(self, operation_id: str, kind: str = "") -> None:
        task, queue = (APPLY_ACK, ACKS_QUEUE) if kind == DRAFT_ACK else (APPLY_OPERATION, OPERATIONS_QUEUE)
        try:
            self.app.send_task(task, args=[operation_id], queue=queue)
        except Exception:  # the broker is down: the operation is committed, the sweeper sends it later
            log.warning("could not enqueue operation %s; the sweeper will", operation_id, exc_info=True)
