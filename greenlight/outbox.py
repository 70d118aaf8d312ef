"""Writing outbox events, in the caller's transaction: the only writer of a persona's event sequence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from greenlight.clock import new_id, utcnow
from greenlight.events import EventPayload
from greenlight.models import OutboxEvent, Persona

# An event to write: its payload and the operation whose transaction writes it.
Pending = tuple[EventPayload, str | None]


def event_rows(persona: Persona, events: Sequence[Pending]) -> list[dict[str, Any]]:
    """The rows of these events, numbered next in the persona's sequence, in order. The caller holds
    the persona's row lock (the applying transaction), so the sequence has no gaps; for a bulk
    insert of many events at once."""
    first = persona.last_event_seq + 1
    persona.last_event_seq += len(events)
    return [
        {
            "id": new_id(),
            "workspace_id": persona.workspace_id,
            "user_id": persona.user_id,
            "persona_id": persona.id,
            "persona_seq": seq,
            "type": payload.event_type.value,
            "data": payload.data(),
            "operation_id": operation_id,
            "created_at": utcnow(),
            "relayed_at": None,
            "global_seq": None,
        }
        for seq, (payload, operation_id) in enumerate(events, start=first)
    ]


def emit(session: Session, persona: Persona, payload: EventPayload, operation_id: str | None) -> OutboxEvent:
    (row,) = event_rows(persona, [(payload, operation_id)])
    event = OutboxEvent(**row)
    session.add(event)
    return event
