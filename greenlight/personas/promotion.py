"""Promotion: publish in place, archive, unarchive, and the rules every promotion shares (Bland's
promote of the draft, many at a time, is in ``draft_promotion``).

Every promotion archives the previous production version and writes one history row, in
the caller's transaction; the partial unique index guarantees one production version.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from greenlight.clock import utcnow
from greenlight.errors import Conflict, Unprocessable
from greenlight.events import PromotionPayload, VersionArchived, VersionPublished, VersionUnarchived
from greenlight.models import Persona, PersonaVersion, Promotion, VersionStatus
from greenlight.outbox import emit
from greenlight.personas.service import get_version


@dataclass(frozen=True)
class PromotionRequest:
    actor_id: str
    notes: str | None
    operation_id: str | None
    proposal_id: str | None = None
    # Compare-and-swap: the production version the caller expects to replace ("" = none).
    expected_production_version_id: str | None = None


def etag_of(version_id: str | None) -> str:
    """The production ETag: a version's content never changes once published."""
    return f'"{version_id or "none"}"'


def check_expected_production(current_production_id: str | None, request: PromotionRequest) -> None:
    """Refuse the promotion if production is no longer what the caller expected (If-Match)."""
    if request.expected_production_version_id is None:
        return
    expected = request.expected_production_version_id.strip().strip('"') or "none"
    if expected != (current_production_id or "none"):
        raise Conflict(
            "Production moved since you read it; nothing was changed",
            {"expected": f'"{expected}"', "current": etag_of(current_production_id)},
            code="PRODUCTION_CHANGED",
        )


def next_promotion_time(previous_promoted_at: datetime | None) -> datetime:
    """Now, but strictly after the current production's promotion: history never ties."""
    now = utcnow()
    if previous_promoted_at is not None and now <= previous_promoted_at:
        now = previous_promoted_at + timedelta(milliseconds=1)
    return now


def _promotion_time(session: Session, persona: Persona) -> datetime:
    current = (
        session.get(PersonaVersion, persona.current_production_version_id)
        if persona.current_production_version_id
        else None
    )
    return next_promotion_time(current.promoted_at if current is not None else None)


def _archive_production(session: Session, persona: Persona, now: datetime) -> PersonaVersion | None:
    if not persona.current_production_version_id:
        return None
    previous = session.get(PersonaVersion, persona.current_production_version_id)
    if previous is None:
        return None
    previous.status = VersionStatus.ARCHIVED.value
    previous.updated_at = now
    # Flush now: the partial unique index allows one published version at any instant.
    session.flush()
    return previous


def publish_version(
    session: Session, persona: Persona, number: int, request: PromotionRequest, description: str | None = None
) -> Promotion:
    """Retell's publish in place: draft version `number` itself becomes production."""
    version = get_version(session, persona, number)
    if version.status != VersionStatus.DRAFT.value:
        hint = " (unarchive it first)" if version.status == VersionStatus.ARCHIVED.value else ""
        raise Unprocessable(
            f"Version {number} is {version.status}, only a draft can be published{hint}",
            {"persona_id": persona.id, "version": number, "status": version.status},
            code="VERSION_NOT_DRAFT",
        )
    check_expected_production(persona.current_production_version_id, request)
    now = _promotion_time(session, persona)
    previous = _archive_production(session, persona, now)
    if description is not None:
        version.version_description = description
    version.status = VersionStatus.PUBLISHED.value
    version.promoted_at = now
    version.promoted_by = request.actor_id
    version.updated_at = now
    session.flush()
    persona.current_production_version_id = version.id
    if persona.current_draft_version_id == version.id:
        # The next edit starts a new draft copied from production.
        persona.current_draft_version_id = None
    persona.updated_at = now
    request = with_proposal(request, version)
    return _record(session, persona, version, previous, request, now, VersionPublished)


def unarchive_version(
    session: Session, persona: Persona, number: int, actor_id: str, operation_id: str
) -> PersonaVersion:
    """Return an archived version to draft, so that it can be published again (rollback)."""
    version = get_version(session, persona, number)
    if version.status != VersionStatus.ARCHIVED.value:
        raise Unprocessable(
            f"Version {number} is {version.status}, only an archived version can be unarchived",
            {"persona_id": persona.id, "version": number, "status": version.status},
            code="VERSION_NOT_ARCHIVED",
        )
    now = utcnow()
    version.status = VersionStatus.DRAFT.value
    version.updated_at = now
    if not persona.current_draft_version_id:
        persona.current_draft_version_id = version.id
    persona.updated_at = now
    event = VersionUnarchived(version_id=version.id, version=number, by=actor_id, operation_id=operation_id)
    emit(session, persona, event, operation_id)
    return version


def with_proposal(request: PromotionRequest, source: PersonaVersion) -> PromotionRequest:
    """A promotion of a draft shaped by an accepted proposal names that proposal."""
    if request.proposal_id is None and source.last_proposal_id is not None:
        return replace(request, proposal_id=source.last_proposal_id)
    return request


def promoted_event(
    payload: type[PromotionPayload],
    published: PersonaVersion,
    previous: PersonaVersion | None,
    request: PromotionRequest,
) -> PromotionPayload:
    """The event of a promotion: version.promoted or version.published."""
    return payload(
        version_id=published.id,
        version=published.version_number,
        previous_version_id=previous.id if previous else None,
        previous_version=previous.version_number if previous else None,
        promoted_by=request.actor_id,
        notes=request.notes,
        operation_id=request.operation_id,
        proposal_id=request.proposal_id,
    )


def archived_event(previous: PersonaVersion, operation_id: str | None) -> VersionArchived:
    return VersionArchived(version_id=previous.id, version=previous.version_number, operation_id=operation_id)


def promotion_row(
    persona: Persona,
    published: PersonaVersion,
    previous: PersonaVersion | None,
    request: PromotionRequest,
    now: datetime,
) -> dict[str, Any]:
    """The history row of one promotion (never updated)."""
    return {
        "persona_id": persona.id,
        "workspace_id": persona.workspace_id,
        "user_id": request.actor_id,
        "version_id": published.id,
        "version_number": published.version_number,
        "previous_version_id": previous.id if previous else None,
        "previous_version_number": previous.version_number if previous else None,
        "promoted_by": request.actor_id,
        "promoted_at": now,
        "notes": request.notes,
        "operation_id": request.operation_id,
        "proposal_id": request.proposal_id,
    }


def _record(
    session: Session,
    persona: Persona,
    published: PersonaVersion,
    previous: PersonaVersion | None,
    request: PromotionRequest,
    now: datetime,
    event: type[PromotionPayload],
) -> Promotion:
    promotion = Promotion(**promotion_row(persona, published, previous, request, now))
    session.add(promotion)
    emit(session, persona, promoted_event(event, published, previous, request), request.operation_id)
    if previous is not None:
        emit(session, persona, archived_event(previous, request.operation_id), request.operation_id)
    return promotion
