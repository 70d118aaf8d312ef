"""promotion.cancel: cancel a scheduled promotion before it is submitted."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from greenlight import schedules
from greenlight.events import EventType
from greenlight.kinds.results import ScheduleResult
from greenlight.operations.context import ApplyContext
from greenlight.operations.kind import OperationKind


class CancelSchedule(BaseModel):
    model_config = ConfigDict(frozen=True)

    schedule_id: str


def apply(ctx: ApplyContext, payload: CancelSchedule) -> ScheduleResult:
    persona = ctx.require_persona()
    cancelled = schedules.cancel_schedule(ctx.session, persona, payload.schedule_id, ctx.operation.id)
    return {"schedule": schedules.schedule_to_dict(cancelled)}


PROMOTION_CANCEL = OperationKind(
    name="promotion.cancel",
    payload=CancelSchedule,
    result=ScheduleResult,
    apply=apply,
    emits=(EventType.PROMOTION_CANCELLED,),
)
