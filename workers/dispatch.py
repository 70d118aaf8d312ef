"""The Celery implementation of the domain's Dispatcher port."""

from __future__ import annotations

import logging

from workers.app import OPERATIONS_QUEUE, app

log = logging.getLogger(__name__)

APPLY_OPERATION = "greenlight.operations.apply"


class CeleryDispatcher:
    def enqueue_operation(self, operation_id: str) -> None:
        try:
            app.send_task(APPLY_OPERATION, args=[operation_id], queue=OPERATIONS_QUEUE)
        except Exception:  # the broker is down: the operation is committed, the sweeper sends it later
            log.warning("could not enqueue operation %s; the sweeper will", operation_id, exc_info=True)
