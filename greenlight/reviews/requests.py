"""Promotion requests inside the engine's transaction (the persona is locked): opening one for a
promotion whose turn came, voting on it, withdrawing it, and voiding those whose content moved."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenlight import audit
from greenlight.clock import utcnow
from greenlight.errors import Conflict, DomainError, NotFound
from greenlight.events import PromotionRequested, PromotionRequestStale
from greenlight.models import (
    Operation,
    OperationStatus,
    Persona,
    PersonaVersion,
    PromotionRequest,
    PromotionVote,
)
from greenlight.models.personas import VersionStatus
from greenlight.models.reviews import PRODUCTION, RequestStatus, Vote
from greenlight.outbox import emit
from greenlight.personas.digest import content_digest
from greenlight.reviews.policy import Policy


class SelfApprovalNotAllowed(DomainError):
    kind = "forbidden"
    code = "SELF_APPROVAL_NOT_ALLOWED"


def stale_request(request_id: str) -> Conflict:
    return Conflict(
        "The draft or production changed after this promotion was requested: its approvals are void. "
        "Request the promotion again.",
        {"promotion_request_id": request_id},
        code="STALE_REQUEST",
    )


def request_closed(request: PromotionRequest) -> Conflict:
    return Conflict(
        f"This promotion request is {request.status}: it takes no more decisions",
        {"promotion_request_id": request.id, "status": request.status},
        code="REQUEST_CLOSED",
    )


@dataclass(frozen=True)
class Pin:
    """What a request's approvals are for: this version's content, replacing this production."""

    version_id: str
    version_number: int
    content_digest: str
    production_version_id: str | None


def pin_of(session: Session, persona: Persona, version: PersonaVersion) -> Pin:
    return Pin(
        version.id,
        version.version_number,
        content_digest(session, version),
        persona.current_production_version_id,
    )


def open_request(
    session: Session, persona: Persona, op: Operation, pin: Pin, policy: Policy
) -> PromotionRequest:
    """Park ``op`` (its turn came, but approvals are required) behind a new request."""
    request = PromotionRequest(
        workspace_id=op.workspace_id,
        persona_id=persona.id,
        environment=PRODUCTION,
        operation_id=op.id,
        requested_by=op.user_id,
        requested_key_id=op.key_id,
        required_approvals=policy.required_approvals,
        allow_self_approval=policy.allow_self_approval,
        version_id=pin.version_id,
        version_number=pin.version_number,
        content_digest=pin.content_digest,
        production_version_id=pin.production_version_id,
    )
    session.add(request)
    session.flush()
    persona.open_promotion_requests += 1
    requested = PromotionRequested(
        promotion_request_id=request.id,
        version=pin.version_number,
        operation_id=op.id,
        requested_by=op.user_id,
        required_approvals=policy.required_approvals,
    )
    emit(session, persona, requested, op.id)
    return request


def still_pinned(session: Session, persona: Persona, request: PromotionRequest) -> bool:
    if persona.current_production_version_id != request.production_version_id:
        return False
    version = session.get(PersonaVersion, request.version_id)
    if version is None or version.status != VersionStatus.DRAFT.value:
        return False
    return content_digest(session, version) == request.content_digest


def open_requests(session: Session, persona: Persona) -> list[PromotionRequest]:
    if persona.open_promotion_requests <= 0:  # the common case costs no query
        return []
    return list(
        session.scalars(
            select(PromotionRequest)
            .where(
                PromotionRequest.persona_id == persona.id, PromotionRequest.status == RequestStatus.OPEN.value
            )
            .order_by(PromotionRequest.created_at)
            .with_for_update()
        )
    )


def void_moved(session: Session, persona: Persona) -> list[PromotionRequest]:
    """Requests whose draft or production changed since: stale, their operations failed."""
    voided = [
        request for request in open_requests(session, persona) if not still_pinned(session, persona, request)
    ]
    for request in voided:
        close(session, persona, request, RequestStatus.STALE, stale_request(request.id))
        stale = PromotionRequestStale(
            promotion_request_id=request.id, version=request.version_number, operation_id=request.operation_id
        )
        emit(session, persona, stale, None)
    return voided


def close(
    session: Session,
    persona: Persona,
    request: PromotionRequest,
    status: RequestStatus,
    error: DomainError | None,
    reason: str | None = None,
) -> None:
    """End the request; its parked operation ends too (failed with ``error``), unless approved."""
    now = utcnow()
    request.status, request.reason = status.value, reason
    request.decided_at = request.updated_at = now
    persona.open_promotion_requests = max(0, persona.open_promotion_requests - 1)
    if error is None:
        return
    parked = session.get(Operation, request.operation_id, with_for_update=True)
    if parked is not None and parked.status == OperationStatus.AWAITING_APPROVAL.value:
        parked.status = OperationStatus.FAILED.value
        parked.error = error.as_dict()
        parked.finished_at = parked.updated_at = now
        audit.operation_settled(session, parked, None, error)


def locked_request(session: Session, persona: Persona, request_id: str) -> PromotionRequest:
    request = session.get(PromotionRequest, request_id, with_for_update=True)
    if request is None or request.persona_id != persona.id:
        raise NotFound("Promotion request not found", {"promotion_request_id": request_id})
    return request


@dataclass(frozen=True)
class Tally:
    approvals: int
    rejected: bool


def check_self_approval(request: PromotionRequest, user_id: str) -> None:
    """A requester approves their own promotion only where the policy allows it."""
    if user_id == request.requested_by and not request.allow_self_approval:
        raise SelfApprovalNotAllowed(
            "You requested this promotion; its review policy needs someone else to approve it",
            {"promotion_request_id": request.id},
        )


def check_open(request: PromotionRequest) -> None:
    if request.status == RequestStatus.STALE.value:
        raise stale_request(request.id)
    if request.status != RequestStatus.OPEN.value:
        raise request_closed(request)


def cast_vote(
    session: Session, request: PromotionRequest, voter: Operation, vote: Vote, comment: str | None
) -> Tally:
    """Record the vote of the member who sent ``voter`` (the same vote again counts once; the other
    one is a 409)."""
    user_id = voter.user_id
    check_open(request)
    if vote is Vote.APPROVE:
        check_self_approval(request, user_id)
    earlier = session.scalar(
        select(PromotionVote).where(PromotionVote.request_id == request.id, PromotionVote.user_id == user_id)
    )
    if earlier is not None and earlier.vote != vote.value:
        raise Conflict(
            f"You already voted to {earlier.vote} this promotion request",
            {"promotion_request_id": request.id, "vote": earlier.vote},
            code="ALREADY_VOTED",
        )
    if earlier is None:
        vote_row = PromotionVote(
            request_id=request.id, user_id=user_id, key_id=voter.key_id, vote=vote.value, comment=comment
        )
        session.add(vote_row)
        session.flush()
    return tally(session, request)


def tally(session: Session, request: PromotionRequest) -> Tally:
    votes = list(session.scalars(select(PromotionVote.vote).where(PromotionVote.request_id == request.id)))
    return Tally(approvals=votes.count(Vote.APPROVE.value), rejected=Vote.REJECT.value in votes)
