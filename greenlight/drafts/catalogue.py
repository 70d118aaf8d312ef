"""The flag catalogue: flag options have a type and a value; the server derives their meaning.

Option ids are stable (uuid5 of type and value), the same on every installation, so
clients may hard-code them; the migration seeds them and `ensure_catalogue` keeps them.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenlight.models import Resource
from greenlight.upsert import insert_missing

NAMESPACE = uuid.UUID("6f1c4f5e-4c1b-4d2a-9a51-0b7f3e0c2a11")
FLAG_KIND = "flag"
PERSONA_ACTIVE = "persona_active"


@dataclass(frozen=True)
class FlagType:
    name: str
    values: tuple[str, ...]
    default: str
    description: str


CATALOGUE: tuple[FlagType, ...] = (
    FlagType(PERSONA_ACTIVE, ("true", "false"), "true", "Whether the persona takes conversations"),
    FlagType("tone", ("professional", "friendly", "casual"), "professional", "Conversational register"),
    FlagType("language", ("en", "es", "fr", "de", "pt"), "en", "Primary language"),
    FlagType("call_recording", ("on", "off"), "off", "Record calls handled by the persona"),
    FlagType("transfer_allowed", ("true", "false"), "true", "May transfer a call to a human"),
    FlagType("interruptible", ("true", "false"), "true", "Caller may interrupt the agent"),
)


def option_id(flag_type: str, value: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"flag:{flag_type}:{value}"))


def option_value(flag_type: str, value: str) -> str:
    return f"{flag_type}={value}"


def value_hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def all_options() -> list[dict[str, str]]:
    return [
        {"id": option_id(t.name, v), "type": t.name, "value": v, "description": t.description}
        for t in CATALOGUE
        for v in t.values
    ]


def ensure_catalogue(session: Session) -> None:
    """Insert any catalogue option missing from the database (new options in new releases)."""
    present = set(session.scalars(select(Resource.id).where(Resource.kind == FLAG_KIND)))
    for option in all_options():
        if option["id"] not in present:
            value = option_value(option["type"], option["value"])
            # Two processes migrating at once both insert the new options: the second leaves them.
            row = {
                "id": option["id"],
                "user_id": None,
                "kind": FLAG_KIND,
                "value": value,
                "value_hash": value_hash(value),
                "meta": {"type": option["type"], "value": option["value"]},
            }
            insert_missing(session, Resource, row, ("id",))
