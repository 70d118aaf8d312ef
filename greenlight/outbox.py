"""Writing outbox events, in the caller's transaction, with a per-persona sequence."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from greenlight.models import OutboxEvent, Persona


def emit(
    session: Session, persona: Persona, event_type: str, data: dict[str, Any], operation_id: str | None
) -> OutboxEvent:
    # The persona row is already locked by the applying transaction, so the sequence has no gaps.
    persona.last_event_seq += 1
    event = OutboxEvent(
        user_id=persona.user_id,
        persona_id=persona.id,
        persona_seq=persona.last_event_seq,
        type=event_type,
        data=data,
        operation_id=operation_id,
    )
    session.add(event)
    return event
