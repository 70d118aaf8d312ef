"""draft.update: edit the current draft in place (only the fields sent change)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from greenlight.events import DraftUpdated, EventType
from greenlight.kinds.results import PersonaResult
from greenlight.operations.context import ApplyContext
from greenlight.operations.kind import OperationKind
from greenlight.outbox import emit
from greenlight.personas import service
from greenlight.personas.serialize import persona_to_dict


class UpdateDraft(BaseModel):
    model_config = ConfigDict(frozen=True)

    # The fields to change, as the API validated them (api/schemas.py `DraftUpdate`).
    changes: dict[str, Any] = {}


def apply(ctx: ApplyContext, payload: UpdateDraft) -> PersonaResult:
    persona = ctx.require_persona()
    op = ctx.operation
    draft = service.update_draft(ctx.session, persona, payload.changes)
    ctx.session.flush()
    updated = DraftUpdated.of(draft, None, op.user_id, sorted(payload.changes), op.id)
    emit(ctx.session, persona, updated, op.id)
    return {"persona": persona_to_dict(ctx.session, persona)}


DRAFT_UPDATE = OperationKind(
    name="draft.update",
    payload=UpdateDraft,
    result=PersonaResult,
    apply=apply,
    emits=(EventType.DRAFT_UPDATED,),
)
