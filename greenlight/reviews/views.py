"""Promotion requests read back: one with its votes, and a workspace's, filtered and paged."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenlight.clock import isoformat
from greenlight.errors import NotFound
from greenlight.models import PromotionRequest, PromotionVote
from greenlight.models.reviews import Vote

MAX_PAGE = 100


class VoteView(TypedDict):
    user_id: str
    vote: str
    comment: str | None
    created_at: str | None


class RequestView(TypedDict):
    id: str
    persona_id: str
    environment: str
    status: str
    operation_id: str
    version: int
    version_id: str
    content_digest: str
    production_version_id: str | None
    requested_by: str
    required_approvals: int
    allow_self_approval: bool
    approvals: int
    votes: list[VoteView]
    reason: str | None
    created_at: str | None
    decided_at: str | None


def request_view(session: Session, request: PromotionRequest) -> RequestView:
    votes = list(
        session.scalars(
            select(PromotionVote)
            .where(PromotionVote.request_id == request.id)
            .order_by(PromotionVote.created_at)
        )
    )
    return {
        "id": request.id,
        "persona_id": request.persona_id,
        "environment": request.environment,
        "status": request.status,
        "operation_id": request.operation_id,
        "version": request.version_number,
        "version_id": request.version_id,
        "content_digest": request.content_digest,
        "production_version_id": request.production_version_id,
        "requested_by": request.requested_by,
        "required_approvals": request.required_approvals,
        "allow_self_approval": request.allow_self_approval,
        "approvals": sum(1 for vote in votes if vote.vote == Vote.APPROVE.value),
        "votes": [
            {
                "user_id": v.user_id,
                "vote": v.vote,
                "comment": v.comment,
                "created_at": isoformat(v.created_at),
            }
            for v in votes
        ],
        "reason": request.reason,
        "created_at": isoformat(request.created_at),
        "decided_at": isoformat(request.decided_at),
    }


def get_request(session: Session, workspace_id: str, request_id: str) -> PromotionRequest:
    """The workspace's request; another workspace's is not found, exactly like a missing one."""
    request = session.scalar(
        select(PromotionRequest).where(
            PromotionRequest.id == request_id, PromotionRequest.workspace_id == workspace_id
        )
    )
    if request is None:
        raise NotFound("Promotion request not found", {"promotion_request_id": request_id})
    return request


def list_requests(
    session: Session,
    workspace_id: str,
    *,
    status: str | None = None,
    persona_id: str | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int = 50,
) -> list[PromotionRequest]:
    """Newest first; ``after`` (the last one's ``created_at`` and id) pages back."""
    query = select(PromotionRequest).where(PromotionRequest.workspace_id == workspace_id)
    if status is not None:
        query = query.where(PromotionRequest.status == status)
    if persona_id is not None:
        query = query.where(PromotionRequest.persona_id == persona_id)
    if after is not None:
        at, last_id = after
        query = query.where(
            (PromotionRequest.created_at < at)
            | ((PromotionRequest.created_at == at) & (PromotionRequest.id < last_id))
        )
    query = query.order_by(PromotionRequest.created_at.desc(), PromotionRequest.id.desc())
    return list(session.scalars(query.limit(max(1, min(limit, MAX_PAGE)))))


class Approval(TypedDict):
    user_id: str
    comment: str | None
    approved_at: str | None


class Review(TypedDict):
    """Who asked for a promotion, who approved it and who applied it (the last approver)."""

    promotion_request_id: str
    requested_by: str
    approvals: list[Approval]
    applied_by: str | None


def reviews_of(session: Session, operation_ids: list[str]) -> dict[str, Review]:
    """The reviews of the promotions these operations made, by operation id (unreviewed: absent)."""
    if not operation_ids:
        return {}
    found = list(
        session.scalars(select(PromotionRequest).where(PromotionRequest.operation_id.in_(operation_ids)))
    )
    if not found:
        return {}
    votes = session.scalars(
        select(PromotionVote)
        .where(PromotionVote.request_id.in_([request.id for request in found]))
        .where(PromotionVote.vote == Vote.APPROVE.value)
        .order_by(PromotionVote.created_at, PromotionVote.id)
    )
    approvals: dict[str, list[Approval]] = {request.id: [] for request in found}
    for vote in votes:
        approval: Approval = {
            "user_id": vote.user_id,
            "comment": vote.comment,
            "approved_at": isoformat(vote.created_at),
        }
        approvals[vote.request_id].append(approval)
    return {
        request.operation_id: {
            "promotion_request_id": request.id,
            "requested_by": request.requested_by,
            "approvals": approvals[request.id],
            "applied_by": approvals[request.id][-1]["user_id"] if approvals[request.id] else None,
        }
        for request in found
    }
