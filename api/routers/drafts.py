"""Seed 002's composable drafts: POST /persona/draft (patch, soft proposal, ack) and reads."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.deps import IdempotencyKey, PreferHeader, Reader, Waiter, in_transaction, wait_seconds
from api.outcomes import accepted, envelope, outcome, respond
from api.responses import READ_ERRORS, ProposalListEnvelope
from api.schemas_drafts import PatchPersonaDraftApiRequest
from api.seed_responses import (
    ACCEPTED_PLAIN,
    DraftFormStateResponse,
    FlagCatalogueResponse,
    PatchPersonaDraftApiResponse,
    draft_error_responses,
)
from api.submitting import attributed, submit_ack
from greenlight.access import Permission
from greenlight.drafts import catalogue, connections
from greenlight.drafts import service as drafts
from greenlight.errors import InvalidRequest
from greenlight.idempotency import validate_key
from greenlight.keys import Principal
from greenlight.kinds import REGISTRY
from greenlight.kinds.draft_patch import request_patch
from greenlight.models import Operation
from greenlight.operations.engine import submit_inline
from greenlight.operations.submit import submit
from greenlight.personas.service import get_owned_persona
from greenlight.settings import get_settings
from workers.dispatch import CeleryDispatcher

router = APIRouter(tags=["drafts"])
native = APIRouter(prefix="/v1/personas/{persona_id}", tags=["drafts"])
dispatcher = CeleryDispatcher()


def _draft_answer(result: dict[str, Any]) -> Response:
    return JSONResponse(result.get("draft"))


async def _patch(
    body: PatchPersonaDraftApiRequest, principal: Principal, key: str | None
) -> tuple[Operation, bool]:
    identity = body.model_dump(exclude_none=True)
    submission, inline = await in_transaction(
        request_patch, principal, body.draft_id, bool(body.soft), body.change_fields(), identity, key
    )
    submission = attributed(principal, submission)
    if inline:
        return await run_in_threadpool(submit_inline, REGISTRY, principal, submission), True
    return await run_in_threadpool(submit, principal, submission, dispatcher), False


async def _ack(body: PatchPersonaDraftApiRequest, principal: Principal) -> Operation:
    if body.accept is None or body.idempotency_key is None:
        raise InvalidRequest("An ack needs both idempotency_key and accept", code="INVALID_ACK")
    if body.change_fields() or body.soft or body.draft_id:
        raise InvalidRequest(
            "An ack carries only idempotency_key, accept, reason and force", code="INVALID_ACK"
        )
    return await submit_ack(principal, body.idempotency_key, body.accept, body.reason, bool(body.force))


def _is_ack(body: PatchPersonaDraftApiRequest) -> bool:
    return body.idempotency_key is not None or body.accept is not None


def _permission_for(body: PatchPersonaDraftApiRequest) -> Permission:
    """One endpoint, three actions: ack a proposal (review), propose (soft), or edit a draft."""
    if _is_ack(body):
        return Permission.REVIEW
    return Permission.PROPOSE if body.soft else Permission.EDIT


@router.post(
    "/persona/draft",
    summary="Patch persona draft (composable), propose (soft), or ack a proposal",
    response_model=PatchPersonaDraftApiResponse,
    responses=ACCEPTED_PLAIN | draft_error_responses(400, 401, 404, 409, 422, 500),
)
async def patch_persona_draft(
    request: Request,
    body: PatchPersonaDraftApiRequest,
    principal: Reader,  # what it may do depends on the body: _permission_for
    waiter: Waiter,
    idempotency_key: IdempotencyKey = None,
    prefer: PreferHeader = None,
) -> Response:
    principal.require(_permission_for(body))
    wait = wait_seconds(prefer, get_settings().default_wait_seconds)
    validate_key(idempotency_key)  # an ack does not use the header, but a bad one is still refused
    if _is_ack(body):
        ack = await _ack(body, principal)
        return await respond(request, principal, ack, wait, _draft_answer, waiter)
    op, inline = await _patch(body, principal, idempotency_key)
    if inline:  # made within the request: its outcome, or the 202 when asked not to wait
        return accepted(request, op) if wait <= 0 else outcome(op, _draft_answer)
    return await respond(request, principal, op, wait, _draft_answer, waiter)


def _form_state(session: Session, workspace_id: str, draft_id: str) -> dict[str, Any]:
    version = drafts.owned_draft(session, workspace_id, draft_id)
    return {"success": True, "draft_id": version.id, "form_state": connections.hydrate(session, version)}


@router.get(
    "/persona/draft/{draft_id}",
    summary="The draft's complete form state",
    response_model=DraftFormStateResponse,
    responses=draft_error_responses(401, 404, 422, 500),
)
async def read_persona_draft(draft_id: str, principal: Reader) -> Response:
    return JSONResponse(await in_transaction(_form_state, principal.workspace_id, draft_id))


@router.get(
    "/persona/flags",
    summary="The flag catalogue: option ids, their type and value",
    response_model=FlagCatalogueResponse,
    responses=draft_error_responses(401, 500),
)
async def flag_catalogue(principal: Reader) -> Response:
    return JSONResponse({"success": True, "flags": catalogue.all_options()})


def _proposals(
    session: Session, workspace_id: str, persona_id: str, status: str | None
) -> list[dict[str, Any]]:
    persona = get_owned_persona(session, workspace_id, persona_id)
    return [drafts.entry_to_dict(entry) for entry in drafts.list_proposals(session, persona, status)]


@native.get(
    "/proposals",
    summary="A persona's proposals (soft drafts) with their state, newest first",
    response_model=ProposalListEnvelope,
    responses=READ_ERRORS,
)
async def proposals(
    persona_id: str,
    principal: Reader,
    status: Annotated[str | None, Query(pattern="^(dormant|accepted|rejected|expired)$")] = None,
) -> Response:
    return envelope(await in_transaction(_proposals, principal.workspace_id, persona_id, status))
