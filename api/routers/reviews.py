"""Review policies and promotion requests: who must approve a promotion before it applies."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from api.deps import (
    Admin,
    IdempotencyKey,
    PreferHeader,
    Reader,
    Waiter,
    in_transaction,
    wait_seconds,
)
from api.outcomes import envelope, respond
from api.responses import ACCEPTED, READ_ERRORS, WRITE_ERRORS, envelope_of, error_responses
from api.submitting import submit_decision, submit_for_persona
from greenlight.keys import Principal
from greenlight.kinds.promotion_votes import PROMOTION_APPROVE, PROMOTION_REJECT, PROMOTION_WITHDRAW, Decision
from greenlight.kinds.review_policy_set import REVIEW_POLICY_SET, ReviewPolicyBody
from greenlight.models.reviews import RequestStatus
from greenlight.operations.kind import OperationKind
from greenlight.paging import decode_cursor, encode_cursor
from greenlight.personas.service import get_owned_persona
from greenlight.reviews.policy import policy_of
from greenlight.reviews.views import RequestView, get_request, list_requests, request_view
from greenlight.settings import get_settings

router = APIRouter(tags=["reviews"])


class ReviewPolicyObject(BaseModel):
    persona_id: str
    required_approvals: int = Field(description="Approvals a promotion needs before it applies (0: none)")
    allow_self_approval: bool = Field(description="Whether the requester's own approval counts")


class ApproveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(None, max_length=2000, description="Shown with the approval in history")


class RejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=2000)


ReviewPolicyEnvelope = envelope_of("ReviewPolicy", ReviewPolicyObject, "A persona's review policy.")
PromotionRequestEnvelope = envelope_of(
    "PromotionRequest",
    dict[str, Any],
    "`{id, persona_id, environment, status, operation_id, version, version_id, content_digest, "
    "production_version_id, requested_by, required_approvals, allow_self_approval, approvals, "
    "votes: [{user_id, vote, comment, created_at}], reason, created_at, decided_at}`.",
)
PromotionRequestPageEnvelope = envelope_of(
    "PromotionRequestPage", dict[str, Any], "`{items: [promotion request], next_cursor}`, newest first."
)
DECIDED = {200: {"model": PromotionRequestEnvelope, "description": "Recorded: the request as it stands now"}}


def _read_policy(session: Session, workspace_id: str, persona_id: str) -> dict[str, Any]:
    persona = get_owned_persona(session, workspace_id, persona_id)
    policy = policy_of(persona)
    return {
        "persona_id": persona.id,
        "required_approvals": policy.required_approvals,
        "allow_self_approval": policy.allow_self_approval,
    }


@router.get(
    "/v1/personas/{persona_id}/review-policy",
    summary="The persona's review policy",
    operation_id="getReviewPolicy",
    response_model=ReviewPolicyEnvelope,
    responses=READ_ERRORS,
)
async def read_review_policy(persona_id: str, principal: Reader) -> Response:
    return envelope(await in_transaction(_read_policy, principal.workspace_id, persona_id))


@router.put(
    "/v1/personas/{persona_id}/review-policy",
    summary="Require approvals before the persona's promotions apply",
    description="Applied in the persona's order like every change. With `required_approvals` above 0, "
    "every path to production (promote, publish, Retell's publish, a rollback, a due schedule) records a "
    "promotion request instead of applying. Waits for the outcome by default.",
    operation_id="setReviewPolicy",
    response_model=ReviewPolicyEnvelope,
    responses=ACCEPTED | WRITE_ERRORS,
)
async def set_review_policy(
    request: Request,
    persona_id: str,
    body: ReviewPolicyBody,
    principal: Admin,
    waiter: Waiter,
    idempotency_key: IdempotencyKey = None,
    prefer: PreferHeader = None,
) -> Response:
    op = await submit_for_persona(principal, persona_id, REVIEW_POLICY_SET, body, idempotency_key)
    wait = wait_seconds(prefer, get_settings().default_wait_seconds)
    return await respond(request, principal, op, wait, lambda r: envelope(r.get("review_policy")), waiter)


def _page(
    session: Session,
    workspace_id: str,
    status: RequestStatus | None,
    persona_id: str | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    if persona_id is not None:
        get_owned_persona(session, workspace_id, persona_id)  # someone else's: 404, like a missing one
    after = decode_cursor(cursor) if cursor else None
    found = list_requests(
        session,
        workspace_id,
        status=status.value if status else None,
        persona_id=persona_id,
        after=after,
        limit=limit,
    )
    items: list[RequestView] = [request_view(session, request) for request in found]
    last = found[-1] if len(found) == limit else None
    return {"items": items, "next_cursor": encode_cursor(last.created_at, last.id) if last else None}


@router.get(
    "/v1/promotion-requests",
    summary="Promotion requests of the workspace, newest first",
    operation_id="listPromotionRequests",
    response_model=PromotionRequestPageEnvelope,
    responses=READ_ERRORS | error_responses(400),
)
async def list_promotion_requests(
    principal: Reader,
    status: Annotated[RequestStatus | None, Query()] = None,
    persona_id: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page")] = None,
) -> Response:
    page = await in_transaction(_page, principal.workspace_id, status, persona_id, limit, cursor)
    return envelope(page)


def _read_request(session: Session, workspace_id: str, request_id: str) -> RequestView:
    return request_view(session, get_request(session, workspace_id, request_id))


@router.get(
    "/v1/promotion-requests/{request_id}",
    summary="One promotion request with its votes",
    operation_id="getPromotionRequest",
    response_model=PromotionRequestEnvelope,
    responses=READ_ERRORS,
)
async def read_promotion_request(request_id: str, principal: Reader) -> Response:
    return envelope(await in_transaction(_read_request, principal.workspace_id, request_id))


async def _decide(
    request: Request,
    principal: Principal,
    waiter: Waiter,
    kind: OperationKind[Decision, Any],
    decision: Decision,
    idempotency_key: str | None,
    prefer: str | None,
) -> Response:
    op = await submit_decision(principal, decision.promotion_request_id, kind, decision, idempotency_key)
    wait = wait_seconds(prefer, get_settings().default_wait_seconds)
    return await respond(request, principal, op, wait, lambda r: envelope(r.get("promotion_request")), waiter)


@router.post(
    "/v1/promotion-requests/{request_id}/approve",
    summary="Approve a promotion request (the last approval applies the promotion)",
    operation_id="approvePromotionRequest",
    response_model=PromotionRequestEnvelope,
    responses=DECIDED | ACCEPTED | WRITE_ERRORS,
)
async def approve_promotion_request(
    request: Request,
    request_id: str,
    principal: Reader,  # a reviewer's, checked with the decision: api/submitting.py
    waiter: Waiter,
    body: ApproveBody | None = Body(default=None),
    idempotency_key: IdempotencyKey = None,
    prefer: PreferHeader = None,
) -> Response:
    decision = Decision(promotion_request_id=request_id, comment=(body or ApproveBody()).comment)
    return await _decide(request, principal, waiter, PROMOTION_APPROVE, decision, idempotency_key, prefer)


@router.post(
    "/v1/promotion-requests/{request_id}/reject",
    summary="Reject a promotion request (its promotion fails with PROMOTION_REJECTED)",
    operation_id="rejectPromotionRequest",
    response_model=PromotionRequestEnvelope,
    responses=DECIDED | ACCEPTED | WRITE_ERRORS,
)
async def reject_promotion_request(
    request: Request,
    request_id: str,
    principal: Reader,  # a reviewer's, checked with the decision: api/submitting.py
    waiter: Waiter,
    body: RejectBody | None = Body(default=None),
    idempotency_key: IdempotencyKey = None,
    prefer: PreferHeader = None,
) -> Response:
    decision = Decision(promotion_request_id=request_id, comment=(body or RejectBody()).reason)
    return await _decide(request, principal, waiter, PROMOTION_REJECT, decision, idempotency_key, prefer)


@router.post(
    "/v1/promotion-requests/{request_id}/withdraw",
    summary="Withdraw your own promotion request",
    operation_id="withdrawPromotionRequest",
    response_model=PromotionRequestEnvelope,
    responses=DECIDED | ACCEPTED | WRITE_ERRORS,
)
async def withdraw_promotion_request(
    request: Request,
    request_id: str,
    principal: Reader,  # its requester's, checked with the decision: api/submitting.py
    waiter: Waiter,
    idempotency_key: IdempotencyKey = None,
    prefer: PreferHeader = None,
) -> Response:
    decision = Decision(promotion_request_id=request_id)
    return await _decide(request, principal, waiter, PROMOTION_WITHDRAW, decision, idempotency_key, prefer)
