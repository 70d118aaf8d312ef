"""A version's content digest: what an approval, or a check, is for.

Two versions with the same content fields and the same resources in the same slots have the same
digest, whatever their ids, numbers or times; any edit of either changes it.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy.orm import Session

from greenlight.drafts.connections import hydrate
from greenlight.models import PersonaVersion
from greenlight.models.personas import CONTENT_FIELDS
from greenlight.personas.diff import SLOT_NAMES


def content_digest(session: Session, version: PersonaVersion) -> str:
    form = hydrate(session, version)
    content = {
        "fields": {name: getattr(version, name) for name in CONTENT_FIELDS},
        "slots": {slot: form[slot] for slot in SLOT_NAMES},
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
