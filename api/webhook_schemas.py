"""Request bodies of the webhook endpoints."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from api.schemas import Strict

Url = Annotated[str, Field(min_length=1, max_length=2048)]
EventTypes = Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=50)]
Description = Annotated[str, Field(max_length=500)]


class WebhookCreate(Strict):
    """A new endpoint; ``event_types`` null (or containing "*") means every event type, present and future."""

    url: Url
    event_types: EventTypes | None = None
    enabled: bool = True
    description: Description | None = None


class WebhookUpdate(Strict):
    """Change an endpoint; only the fields sent change (``event_types: null`` means every type)."""

    url: Url | None = None
    event_types: EventTypes | None = None
    enabled: bool | None = None
    description: Description | None = None
