"""The operation kinds an engine knows: given to it (and to the API and CLI), never imported."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from greenlight.errors import Unprocessable
from greenlight.operations.kind import OperationKind
from greenlight.queues import Queue

AnyKind = OperationKind[Any, Any]


class Registry:
    def __init__(self, kinds: Iterable[AnyKind]):
        self._kinds: dict[str, AnyKind] = {}
        for kind in kinds:
            if kind.name in self._kinds:
                raise ValueError(f"operation kind {kind.name!r} registered twice")
            self._kinds[kind.name] = kind

    def __iter__(self) -> Iterator[AnyKind]:
        return iter(self._kinds.values())

    def __len__(self) -> int:
        return len(self._kinds)

    def find(self, name: str) -> AnyKind | None:
        return self._kinds.get(name)

    def get(self, name: str) -> AnyKind:
        """The kind; an operation of a kind this engine does not know is refused (422)."""
        kind = self._kinds.get(name)
        if kind is None:
            raise Unprocessable(f"Unknown operation kind {name!r}", {"kind": name})
        return kind

    def run_handler(self, name: str) -> AnyKind | None:
        """The kind, if it applies a run of one persona's operations in one go."""
        kind = self._kinds.get(name)
        return kind if kind is not None and kind.apply_run is not None else None

    def queue(self, name: str) -> Queue:
        """Where an operation of this kind waits (an unknown kind: with the others, to be refused)."""
        kind = self._kinds.get(name)
        return kind.queue if kind is not None else Queue.OPERATIONS

    def schedulable(self) -> list[AnyKind]:
        return [kind for kind in self if kind.schedulable]
