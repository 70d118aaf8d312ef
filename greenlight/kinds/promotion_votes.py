"""promotion_request.approve / .reject / .withdraw: decisions on a promotion request, applied in
the persona's order like every change (greenlight/reviews/decisions.py)."""

from __future__ import annotations

from typing import TypedDict

from pydantic import BaseModel, ConfigDict, Field

from greenlight.events import EventType
from greenlight.operations.context import ApplyContext
from greenlight.operations.kind import OperationKind
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


PROMOTION_APPROVE = OperationKind(
    name="promotion_request.approve",
    payload=Decision,
    result=RequestResult,
    apply=_approve,
    # The promotion it completes writes its own events, as that promotion's operation.
    emits=(EventType.PROMOTION_REQUEST_APPROVED,),
    title=lambda payload: "Approval of a promotion",
)
PROMOTION_REJECT = OperationKind(
    name="promotion_request.reject",
    payload=Decision,
    result=RequestResult,
    apply=_reject,
    emits=(EventType.PROMOTION_REQUEST_REJECTED,),
    title=lambda payload: "Rejection of a promotion",
)
PROMOTION_WITHDRAW = OperationKind(
    name="promotion_request.withdraw",
    payload=Decision,
    result=RequestResult,
    apply=_withdraw,
    emits=(EventType.PROMOTION_REQUEST_WITHDRAWN,),
    title=lambda payload: "Withdrawal of a promotion request",
)
