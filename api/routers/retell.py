"""Retell's "Publish Agent Version" (seed 004): publish a draft version of an agent (persona) in place."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.deps import IdempotencyKey, IfMatch, PreferHeader, Reader, Waiter, wait_seconds
from api.outcomes import respond
from api.schemas import RetellPublishRequest, promotion_payload
from api.seed_responses import ACCEPTED_PLAIN, RetellPublished, retell_error_responses
from api.submitting import submit_promotion
from greenlight.kinds.version_publish import VERSION_PUBLISH, PublishVersion
from greenlight.settings import get_settings

router = APIRouter(tags=["retell"])


@router.post(
    "/publish-agent-version/{agent_id}",
    summary="Publish an existing draft version in place",
    response_model=RetellPublished,
    responses=ACCEPTED_PLAIN | retell_error_responses(400, 401, 404, 409, 422, 500),
)
async def publish_agent_version(
    request: Request,
    agent_id: str,
    body: RetellPublishRequest,
    principal: Reader,  # publish, or edit where the persona reviews promotions: api/submitting.py
    waiter: Waiter,
    idempotency_key: IdempotencyKey = None,
    prefer: PreferHeader = None,
    if_match: IfMatch = None,
) -> Response:
    options = promotion_payload(
        body.version_description,
        if_match,
        version=body.version,
        version_description=body.version_description,
    )
    payload = PublishVersion.model_validate(options)
    op, _ = await submit_promotion(principal, agent_id, VERSION_PUBLISH, payload, idempotency_key)
    wait = wait_seconds(prefer, get_settings().default_wait_seconds)

    def published(result: dict[str, object]) -> Response:
        version = result.get("version")
        return JSONResponse({"agent_id": agent_id, **(version if isinstance(version, dict) else {})})

    return await respond(request, principal, op, wait, published, waiter)
