"""Operation handlers for personas: the engine calls these inside the applying transaction."""

from __future__ import annotations

from typing import Any

from greenlight.operations.context import ApplyContext
from greenlight.outbox import emit
from greenlight.personas import service
from greenlight.personas.serialize import persona_to_dict


def create(ctx: ApplyContext) -> dict[str, Any]:
    op = ctx.operation
    persona = service.create_persona(ctx.session, op.user_id, op.persona_id, op.payload)
    ctx.persona = persona
    emit(ctx.session, persona, "persona.created", {"name": persona.name, "operation_id": op.id}, op.id)
    return {"persona": persona_to_dict(ctx.session, persona)}


def update_draft(ctx: ApplyContext) -> dict[str, Any]:
    persona = ctx.require_persona()
    draft = service.update_draft(ctx.session, persona, ctx.operation.payload.get("changes", {}))
    ctx.session.flush()
    emit(
        ctx.session,
        persona,
        "draft.updated",
        {"version_id": draft.id, "version": draft.version_number, "operation_id": ctx.operation.id},
        ctx.operation.id,
    )
    return {"persona": persona_to_dict(ctx.session, persona)}


def promote(ctx: ApplyContext) -> dict[str, Any]:
    persona = ctx.require_persona()
    op = ctx.operation
    service.promote_current_draft(
        ctx.session,
        persona,
        service.PromotionRequest(actor_id=op.user_id, notes=op.payload.get("notes"), operation_id=op.id),
    )
    return {"persona": persona_to_dict(ctx.session, persona)}
