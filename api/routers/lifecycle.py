"""The promotion lifecycle (seed 003): publish by version, unarchive, history, production, diff,
scheduled promotions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.deps import (
    IdempotencyKey,
    IfMatch,
    PreferHeader,
    Publisher,
    Reader,
    Waiter,
    in_transaction,
    wait_seconds,
)
from api.inputs import UtcDatetime
from api.outcomes import envelope, respond
from api.responses import (
    ACCEPTED,
    ACCEPTED_OR_SCHEDULED,
    READ_ERRORS,
    SCHEDULE_REFUSALS,
    WRITE_ERRORS,
    DiffEnvelope,
    PersonaEnvelope,
    ProductionEnvelope,
    PromotionPageEnvelope,
    ScheduleEnvelope,
    ScheduleListEnvelope,
    VersionEnvelope,
    error_responses,
)
from api.schemas import MAX_VERSION_NUMBER, PublishRequest, promotion_payload
from api.submitting import schedule_or, submit_for_persona, submit_promotion
from greenlight.db import unit_of_work
from greenlight.errors import NotFound
from greenlight.kinds.promotion_cancel import PROMOTION_CANCEL, CancelSchedule
from greenlight.kinds.version_publish import VERSION_PUBLISH, PublishVersion
from greenlight.kinds.version_unarchive import VERSION_UNARCHIVE, UnarchiveVersion
from greenlight.personas import history
from greenlight.personas.diff import diff_versions
from greenlight.personas.production import (
    ProductionCache,
    ProductionCopy,
    cached_production,
    production_body,
    read_production,
)
from greenlight.personas.promotion import etag_of
from greenlight.personas.serialize import version_to_dict
from greenlight.personas.service import get_owned_persona, get_version
from greenlight.redis_client import get_redis
from greenlight.reviews.views import reviews_of
from greenlight.schedules import get_schedule, list_schedules, schedule_to_dict
from greenlight.settings import get_settings

router = APIRouter(prefix="/v1/personas/{persona_id}", tags=["promotion"])
# `:int` in the paths: a segment that is not a number matches no version route (so GET .../versions/promote
# is a 405, not a 422); the bound keeps numbers within the database's integer.
VersionNumber = Annotated[int, Path(ge=0, le=MAX_VERSION_NUMBER, description="Version number")]


def _version(session: Session, workspace_id: str, persona_id: str, number: int) -> dict[str, Any]:
    return version_to_dict(get_version(session, get_owned_persona(session, workspace_id, persona_id), number))


@router.get(
    "/versions/{number:int}",
    summary="Read one version",
    response_model=VersionEnvelope,
    responses=READ_ERRORS,
)
async def read_version(persona_id: str, number: VersionNumber, principal: Reader) -> Response:
    return envelope(await in_transaction(_version, principal.workspace_id, persona_id, number))


@router.post(
    "/versions/{number:int}/publish",
    summary="Publish a draft version in place (promote it)",
    response_model=PersonaEnvelope,
    responses=ACCEPTED_OR_SCHEDULED | error_responses(400, 401, 404, 409, 422, 500, extra=SCHEDULE_REFUSALS),
)
async def publish(
    request: Request,
    persona_id: str,
    number: VersionNumber,
    principal: Reader,  # publish, or edit where the persona reviews promotions: api/submitting.py
    waiter: Waiter,
    idempotency_key: IdempotencyKey = None,
    prefer: PreferHeader = None,
    if_match: IfMatch = None,
    body: PublishRequest | None = Body(default=None),
) -> Response:
    body = body or PublishRequest()
    options = promotion_payload(body.notes, if_match or body.expected_production_version_id, version=number)
    payload = PublishVersion.model_validate(options)
    op, scheduled = await submit_promotion(
        principal, persona_id, VERSION_PUBLISH, payload, idempotency_key, run_at=body.scheduled_at
    )
    wait = wait_seconds(prefer, get_settings().default_wait_seconds)
    on_success = schedule_or(lambda result: envelope(result.get("persona")), scheduled)
    return await respond(request, principal, op, wait, on_success, waiter)


@router.post(
    "/versions/{number:int}/unarchive",
    summary="Return an archived version to draft (before a rollback)",
    response_model=VersionEnvelope,
    responses=ACCEPTED | WRITE_ERRORS,
)
async def unarchive(
    request: Request,
    persona_id: str,
    number: VersionNumber,
    principal: Publisher,
    waiter: Waiter,
    idempotency_key: IdempotencyKey = None,
    prefer: PreferHeader = None,
) -> Response:
    payload = UnarchiveVersion(version=number)
    op = await submit_for_persona(principal, persona_id, VERSION_UNARCHIVE, payload, idempotency_key)
    wait = wait_seconds(prefer, get_settings().default_wait_seconds)
    return await respond(request, principal, op, wait, lambda result: envelope(result.get("version")), waiter)


def _history(
    session: Session, workspace_id: str, persona_id: str, query: history.HistoryQuery
) -> dict[str, Any]:
    persona = get_owned_persona(session, workspace_id, persona_id)
    rows, next_cursor = history.list_promotions(session, persona, query)
    reviewed = reviews_of(session, [row.operation_id for row in rows if row.operation_id])
    items = [history.promotion_to_dict(row, reviewed.get(row.operation_id or "")) for row in rows]
    return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/promotions",
    summary="Promotion history, newest first",
    response_model=PromotionPageEnvelope,
    responses=READ_ERRORS | error_responses(400),
)
async def promotions(
    persona_id: str,
    principal: Reader,
    promoted_by: Annotated[
        str | None, Query(max_length=100, description="Only promotions by this user id")
    ] = None,
    since: Annotated[
        UtcDatetime | None, Query(alias="from", description="Promoted at or after (ISO 8601)")
    ] = None,
    until: Annotated[UtcDatetime | None, Query(alias="to", description="Promoted before (ISO 8601)")] = None,
    limit: Annotated[int, Query(ge=1, le=history.MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    query = history.HistoryQuery(
        promoted_by=promoted_by, since=since, until=until, limit=limit, cursor=cursor
    )
    return envelope(await in_transaction(_history, principal.workspace_id, persona_id, query))


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether the caller already holds this ETag (``If-None-Match``: one or several)."""
    return bool(if_none_match) and etag in {tag.strip() for tag in (if_none_match or "").split(",")}


