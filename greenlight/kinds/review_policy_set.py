"""review_policy.set: how many approvals the persona's promotions need from now on, in its order."""

from __future__ import annotations

from typing import TypedDict

from pydantic import BaseModel, ConfigDict, Field

from greenlight.events import EventType, ReviewPolicyUpdated
from greenlight.operations.context import ApplyContext
from greenlight.operations.kind import OperationKind
from greenlight.outbox import emit
from greenlight.reviews.policy import MAX_APPROVALS, Policy, set_policy


class ReviewPolicyBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    required_approvals: int = Field(
        0, ge=0, le=MAX_APPROVALS, description="Approvals a promotion needs; 0 applies promotions at once"
    )
    allow_self_approval: bool = Field(False, description="Whether a requester's own approval counts")


class PolicyView(TypedDict):
    persona_id: str
    required_approvals: int
    allow_self_approval: bool


class PolicyResult(TypedDict):
    review_policy: PolicyView


def apply(ctx: ApplyContext, payload: ReviewPolicyBody) -> PolicyResult:
    persona = ctx.require_persona()
    set_policy(persona, Policy(payload.required_approvals, payload.allow_self_approval))
    updated = ReviewPolicyUpdated(
        required_approvals=payload.required_approvals,
        allow_self_approval=payload.allow_self_approval,
        operation_id=ctx.operation.id,
    )
    emit(ctx.session, persona, updated, ctx.operation.id)
    view: PolicyView = {
        "persona_id": persona.id,
        "required_approvals": payload.required_approvals,
        "allow_self_approval": payload.allow_self_approval,
    }
    return {"review_policy": view}


REVIEW_POLICY_SET = OperationKind(
    name="review_policy.set",
    payload=ReviewPolicyBody,
    result=PolicyResult,
    apply=apply,
    emits=(EventType.REVIEW_POLICY_UPDATED,),
    title=lambda payload: f"Review policy: {payload.required_approvals} approval(s)",
)
