"""What the two promoting kinds (persona.promote, version.publish) share: their payload's options,
the request the promotion services take, and how the console words their outcome."""

from __future__ import annotations

from functools import partial

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from greenlight.errors import Conflict
from greenlight.models import Operation, Persona
from greenlight.operations.kind import Outcome
from greenlight.operations.submit import PersonaCheck
from greenlight.personas import promotion
from greenlight.personas.listing import promotion_of_operation
from greenlight.personas.service import get_version


class Schedulable(BaseModel):
    """A payload a schedule can carry: the schedule that submitted it is named in it."""

    model_config = ConfigDict(frozen=True)

    # Set on the operation a due schedule submits.
    schedule_id: str | None = None


class PromotionOptions(Schedulable):
    notes: str | None = None
    # Compare-and-swap: the production version the caller expects to replace.
    expected_production_version_id: str | None = None
    proposal_id: str | None = None


def request_of(op: Operation, payload: PromotionOptions) -> promotion.PromotionRequest:
    return promotion.PromotionRequest(
        actor_id=op.user_id,
        notes=payload.notes,
        operation_id=op.id,
        proposal_id=payload.proposal_id,
        expected_production_version_id=payload.expected_production_version_id,
    )


def expectation_holds(persona: Persona, op: Operation, payload: PromotionOptions) -> bool:
    """Production is what the caller expected it to be (or they expected nothing)."""
    try:
        promotion.check_expected_production(persona.current_production_version_id, request_of(op, payload))
    except Conflict:
        return False
    return True


def _version_exists(number: int, session: Session, persona: Persona) -> None:
    get_version(session, persona, number)


def version_check(version: int | None) -> PersonaCheck | None:
    """A request naming a version is refused at once (404) when the persona has no such version."""
    return partial(_version_exists, version) if version is not None else None


def promoted(session: Session, op: Operation, payload: PromotionOptions) -> Outcome:
    record = promotion_of_operation(session, op.persona_id, op.id)
    if record is None:
        return "Promoted", "The promotion was applied.", None
    message = f"Version {record.version_number} is now in production."
    if record.previous_version_number is not None:
        message += f" Version {record.previous_version_number} was archived."
    return "Promoted", message, record.version_number
