"""What a dormant proposal would change: its fields in the draft now and as accepting it would
leave them, hydrated to values, and the fields that went stale. Reads only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from greenlight.drafts import connections
from greenlight.drafts.resources import ResolvedChanges
from greenlight.drafts.service import stale_fields
from greenlight.errors import DomainError
from greenlight.models import DraftEntry, EntryStatus, Persona, PersonaVersion, VersionStatus


@dataclass(frozen=True)
class FieldPreview:
    field: str
    current: Any  # hydrated: {id, value, active} (flags: {id, type, value, active}), a list, or ids
    proposed: Any


@dataclass(frozen=True)
class ProposalPreview:
    draft_version: int | None
    fields: list[FieldPreview] = field(default_factory=list)
    stale_fields: list[str] = field(default_factory=list)
    problem: str | None = None  # the patch no longer applies (e.g. a pending id was disconnected)
    values: dict[str, str] = field(default_factory=dict)  # resource id -> its value, for ids shown bare


def _values(*forms: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for form in forms:
        for value in form.values():
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, dict) and "id" in item and item.get("value") is not None:
                    text = str(item["value"])
                    out[str(item["id"])] = f"{item['type']}: {text}" if item.get("type") else text
    return out


def _editable(version: PersonaVersion | None, persona: Persona) -> bool:
    return (
        version is not None
        and version.persona_id == persona.id
        and version.status == VersionStatus.DRAFT.value
        and version.promoted_at is None
    )


def base_draft(session: Session, persona: Persona, entry: DraftEntry) -> PersonaVersion | None:
    """The content an accept would apply to, without creating a draft: the proposal's draft while
    it is editable, else the current draft, else production (an accept copies them first)."""
    named = session.get(PersonaVersion, entry.draft_version_id) if entry.draft_version_id else None
    if named is not None and _editable(named, persona):
        return named
    for version_id in (persona.current_draft_version_id, persona.current_production_version_id):
        if version_id:
            version = session.get(PersonaVersion, version_id)
            if version is not None:
                return version
    return None


def preview(session: Session, persona: Persona, entry: DraftEntry) -> ProposalPreview:
    draft = base_draft(session, persona, entry)
    if draft is None:
        return ProposalPreview(draft_version=None, problem="The persona has no draft to apply it to")
    changes = ResolvedChanges.from_dict(entry.changes)
    current = connections.hydrate(session, draft)
    problem = None
    try:
        proposed = connections.hydrate(session, draft, connections.planned_state(session, draft, changes))
    except DomainError as exc:
        proposed, problem = current, exc.message
    touched = changes.touched()
    fields = [FieldPreview(name, current.get(name), proposed.get(name)) for name in touched]
    stale = stale_fields(session, draft, entry) if entry.status == EntryStatus.DORMANT.value else []
    return ProposalPreview(draft.version_number, fields, stale, problem, _values(current, proposed))
