"""Every operation kind and its handler, in one table."""

from __future__ import annotations

from greenlight.errors import Unprocessable
from greenlight.operations.context import BatchHandler, Handler

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


def _batch_handlers() -> dict[str, BatchHandler]:
    from greenlight.personas import handlers as personas

    return {PERSONA_PROMOTE: personas.promote_many}


_table: dict[str, Handler] = {}
_batch_table: dict[str, BatchHandler] = {}


def handler_for(kind: str) -> Handler:
    if not _table:
        _table.update(_handlers())
    try:
        return _table[kind]
    except KeyError:
        raise Unprocessable(f"Unknown operation kind {kind!r}", {"kind": kind}) from None


def batch_handler_for(kind: str) -> BatchHandler | None:
    """The handler that applies a run of this kind's operations of one persona in one go, if any.

    It must leave exactly what applying them one by one would, and refuse (a DomainError, nothing
    written) if any of them would be refused: the engine then applies them one by one.
    """
    if not _batch_table:
        _batch_table.update(_batch_handlers())
    return _batch_table.get(kind)
