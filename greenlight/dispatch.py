"""The port through which the domain asks for work to be run; ``workers`` implements it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Accepted(Protocol):
    """What dispatching needs to know of an accepted operation."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def persona_id(self) -> str: ...


class Dispatcher(Protocol):
    def enqueue_operation(self, operation_id: str, kind: str = "") -> None:
        """Send the operation to a worker; `kind` picks the queue (acks have their own)."""

    def enqueue_operations(self, operations: Sequence[Accepted]) -> None:
        """Newly accepted operations: get their personas drained (coalesced: a persona whose
        drain is already requested gets no second message)."""

    def enqueue_relay(self) -> None:
        """New outbox events are committed: relay them soon (cheap, coalesced; beat relays anyway)."""
        ...

    def enqueue_delivery(self, delivery_id: str, claim_token: str) -> None: ...


class NullDispatcher:
    """Enqueues nothing: the sweeper and beat will find the work (used by tools and tests)."""

    def enqueue_operation(self, operation_id: str, kind: str = "") -> None:
        return None

    def enqueue_operations(self, operations: Sequence[Accepted]) -> None:
        return None

    def enqueue_relay(self) -> None:
        return None

    def enqueue_delivery(self, delivery_id: str, claim_token: str) -> None:
        return None
