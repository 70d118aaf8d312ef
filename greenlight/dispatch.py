"""The port through which the domain asks for work to be run; ``workers`` implements it."""

from __future__ import annotations

from typing import Protocol


class Dispatcher(Protocol):
    def enqueue_operation(self, operation_id: str, kind: str = "") -> None:
        """Send the operation to a worker; `kind` picks the queue (acks have their own)."""


class NullDispatcher:
    """Enqueues nothing: the sweeper will find the operation (used by tools and tests)."""

    def enqueue_operation(self, operation_id: str, kind: str = "") -> None:
        return None
