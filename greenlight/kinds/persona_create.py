"""persona.create: a new persona with its first draft, applied within its request (nobody else can
address the persona yet)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from greenlight.events import EventType
from greenlight.kinds.results import PersonaResult
from greenlight.operations.context import ApplyContext
from greenlight.operations.kind import OperationKind
from greenlight.personas import service
from greenlight.personas.serialize import persona_to_dict


class CreatePersona(BaseModel):
    """The persona's fields and its first draft's content, as the API validated them (api/schemas.py
    `PersonaCreate`); stored as sent, only the fields the request set."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str

    def fields(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


def apply(ctx: ApplyContext, payload: CreatePersona) -> PersonaResult:
    op = ctx.operation
    persona = service.create_persona(ctx.session, op, op.persona_id, payload.fields(), op.id)
    ctx.persona = persona
    return {"persona": persona_to_dict(ctx.session, persona)}


PERSONA_CREATE = OperationKind(
    name="persona.create",
    payload=CreatePersona,
    result=PersonaResult,
    apply=apply,
    emits=(EventType.PERSONA_CREATED,),
)
