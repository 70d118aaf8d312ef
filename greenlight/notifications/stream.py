"""The live event stream's domain side: where the stream's head is, reading a user's events after
a position, and the Redis announcement the relay publishes after each commit."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from greenlight.digits import is_position
from greenlight.errors import InvalidRequest
from greenlight.models import OutboxCursor, OutboxEvent
from greenlight.notifications.events import envelope, normalize_types, type_matches
from greenlight.notifications.relay import CURSOR_ID, Relayed
from greenlight.personas.service import get_owned_persona
from greenlight.redis_client import key
from greenlight.tenancy import owned_by

log = logging.getLogger(__name__)

READ_BATCH = 200


def relayed_channel() -> str:
    return key("events", "relayed")


def announce(client: redis.Redis, relayed: Relayed) -> None:
    """Tell API processes that new positions are committed (and whose: workspaces without news sleep on)."""
    if not relayed.count:
        return
    message = json.dumps({"head": relayed.head, "workspaces": sorted(relayed.workspace_ids)})
    try:
        client.publish(relayed_channel(), message)
    except redis.RedisError:
        log.warning("could not announce relayed events; streams fall back to their heartbeat poll")


def parse_announcement(raw: bytes | str) -> tuple[int, set[str]]:
    data: dict[str, Any] = json.loads(raw)
    return int(data.get("head", 0)), {str(workspace) for workspace in data.get("workspaces", [])}


@dataclass(frozen=True)
class Page:
    events: list[tuple[int, str, dict[str, Any]]]  # (position, type, envelope)
    scanned: int  # the next read starts after this position (past events the filters skipped)
    more: bool  # a full page: read again at once


@dataclass(frozen=True)
class StreamFilter:
    workspace_id: str
    persona_ids: tuple[str, ...] = ()
    types: tuple[str, ...] | None = None

    def matches(self, event: OutboxEvent) -> bool:
        return type_matches(list(self.types) if self.types is not None else None, event.type)


def make_filter(
    session: Session, workspace_id: str, persona_ids: list[str] | None, types: list[str] | None
) -> StreamFilter:
    """Validate the filters; a persona of another workspace answers 404 like a missing one."""
    personas = tuple(dict.fromkeys(persona_ids or []))
    for persona_id in personas:
        get_owned_persona(session, workspace_id, persona_id)
    split = [part.strip() for value in types or [] for part in value.split(",") if part.strip()]
    patterns = normalize_types(split) if split else None
    return StreamFilter(workspace_id, personas, tuple(patterns) if patterns is not None else None)


def parse_position(value: str | None) -> int | None:
    """A Last-Event-ID: the global position of the last event the client saw."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not is_position(text):
        raise InvalidRequest(
            "Last-Event-ID must be an event id from this stream (a non-negative integer)",
            {"last_event_id": value},
            code="INVALID_LAST_EVENT_ID",
        )
    return int(text)


def stream_head(session: Session) -> int:
    """The highest committed position: every position up to it is visible."""
    return int(session.scalar(select(OutboxCursor.last_seq).where(OutboxCursor.id == CURSOR_ID)) or 0)


def read_after(session: Session, stream: StreamFilter, after: int, limit: int = READ_BATCH) -> Page:
    """The workspace's matching events after a position, oldest first."""
    head = stream_head(session)
    if head <= after:
        return Page([], after, False)
    query = (
        select(OutboxEvent)
        .where(
            owned_by(OutboxEvent, stream.workspace_id),
            OutboxEvent.global_seq > after,
            OutboxEvent.global_seq <= head,
        )
        .order_by(OutboxEvent.global_seq)
        .limit(limit)
    )
    if stream.persona_ids:
        query = query.where(OutboxEvent.persona_id.in_(stream.persona_ids))
    rows = list(session.scalars(query))
    more = len(rows) == limit
    scanned = int(rows[-1].global_seq or after) if more else head
    found = [(int(row.global_seq or 0), row.type, envelope(row)) for row in rows if stream.matches(row)]
    return Page(found, scanned, more)
