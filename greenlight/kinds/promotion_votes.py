"""promotion_request.approve / .reject / .withdraw: decisions on a promotion request, applied in
the persona's order like every change (greenlight/reviews/decisions.py)."""

from __future__ import annotations

from typing import TypedDict

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from greenlight.events import EventType
from greenlight.models import Operation, PromotionRequest
from greenlight.models.reviews import RequestStatus
from greenlight.operations.context import ApplyContext
from greenlight.operations.kind import OperationKind, Outcome
from greenlight.reviews import decisions
from greenlight.reviews.views import RequestView, request_view


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    promotion_request_id: str
    comment: str | None = Field(None, max_length=2000)


class RequestResult(TypedDict):
    promotion_request: RequestView


def _approve(ctx: ApplyContext, payload: Decision) -> RequestResult:
    request = decisions.approve(ctx, payload.promotion_request_id, payload.comment)
    return {"promotion_request": request_view(ctx.session, request)}


def _reject(ctx: ApplyContext, payload: Decision) -> RequestResult:
    request = decisions.reject(ctx, payload.promotion_request_id, payload.comment)
    return {"promotion_request": request_view(ctx.session, request)}


def _withdraw(ctx: ApplyContext, payload: Decision) -> RequestResult:
    request = decisions.withdraw(ctx, payload.promotion_request_id)
    return {"promotion_request": request_view(ctx.session, request)}


def _decided(session: Session, op: Operation, payload: Decision) -> Outcome:
    """The console's words for a decision, from the request as it stands now."""
    request = session.get(PromotionRequest, payload.promotion_request_id)
    if request is None:
        return "Done", "Recorded.", None
    words = {
        RequestStatus.APPROVED.value: (
            "Approved",
            "Every required approval is in: the promotion was applied.",
        ),
        RequestStatus.OPEN.value: ("Approved", "Your approval is recorded; the promotion waits for more."),
        RequestStatus.REJECTED.value: ("Rejected", "The promotion will not apply."),
        RequestStatus.WITHDRAWN.value: ("Withdrawn", "The promotion will not apply."),
        RequestStatus.STALE.value: ("Voided", "The draft or production changed: the request is void."),
    }
    title, message = words.get(request.status, ("Done", "Recorded."))
    return title, message, None


PROMOTION_APPROVE = OperationKind(
    name="promotion_request.approve",
    payload=Decision,
    result=RequestResult,
    apply=_approve,
    # The promotion it completes writes its own events, as that promotion's operation.
    emits=(EventType.PROMOTION_REQUEST_APPROVED,),
    title=lambda payload: "Approval of a promotion",
    succeeded=_decided,
)
PROMOTION_REJECT = OperationKind(
    name="promotion_request.reject",
    payload=Decision,
    result=RequestResult,
    apply=_reject,
    emits=(EventType.PROMOTION_REQUEST_REJECTED,),
    title=lambda payload: "Rejection of a promotion",
    succeeded=_decided,
)
PROMOTION_WITHDRAW = OperationKind(
    name="promotion_request.withdraw",
    payload=Decision,
    result=RequestResult,
    apply=_withdraw,
    emits=(EventType.PROMOTION_REQUEST_WITHDRAWN,),
    title=lambda payload: "Withdrawal of a promotion request",
    succeeded=_decided,
)
