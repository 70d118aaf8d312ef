"""Request bodies of the webhook endpoints."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from api.schemas import Strict
from greenlight.notifications.events import TYPE_PATTERN

# Documented here, checked by the domain (its own error codes): an http(s) URL with a host, and
# event-type patterns (greenlight/notifications/events.py TYPE_PATTERN).
URL_RULE = {"format": "uri", "pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[^/?#\s\x00]+([/?#][^\s\x00]*)?$"}
Url = Annotated[str, Field(min_length=1, max_length=2048, json_schema_extra=URL_RULE)]
EventType = Annotated[
    str, Field(min_length=1, max_length=64, json_schema_extra={"pattern": TYPE_PATTERN.pattern})
]
EventTypes = Annotated[list[EventType], Field(max_length=50, json_schema_extra={"minItems": 1})]
Description = Annotated[str, Field(max_length=500)]


class WebhookCreate(Strict):
    """A new endpoint; ``event_types`` null (or containing "*") means every event type, present and future."""

    url: Url
    event_types: EventTypes | None = None
    enabled: bool = True
    description: Description | None = None


class WebhookUpdate(Strict):
    """Change an endpoint; only the fields sent change (``event_types: null`` means every type)."""

    NOT_NULL: ClassVar[frozenset[str]] = frozenset({"url", "enabled"})

    url: Url | None = None
    event_types: EventTypes | None = None
    enabled: bool | None = None
    description: Description | None = None
