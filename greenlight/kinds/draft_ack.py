"""draft.ack: accept or reject a dormant proposal. Acks wait on their own queue, so a backlog of
edits never delays a decision."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from greenlight.drafts import service
from greenlight.events import EventType
from greenlight.kinds.results import DraftResult
from greenlight.models import Operation
from greenlight.operations.context import ApplyContext
from greenlight.operations.internal_keys import ack_key
from greenlight.operations.kind import OperationKind, Outcome
from greenlight.operations.query import get_operation
from greenlight.operations.submit import Submission
from greenlight.queues import Queue


class AckProposal(BaseModel):
    model_config = ConfigDict(frozen=True)

    entry_id: str
    accept: bool
    reason: str | None = None
    force: bool = False


def apply(ctx: ApplyContext, payload: AckProposal) -> DraftResult:
    persona = ctx.require_persona()
    op = ctx.operation
    entry, draft, message = service.ack(
        ctx.session,
        persona,
        op.user_id,
        op.id,
        payload.entry_id,
        payload.accept,
        payload.reason,
        payload.force,
    )
    return {"draft": service.answer(entry, draft, message, ctx.session)}


def identity(payload: AckProposal) -> dict[str, Any]:
    """The reason is not part of the decision: acks that differ only by it are one request."""
    return {"entry_id": payload.entry_id, "accept": payload.accept, "force": payload.force}


def succeeded(session: Session, op: Operation, payload: AckProposal) -> Outcome:
    if payload.accept:
        return "Proposal accepted", "Its changes are in the draft now.", None
    return "Proposal rejected", "The draft is unchanged.", None


DRAFT_ACK = OperationKind(
    name="draft.ack",
    payload=AckProposal,
    result=DraftResult,
    apply=apply,
    queue=Queue.ACKS,
    emits=(EventType.DRAFT_ACCEPTED, EventType.DRAFT_REJECTED),
    identity=identity,
    title=lambda payload: "Accepting the proposal" if payload.accept else "Rejecting the proposal",
    succeeded=succeeded,
)


def request_ack(session: Session, workspace_id: str, payload: AckProposal) -> Operation | Submission:
    """An ack of the caller's proposal: the operation that made this very decision when it was
    already made (answered like any replay), a 409 when the opposite one was, else the request to
    submit (concurrent identical acks share a key: one operation, one effect, one answer)."""
    entry = service.get_entry(session, workspace_id, payload.entry_id)
    conflict = service.recorded_conflict(entry, payload.accept)
    if conflict is not None:
        raise conflict
    if entry.status in service.DECIDED and entry.decision_operation_id:
        return get_operation(session, workspace_id, entry.decision_operation_id)
    key = ack_key(payload.entry_id, payload.accept, payload.force)
    return DRAFT_ACK.submission(payload, entry.persona_id, key)
