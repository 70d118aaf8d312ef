"""Typed models of the API's answers (the server's OpenAPI document, ``GET /openapi.json``).

Fields the server adds later are kept (``extra="allow"``) rather than refused, so an older client
keeps working against a newer server.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Version(Model):
    """A persona version; ``version_type`` is Bland's name, ``status`` the lifecycle state."""

    id: str
    persona_id: str
    version_type: Literal["draft", "production", "archived"]
    status: Literal["draft", "published", "archived"]
    version_number: int
    orchestration_prompt: str | None = None
    personality_prompt: str | None = None
    pathway_conditions: Any = None
    kb_ids: list[str] = Field(default_factory=list)
    call_config: Any = None
    default_tools: list[Any] = Field(default_factory=list)
    version_description: str | None = None
    promoted_from_version_id: str | None = None
    promoted_at: datetime | None = None
    promoted_by: str | None = None
    created_at: datetime
    updated_at: datetime


class Persona(Model):
    """A persona with its current production and draft versions."""

    id: str
    name: str
    role: str | None = None
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    image_url: str | None = None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    user_id: str
    current_production_version_id: str | None = None
    current_draft_version_id: str | None = None
    current_production_version: Version | None = None
    current_draft_version: Version | None = None


class OperationError(Model):
    error: str = Field(description="Stable machine-readable code, e.g. NO_DRAFT_VERSION")
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


OperationStatus = Literal["queued", "running", "succeeded", "failed"]
TERMINAL: frozenset[str] = frozenset({"succeeded", "failed"})


class Operation(Model):
    """The durable record of an accepted change."""

    id: str
    kind: str
    status: OperationStatus
    persona_id: str
    seq: int
    attempts: int
    idempotency_key: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: dict[str, Any] | None = None
    error: OperationError | None = None

    @property
    def done(self) -> bool:
        return self.status in TERMINAL


class Promotion(Model):
    """One entry of a persona's promotion history."""

    id: str
    persona_id: str
    version_id: str
    version: int
    previous_version_id: str | None = None
    previous_version: int | None = None
    promoted_by: str | None = None
    promoted_at: datetime
    notes: str | None = None
    operation_id: str | None = None
    proposal_id: str | None = None


class Production(Model):
    """What agents run: the production version's fields and its hydrated resources.

    ``etag`` is the answer's ``ETag`` (send it back as ``If-None-Match`` to revalidate)."""

    persona_id: str
    user_id: str
    version: Version
    resources: dict[str, Any] = Field(default_factory=dict)
    etag: str | None = None


class DiffLine(Model):
    op: Literal["equal", "delete", "insert"]
    text: str


class DiffTooLarge(Model):
    from_lines: int
    to_lines: int
    from_chars: int
    to_chars: int
    max_lines: int
    max_chars: int
    message: str


class DiffChange(Model):
    field: str
    from_: Any = Field(default=None, alias="from")
    to: Any = None
    lines: list[DiffLine] | None = None
    too_large: DiffTooLarge | None = None


class Diff(Model):
    persona_id: str
    from_version: int
    to_version: int
    changes: list[DiffChange]


class Webhook(Model):
    """A webhook endpoint; ``secret`` is set only in the answers of create and rotate_secret."""

    id: str
    url: str
    description: str | None = None
    event_types: list[str] | None = None
    enabled: bool
    disabled_reason: str | None = None
    previous_secret_expires_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    secret: str | None = None


class DeletedWebhook(Model):
    id: str
    deleted: bool


class Delivery(Model):
    """One event's delivery to one endpoint, with its latest attempt."""

    id: str
    webhook_id: str
    event_id: str
    event_type: str
    persona_id: str | None = None
    persona_seq: int | None = None
    status: str
    attempts: int
    total_attempts: int | None = None
    response_status_code: int | None = None
    latency_ms: float | None = None
    error: str | None = None
    last_attempt_at: datetime | None = None
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    created_at: datetime


class DraftResult(Model):
    """The answer of ``POST /persona/draft`` (seed 002): the draft's complete form state after it."""

    success: bool
    draft_id: str
    idempotency_key: str = Field(description="The draft entry's id: ack a soft proposal with it")
    message: str
    form_state: dict[str, Any] = Field(default_factory=dict)


class Event(Model):
    """An event, as webhooks receive it (and as each event of the stream carries it)."""

    id: str
    type: str
    created_at: datetime
    user_id: str
    persona_id: str
    persona_seq: int
    data: dict[str, Any] = Field(default_factory=dict)


class DraftForm(Model):
    """A draft's complete form state (``GET /persona/draft/{draft_id}``)."""

    success: bool
    draft_id: str
    form_state: dict[str, Any] = Field(default_factory=dict)
