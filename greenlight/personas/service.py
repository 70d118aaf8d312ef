"""Persona rules: drafts, promotion, archiving. Called inside an operation's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenlight.clock import utcnow
from greenlight.errors import NoDraftVersion, NotFound
from greenlight.models import Persona, PersonaVersion, Promotion, VersionStatus
from greenlight.models.personas import CONTENT_FIELDS
from greenlight.outbox import emit

PERSONA_FIELDS: tuple[str, ...] = ("name", "role", "description", "tags", "image_url")


def get_owned_persona(
    session: Session, user_id: str, persona_id: str, *, for_update: bool = False
) -> Persona:
    """The persona if it exists and belongs to the user; otherwise NotFound, the same either way."""
    query = select(Persona).where(Persona.id == persona_id, Persona.user_id == user_id)
    if for_update:
        query = query.with_for_update()
    persona = session.scalar(query)
    if persona is None or persona.deleted_at is not None:
        raise NotFound("Persona not found", {"persona_id": persona_id})
    return persona


def list_versions(session: Session, persona: Persona) -> list[PersonaVersion]:
    return list(
        session.scalars(
            select(PersonaVersion)
            .where(PersonaVersion.persona_id == persona.id)
            .order_by(PersonaVersion.version_number)
        )
    )


def _new_version(session: Session, persona: Persona, **fields: Any) -> PersonaVersion:
    persona.last_version_number += 1
    version = PersonaVersion(persona_id=persona.id, version_number=persona.last_version_number, **fields)
    session.add(version)
    return version


def _content_of(version: PersonaVersion) -> dict[str, Any]:
    return {name: getattr(version, name) for name in CONTENT_FIELDS}


def create_persona(session: Session, user_id: str, persona_id: str, data: dict[str, Any]) -> Persona:
    """A new persona with its first draft (version 1)."""
    now = utcnow()
    persona = Persona(
        id=persona_id,
        user_id=user_id,
        created_at=now,
        updated_at=now,
        revision=0,
        last_version_number=0,
        last_event_seq=0,
        **{"tags": [], **{name: data[name] for name in PERSONA_FIELDS if name in data}},
    )
    session.add(persona)
    content = {name: data[name] for name in CONTENT_FIELDS if name in data}
    draft = _new_version(
        session, persona, status=VersionStatus.DRAFT.value, created_at=now, updated_at=now, **content
    )
    session.flush()
    persona.current_draft_version_id = draft.id
    return persona


def ensure_draft(session: Session, persona: Persona) -> PersonaVersion:
    """The current draft, or a new one copied from production when there is none."""
    if persona.current_draft_version_id:
        draft = session.get(PersonaVersion, persona.current_draft_version_id)
        if draft is not None:
            return draft
    production = (
        session.get(PersonaVersion, persona.current_production_version_id)
        if persona.current_production_version_id
        else None
    )
    now = utcnow()
    content = _content_of(production) if production else {}
    draft = _new_version(
        session,
        persona,
        status=VersionStatus.DRAFT.value,
        promoted_from_version_id=production.id if production else None,
        created_at=now,
        updated_at=now,
        **content,
    )
    session.flush()
    persona.current_draft_version_id = draft.id
    return draft


def update_draft(session: Session, persona: Persona, changes: dict[str, Any]) -> PersonaVersion:
    """Edit the draft in place; only draft content is ever changed."""
    draft = ensure_draft(session, persona)
    now = utcnow()
    for name, value in changes.items():
        if name in CONTENT_FIELDS:
            setattr(draft, name, value)
        elif name in PERSONA_FIELDS:
            setattr(persona, name, value)
    draft.updated_at = now
    persona.updated_at = now
    return draft


@dataclass(frozen=True)
class PromotionRequest:
    actor_id: str
    notes: str | None
    operation_id: str | None
    proposal_id: str | None = None


def _archive_production(session: Session, persona: Persona, now: Any) -> PersonaVersion | None:
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


def promote_current_draft(session: Session, persona: Persona, request: PromotionRequest) -> Promotion:
    """Bland's promote: the draft's content becomes a new published version; the draft stays."""
    if not persona.current_draft_version_id:
        raise NoDraftVersion("No draft version to promote", {"persona_id": persona.id})
    draft = session.get(PersonaVersion, persona.current_draft_version_id)
    if draft is None:
        raise NoDraftVersion("No draft version to promote", {"persona_id": persona.id})
    now = utcnow()
    previous = _archive_production(session, persona, now)
    published = _new_version(
        session,
        persona,
        status=VersionStatus.PUBLISHED.value,
        promoted_from_version_id=draft.id,
        promoted_at=now,
        promoted_by=request.actor_id,
        created_at=now,
        updated_at=now,
        **_content_of(draft),
    )
    session.flush()
    persona.current_production_version_id = published.id
    persona.updated_at = now
    return _record_promotion(session, persona, published, previous, request, now)


def _record_promotion(
    session: Session,
    persona: Persona,
    published: PersonaVersion,
    previous: PersonaVersion | None,
    request: PromotionRequest,
    now: Any,
) -> Promotion:
    promotion = Promotion(
        persona_id=persona.id,
        user_id=persona.user_id,
        version_id=published.id,
        version_number=published.version_number,
        previous_version_id=previous.id if previous else None,
        previous_version_number=previous.version_number if previous else None,
        promoted_by=request.actor_id,
        promoted_at=now,
        notes=request.notes,
        operation_id=request.operation_id,
        proposal_id=request.proposal_id,
    )
    session.add(promotion)
    data = {
        "version_id": published.id,
        "version": published.version_number,
        "previous_version_id": promotion.previous_version_id,
        "previous_version": promotion.previous_version_number,
        "promoted_by": request.actor_id,
        "notes": request.notes,
        "operation_id": request.operation_id,
        "proposal_id": request.proposal_id,
    }
    emit(session, persona, "version.promoted", data, request.operation_id)
    if previous is not None:
        emit(
            session,
            persona,
            "version.archived",
            {
                "version_id": previous.id,
                "version": previous.version_number,
                "operation_id": request.operation_id,
            },
            request.operation_id,
        )
    return promotion
