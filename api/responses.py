"""Response models and error responses, for the OpenAPI documentation.

The endpoints build their bodies with the domain's serializers and return them as they
are; these models describe those bodies (a test holds them to the real responses) and
are used only as ``response_model`` / ``responses`` on the routes. The examples are
Bland's, from the "Promote Persona Version" page (seed documents 000 and 001).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from api.errors import ErrorStyle
from greenlight.digits import POSITION_PATTERN
from greenlight.notifications.events import EVENT_TYPE_PATTERN

# --- examples (seed 000 / 001) ---------------------------------------------------------

PERSONA_ID = "12345678-1234-1234-1234-123456789012"
USER_ID = "12345678-1234-1234-1234-123456789012"

PRODUCTION_VERSION_EXAMPLE: dict[str, Any] = {
    "id": "12345678-1234-1234-1234-123456789012",
    "persona_id": PERSONA_ID,
    "version_type": "production",
    "status": "published",
    "version_number": 3,
    "orchestration_prompt": None,
    "personality_prompt": "You are a helpful assistant",
    "pathway_conditions": None,
    "kb_ids": [],
    "call_config": None,
    "default_tools": [],
    "version_description": None,
    "promoted_from_version_id": "12345678-1234-1234-1234-123456789013",
    "promoted_at": "2025-09-23T15:55:57.262Z",
    "promoted_by": USER_ID,
    "created_at": "2025-09-23T15:55:57.263Z",
    "updated_at": "2025-09-23T15:55:57.263Z",
}
DRAFT_VERSION_EXAMPLE: dict[str, Any] = {
    **PRODUCTION_VERSION_EXAMPLE,
    "id": "12345678-1234-1234-1234-123456789013",
    "version_type": "draft",
    "status": "draft",
    "version_number": 2,
    "promoted_from_version_id": "12345678-1234-1234-1234-123456789012",
    "promoted_at": None,
    "promoted_by": None,
    "created_at": "2025-09-23T15:13:36.390Z",
    "updated_at": "2025-09-23T15:13:36.390Z",
}
PERSONA_EXAMPLE: dict[str, Any] = {
    "id": PERSONA_ID,
    "name": "Blandy",
    "role": None,
    "description": "Helpful Agent for Bland Documentation",
    "tags": [],
    "image_url": None,
    "created_at": "2025-09-23T15:13:36.348Z",
    "updated_at": "2025-09-23T15:55:57.284Z",
    "deleted_at": None,
    "user_id": USER_ID,
    "current_production_version_id": PRODUCTION_VERSION_EXAMPLE["id"],
    "current_draft_version_id": DRAFT_VERSION_EXAMPLE["id"],
    "current_production_version": PRODUCTION_VERSION_EXAMPLE,
    "current_draft_version": DRAFT_VERSION_EXAMPLE,
}
OPERATION_EXAMPLE: dict[str, Any] = {
    "id": "3f2b8a52-5d7e-4c1a-9a57-0c6f1f0f4e21",
    "kind": "persona.promote",
    "status": "queued",
    "persona_id": PERSONA_ID,
    "seq": 4,
    "attempts": 0,
    "idempotency_key": "promote-2025-09-23",
    "created_at": "2025-09-23T15:55:57.101Z",
    "updated_at": "2025-09-23T15:55:57.101Z",
    "started_at": None,
    "finished_at": None,
    "result": None,
    "error": None,
}


def error_example(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"data": None, "errors": [{"error": code, "message": message, "details": details or {}}]}


NO_DRAFT_EXAMPLE = error_example(
    "NO_DRAFT_VERSION", "No draft version to promote", {"persona_id": PERSONA_ID}
)

# --- models -----------------------------------------------------------------------------


class VersionObject(BaseModel):
    """A persona version; `version_type` is Bland's name, `status` the lifecycle state."""

    model_config = ConfigDict(json_schema_extra={"example": PRODUCTION_VERSION_EXAMPLE})

    id: str
    persona_id: str
    version_type: Literal["draft", "production", "archived"]
    status: Literal["draft", "published", "archived"]
    version_number: int
    orchestration_prompt: str | None
    personality_prompt: str | None
    pathway_conditions: Any
    kb_ids: list[str]
    call_config: Any
    default_tools: list[Any]
    version_description: str | None
    promoted_from_version_id: str | None
    promoted_at: str | None = Field(description="ISO 8601, set on versions made by a promotion")
    promoted_by: str | None = Field(description="ID of the user who promoted")
    created_at: str
    updated_at: str


