"""What applying an operation is given: its transaction, its operation, its persona."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from greenlight.errors import NotFound
from greenlight.models import Operation, Persona

if TYPE_CHECKING:
    from greenlight.operations.registry import Registry


@dataclass
class ApplyContext:
    session: Session
    operation: Operation
    # Locked for this transaction; None when the operation is the one that creates it.
    persona: Persona | None
    # Set by kinds that move production, so the engine refreshes the production cache.
    production_changed: bool = False
    # The engine's kinds: for a kind that applies another operation (an approval applies the
    # promotion it approved), never imported.
    kinds: Registry | None = None

    def require_persona(self) -> Persona:
        if self.persona is None:
            raise NotFound("Persona not found", {"persona_id": self.operation.persona_id})
        return self.persona