def _copy_response(copy: ProductionCopy, if_none_match: str | None) -> Response:
    if etag_matches(if_none_match, copy.etag):
        return Response(status_code=304, headers={"ETag": copy.etag})
    return Response(
        b'{"data":' + copy.body_json + b',"errors":null}',
        media_type="application/json",
        headers={"ETag": copy.etag, "Cache-Control": "no-cache"},
    )


def cached_production_answer(
    workspace_id: str, persona_id: str, if_none_match: str | None
) -> Response | None:
    """The answer from this process's valid copy of the persona's production, if it holds one (also
    given ahead of routing: api/fast/production_read.py); 304 when the caller holds its ETag."""
    copy = cached_production(workspace_id, persona_id)
    return None if copy is None else _copy_response(copy, if_none_match)


def _production_at(
    session: Session, workspace_id: str, persona_id: str, at: datetime
) -> tuple[str, dict[str, Any]]:
    persona = get_owned_persona(session, workspace_id, persona_id)
    version = history.production_at(session, persona, at)
    return etag_of(version.id), production_body(session, persona, version)


def _production_now(workspace_id: str, persona_id: str) -> tuple[str, dict[str, Any]]:
    with unit_of_work() as session:
        found = read_production(session, ProductionCache(get_redis()), workspace_id, persona_id)
    if found is None:
        raise NotFound(
            "The persona has no production version", {"persona_id": persona_id}, code="NO_PRODUCTION_VERSION"
        )
    return found


@router.get(
    "/production",
    summary="The production configuration agents run (ETag, never stale)",
    response_model=ProductionEnvelope,
    responses=READ_ERRORS | {304: {"description": "Not modified: the ETag in If-None-Match is current"}},
)
async def production(
    persona_id: str,
    principal: Reader,
    at: Annotated[
        UtcDatetime | None, Query(description="Which version was in production at this instant")
    ] = None,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
) -> Response:
    if at is None:
        cached = cached_production_answer(principal.workspace_id, persona_id, if_none_match)
        if cached is not None:
            return cached
    if at is not None:
        etag, body = await in_transaction(_production_at, principal.workspace_id, persona_id, at)
    else:
        etag, body = await run_in_threadpool(_production_now, principal.workspace_id, persona_id)
    if etag_matches(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag})
    return envelope(body, headers={"ETag": etag, "Cache-Control": "no-cache"})


def _diff(session: Session, workspace_id: str, persona_id: str, a: int, b: int) -> dict[str, Any]:
    persona = get_owned_persona(session, workspace_id, persona_id)
    return diff_versions(session, get_version(session, persona, a), get_version(session, persona, b))


@router.get(
    "/versions/{a:int}/diff/{b:int}",
    summary="Field-by-field difference between two versions",
    response_model=DiffEnvelope,
    responses=READ_ERRORS,
)
async def diff(persona_id: str, a: VersionNumber, b: VersionNumber, principal: Reader) -> Response:
    return envelope(await in_transaction(_diff, principal.workspace_id, persona_id, a, b))


def _schedules(session: Session, workspace_id: str, persona_id: str) -> list[dict[str, Any]]:
    persona = get_owned_persona(session, workspace_id, persona_id)
    return [schedule_to_dict(schedule) for schedule in list_schedules(session, persona)]


def _check_schedule(session: Session, workspace_id: str, persona_id: str, schedule_id: str) -> None:
    get_schedule(session, get_owned_persona(session, workspace_id, persona_id), schedule_id)


@router.get(
    "/scheduled-promotions",
    summary="Scheduled promotions, latest run time first",
    response_model=ScheduleListEnvelope,
    responses=READ_ERRORS,
)
async def scheduled(persona_id: str, principal: Reader) -> Response:
    return envelope(await in_transaction(_schedules, principal.workspace_id, persona_id))


@router.delete(
    "/scheduled-promotions/{schedule_id}",
    summary="Cancel a scheduled promotion before it runs",
    response_model=ScheduleEnvelope,
    responses=ACCEPTED | WRITE_ERRORS,
)
async def cancel_scheduled(
    request: Request,
    persona_id: str,
    schedule_id: str,
    principal: Publisher,
    waiter: Waiter,
    idempotency_key: IdempotencyKey = None,
    prefer: PreferHeader = None,
) -> Response:
    await in_transaction(_check_schedule, principal.workspace_id, persona_id, schedule_id)
    payload = CancelSchedule(schedule_id=schedule_id)
    op = await submit_for_persona(principal, persona_id, PROMOTION_CANCEL, payload, idempotency_key)
    wait = wait_seconds(prefer, get_settings().default_wait_seconds)
    return await respond(
        request, principal, op, wait, lambda result: envelope(result.get("schedule")), waiter
    )
