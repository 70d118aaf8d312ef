"""The one event envelope, shared by webhooks and the event stream, and event-type filters."""

from __future__ import annotations

import json
import re
from typing import Any

from greenlight.clock import isoformat
from greenlight.errors import Unprocessable
from greenlight.models import OutboxEvent

MAX_EVENT_TYPES = 50
# Exact types ("version.promoted"), prefixes ("version.*") or "*" for every type, present and future.
# An event's own type: dotted lower-case names.
EVENT_TYPE_PATTERN = r"^[a-z0-9_]+(\.[a-z0-9_]+)*$"
TYPE_PATTERN = re.compile(r"^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$")


def envelope(event: OutboxEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "created_at": isoformat(event.created_at),
        "user_id": event.user_id,
        "persona_id": event.persona_id,
        "persona_seq": event.persona_seq,
        "data": event.data,
    }


def encode(body: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON; the same bytes on every attempt, so signatures are reproducible."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode("utf-8")


def normalize_types(types: list[str] | None) -> list[str] | None:
    """Validated, de-duplicated patterns; ``None`` (or any ``*``) means every event type."""
    if types is None:
        return None
    if not types:
        raise Unprocessable(
            "event_types must name at least one type, or be null for every type",
            {"event_types": types},
            code="INVALID_EVENT_TYPES",
        )
    if len(types) > MAX_EVENT_TYPES:
        raise Unprocessable(
            f"At most {MAX_EVENT_TYPES} event types", {"count": len(types)}, code="INVALID_EVENT_TYPES"
        )
    bad = [value for value in types if len(value) > 64 or not TYPE_PATTERN.match(value)]
    if bad:
        raise Unprocessable(
            "Event types are dotted lower-case names, optionally ending in .* (or * alone)",
            {"invalid": bad},
            code="INVALID_EVENT_TYPES",
        )
    if "*" in types:
        return None
    return sorted(set(types))


def type_matches(patterns: list[str] | None, event_type: str) -> bool:
    if patterns is None:
        return True
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False
