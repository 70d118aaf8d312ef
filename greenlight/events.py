"""The event catalogue: every event type a persona's history can hold, declared once.

Writers name a member of ``EventType``; webhooks' filters, the event stream and the README's list
are checked against this enum.
"""

from __future__ import annotations

from enum import StrEnum


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
