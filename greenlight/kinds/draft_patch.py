"""draft.patch: a composable patch of an existing draft, or a soft proposal staged dormant."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from greenlight.drafts import service
from greenlight.drafts.resources import ResolvedChanges, resolve
from greenlight.errors import Unprocessable
from greenlight.events import EventType
from greenlight.kinds.draft_create import DRAFT_CREATE, CreateDraft
from greenlight.kinds.results import DraftResult
from greenlight.operations.context import ApplyContext
from greenlight.operations.kind import OperationKind
from greenlight.operations.submit import Submission
from greenlight.settings import get_settings
from greenlight.tenancy import Actor


class PatchDraft(BaseModel):
    model_config = ConfigDict(frozen=True)

    # The draft named by the request (the current one when it is no longer editable).
    draft_id: str | None = None
    # Resolved as for draft.create (`ResolvedChanges.as_dict`).
    changes: dict[str, Any]
    soft: bool = False


def apply(ctx: ApplyContext, payload: PatchDraft) -> DraftResult:
    persona = ctx.require_persona()
    entry, draft, message = service.patch(
        ctx.session,
        persona,
        ctx.operation,
        payload.draft_id,
        ResolvedChanges.from_dict(payload.changes),
        soft=payload.soft,
        proposal_ttl_seconds=get_settings().proposal_ttl_seconds,
    )
    return {"draft": service.answer(entry, draft, message, ctx.session)}


DRAFT_PATCH = OperationKind(
    name="draft.patch",
    payload=PatchDraft,
    result=DraftResult,
    apply=apply,
    emits=(EventType.DRAFT_UPDATED, EventType.DRAFT_PROPOSED),
)


def request_patch(
    session: Session,
    actor: Actor,
    draft_id: str | None,
    soft: bool,
    fields: dict[str, Any],
    identity: dict[str, Any],
    idempotency_key: str | None,
) -> tuple[Submission, bool]:
    """A composable patch: of the caller's draft `draft_id` (queued), or, with no draft_id, a new
    persona whose first draft carries it (True: applied within its request). Its resources are
    resolved here, so the request's identity for idempotency is the request as sent."""
    if draft_id is None:
        if soft:
            raise Unprocessable(
                "soft needs draft_id: a proposal is made against an existing draft", code="SOFT_NEEDS_DRAFT"
            )
        changes = resolve(session, actor, fields).as_dict()
        create = CreateDraft(changes=changes)
        return DRAFT_CREATE.submission(create, idempotency_key=idempotency_key, identity=identity), True
    persona_id = service.owned_draft(session, actor.workspace_id, draft_id).persona_id
    changes = resolve(session, actor, fields).as_dict()
    patch = PatchDraft(draft_id=draft_id, changes=changes, soft=soft)
    return DRAFT_PATCH.submission(patch, persona_id, idempotency_key, identity=identity), False
