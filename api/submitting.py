"""Submitting operations on an existing persona, shared by every router."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from fastapi.responses import Response

from api.deps import in_transaction
from api.group_commit import GroupCommit
from api.outcomes import envelope
from greenlight.audit import current_request_id
from greenlight.keys import Principal
from greenlight.kinds.draft_ack import AckProposal, request_ack
from greenlight.kinds.promotion_schedule import now_or_at
from greenlight.models import Operation
from greenlight.operations.kind import OperationKind, P
from greenlight.operations.submit import Submission
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
    return await group_commit.submit(principal, attributed(principal, submission)), scheduled


async def submit_ack(
    principal: Principal, entry_id: str, accept: bool, reason: str | None, force: bool
) -> Operation:
    """Accept or reject a dormant proposal (see `request_ack`)."""
    payload = AckProposal(entry_id=entry_id, accept=accept, reason=reason, force=force)
    request = await in_transaction(request_ack, principal.workspace_id, payload)
    if isinstance(request, Operation):
        return request
    return await group_commit.submit(principal, attributed(principal, request))


def schedule_or(
    render: Callable[[dict[str, Any]], Response], scheduled: bool
) -> Callable[[dict[str, Any]], Response]:
    """How to answer a promotion's success: the schedule (202) when it was scheduled."""
    if scheduled:
        return lambda result: envelope(result.get("schedule"), status_code=202)
    return render
