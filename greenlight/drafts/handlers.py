"""Operation handlers for composable drafts (seed 002)."""

from __future__ import annotations

from typing import Any

from greenlight.drafts import service
from greenlight.drafts.resources import ResolvedChanges
from greenlight.operations.context import ApplyContext
from greenlight.settings import get_settings


def create(ctx: ApplyContext) -> dict[str, Any]:
    op = ctx.operation
    changes = ResolvedChanges.from_dict(op.payload["changes"])
    persona, draft, entry = service.create(ctx.session, op.user_id, op.persona_id, op.id, changes)
    ctx.persona = persona
    return {"draft": service.answer(entry, draft, "Draft created", ctx.session)}


def patch(ctx: ApplyContext) -> dict[str, Any]:
    persona = ctx.require_persona()
    op = ctx.operation
    entry, draft, message = service.patch(
        ctx.session,
        persona,
        op.id,
        op.payload.get("draft_id"),
        ResolvedChanges.from_dict(op.payload["changes"]),
        soft=bool(op.payload.get("soft")),
        proposal_ttl_seconds=get_settings().proposal_ttl_seconds,
    )
    return {"draft": service.answer(entry, draft, message, ctx.session)}


def ack(ctx: ApplyContext) -> dict[str, Any]:
    persona = ctx.require_persona()
    op = ctx.operation
    entry, draft, message = service.ack(
        ctx.session,
        persona,
        op.user_id,
        op.id,
        op.payload["entry_id"],
        bool(op.payload["accept"]),
        op.payload.get("reason"),
        bool(op.payload.get("force")),
    )
    return {"draft": service.answer(entry, draft, message, ctx.session)}
