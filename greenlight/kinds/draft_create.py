"""draft.create: a composable draft with no draft_id makes a new persona whose first draft carries
the patch (seed 002); applied within its request, like persona.create."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from greenlight.drafts import service
from greenlight.drafts.resources import ResolvedChanges
from greenlight.events import EventType
from greenlight.kinds.results import DraftResult
from greenlight.operations.context import ApplyContext
from greenlight.operations.kind import OperationKind


class CreateDraft(BaseModel):
    model_config = ConfigDict(frozen=True)

    # The patch with its resources resolved (`ResolvedChanges.as_dict`): server-made ids, so the
    # request's identity for idempotency is the request as sent, given by the caller.
    changes: dict[str, Any]


def apply(ctx: ApplyContext, payload: CreateDraft) -> DraftResult:
    op = ctx.operation
    changes = ResolvedChanges.from_dict(payload.changes)
    persona, draft, entry = service.create(ctx.session, op, op.persona_id, op.id, changes)
    ctx.persona = persona
    return {"draft": service.answer(entry, draft, "Draft created", ctx.session)}


DRAFT_CREATE = OperationKind(
    name="draft.create",
    payload=CreateDraft,
    result=DraftResult,
    apply=apply,
    emits=(EventType.PERSONA_CREATED, EventType.DRAFT_UPDATED),
)
