"""Operation handlers for personas: the engine calls these inside the applying transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from greenlight import schedules
from greenlight.bulk import Writes
from greenlight.events import DraftUpdated
from greenlight.models import Operation, Persona
from greenlight.operations.context import ApplyContext
from greenlight.outbox import emit
from greenlight.personas import promotion, service
from greenlight.personas.draft_promotion import promote_drafts
from greenlight.personas.serialize import persona_to_dict, version_to_dict


def _promotion_request(op: Operation) -> promotion.PromotionRequest:
    return promotion.PromotionRequest(
        actor_id=op.user_id,
        notes=op.payload.get("notes"),
        operation_id=op.id,
        proposal_id=op.payload.get("proposal_id"),
        expected_production_version_id=op.payload.get("expected_production_version_id"),
    )


def create(ctx: ApplyContext) -> dict[str, Any]:
    op = ctx.operation
    persona = service.create_persona(ctx.session, op.user_id, op.persona_id, op.payload, op.id)
    ctx.persona = persona
    return {"persona": persona_to_dict(ctx.session, persona)}


def update_draft(ctx: ApplyContext) -> dict[str, Any]:
    persona = ctx.require_persona()
    op = ctx.operation
    changes = op.payload.get("changes", {})
    draft = service.update_draft(ctx.session, persona, changes)
    ctx.session.flush()
    emit(ctx.session, persona, DraftUpdated.of(draft, None, op.user_id, sorted(changes), op.id), op.id)
    return {"persona": persona_to_dict(ctx.session, persona)}


def promote(ctx: ApplyContext) -> dict[str, Any]:
    (answer,) = promote_many(ctx.session, ctx.require_persona(), [ctx.operation])
    ctx.production_changed = True
    return answer


def promote_many(
    session: Session, persona: Persona, operations: Sequence[Operation], writes: Writes | None = None
) -> list[dict[str, Any]]:
    """A run of promotions of one persona, in one go (each answer as one at a time would give); its
    rows are added to `writes` when given, else written here."""
    requests = [_promotion_request(op) for op in operations]
    return [{"persona": answer} for answer in promote_drafts(session, persona, requests, writes)]


def publish(ctx: ApplyContext) -> dict[str, Any]:
    persona = ctx.require_persona()
    payload = ctx.operation.payload
    record = promotion.publish_version(
        ctx.session,
        persona,
        int(payload["version"]),
        _promotion_request(ctx.operation),
        description=payload.get("version_description"),
    )
    ctx.production_changed = True
    version = service.get_version(ctx.session, persona, record.version_number)
    return {"persona": persona_to_dict(ctx.session, persona), "version": version_to_dict(version)}


def unarchive(ctx: ApplyContext) -> dict[str, Any]:
    persona = ctx.require_persona()
    version = promotion.unarchive_version(
        ctx.session, persona, int(ctx.operation.payload["version"]), ctx.operation.user_id, ctx.operation.id
    )
    ctx.session.flush()
    return {"persona": persona_to_dict(ctx.session, persona), "version": version_to_dict(version)}


def schedule(ctx: ApplyContext) -> dict[str, Any]:
    persona = ctx.require_persona()
    payload = ctx.operation.payload
    created = schedules.create_schedule(
        ctx.session,
        persona,
        payload["kind"],
        payload["payload"],
        datetime.fromisoformat(payload["run_at"]),
        ctx.operation.id,
    )
    return {"schedule": schedules.schedule_to_dict(created)}


def cancel_schedule(ctx: ApplyContext) -> dict[str, Any]:
    persona = ctx.require_persona()
    cancelled = schedules.cancel_schedule(
        ctx.session, persona, ctx.operation.payload["schedule_id"], ctx.operation.id
    )
    return {"schedule": schedules.schedule_to_dict(cancelled)}
