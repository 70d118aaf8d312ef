"""Field-by-field difference between two versions' content."""

from __future__ import annotations

from typing import Any

from greenlight.models import PersonaVersion
from greenlight.models.personas import CONTENT_FIELDS


def diff_versions(a: PersonaVersion, b: PersonaVersion) -> dict[str, Any]:
    changes = [
        {"field": name, "from": getattr(a, name), "to": getattr(b, name)}
        for name in CONTENT_FIELDS
        if getattr(a, name) != getattr(b, name)
    ]
    return {
        "persona_id": a.persona_id,
        "from_version": a.version_number,
        "to_version": b.version_number,
        "changes": changes,
    }
