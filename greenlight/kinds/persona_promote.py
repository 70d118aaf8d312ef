"""persona.promote: the draft's content becomes a new production version (Bland's promote); a run
of one persona's promotions is applied in one go."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from greenlight.bulk import Writes
from greenlight.events import EventType
from greenlight.kinds.promotions import PromotionOptions, expectation_holds, promoted, request_of
from greenlight.kinds.results import PersonaResult
from greenlight.models import Operation, Persona, PersonaVersion
from greenlight.operations.context import ApplyContext
from greenlight.operations.kind import OperationKind
from greenlight.personas.draft_promotion import promote_drafts


class PromoteDraft(PromotionOptions):
    pass


def apply(ctx: ApplyContext, payload: PromoteDraft) -> PersonaResult:
    (answer,) = apply_run(ctx.session, ctx.require_persona(), [(ctx.operation, payload)], None)
    ctx.production_changed = True
    return answer


def promotes(ctx: ApplyContext, payload: PromoteDraft) -> PersonaVersion | None:
    """The draft, whose content would become the new production version."""
    persona = ctx.require_persona()
    if not persona.current_draft_version_id or not expectation_holds(persona, ctx.operation, payload):
        return None
    return ctx.session.get(PersonaVersion, persona.current_draft_version_id)


def apply_run(
    session: Session,
    persona: Persona,
    operations: Sequence[tuple[Operation, PromoteDraft]],
    writes: Writes | None,
) -> list[PersonaResult]:
    """A run of promotions of one persona, in one go (each answer as one at a time would give); its
    rows are added to `writes` when given, else written here."""
    requests = [request_of(op, payload) for op, payload in operations]
    return [{"persona": answer} for answer in promote_drafts(session, persona, requests, writes)]


PERSONA_PROMOTE = OperationKind(
    name="persona.promote",
    payload=PromoteDraft,
    result=PersonaResult,
    apply=apply,
    apply_run=apply_run,
    promotes=promotes,
    emits=(EventType.VERSION_PROMOTED, EventType.VERSION_ARCHIVED, EventType.PROMOTION_REQUESTED),
    schedulable=True,
    title=lambda payload: "Promotion of the draft",
    succeeded=promoted,
)
