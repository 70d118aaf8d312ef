"""The event catalogue: every event type a persona's history can hold and its payload, declared once.

A payload's class names its type (``event_type``), so a writer cannot pair a type with another
type's data: ``outbox.emit`` takes the payload alone. Its fields are the event's ``data``, as
webhooks and the event stream deliver it; README's event list is checked against this module.
Webhook filters accept patterns for types not declared yet ("any type added later").
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, PlainSerializer

from greenlight.clock import isoformat

if TYPE_CHECKING:
    from greenlight.models import PersonaVersion

# Written as the API writes instants: ISO 8601 with milliseconds and a Z.
Instant = Annotated[datetime, PlainSerializer(isoformat, return_type=str)]


class EventType(StrEnum):
    PERSONA_CREATED = "persona.created"
    DRAFT_UPDATED = "draft.updated"
    DRAFT_PROPOSED = "draft.proposed"
    DRAFT_ACCEPTED = "draft.accepted"
    DRAFT_REJECTED = "draft.rejected"
    DRAFT_EXPIRED = "draft.expired"
    VERSION_PROMOTED = "version.promoted"
    VERSION_PUBLISHED = "version.published"
    VERSION_ARCHIVED = "version.archived"
    VERSION_UNARCHIVED = "version.unarchived"
    PROMOTION_SCHEDULED = "promotion.scheduled"
    PROMOTION_CANCELLED = "promotion.cancelled"
    OPERATION_FAILED = "operation.failed"
    PROMOTION_REQUESTED = "promotion_request.created"
    PROMOTION_REQUEST_APPROVED = "promotion_request.approved"
    PROMOTION_REQUEST_REJECTED = "promotion_request.rejected"
    PROMOTION_REQUEST_WITHDRAWN = "promotion_request.withdrawn"
    PROMOTION_REQUEST_STALE = "promotion_request.stale"
    REVIEW_POLICY_UPDATED = "review_policy.updated"


class EventPayload(BaseModel):
    """An event's ``data``. ``operation_id`` is the operation whose transaction wrote it (null for
    what the system does on its own, such as a proposal expiring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    event_type: ClassVar[EventType]

    def data(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class PersonaCreated(EventPayload):
    event_type = EventType.PERSONA_CREATED
    name: str
    operation_id: str | None


class DraftUpdated(EventPayload):
    """The draft's content changed: through ``PATCH /v1/personas/{id}/draft`` (no `entry_id`) or a
    draft patch of ``POST /persona/draft`` (its entry)."""

    event_type = EventType.DRAFT_UPDATED
    entry_id: str | None
    draft_id: str
    actor: str
    fields: list[str]
    operation_id: str | None
    version_id: str
    version: int

    @classmethod
    def of(
        cls,
        draft: PersonaVersion,
        entry_id: str | None,
        actor: str,
        fields: list[str],
        operation_id: str | None,
    ) -> DraftUpdated:
        return cls(
            entry_id=entry_id,
            draft_id=draft.id,
            actor=actor,
            fields=fields,
            operation_id=operation_id,
            version_id=draft.id,
            version=draft.version_number,
        )


class _ProposalEvent(EventPayload):
    entry_id: str
    draft_id: str | None
    actor: str
    fields: list[str]
    operation_id: str | None


class DraftProposed(_ProposalEvent):
    event_type = EventType.DRAFT_PROPOSED
    expires_at: Instant


class _Decision(_ProposalEvent):
    decision: str
    reason: str | None
    forced: bool


class DraftAccepted(_Decision):
    event_type = EventType.DRAFT_ACCEPTED


class DraftRejected(_Decision):
    event_type = EventType.DRAFT_REJECTED


class DraftExpired(_ProposalEvent):
    event_type = EventType.DRAFT_EXPIRED
    decision: str


class PromotionPayload(EventPayload):
    version_id: str
    version: int
    previous_version_id: str | None
    previous_version: int | None
    promoted_by: str
    notes: str | None
    operation_id: str | None
    proposal_id: str | None


class VersionPromoted(PromotionPayload):
    """Bland's promote: the draft's content became a new production version."""

    event_type = EventType.VERSION_PROMOTED


class VersionPublished(PromotionPayload):
    """A draft version was published in place."""

    event_type = EventType.VERSION_PUBLISHED


class VersionArchived(EventPayload):
    event_type = EventType.VERSION_ARCHIVED
    version_id: str
    version: int
    operation_id: str | None


class VersionUnarchived(EventPayload):
    event_type = EventType.VERSION_UNARCHIVED
    version_id: str
    version: int
    by: str
    operation_id: str | None


class PromotionScheduled(EventPayload):
    event_type = EventType.PROMOTION_SCHEDULED
    schedule_id: str
    kind: str
    run_at: Instant
    operation_id: str | None


class PromotionCancelled(EventPayload):
    event_type = EventType.PROMOTION_CANCELLED
    schedule_id: str
    operation_id: str | None


class OperationFailed(EventPayload):
    event_type = EventType.OPERATION_FAILED
    operation_id: str
    kind: str
    error: str
    message: str


class _RequestEvent(EventPayload):
    """About a promotion request: the version it would promote, the operation that wrote this."""

    promotion_request_id: str
    version: int
    operation_id: str | None


class PromotionRequested(_RequestEvent):
    """A promotion's turn came and its persona reviews promotions: it waits for approvals."""

    event_type = EventType.PROMOTION_REQUESTED
    requested_by: str
    required_approvals: int


class PromotionRequestApproved(_RequestEvent):
    """One approval; with ``approvals == required_approvals`` the promotion applies in this transaction."""

    event_type = EventType.PROMOTION_REQUEST_APPROVED
    approved_by: str
    approvals: int
    required_approvals: int


class PromotionRequestRejected(_RequestEvent):
    event_type = EventType.PROMOTION_REQUEST_REJECTED
    rejected_by: str
    reason: str | None


class PromotionRequestWithdrawn(_RequestEvent):
    event_type = EventType.PROMOTION_REQUEST_WITHDRAWN


class PromotionRequestStale(_RequestEvent):
    """The draft or production changed after the request: its approvals are void."""

    event_type = EventType.PROMOTION_REQUEST_STALE


class ReviewPolicyUpdated(EventPayload):
    event_type = EventType.REVIEW_POLICY_UPDATED
    required_approvals: int
    allow_self_approval: bool
    operation_id: str | None


PAYLOADS: dict[EventType, type[EventPayload]] = {
    payload.event_type: payload
    for payload in (
        PersonaCreated,
        DraftUpdated,
        DraftProposed,
        DraftAccepted,
        DraftRejected,
        DraftExpired,
        VersionPromoted,
        VersionPublished,
        VersionArchived,
        VersionUnarchived,
        PromotionScheduled,
        PromotionCancelled,
        OperationFailed,
        PromotionRequested,
        PromotionRequestApproved,
        PromotionRequestRejected,
        PromotionRequestWithdrawn,
        PromotionRequestStale,
        ReviewPolicyUpdated,
    )
}
