"""Writing outbox events, in the caller's transaction, with a per-persona sequence."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from greenlight.clock import new_id, utcnow
from greenlight.models import OutboxEvent, Persona


def event_row(
    persona: Persona, persona_seq: int, event_type: str, data: dict[str, Any], operation_id: str | None
) -> dict[str, Any]:
    """One event's row; its ``persona_seq`` must be the persona's next (the caller holds its lock)."""
    return {
        "id": new_id(),
        "user_id": persona.user_id,
        "persona_id": persona.id,
        "persona_seq": persona_seq,
        "type": event_type,
        "data": data,
        "operation_id": operation_id,
        "created_at": utcnow(),
        "relayed_at": None,
        "global_seq": None,
    }


def emit(
    session: Session, persona: Persona, event_type: str, data: dict[str, Any], operation_id: str | None
) -> OutboxEvent:
    # The persona row is already locked by the applying transaction, so the sequence has no gaps.
    persona.last_event_seq += 1
    event = OutboxEvent(**event_row(persona, persona.last_event_seq, event_type, data, operation_id))
    session.add(event)
    return event
