"""What an operation handler is given: its transaction, its operation, its persona."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from greenlight.bulk import Writes
from greenlight.errors import NotFound
from greenlight.models import Operation, Persona


@dataclass
class ApplyContext:
    session: Session
    operation: Operation
    # Locked for this transaction; None when the operation is the one that creates it.
    persona: Persona | None
    # Set by handlers that move production, so the engine refreshes the production cache.
    production_changed: bool = False

    def require_persona(self) -> Persona:
        if self.persona is None:
            raise NotFound("Persona not found", {"persona_id": self.operation.persona_id})
        return self.persona


Handler = Callable[[ApplyContext], dict[str, Any]]
# A run of operations of one kind on one (locked) persona: their results, in order. Such handlers
# always change production (the engine refreshes its cache), and add their rows to the `Writes`
# they are given, which the engine sends with its own for the run (one round trip where it can).
BatchHandler = Callable[[Session, Persona, Sequence[Operation], Writes], list[dict[str, Any]]]
