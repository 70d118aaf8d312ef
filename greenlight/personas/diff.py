"""Field-by-field difference between two versions: content fields and resource slots; text
fields also line by line, within the comparison's budget (``line_diff``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from greenlight.drafts.connections import hydrate
from greenlight.drafts.resources import LIST_SLOTS, SINGLE_SLOTS
from greenlight.models import PersonaVersion
from greenlight.models.personas import CONTENT_FIELDS
from greenlight.personas.line_diff import Comparison, compare_texts

SLOT_NAMES = (*(s.slot for s in SINGLE_SLOTS), *(s.slot for s in LIST_SLOTS), "flags")


def diff_versions(session: Session, a: PersonaVersion, b: PersonaVersion) -> dict[str, Any]:
    changes = [
        {"field": name, "from": getattr(a, name), "to": getattr(b, name), **_lines(a, b, name)}
        for name in CONTENT_FIELDS
        if getattr(a, name) != getattr(b, name)
    ]
    form_a, form_b = hydrate(session, a), hydrate(session, b)
    changes += [
        {"field": slot, "from": form_a[slot], "to": form_b[slot], "lines": None, "too_large": None}
        for slot in SLOT_NAMES
        if form_a[slot] != form_b[slot]
    ]
    return {
        "persona_id": a.persona_id,
        "from_version": a.version_number,
        "to_version": b.version_number,
        "changes": changes,
    }


def _lines(a: PersonaVersion, b: PersonaVersion, name: str) -> Comparison:
    """A text field's change line by line; for a field that is not text, neither lines nor a size."""
    old, new = getattr(a, name), getattr(b, name)
    if not isinstance(old, str | None) or not isinstance(new, str | None):
        return {"lines": None, "too_large": None}
    return compare_texts(old or "", new or "")
