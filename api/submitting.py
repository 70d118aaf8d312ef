"""Submitting operations on an existing persona, shared by every router."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.outcomes import envelope
from greenlight.clock import utcnow
from greenlight.keys import Principal
from greenlight.models import Operation
from greenlight.operations import kinds
from greenlight.operations.submit import Submission, submit
from greenlight.personas.service import get_owned_persona, get_version
from workers.dispatch import CeleryDispatcher

dispatcher = CeleryDispatcher()


def _check_owned(session: Session, user_id: str, persona_id: str, version: int | None) -> None:
    persona = get_owned_persona(session, user_id, persona_id)
    if version is not None:
        get_version(session, persona, version)


async def submit_for_persona(
    principal: Principal,
    persona_id: str,
    kind: str,
    payload: dict[str, Any],
    idempotency_key: str | None,
    *,
    version: int | None = None,
) -> Operation:
    """404 at once for a persona (or version) the caller cannot see; otherwise record and enqueue.

    The check runs in the recording transaction: one thread-pool hop and one transaction per request.
    """
    submission = Submission(
        kind=kind, payload=payload, persona_id=persona_id, idempotency_key=idempotency_key
    )

    def check(session: Session) -> None:
        _check_owned(session, principal.user_id, persona_id, version)

    return await run_in_threadpool(submit, principal.user_id, submission, dispatcher, check)


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
    """A promotion now, or (True) a schedule operation that will submit it at `run_at`."""
    if run_at is not None and run_at > utcnow():
        schedule = {"kind": kind, "payload": payload, "run_at": run_at.isoformat()}
        op = await submit_for_persona(
            principal, persona_id, kinds.PROMOTION_SCHEDULE, schedule, idempotency_key, version=version
        )
        return op, True
    return await submit_for_persona(
        principal, persona_id, kind, payload, idempotency_key, version=version
    ), False


def schedule_or(
    render: Callable[[dict[str, Any]], Response], scheduled: bool
) -> Callable[[dict[str, Any]], Response]:
    """How to answer a promotion's success: the schedule (202) when it was scheduled."""
    if scheduled:
        return lambda result: envelope(result.get("schedule"), status_code=202)
    return render
