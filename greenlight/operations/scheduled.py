"""The periodic job that turns due scheduled promotions into operations (beat runs it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenlight.clock import utcnow
from greenlight.db import unit_of_work
from greenlight.dispatch import Dispatcher
from greenlight.models import Operation, ScheduledPromotion, ScheduleStatus
from greenlight.operations.internal_keys import schedule_key
from greenlight.operations.submit import Submission, record


def submit_due(dispatcher: Dispatcher, now: datetime | None = None, limit: int = 100) -> list[str]:
    """Turn due schedules into operations; each claim and its operation commit together."""
    now = now or utcnow()
    with unit_of_work() as session:
        due = list(
            session.scalars(
                select(ScheduledPromotion.id)
                .where(
                    ScheduledPromotion.status == ScheduleStatus.SCHEDULED.value,
                    ScheduledPromotion.run_at <= now,
                )
                .order_by(ScheduledPromotion.run_at)
                .limit(limit)
            )
        )
    submitted: list[str] = []
    for schedule_id in due:
        operation_id = _submit_one(schedule_id)
        if operation_id is not None:
            dispatcher.enqueue_operation(operation_id)
            submitted.append(operation_id)
    return submitted


def _submit_one(schedule_id: str) -> str | None:
    with unit_of_work() as session:
        schedule = session.get(ScheduledPromotion, schedule_id, with_for_update=True)
        if schedule is None or schedule.status != ScheduleStatus.SCHEDULED.value:
            return None
        submission = Submission(
            kind=schedule.kind,
            payload={**schedule.payload, "schedule_id": schedule.id},
            persona_id=schedule.persona_id,
            idempotency_key=schedule_key(schedule.id),
            key_id=_scheduling_key(session, schedule),  # no request now: none to name
        )
        op, _ = record(session, schedule, submission)
        schedule.status = ScheduleStatus.SUBMITTED.value
        schedule.operation_id = op.id
        schedule.updated_at = utcnow()
        return op.id


def _scheduling_key(session: Session, schedule: ScheduledPromotion) -> str | None:
    """The id of the key that scheduled the promotion (for the audit log), if it is known."""
    if schedule.created_by_operation_id is None:
        return None
    return session.scalar(select(Operation.key_id).where(Operation.id == schedule.created_by_operation_id))
