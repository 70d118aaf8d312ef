"""Native persona endpoints and Bland's promote (seed 000)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.deps import (
    Editor,
    IdempotencyKey,
    IfMatch,
    PreferHeader,
    Reader,
    Waiter,
    in_transaction,
    wait_seconds,
)
from api.outcomes import accepted, envelope, respond
from api.responses import (
    ACCEPTED,
    ACCEPTED_OR_SCHEDULED,
    READ_ERRORS,
    SCHEDULE_REFUSALS,
    WRITE_ERRORS,
    OperationEnvelope,
    PersonaEnvelope,
    VersionListEnvelope,
    error_responses,
)
from api.schemas import DraftUpdate, PersonaCreate, PromoteRequest, promotion_payload
from api.submitting import attributed, schedule_or, submit_for_persona, submit_promotion
from api.waiter import OperationWaiter
from greenlight.keys import Principal
from greenlight.kinds import REGISTRY
from greenlight.kinds.draft_update import DRAFT_UPDATE, UpdateDraft
from greenlight.kinds.persona_create import PERSONA_CREATE, CreatePersona
from greenlight.kinds.persona_promote import PERSONA_PROMOTE, PromoteDraft
from greenlight.operations.engine import submit_inline
from greenlight.personas.serialize import persona_to_dict, version_to_dict
from greenlight.personas.service import get_owned_persona, list_versions
from greenlight.settings import get_settings

router = APIRouter(prefix="/v1/personas", tags=["personas"])


def _persona_data(result: dict[str, Any]) -> Any:
    return result.get("persona")


def _read_persona(session: Session, workspace_id: str, persona_id: str) -> dict[str, Any]:
    return persona_to_dict(session, get_owned_persona(session, workspace_id, persona_id))


def _read_versions(session: Session, workspace_id: str, persona_id: str) -> list[dict[str, Any]]:
    persona = get_owned_persona(session, workspace_id, persona_id)
    return [version_to_dict(version) for version in list_versions(session, persona)]


@router.post(
    "",
    status_code=201,
    summary="Create a persona with its first draft",
    description="Created within the request: 201 with the persona. `Prefer: respond-async` answers "
    "202 with the (finished) operation instead, like every other change.",
    response_model=PersonaEnvelope,
    responses=ACCEPTED | error_responses(400, 401, 422, 500),
)
async def create_persona(
    request: Request,
    body: PersonaCreate,
    principal: Editor,
    idempotency_key: IdempotencyKey = None,
    prefer: PreferHeader = None,
) -> Response:
    payload = CreatePersona.model_validate(body.model_dump(exclude_unset=True))
    submission = attributed(principal, PERSONA_CREATE.submission(payload, idempotency_key=idempotency_key))
    op = await run_in_threadpool(submit_inline, REGISTRY, principal, submission)
    if wait_seconds(prefer, get_settings().default_wait_seconds) <= 0:
        return accepted(request, op)  # asked not to wait: the 202 with the operation, as everywhere
    return envelope(_persona_data(op.result or {}), status_code=201)


@router.get(
    "/{persona_id}",
    summary="Read a persona with its production and draft versions",
    response_model=PersonaEnvelope,
    responses=READ_ERRORS,
)
async def read_persona(persona_id: str, principal: Reader) -> Response:
    return envelope(await in_transaction(_read_persona, principal.workspace_id, persona_id))


@router.get(
    "/{persona_id}/versions",
    summary="List a persona's versions, oldest first",
    response_model=VersionListEnvelope,
    responses=READ_ERRORS,
)
async def read_versions(persona_id: str, principal: Reader) -> Response:
    return envelope(await in_transaction(_read_versions, principal.workspace_id, persona_id))


@router.patch(
    "/{persona_id}/draft",
    status_code=202,
    summary="Edit the current draft (asynchronous)",
    description="Answers 202 with the operation at once, or 200 with the persona when "
    "`Prefer: wait=N` was sent and the edit was applied within N seconds.",
    response_model=OperationEnvelope,
    responses=ACCEPTED
    | {200: {"model": PersonaEnvelope, "description": "Applied within the wait"}}
    | WRITE_ERRORS,
)
async def update_draft(
    request: Request,
    persona_id: str,
    body: DraftUpdate,
    principal: Editor,
    waiter: Waiter,
    idempotency_key: IdempotencyKey = None,
    prefer: PreferHeader = None,
) -> Response:
    payload = UpdateDraft(changes=body.model_dump(exclude_unset=True))
    op = await submit_for_persona(principal, persona_id, DRAFT_UPDATE, payload, idempotency_key)
    return await respond(
        request, principal, op, wait_seconds(prefer, 0.0), lambda r: envelope(_persona_data(r)), waiter
    )


@router.post(
    "/{persona_id}/versions/promote",
    summary="Promote the persona's draft version to production",
    description="Bland's promote: the draft's content becomes a new production version and the "
    "previous one is archived. Waits for the outcome by default (up to 30 s); "
    "`Prefer: respond-async` answers 202 with the operation at once.",
    response_model=PersonaEnvelope,
    responses=ACCEPTED_OR_SCHEDULED
    | error_responses(400, 401, 404, 409, 422, 500, extra={400: ("no_draft_version",), **SCHEDULE_REFUSALS}),
)
async def promote(
    request: Request,
    persona_id: str,
    principal: Reader,  # publish, or edit where the persona reviews promotions: api/submitting.py
    waiter: Waiter,
    idempotency_key: IdempotencyKey = None,
    prefer: PreferHeader = None,
    if_match: IfMatch = None,
    body: PromoteRequest | None = Body(default=None),
) -> Response:
    return await promote_answer(
        request, persona_id, principal, waiter, idempotency_key, prefer, if_match, body
    )


def promote_wait(prefer: str | None) -> float:
    """How long Bland's promote waits for its outcome: by default it waits."""
    return wait_seconds(prefer, get_settings().default_wait_seconds)


async def promote_answer(
    request: Request,
    persona_id: str,
    principal: Principal,
    waiter: OperationWaiter,
    idempotency_key: str | None,
    prefer: str | None,
    if_match: str | None,
    body: PromoteRequest | None,
) -> Response:
    """The promote route's whole answer once its inputs are parsed (also given ahead of routing:
    api/fast/promote_accept.py)."""
    body = body or PromoteRequest()
    options = promotion_payload(body.notes, if_match or body.expected_production_version_id)
    payload = PromoteDraft.model_validate(options)
    op, scheduled = await submit_promotion(
        principal, persona_id, PERSONA_PROMOTE, payload, idempotency_key, run_at=body.scheduled_at
    )
    on_success = schedule_or(lambda r: envelope(_persona_data(r)), scheduled)
    return await respond(request, principal, op, promote_wait(prefer), on_success, waiter)
