"""Submitting operations on an existing persona, shared by every router."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.deps import in_transaction
from api.group_commit import GroupCommit
from api.outcomes import envelope
from greenlight.clock import utcnow
from greenlight.drafts import service as drafts
from greenlight.keys import Principal
from greenlight.models import DraftEntry, Operation, Persona
from greenlight.operations import kinds
from greenlight.operations.query import get_operation
from greenlight.operations.submit import Submission
from greenlight.personas.service import get_version
from greenlight.schedules import check_run_at
from workers.dispatch import CeleryDispatcher

dispatcher = CeleryDispatcher()
# One per API process: every accepted operation is recorded through it (group commit).
group_commit = GroupCommit(dispatcher)


def _checks(version: int | None, run_at: datetime | None) -> Callable[[Session, Persona], None] | None:
    """What to check of a new request (a replay answers with its operation, checked back then)."""
    if version is None and run_at is None:
        return None

    def check(session: Session, persona: Persona) -> None:
        if run_at is not None:
            check_run_at(run_at, utcnow())
        if version is not None:
            get_version(session, persona, version)

    return check


async def submit_for_persona(
    principal: Principal,
    persona_id: str,
    kind: str,
    payload: dict[str, Any],
    idempotency_key: str | None,
    *,
    version: int | None = None,
    run_at: datetime | None = None,
) -> Operation:
    """404 at once for a persona (or version) the caller cannot see; otherwise record and enqueue."""
    submission = Submission(
        kind=kind,
        payload=payload,
        persona_id=persona_id,
        idempotency_key=idempotency_key,
        check=_checks(version, run_at),
    )
    return await group_commit.submit(principal.user_id, submission)


async def submit_promotion(
    principal: Principal,
    persona_id: str,
    kind: str,
    payload: dict[str, Any],
    idempotency_key: str | None,
    *,
    run_at: datetime | None = None,
    version: int | None = None,
) -> tuple[Operation, bool]:
    """A promotion now, or (True) a schedule operation that will submit it at `run_at`. Whether it is
    a schedule depends on the request alone, never on the clock, so a replay is the same request."""
    if run_at is not None:
        schedule = {"kind": kind, "payload": payload, "run_at": run_at.isoformat()}
        op = await submit_for_persona(
            principal,
            persona_id,
            kinds.PROMOTION_SCHEDULE,
            schedule,
            idempotency_key,
            version=version,
            run_at=run_at,
        )
        return op, True
    return await submit_for_persona(
        principal, persona_id, kind, payload, idempotency_key, version=version
    ), False


def _decision(session: Session, user_id: str, entry_id: str, accept: bool) -> Operation | None:
    """The operation that made this decision when it was already made; a 409 when the other one was."""
    entry = drafts.get_entry(session, user_id, entry_id)
    conflict = drafts.recorded_conflict(entry, accept)
    if conflict is not None:
        raise conflict
    if entry.status in drafts.DECIDED and entry.decision_operation_id:
        return get_operation(session, user_id, entry.decision_operation_id)
    return None


def _entry_persona(session: Session, user_id: str, entry_id: str) -> str:
    entry: DraftEntry = drafts.get_entry(session, user_id, entry_id)
    return entry.persona_id


async def submit_ack(
    principal: Principal, entry_id: str, accept: bool, reason: str | None, force: bool
) -> Operation:
    """Accept or reject a dormant proposal: its operation, the one that made this very decision
    when it was already made (answered like any replay), or a 409 when the opposite one was."""
    decided = await in_transaction(_decision, principal.user_id, entry_id, accept)
    if decided is not None:
        return decided
    persona_id = await in_transaction(_entry_persona, principal.user_id, entry_id)
    submission = Submission(
        kinds.DRAFT_ACK,
        {"entry_id": entry_id, "accept": accept, "reason": reason, "force": force},
        persona_id,
        # Concurrent identical acks become one operation: one effect, one answer.
        idempotency_key=f"greenlight-ack:{entry_id}:{accept}:{force}",
        identity={"entry_id": entry_id, "accept": accept, "force": force},
    )
    return await group_commit.submit(principal.user_id, submission)


def schedule_or(
    render: Callable[[dict[str, Any]], Response], scheduled: bool
) -> Callable[[dict[str, Any]], Response]:
    """How to answer a promotion's success: the schedule (202) when it was scheduled."""
    if scheduled:
        return lambda result: envelope(result.get("schedule"), status_code=202)
    return render