class PersonaObject(BaseModel):
    """Bland's persona object with its current production and draft versions."""

    model_config = ConfigDict(json_schema_extra={"example": PERSONA_EXAMPLE})

    id: str
    name: str
    role: str | None
    description: str | None
    tags: list[str]
    image_url: str | None
    created_at: str
    updated_at: str
    deleted_at: str | None
    user_id: str
    current_production_version_id: str | None
    current_draft_version_id: str | None
    current_production_version: VersionObject | None
    current_draft_version: VersionObject | None


class ErrorObject(BaseModel):
    error: str = Field(description="Stable machine-readable code, e.g. NO_DRAFT_VERSION")
    message: str
    details: dict[str, Any]


class OperationObject(BaseModel):
    """The durable record of an accepted change."""

    model_config = ConfigDict(json_schema_extra={"example": OPERATION_EXAMPLE})

    id: str
    kind: str = Field(description="e.g. persona.promote, draft.update")
    status: Literal["queued", "running", "succeeded", "failed", "awaiting_approval"] = Field(
        description="`awaiting_approval`: its persona reviews promotions; it applies once approved"
    )
    persona_id: str
    seq: int = Field(description="Position in the persona's sequence; applied in this order")
    attempts: int
    idempotency_key: str | None
    created_at: str | None
    updated_at: str | None
    started_at: str | None
    finished_at: str | None
    result: dict[str, Any] | None = Field(description="Set when succeeded, e.g. {persona: ...}")
    error: ErrorObject | None = Field(description="Set when failed")
    promotion_request_id: str | None = Field(
        None,
        description="The promotion request it waits (or waited) behind: `GET /v1/promotion-requests/{id}`",
    )


class ErrorEnvelope(BaseModel):
    """Every error under /v1: `data` is null and `errors` lists what went wrong."""

    model_config = ConfigDict(json_schema_extra={"example": NO_DRAFT_EXAMPLE})

    data: None
    errors: list[ErrorObject]


class PersonaEnvelope(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"data": PERSONA_EXAMPLE, "errors": None}})

    data: PersonaObject
    errors: None


class VersionListEnvelope(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"data": [DRAFT_VERSION_EXAMPLE, PRODUCTION_VERSION_EXAMPLE], "errors": None}
        }
    )

    data: list[VersionObject]
    errors: None


class OperationEnvelope(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"data": OPERATION_EXAMPLE, "errors": None}})

    data: OperationObject
    errors: None


class HealthStatus(BaseModel):
    status: Literal["ok"]


class CheckOutcome(BaseModel):
    model_config = ConfigDict(extra="allow")

    ok: bool
    duration_ms: float
    error: str | None = None


class ReadinessReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "status": "not_ready",
                "failed": ["workers"],
                "checks": {
                    "database": {"ok": True, "duration_ms": 1.2},
                    "migrations": {"ok": True, "duration_ms": 3.4, "revision": "0001"},
                    "redis": {"ok": True, "duration_ms": 0.6},
                    "workers": {
                        "ok": False,
                        "duration_ms": 1002.1,
                        "error": "CheckFailed: no worker answered",
                    },
                },
            }
        }
    )

    status: Literal["ready", "not_ready"]
    failed: list[str]
    checks: dict[str, CheckOutcome]


# Models whose examples the OpenAPI document shows as written (api/openapi.py).
DOCUMENTED_MODELS: tuple[type[BaseModel], ...] = (
    VersionObject,
    PersonaObject,
    OperationObject,
    ErrorEnvelope,
    PersonaEnvelope,
    VersionListEnvelope,
    OperationEnvelope,
    ReadinessReport,
)

# --- error responses, declared on the routes --------------------------------------------

ResponseDocs = dict[int | str, dict[str, Any]]

