"""Field-by-field difference between two versions: content fields and resource slots."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from greenlight.drafts.connections import hydrate
from greenlight.drafts.resources import LIST_SLOTS, SINGLE_SLOTS
from greenlight.models import PersonaVersion
from greenlight.models.personas import CONTENT_FIELDS

SLOT_NAMES = (*(s.slot for s in SINGLE_SLOTS), *(s.slot for s in LIST_SLOTS), "flags")


def diff_versions(session: Session, a: PersonaVersion, b: PersonaVersion) -> dict[str, Any]:
    changes = [
        {"field": name, "from": getattr(a, name), "to": getattr(b, name)}
        for name in CONTENT_FIELDS
        if getattr(a, name) != getattr(b, name)
    ]
    form_a, form_b = hydrate(session, a), hydrate(session, b)
    changes += [
        {"field": slot, "from": form_a[slot], "to": form_b[slot]}
        for slot in SLOT_NAMES
        if form_a[slot] != form_b[slot]
    ]
    return {
        "persona_id": a.persona_id,
        "from_version": a.version_number,
        "to_version": b.version_number,
        "changes": changes,
    }
