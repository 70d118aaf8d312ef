"""Every operation kind and its handler, in one table."""

from __future__ import annotations

from greenlight.errors import Unprocessable
from greenlight.operations.context import Handler
from greenlight.personas import handlers as personas

PERSONA_CREATE = "persona.create"
DRAFT_UPDATE = "draft.update"
PERSONA_PROMOTE = "persona.promote"

HANDLERS: dict[str, Handler] = {
    PERSONA_CREATE: personas.create,
    DRAFT_UPDATE: personas.update_draft,
    PERSONA_PROMOTE: personas.promote,
}


def handler_for(kind: str) -> Handler:
    try:
        return HANDLERS[kind]
    except KeyError:
        raise Unprocessable(f"Unknown operation kind {kind!r}", {"kind": kind}) from None