# Every named example of an error body, by name (names are unique across statuses).
NAMED_EXAMPLES: dict[str, dict[str, Any]] = {
    "no_draft_version": NO_DRAFT_EXAMPLE,
    "invalid_json": error_example("INVALID_JSON", "The request body is not valid JSON"),
    "invalid_idempotency_key": error_example(
        "INVALID_IDEMPOTENCY_KEY", "Idempotency-Key must be 1 to 255 characters", {"length": 256}
    ),
    "unauthorized": error_example("UNAUTHORIZED", "API key is missing or invalid."),
    "forbidden": error_example(
        "FORBIDDEN",
        "Your role (viewer) does not allow this: it needs the 'publish' permission.",
        {"permission": "publish", "role": "viewer"},
    ),
    "not_found": error_example("NOT_FOUND", "Persona not found", {"persona_id": PERSONA_ID}),
    "conflict": error_example("CONFLICT", "The persona changed; read it and try again"),
    "validation_error": error_example(
        "VALIDATION_ERROR",
        "The request is not valid",
        {"errors": [{"loc": ["body", "name"], "msg": "Field required", "type": "missing"}]},
    ),
    "idempotency_key_reused": error_example(
        "IDEMPOTENCY_KEY_REUSED",
        "This Idempotency-Key was already used with a different request",
        {"idempotency_key": "promote-once", "operation_id": OPERATION_EXAMPLE["id"]},
    ),
    "internal_error": error_example("INTERNAL_ERROR", "An unexpected server error occurred."),
    "invalid_url": error_example("INVALID_REQUEST", "The URL must not contain NUL characters"),
    "payload_too_large": error_example("PAYLOAD_TOO_LARGE", "The request body is larger than 1048576 bytes"),
    "invalid_last_event_id": error_example(
        "INVALID_LAST_EVENT_ID",
        "Last-Event-ID must be an event id from this stream (a non-negative integer)",
        {"last_event_id": "abc"},
    ),
    "scheduled_at_in_past": error_example(
        "SCHEDULED_AT_IN_PAST",
        "scheduled_at is in the past; leave it out to promote now",
        {"scheduled_at": "1970-01-01T00:00:00Z", "max_past_seconds": 60.0},
    ),
    "scheduled_at_too_far": error_example(
        "SCHEDULED_AT_TOO_FAR",
        "scheduled_at is more than 366 days ahead",
        {"scheduled_at": "8562-01-01T00:00:00Z", "horizon_days": 366.0},
    ),
    "already_a_member": error_example(
        "ALREADY_A_MEMBER", "This user is already a member of the workspace", {"user_id": USER_ID}
    ),
    "last_admin": error_example(
        "LAST_ADMIN",
        "A workspace keeps at least one admin: make another member admin first",
        {"user_id": USER_ID},
    ),
    "role_too_wide": error_example(
        "ROLE_TOO_WIDE",
        "A key's role cannot be wider than its member's (editor)",
        {"role": "admin", "member_role": "editor"},
    ),
    "too_many_failed_attempts": error_example(
        "TOO_MANY_FAILED_ATTEMPTS",
        "Too many failed authentication attempts from your address. Try again in 42 seconds.",
        {"retry_after_seconds": 42, "limited_by": "address"},
    ),
}

ERROR_STATUSES: dict[int, tuple[str, tuple[str, ...]]] = {
    400: ("Malformed request", ("invalid_json", "invalid_idempotency_key")),
    401: ("Missing, invalid or revoked API key", ("unauthorized",)),
    403: ("The key's role does not allow this; `details.permission` names what it needs", ("forbidden",)),
    404: ("Not found, or not yours (the two are not told apart)", ("not_found",)),
    409: ("The persona's state does not allow this change now", ("conflict",)),
    422: (
        "Well-formed but invalid, or an Idempotency-Key reused with a different request",
        ("validation_error", "idempotency_key_reused"),
    ),
    429: (
        "Too many failed authentications from this address or with this key's prefix: refused before "
        "the key is checked, a valid one included. Retry after `Retry-After` seconds.",
        ("too_many_failed_attempts",),
    ),
    500: ("Unexpected server error", ("internal_error",)),
}


RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "Seconds until an attempt from this address or with this key prefix is allowed",
        "schema": {"type": "integer"},
    }
}


def with_key_refusals(statuses: tuple[int, ...]) -> tuple[int, ...]:
    """A route that checks a key (documents 401) can also refuse what the key's role does not allow
    (403) and refuse to check it at all (429, auth back-off)."""
    if 401 not in statuses:
        return statuses
    return (*statuses, *(status for status in (403, 429) if status not in statuses))


