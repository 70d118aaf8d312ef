"""``client.operations``: read an operation, wait for it to finish."""

from __future__ import annotations

import time
from collections.abc import Callable

from greenlight_client._http import HTTP
from greenlight_client._resource import DEFAULT_WAIT_TIMEOUT, Resource
from greenlight_client.errors import WaitTimeoutError
from greenlight_client.models import Operation

FIRST_POLL = 0.05
MAX_POLL = 1.0


class Operations(Resource):
    def __init__(self, http: HTTP, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(http)
        self._sleep = sleep

    def get(self, operation_id: str) -> Operation:
        return Operation.model_validate(self._get(f"/v1/operations/{operation_id}"))

    def wait(self, operation: Operation | str, timeout: float = DEFAULT_WAIT_TIMEOUT) -> Operation:
        """Poll (backing off from 50 ms to 1 s) until the operation succeeded or failed; its last state.

        Raises :class:`WaitTimeoutError` if it is still queued or running after ``timeout`` seconds.
        A failed operation is returned, not raised: look at ``status`` and ``error``."""
        operation_id = operation if isinstance(operation, str) else operation.id
        deadline = time.monotonic() + timeout
        delay = FIRST_POLL
        while True:
            current = self.get(operation_id)
            remaining = deadline - time.monotonic()
            if current.done:
                return current
            if remaining <= 0:
                raise WaitTimeoutError(current, timeout)
            self._sleep(min(delay, remaining))
            delay = min(delay * 2, MAX_POLL)
