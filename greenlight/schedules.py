"""Scheduled promotions: the rules applied inside the operations that create and cancel them (so
in order with the rest). The periodic job that submits due ones is greenlight/operations/scheduled.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from greenlight.clock import isoformat, utcnow
from greenlight.errors import Conflict, NotFound, Unprocessable
from greenlight.events import PromotionCancelled, PromotionScheduled
from greenlight.models import Persona, ScheduledPromotion, ScheduleStatus
from greenlight.outbox import emit
from greenlight.settings import get_settings


def check_run_at(run_at: datetime, now: datetime) -> None:
    """A new schedule's time: up to the allowed clock skew in the past (due at once), and no
    further ahead than the horizon. Further back is a 422 (a mistyped year must not reach production
    at once), and so is past the horizon; each names the bound."""
    settings = get_settings()
    earliest = now - timedelta(seconds=settings.schedule_max_past_seconds)
    latest = now + timedelta(days=settings.schedule_horizon_days)
    if run_at < earliest:
        raise Unprocessable(
            "scheduled_at is in the past; leave it out to promote now",
            {"scheduled_at": isoformat(run_at), "max_past_seconds": settings.schedule_max_past_seconds},
            code="SCHEDULED_AT_IN_PAST",
        )
    if run_at > latest:
        raise Unprocessable(
            f"scheduled_at is more than {settings.schedule_horizon_days:g} days ahead",
            {"scheduled_at": isoformat(run_at), "horizon_days": settings.schedule_horizon_days},
            code="SCHEDULED_AT_TOO_FAR",
        )


def schedule_to_dict(schedule: ScheduledPromotion) -> dict[str, Any]:
    return {
        "id": schedule.id,
        "persona_id": schedule.persona_id,
        "kind": schedule.kind,
        "payload": schedule.payload,
        "run_at": isoformat(schedule.run_at),
        "status": schedule.status,
        "operation_id": schedule.operation_id,
        "created_at": isoformat(schedule.created_at),
        "updated_at": isoformat(schedule.updated_at),
    }


def create_schedule(
    session: Session,
    persona: Persona,
    kind: str,
    payload: dict[str, Any],
    run_at: datetime,
    operation_id: str,
    user_id: str,
) -> ScheduledPromotion:
    """A promotion to submit when due, on behalf of ``user_id`` (the member who scheduled it)."""
    schedule = ScheduledPromotion(
        workspace_id=persona.workspace_id,
        user_id=user_id,
        persona_id=persona.id,
        kind=kind,
        payload=payload,
        run_at=run_at,
        status=ScheduleStatus.SCHEDULED.value,
        created_by_operation_id=operation_id,
    )
    session.add(schedule)
    session.flush()
    scheduled = PromotionScheduled(
        schedule_id=schedule.id, kind=kind, run_at=run_at, operation_id=operation_id
    )
    emit(session, persona, scheduled, operation_id)
    return schedule


def get_schedule(session: Session, persona: Persona, schedule_id: str) -> ScheduledPromotion:
    schedule = session.scalar(
        select(ScheduledPromotion).where(
            ScheduledPromotion.id == schedule_id, ScheduledPromotion.persona_id == persona.id
        )
    )
    if schedule is None:
        raise NotFound("Scheduled promotion not found", {"schedule_id": schedule_id})
    return schedule


def cancel_schedule(
    session: Session, persona: Persona, schedule_id: str, operation_id: str
) -> ScheduledPromotion:
    schedule = get_schedule(session, persona, schedule_id)
    if schedule.status == ScheduleStatus.CANCELLED.value:
        return schedule
    # Guarded update: the due-submitter may have claimed it a moment ago.
    claimed = session.execute(
        update(ScheduledPromotion)
        .where(
            ScheduledPromotion.id == schedule_id, ScheduledPromotion.status == ScheduleStatus.SCHEDULED.value
        )
        .values(status=ScheduleStatus.CANCELLED.value, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            "The scheduled promotion was already submitted",
            {"schedule_id": schedule_id, "operation_id": schedule.operation_id},
            code="SCHEDULE_ALREADY_SUBMITTED",
        )
    session.refresh(schedule)
    emit(
        session, persona, PromotionCancelled(schedule_id=schedule_id, operation_id=operation_id), operation_id
    )
    return schedule


def list_schedules(session: Session, persona: Persona) -> list[ScheduledPromotion]:
    return list(
        session.scalars(
            select(ScheduledPromotion)
            .where(ScheduledPromotion.persona_id == persona.id)
            .order_by(ScheduledPromotion.run_at.desc())
        )
    )
