"""Personas and versions in the shape of Bland's persona object (seed 000)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from greenlight.clock import isoformat
from greenlight.models import Persona, PersonaVersion, VersionStatus

# Bland calls the published version "production"; the guide's vocabulary is kept in `status`.
VERSION_TYPE = {
    VersionStatus.DRAFT.value: "draft",
    VersionStatus.PUBLISHED.value: "production",
    VersionStatus.ARCHIVED.value: "archived",
}


def version_to_dict(version: PersonaVersion) -> dict[str, Any]:
    return {
        "id": version.id,
        "persona_id": version.persona_id,
        "version_type": VERSION_TYPE[version.status],
        "status": version.status,
        "version_number": version.version_number,
        "orchestration_prompt": version.orchestration_prompt,
        "personality_prompt": version.personality_prompt,
        "pathway_conditions": version.pathway_conditions,
        "kb_ids": list(version.kb_ids or []),
        "call_config": version.call_config,
        "default_tools": list(version.default_tools or []),
        "version_description": version.version_description,
        "promoted_from_version_id": version.promoted_from_version_id,
        "promoted_at": isoformat(version.promoted_at),
        "promoted_by": version.promoted_by,
        "created_at": isoformat(version.created_at),
        "updated_at": isoformat(version.updated_at),
    }


def persona_to_dict(session: Session, persona: Persona) -> dict[str, Any]:
    production = (
        session.get(PersonaVersion, persona.current_production_version_id)
        if (persona.current_production_version_id)
        else None
    )
    draft = (
        session.get(PersonaVersion, persona.current_draft_version_id)
        if (persona.current_draft_version_id)
        else None
    )
    return persona_view(persona, production, draft)


def persona_view(
    persona: Persona, production: PersonaVersion | None, draft: PersonaVersion | None
) -> dict[str, Any]:
    """The persona object with the given production and draft versions (already at hand)."""
    return {
        "id": persona.id,
        "name": persona.name,
        "role": persona.role,
        "description": persona.description,
        "tags": list(persona.tags or []),
        "image_url": persona.image_url,
        "created_at": isoformat(persona.created_at),
        "updated_at": isoformat(persona.updated_at),
        "deleted_at": isoformat(persona.deleted_at),
        "user_id": persona.user_id,
        "current_production_version_id": persona.current_production_version_id,
        "current_draft_version_id": persona.current_draft_version_id,
        "current_production_version": version_to_dict(production) if production else None,
        "current_draft_version": version_to_dict(draft) if draft else None,
    }
