"""Persona rules for lookups and drafts. Called inside an operation's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenlight.clock import utcnow
from greenlight.drafts.connections import copy_connections
from greenlight.errors import NotFound
from greenlight.events import PersonaCreated
from greenlight.models import Persona, PersonaVersion, VersionStatus
from greenlight.models.personas import CONTENT_FIELDS
from greenlight.outbox import emit
from greenlight.tenancy import Actor, visible_to

PERSONA_FIELDS: tuple[str, ...] = ("name", "role", "description", "tags", "image_url")


def get_owned_persona(
    session: Session, workspace_id: str, persona_id: str, *, for_update: bool = False
) -> Persona:
    """The persona if it exists and belongs to the workspace; otherwise NotFound, the same either way."""
    query = select(Persona).where(Persona.id == persona_id, visible_to(Persona, workspace_id))
    if for_update:
        query = query.with_for_update()
    persona = session.scalar(query)
    if persona is None:
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


def get_version(session: Session, persona: Persona, number: int) -> PersonaVersion:
    version = session.scalar(
        select(PersonaVersion).where(
            PersonaVersion.persona_id == persona.id, PersonaVersion.version_number == number
        )
    )
    if version is None:
        raise NotFound("Version not found", {"persona_id": persona.id, "version": number})
    return version


def new_version(session: Session, persona: Persona, **fields: Any) -> PersonaVersion:
    """The next version number of the persona; numbers are never reused."""
    persona.last_version_number += 1
    version = PersonaVersion(persona_id=persona.id, version_number=persona.last_version_number, **fields)
    session.add(version)
    return version


def content_of(version: PersonaVersion) -> dict[str, Any]:
    return {name: getattr(version, name) for name in CONTENT_FIELDS}


def create_persona(
    session: Session, actor: Actor, persona_id: str, data: dict[str, Any], operation_id: str
) -> Persona:
    """A new persona of the actor's workspace, created by the actor, with its first draft (version
    1), announced by its first event."""
    now = utcnow()
    persona = Persona(
        id=persona_id,
        workspace_id=actor.workspace_id,
        user_id=actor.user_id,
        created_at=now,
        updated_at=now,
        revision=0,
        last_version_number=0,
        last_event_seq=0,
        **{"tags": [], **{name: data[name] for name in PERSONA_FIELDS if name in data}},
    )
    session.add(persona)
    content = {name: data[name] for name in CONTENT_FIELDS if name in data}
    draft = new_version(
        session, persona, status=VersionStatus.DRAFT.value, created_at=now, updated_at=now, **content
    )
    session.flush()
    persona.current_draft_version_id = draft.id
    emit(session, persona, PersonaCreated(name=persona.name, operation_id=operation_id), operation_id)
    return persona


def _copy_as_draft(session: Session, persona: Persona, source: PersonaVersion | None) -> PersonaVersion:
    now = utcnow()
    draft = new_version(
        session,
        persona,
        status=VersionStatus.DRAFT.value,
        promoted_from_version_id=source.id if source else None,
        created_at=now,
        updated_at=now,
        **(content_of(source) if source else {}),
    )
    session.flush()
    if source is not None:
        copy_connections(session, source.id, draft.id)
    persona.current_draft_version_id = draft.id
    return draft


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
    return _copy_as_draft(session, persona, production)


def editable_draft(session: Session, persona: Persona) -> PersonaVersion:
    """The draft to write to. A draft that was once published (unarchived for a rollback) keeps
    the content it was published with: editing it starts a new draft copied from it, so the
    history of what ran in production never changes."""
    draft = ensure_draft(session, persona)
    if draft.promoted_at is not None:
        return _copy_as_draft(session, persona, draft)
    return draft


def update_draft(session: Session, persona: Persona, changes: dict[str, Any]) -> PersonaVersion:
    """Edit the draft in place; only draft content is ever changed."""
    draft = editable_draft(session, persona)
    now = utcnow()
    for name, value in changes.items():
        if name in CONTENT_FIELDS:
            setattr(draft, name, value)
        elif name in PERSONA_FIELDS:
            setattr(persona, name, value)
    draft.updated_at = now
    persona.updated_at = now
    return draft
