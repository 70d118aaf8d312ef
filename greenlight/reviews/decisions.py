"""Votes and withdrawals, applied as operations in the persona's order (the persona is locked).

The approval that completes a request applies the promotion it approved right there, in the same
transaction, exactly as the engine would have applied it without review: its own kind's apply,
its own result and events, on the content that was approved (any change since voided the request).
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy.orm import Session

from greenlight import audit
from greenlight.access import Permission
from greenlight.clock import utcnow
from greenlight.errors import Conflict, DomainError
from greenlight.events import PromotionRequestApproved, PromotionRequestRejected, PromotionRequestWithdrawn
from greenlight.models import Operation, OperationStatus, PromotionRequest
from greenlight.models.reviews import RequestStatus, Vote
from greenlight.operations.context import ApplyContext
from greenlight.outbox import emit
from greenlight.reviews.requests import (
    cast_vote,
    check_open,
    check_self_approval,
    close,
    locked_request,
    request_closed,
)
from greenlight.reviews.views import get_request


def approve(ctx: ApplyContext, request_id: str, comment: str | None) -> PromotionRequest:
    persona, op = ctx.require_persona(), ctx.operation
    request = locked_request(ctx.session, persona, request_id)
    tally = cast_vote(ctx.session, request, op, Vote.APPROVE, comment)
    approved = PromotionRequestApproved(
        promotion_request_id=request.id,
        version=request.version_number,
        operation_id=op.id,
        approved_by=op.user_id,
        approvals=tally.approvals,
        required_approvals=request.required_approvals,
    )
    emit(ctx.session, persona, approved, op.id)
    if tally.approvals >= request.required_approvals:
        close(ctx.session, persona, request, RequestStatus.APPROVED, None)
        _apply_parked(ctx, request)
    return request


def _apply_parked(ctx: ApplyContext, request: PromotionRequest) -> None:
    """The approved promotion, applied now; if its kind refuses it (production moved under a
    compare-and-swap, say), that refusal is its outcome and the approval still stands."""
    assert ctx.kinds is not None  # the engine gives them
    parked = ctx.session.get(Operation, request.operation_id, with_for_update=True)
    if parked is None or parked.status != OperationStatus.AWAITING_APPROVAL.value:
        return
    parked_ctx = ApplyContext(ctx.session, parked, ctx.persona, kinds=ctx.kinds)
    now = utcnow()
    try:
        with ctx.session.begin_nested():
            parked.result = ctx.kinds.get(parked.kind).run(parked_ctx)
        parked.status = OperationStatus.SUCCEEDED.value
        audit.operation_settled(ctx.session, parked, parked.result)
    except DomainError as refused:
        parked.status, parked.error = OperationStatus.FAILED.value, refused.as_dict()
        audit.operation_settled(ctx.session, parked, None, refused)
    parked.finished_at = parked.updated_at = now
    parked.attempts = max(parked.attempts, 1)
    ctx.production_changed = ctx.production_changed or parked_ctx.production_changed


def reject(ctx: ApplyContext, request_id: str, reason: str | None) -> PromotionRequest:
    persona, op = ctx.require_persona(), ctx.operation
    request = locked_request(ctx.session, persona, request_id)
    cast_vote(ctx.session, request, op, Vote.REJECT, reason)
    refused = Conflict(
        "The promotion was rejected by a reviewer",
        {"promotion_request_id": request.id, "reason": reason},
        code="PROMOTION_REJECTED",
    )
    close(ctx.session, persona, request, RequestStatus.REJECTED, refused, reason=reason)
    rejected = PromotionRequestRejected(
        promotion_request_id=request.id,
        version=request.version_number,
        operation_id=op.id,
        rejected_by=op.user_id,
        reason=reason,
    )
    emit(ctx.session, persona, rejected, op.id)
    return request


def withdraw(ctx: ApplyContext, request_id: str) -> PromotionRequest:
    persona, op = ctx.require_persona(), ctx.operation
    request = locked_request(ctx.session, persona, request_id)
    if request.status != RequestStatus.OPEN.value:
        raise request_closed(request)
    ensure_requester(request, op.user_id)
    withdrawn = Conflict(
        "The promotion was withdrawn by its requester",
        {"promotion_request_id": request.id},
        code="PROMOTION_WITHDRAWN",
    )
    close(ctx.session, persona, request, RequestStatus.WITHDRAWN, withdrawn)
    event = PromotionRequestWithdrawn(
        promotion_request_id=request.id, version=request.version_number, operation_id=op.id
    )
    emit(ctx.session, persona, event, op.id)
    return request


def ensure_requester(request: PromotionRequest, user_id: str) -> None:
    if request.requested_by != user_id:
        raise NotTheRequester(
            "Only the member who requested this promotion may withdraw it",
            {"promotion_request_id": request.id},
        )


class NotTheRequester(DomainError):
    kind = "forbidden"
    code = "FORBIDDEN"


Action = Literal["approve", "reject", "withdraw"]
# What each decision needs of its member's role: a reviewer votes; whoever could ask may withdraw.
NEEDS: dict[Action, Permission] = {
    "approve": Permission.REVIEW,
    "reject": Permission.REVIEW,
    "withdraw": Permission.EDIT,
}


def persona_to_decide(
    session: Session, workspace_id: str, user_id: str, request_id: str, action: Action
) -> str:
    """The request's persona, once what can be refused before anything is recorded is refused: a
    request of another workspace (404), a closed or stale one (409), one's own approval (403), a
    withdrawal by someone else (403). Applying the decision checks them again, in order."""
    request = get_request(session, workspace_id, request_id)
    check_open(request)
    if action == "approve":
        check_self_approval(request, user_id)
    elif action == "withdraw":
        ensure_requester(request, user_id)
    return request.persona_id
