"""Every operation kind and its handler, in one table."""

from __future__ import annotations

from greenlight.errors import Unprocessable
from greenlight.operations.context import Handler

PERSONA_CREATE = "persona.create"
DRAFT_UPDATE = "draft.update"
PERSONA_PROMOTE = "persona.promote"
VERSION_PUBLISH = "version.publish"
VERSION_UNARCHIVE = "version.unarchive"
PROMOTION_SCHEDULE = "promotion.schedule"
PROMOTION_CANCEL = "promotion.cancel"
DRAFT_CREATE = "draft.create"
DRAFT_PATCH = "draft.patch"
DRAFT_ACK = "draft.ack"

# Kinds a schedule may run later.
SCHEDULABLE = (PERSONA_PROMOTE, VERSION_PUBLISH)


def _handlers() -> dict[str, Handler]:
    # Imported here: handler modules import the domain services, which import this table's users.
    from greenlight.drafts import handlers as drafts
    from greenlight.personas import handlers as personas

    return {
        PERSONA_CREATE: personas.create,
        DRAFT_UPDATE: personas.update_draft,
        PERSONA_PROMOTE: personas.promote,
        VERSION_PUBLISH: personas.publish,
        VERSION_UNARCHIVE: personas.unarchive,
        PROMOTION_SCHEDULE: personas.schedule,
        PROMOTION_CANCEL: personas.cancel_schedule,
        DRAFT_CREATE: drafts.create,
        DRAFT_PATCH: drafts.patch,
        DRAFT_ACK: drafts.ack,
    }


_table: dict[str, Handler] = {}


def handler_for(kind: str) -> Handler:
    if not _table:
        _table.update(_handlers())
    try:
        return _table[kind]
    except KeyError:
        raise Unprocessable(f"Unknown operation kind {kind!r}", {"kind": kind}) from None