def headers_for(status: int) -> dict[str, Any]:
    return {"headers": RETRY_AFTER_HEADER} if status == 429 else {}


def error_responses(*statuses: int, extra: dict[int, tuple[str, ...]] | None = None) -> ResponseDocs:
    """`responses=` entries for these statuses (with a 401, a 429 too): the envelope model and named
    examples; ``extra`` adds route-specific examples (status -> names in NAMED_EXAMPLES)."""
    docs: ResponseDocs = {}
    for status in with_key_refusals(statuses):
        description, names = ERROR_STATUSES[status]
        names = (*(extra or {}).get(status, ()), *names)
        docs[status] = {
            "model": ErrorEnvelope,
            "description": description,
            "content": {
                "application/json": {"examples": {name: {"value": NAMED_EXAMPLES[name]} for name in names}}
            },
            **headers_for(status),
        }
    return docs


# Every authenticated /v1 route can answer these.
COMMON_ERRORS = error_responses(401, 422, 500)
READ_ERRORS = error_responses(401, 404, 422, 500)
WRITE_ERRORS = error_responses(400, 401, 404, 409, 422, 500)

ACCEPTED: ResponseDocs = {
    202: {
        "model": OperationEnvelope,
        "description": "Accepted: the operation is queued (or still running after the wait), or "
        "`awaiting_approval` behind its `promotion_request_id`. Poll the `Location` (`/v1/operations/{id}`).",
        "headers": {"Location": {"description": "/v1/operations/{id}", "schema": {"type": "string"}}},
    }
}


# --- envelopes of the lifecycle, draft and Retell endpoints ----------------------------


def envelope_of(name: str, data: Any, doc: str) -> type[BaseModel]:
    """An `{data, errors: null}` model named `<name>Envelope` for the OpenAPI document."""
    model = create_model(f"{name}Envelope", __doc__=doc, data=(data, ...), errors=(None, None))
    return model


VersionEnvelope = envelope_of("Version", VersionObject, "One version.")
PromotionPageEnvelope = envelope_of(
    "PromotionPage",
    dict[str, Any],
    "`{items: [{id, version, version_id, previous_version, previous_version_id, promoted_by, promoted_at, "
    "notes, operation_id, proposal_id, requested_by, approvals: [{user_id, comment, approved_at}], "
    "applied_by, promotion_request_id}], next_cursor}`, newest first; `approvals` is empty where no review "
    "was required.",
)
ProductionEnvelope = envelope_of(
    "Production",
    dict[str, Any],
    "`{persona_id, user_id, workspace_id, version, resources}`: what agents run.",
)


class DiffLineObject(BaseModel):
    op: Literal["equal", "delete", "insert"]
    text: str


class TooLargeObject(BaseModel):
    """Why a text change was not compared line by line: its sizes and the comparison's budget."""

    from_lines: int
    to_lines: int
    from_chars: int
    to_chars: int
    max_lines: int
    max_chars: int
    message: str


