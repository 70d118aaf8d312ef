"""promotion.schedule: a promotion (of a schedulable kind) to be submitted at a later time.

Whether a request is a schedule depends on the request alone (it names a time), never on the
clock, so a replay is the same request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from greenlight import schedules
from greenlight.clock import utcnow
from greenlight.events import EventType
from greenlight.kinds.promotions import version_check
from greenlight.kinds.results import ScheduleResult
from greenlight.models import Persona
from greenlight.operations.context import ApplyContext
from greenlight.operations.kind import OperationKind, P
from greenlight.operations.submit import PersonaCheck, Submission


class SchedulePromotion(BaseModel):
    model_config = ConfigDict(frozen=True)

    # The schedulable kind to submit, and its payload as that kind stores it.
    kind: str
    payload: dict[str, Any]
    # ISO 8601 as the request gave it (stored as is: it is part of the request's identity).
    run_at: str

    @property
    def at(self) -> datetime:
        return datetime.fromisoformat(self.run_at)


def apply(ctx: ApplyContext, payload: SchedulePromotion) -> ScheduleResult:
    persona = ctx.require_persona()
    created = schedules.create_schedule(
        ctx.session,
        persona,
        payload.kind,
        payload.payload,
        payload.at,
        ctx.operation.id,
        ctx.operation.user_id,
    )
    return {"schedule": schedules.schedule_to_dict(created)}


class _NamedVersion(BaseModel):
    """The version a scheduled promotion names, if any (a publish does, a promote of the draft not)."""

    version: int | None = None


def check(payload: SchedulePromotion) -> PersonaCheck:
    version = version_check(_NamedVersion.model_validate(payload.payload).version)

    def checked(session: Session, persona: Persona) -> None:
        schedules.check_run_at(payload.at, utcnow())
        if version is not None:
            version(session, persona)

    return checked


PROMOTION_SCHEDULE = OperationKind(
    name="promotion.schedule",
    payload=SchedulePromotion,
    result=ScheduleResult,
    apply=apply,
    check=check,
    emits=(EventType.PROMOTION_SCHEDULED,),
)


def now_or_at(
    kind: OperationKind[P, Any],
    payload: P,
    persona_id: str,
    idempotency_key: str | None,
    run_at: datetime | None,
) -> tuple[Submission, bool]:
    """A promotion now, or (True) the schedule operation that will submit it at `run_at`."""
    if run_at is None:
        return kind.submission(payload, persona_id, idempotency_key), False
    if not kind.schedulable:
        raise ValueError(f"{kind.name} cannot be scheduled")
    later = SchedulePromotion(kind=kind.name, payload=kind.dump(payload), run_at=run_at.isoformat())
    return PROMOTION_SCHEDULE.submission(later, persona_id, idempotency_key), True
