"""Webhook endpoints, their secrets and their delivery log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.deps import Admin, IdempotencyKey, in_transaction
from api.idempotent import idempotent_change
from api.outcomes import envelope
from api.responses import (
    COMMON_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    DeliveryEnvelope,
    DeliveryPageEnvelope,
    WebhookEnvelope,
    WebhookListEnvelope,
    error_responses,
)
from api.webhook_schemas import WebhookCreate, WebhookUpdate
from greenlight import audit
from greenlight.audit import Actor, AuditAction, AuditDetail
from greenlight.digits import POSITION_PATTERN
from greenlight.keys import Principal
from greenlight.models import DeliveryStatus
from greenlight.notifications import delivery, endpoints
from greenlight.notifications.delivery import MAX_PAGE
from greenlight.notifications.endpoints import EndpointChanges, endpoint_to_dict
from workers.dispatch import CeleryDispatcher

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
dispatcher = CeleryDispatcher()
# A change by id that takes an Idempotency-Key: a malformed key is a 400.
KEYED_ERRORS = error_responses(400, 401, 404, 422, 500)


def _create(session: Session, principal: Principal, actor: Actor, body: WebhookCreate) -> dict[str, Any]:
    endpoint, secret = endpoints.create_endpoint(
        session, principal, body.url, body.event_types, enabled=body.enabled, description=body.description
    )
    audit.record(session, actor, AuditAction.WEBHOOK_CREATED, "webhook", endpoint.id)
    return endpoint_to_dict(endpoint, secret=secret)


def _list(session: Session, workspace_id: str) -> list[dict[str, Any]]:
    return [endpoint_to_dict(endpoint) for endpoint in endpoints.list_endpoints(session, workspace_id)]


def _read(session: Session, workspace_id: str, webhook_id: str) -> dict[str, Any]:
    return endpoint_to_dict(endpoints.get_endpoint(session, workspace_id, webhook_id))


def _update(
    session: Session, principal: Principal, actor: Actor, webhook_id: str, body: WebhookUpdate
) -> dict[str, Any]:
    changes = EndpointChanges(**body.model_dump(exclude_unset=True))  # url, enabled: never null
    endpoint = endpoints.update_endpoint(session, principal.workspace_id, webhook_id, changes)
    detail = AuditDetail(fields=sorted(body.model_fields_set))
    audit.record(session, actor, AuditAction.WEBHOOK_UPDATED, "webhook", endpoint.id, detail=detail)
    return endpoint_to_dict(endpoint)


def _delete(session: Session, principal: Principal, actor: Actor, webhook_id: str) -> dict[str, Any]:
    endpoints.delete_endpoint(session, principal.workspace_id, webhook_id)
    audit.record(session, actor, AuditAction.WEBHOOK_DELETED, "webhook", webhook_id)
    return {"id": webhook_id, "deleted": True}


def _rotate(session: Session, principal: Principal, actor: Actor, webhook_id: str) -> dict[str, Any]:
    endpoint, secret = endpoints.rotate_secret(session, principal.workspace_id, webhook_id)
    audit.record(session, actor, AuditAction.WEBHOOK_SECRET_ROTATED, "webhook", endpoint.id)
    return endpoint_to_dict(endpoint, secret=secret)


def _deliveries(
    session: Session,
    workspace_id: str,
    webhook_id: str,
    limit: int | None,
    cursor: str | None,
    status: str | None,
) -> dict[str, Any]:
    rows, next_cursor = delivery.list_deliveries(
        session, workspace_id, webhook_id, limit=limit, cursor=cursor, status=status
    )
    return {"items": [delivery.delivery_to_dict(row) for row in rows], "next_cursor": next_cursor}


def _redeliver(
    session: Session, principal: Principal, actor: Actor, webhook_id: str, delivery_id: str
) -> dict[str, Any]:
    again = delivery.redeliver(session, principal.workspace_id, webhook_id, delivery_id)
    detail = AuditDetail(delivery_id=delivery_id)
    audit.record(session, actor, AuditAction.WEBHOOK_REDELIVERED, "webhook", webhook_id, detail=detail)
    return delivery.delivery_to_dict(again)


@router.post(
    "",
    status_code=201,
    summary="Register a webhook endpoint (its secret is shown only now)",
    response_model=WebhookEnvelope,
    responses=error_responses(400, 401, 422, 500),
)
async def create_webhook(
    request: Request, body: WebhookCreate, principal: Admin, idempotency_key: IdempotencyKey = None
) -> Response:
    sent = body.model_dump(mode="json")
    return await idempotent_change(
        request,
        principal,
        idempotency_key,
        sent,
        201,
        _create,
        Actor.of(principal),
        body,
        current_secret=endpoints.current_secret,
    )


@router.get(
    "", summary="List your webhook endpoints", response_model=WebhookListEnvelope, responses=COMMON_ERRORS
)
async def list_webhooks(principal: Admin) -> Response:
    return envelope(await in_transaction(_list, principal.workspace_id))


@router.get(
    "/{webhook_id}", summary="Read a webhook endpoint", response_model=WebhookEnvelope, responses=READ_ERRORS
)
async def read_webhook(webhook_id: str, principal: Admin) -> Response:
    return envelope(await in_transaction(_read, principal.workspace_id, webhook_id))


@router.patch(
    "/{webhook_id}",
    summary="Change a webhook's URL, event types, description or enabled flag",
    response_model=WebhookEnvelope,
    responses=WRITE_ERRORS,
)
async def update_webhook(
    request: Request,
    webhook_id: str,
    body: WebhookUpdate,
    principal: Admin,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    sent = body.model_dump(mode="json", exclude_unset=True)
    answer = await idempotent_change(
        request, principal, idempotency_key, sent, 200, _update, Actor.of(principal), webhook_id, body
    )
    if body.enabled:
        await run_in_threadpool(dispatcher.enqueue_relay)  # re-enabled: paused deliveries resume now
    return answer


@router.delete(
    "/{webhook_id}",
    summary="Delete a webhook endpoint and its delivery log",
    response_model=WebhookEnvelope,
    responses=KEYED_ERRORS,
)
async def delete_webhook(
    request: Request, webhook_id: str, principal: Admin, idempotency_key: IdempotencyKey = None
) -> Response:
    actor = Actor.of(principal)
    return await idempotent_change(request, principal, idempotency_key, None, 200, _delete, actor, webhook_id)


@router.post(
    "/{webhook_id}/rotate-secret",
    summary="Rotate the signing secret (the old one signs too for a while)",
    response_model=WebhookEnvelope,
    responses=KEYED_ERRORS,
)
async def rotate_secret(
    request: Request, webhook_id: str, principal: Admin, idempotency_key: IdempotencyKey = None
) -> Response:
    return await idempotent_change(
        request,
        principal,
        idempotency_key,
        None,
        200,
        _rotate,
        Actor.of(principal),
        webhook_id,
        current_secret=endpoints.current_secret,
    )


@router.get(
    "/{webhook_id}/deliveries",
    summary="The delivery log, newest first",
    response_model=DeliveryPageEnvelope,
    responses=READ_ERRORS | error_responses(400),
)
async def list_deliveries(
    webhook_id: str,
    principal: Admin,
    # Documented here, checked by the domain (400 with its own messages).
    limit: int | None = Query(
        default=None,
        description=f"Page size, 1 to {MAX_PAGE} (default 50)",
        json_schema_extra={"minimum": 1, "maximum": MAX_PAGE},
    ),
    cursor: str | None = Query(
        default=None,
        description="`next_cursor` from the previous page",
        json_schema_extra={"pattern": POSITION_PATTERN},
    ),
    status: str | None = Query(
        default=None,
        description="pending, sending, succeeded or failed",
        json_schema_extra={"enum": [s.value for s in DeliveryStatus]},
    ),
) -> Response:
    return envelope(
        await in_transaction(_deliveries, principal.workspace_id, webhook_id, limit, cursor, status)
    )


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    summary="Send a delivery again now",
    response_model=DeliveryEnvelope,
    responses=WRITE_ERRORS,
)
async def redeliver(
    request: Request,
    webhook_id: str,
    delivery_id: str,
    principal: Admin,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    answer = await idempotent_change(
        request,
        principal,
        idempotency_key,
        None,
        202,
        _redeliver,
        Actor.of(principal),
        webhook_id,
        delivery_id,
    )
    await run_in_threadpool(dispatcher.enqueue_relay)  # committed: the next relay claims it
    return answer