class DiffChange(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    field: str
    from_: Any = Field(alias="from", description="The value in the first version")
    to: Any = Field(description="The value in the second version")
    lines: list[DiffLineObject] | None = Field(
        description="A text field's change line by line; null for other fields or when too large"
    )
    too_large: TooLargeObject | None = Field(description="Set when the texts were too large to compare")


class DiffObject(BaseModel):
    persona_id: str
    from_version: int
    to_version: int
    changes: list[DiffChange]


DiffEnvelope = envelope_of("Diff", DiffObject, "Field-by-field difference between two versions.")


class ScheduleObject(BaseModel):
    """A promotion (or publish) scheduled to run at ``run_at``."""

    id: str
    persona_id: str
    kind: str = Field(description="What runs when due: persona.promote or version.publish")
    payload: dict[str, Any] = Field(description="The promotion's options (notes, version, ...)")
    run_at: str
    status: Literal["scheduled", "submitted", "cancelled"]
    operation_id: str | None = Field(description="The promotion's operation, once submitted")
    created_at: str
    updated_at: str


ScheduleEnvelope = envelope_of("Schedule", ScheduleObject, "A scheduled promotion.")
ScheduleListEnvelope = envelope_of("ScheduleList", list[ScheduleObject], "Scheduled promotions.")
# A promotion with `scheduled_at` answers 202 with its schedule once recorded, or with the
# operation that records it while that is still queued.
ACCEPTED_OR_SCHEDULED: ResponseDocs = {
    202: {
        **ACCEPTED[202],
        "model": OperationEnvelope | ScheduleEnvelope,
        "description": "Accepted: the operation is queued (poll the `Location`), or, with `scheduled_at`, "
        "the scheduled promotion once recorded.",
    }
}
# The event stream's own 400.
STREAM_REFUSALS: dict[int, tuple[str, ...]] = {400: ("invalid_last_event_id",)}
# The 422 examples of the promotions that take `scheduled_at`.
SCHEDULE_REFUSALS: dict[int, tuple[str, ...]] = {422: ("scheduled_at_in_past", "scheduled_at_too_far")}
ProposalListEnvelope = envelope_of(
    "ProposalList",
    list[dict[str, Any]],
    "`[{idempotency_key, status, fields, changes, decided_by, decided_at, reason, expires_at, ...}]`.",
)


WebhookEnvelope = envelope_of(
    "Webhook",
    dict[str, Any],
    "`{id, url, event_types, enabled, description, secret?, created_at, ...}`; `secret` only on creation "
    "and rotation. A retry with their `Idempotency-Key` answers the secret while it is still the endpoint's "
    "current one, else `secret: null` (rotated again or deleted since).",
)
WebhookListEnvelope = envelope_of("WebhookList", list[dict[str, Any]], "Your webhook endpoints.")
DeliveryEnvelope = envelope_of(
    "Delivery",
    dict[str, Any],
    "`{id, event_id, status, attempts, response_code, latency_ms, next_attempt_at, ...}`.",
)
DeliveryPageEnvelope = envelope_of("DeliveryPage", dict[str, Any], "`{items: [delivery], next_cursor}`.")


class EventEnvelope(BaseModel):
    """One event, as webhooks receive it and as each stream event's `data` carries it (JSON)."""

    id: str
    type: str = Field(pattern=EVENT_TYPE_PATTERN, description="e.g. version.promoted")
    created_at: str
    user_id: str
    persona_id: str
    persona_seq: int = Field(ge=1, description="The event's position among its persona's events")
    data: dict[str, Any]


# One Server-Sent Event as a client parses it (OpenAPI 3.1: a `text/event-stream` schema describes
# each event): `data` is the envelope as JSON text, `id` the position to resume after.
STREAM_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "id": {"type": "string", "pattern": POSITION_PATTERN, "description": "Send back as Last-Event-ID"},
        "event": {"type": "string", "pattern": EVENT_TYPE_PATTERN, "description": "The event's type"},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": EventEnvelope.model_json_schema(),
        },
        "retry": {"type": "integer", "minimum": 0, "description": "Reconnect after this many ms"},
    },
}
EVENT_STREAM: ResponseDocs = {
    200: {
        "description": "Server-Sent Events: `id` (resume position), `event` (type), `data` (the event, "
        "JSON); a `retry` and comments (`: heartbeat`) between them.",
        "content": {"text/event-stream": {"schema": STREAM_EVENT_SCHEMA}},
    }
}


def guard_responses(style: ErrorStyle, *, takes_body: bool) -> dict[str, dict[str, Any]]:
    """The answers of the request guard (api/guard.py), as OpenAPI responses in ``style``'s shape."""
    ref = {
        ErrorStyle.RETELL: "RetellError",
        ErrorStyle.DRAFT: "DraftError",
    }.get(style, "ErrorEnvelope")
    answers = {"400": ("invalid_url", "Malformed request")}
    if takes_body:
        answers["413"] = ("payload_too_large", "The body is larger than GREENLIGHT_MAX_BODY_BYTES")
    docs: dict[str, dict[str, Any]] = {}
    for status, (name, description) in answers.items():
        media: dict[str, Any] = {"schema": {"$ref": f"#/components/schemas/{ref}"}}
        if style is ErrorStyle.ENVELOPE:
            media["examples"] = {name: {"value": NAMED_EXAMPLES[name]}}
        docs[status] = {"description": description, "content": {"application/json": media}}
    return docs
