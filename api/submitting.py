"""Submitting operations on an existing persona, shared by every router."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.deps import in_transaction
from api.group_commit import GroupCommit
from api.outcomes import envelope
from greenlight.access import Permission
from greenlight.audit import current_request_id
from greenlight.idempotency import validate_key
from greenlight.keys import Principal
from greenlight.kinds.draft_ack import AckProposal, request_ack
from greenlight.kinds.promotion_schedule import now_or_at
from greenlight.kinds.promotion_votes import Decision
from greenlight.models import Operation, Persona
from greenlight.operations.kind import OperationKind, P
from greenlight.operations.submit import Submission
from greenlight.reviews import decisions
from greenlight.reviews.policy import policy_of
from workers.dispatch import CeleryDispatcher

dispatcher = CeleryDispatcher()
# One per API process: every accepted operation is recorded through it (group commit).
group_commit = GroupCommit(dispatcher)


def attributed(principal: Principal, submission: Submission) -> Submission:
    """The submission with who sent it, for the audit log: the id of the key used (never the key)
    and the id of the request being served."""
    return replace(submission, key_id=principal.key_id, request_id=current_request_id())


async def submit_for_persona(
    principal: Principal,
    persona_id: str,
    kind: OperationKind[P, Any],
    payload: P,
    idempotency_key: str | None,
) -> Operation:
    """404 at once for a persona (or what the kind checks) the caller cannot see; otherwise record
    and enqueue."""
    submission = kind.submission(payload, persona_id, idempotency_key)
    return await group_commit.submit(principal, attributed(principal, submission))


async def submit_promotion(
    principal: Principal,
    persona_id: str,
    kind: OperationKind[P, Any],
    payload: P,
    idempotency_key: str | None,
    *,
    run_at: datetime | None = None,
) -> tuple[Operation, bool]:
    """A promotion now, or (True) a schedule operation that will submit it at `run_at`."""
    submission, scheduled = now_or_at(kind, payload, persona_id, idempotency_key, run_at)
    if not principal.may(Permission.PUBLISH):
        submission = _requested(principal, submission, scheduled)
    return await group_commit.submit(principal, attributed(principal, submission)), scheduled


def _requested(principal: Principal, submission: Submission, scheduled: bool) -> Submission:
    """A promotion from a member who may not promote is a request for one, where the persona
    reviews promotions: it waits for approval even if the policy is lifted before its turn. Where
    the persona reviews nothing, and for schedules, it needs the publish permission (403)."""
    if scheduled or not principal.may(Permission.EDIT):
        principal.require(Permission.PUBLISH)
    then = submission.check

    def reviewed_only(session: Session, persona: Persona) -> None:
        if not policy_of(persona).gates:
            principal.require(Permission.PUBLISH)
        if then is not None:
            then(session, persona)

    return replace(submission, review_required=True, check=reviewed_only)


async def submit_ack(
    principal: Principal, entry_id: str, accept: bool, reason: str | None, force: bool
) -> Operation:
    """Accept or reject a dormant proposal (see `request_ack`)."""
    payload = AckProposal(entry_id=entry_id, accept=accept, reason=reason, force=force)
    request = await in_transaction(request_ack, principal.workspace_id, payload)
    if isinstance(request, Operation):
        return request
    return await group_commit.submit(principal, attributed(principal, request))


async def submit_decision(
    principal: Principal,
    request_id: str,
    kind: OperationKind[Decision, Any],
    decision: Decision,
    idempotency_key: str | None,
) -> Operation:
    """A vote on, or the withdrawal of, a promotion request: refused at once where it can be (see
    ``persona_to_decide``), else recorded in its persona's order."""
    action = cast(decisions.Action, kind.name.rsplit(".", 1)[1])
    validate_key(idempotency_key)  # a malformed key is a 400 before anything is looked up
    principal.require(decisions.NEEDS[action])
    persona_id = await in_transaction(
        decisions.persona_to_decide, principal.workspace_id, principal.user_id, request_id, action
    )
    return await submit_for_persona(principal, persona_id, kind, decision, idempotency_key)


def schedule_or(
    render: Callable[[dict[str, Any]], Response], scheduled: bool
) -> Callable[[dict[str, Any]], Response]:
    """How to answer a promotion's success: the schedule (202) when it was scheduled."""
    if scheduled:
        return lambda result: envelope(result.get("schedule"), status_code=202)
    return render
