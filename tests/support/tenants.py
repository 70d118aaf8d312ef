"""Helpers for the bad-input, abuse and security tests: error shapes, what a user owns, routes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi.routing import APIRoute

from api.errors import ErrorStyle, style_for
from api.main import app
from greenlight.db import unit_of_work
from greenlight.keys import authenticate
from greenlight.models import (
    ApiKey,
    AuditEvent,
    DraftEntry,
    Operation,
    OutboxEvent,
    Persona,
    PersonaVersion,
    Promotion,
    Resource,
    ScheduledPromotion,
    VersionResource,
    WorkspaceMember,
)
from greenlight.models.operations import PENDING_STATUSES
from tests.support.http import new_key
from tests.support.processes import wait_until

# Routes anyone may call without a key.
# Probes and the Prometheus scrape answer without a key (keep them on the private network).
PUBLIC_ROUTES = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")}
HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def api_routes() -> set[tuple[str, str]]:
    """Every (method, path) of the app's routes, paths as in OpenAPI (`{number}`, not `{number:int}`).

    Read from the OpenAPI document FastAPI builds from `app.routes`: recent FastAPI keeps included
    routers unflattened in `app.routes` (private `_IncludedRouter`s), the document is public and
    stable. No route is excluded from the schema, which this also checks.
    """
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if method.upper() in HTTP_METHODS
    }
    flat = [route for route in app.routes if isinstance(route, APIRoute)]
    assert all(route.include_in_schema for route in flat), "a hidden route escapes these tables"
    return routes


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The error's code, message and details, whatever the endpoint's shape; asserts the shape."""
    body = response.json()
    style = style_for(response.request.url.path)
    if style is ErrorStyle.RETELL:
        assert set(body) == {"status", "message"} and body["status"] == "error", body
        return {"error": None, "message": body["message"], "details": {}}
    if style is ErrorStyle.DRAFT:
        assert set(body) == {"success", "message", "error", "details"} and body["success"] is False, body
        return {"error": body["error"], "message": body["message"], "details": body["details"]}
    assert set(body) == {"data", "errors"} and body["data"] is None, body
    [error] = body["errors"]
    assert set(error) == {"error", "message", "details"}, body
    return dict(error)


def user_id_of(key: str) -> str:
    with unit_of_work() as session:
        return authenticate(session, key).user_id


def workspace_id_of(key: str) -> str:
    with unit_of_work() as session:
        return authenticate(session, key).workspace_id


def settle(workspace_id: str, timeout: float = 30) -> None:
    """Wait until none of the workspace's operations is queued or running."""

    def settled() -> bool:
        with unit_of_work() as session:
            pending = session.scalar(
                sa.select(sa.func.count())
                .select_from(Operation)
                .where(Operation.workspace_id == workspace_id, Operation.status.in_(PENDING_STATUSES))
            )
        return pending == 0

    wait_until(settled, timeout=timeout, interval=0.05)


def footprint(workspace_id: str) -> dict[str, int]:
    """How many rows of every table belong to the workspace: equal before and after means nothing written."""
    personas = sa.select(Persona.id).where(Persona.workspace_id == workspace_id)
    versions = sa.select(PersonaVersion.id).where(PersonaVersion.persona_id.in_(personas))
    queries = {
        "personas": sa.select(sa.func.count())
        .select_from(Persona)
        .where(Persona.workspace_id == workspace_id),
        "versions": sa.select(sa.func.count())
        .select_from(PersonaVersion)
        .where(PersonaVersion.persona_id.in_(personas)),
        "version_resources": sa.select(sa.func.count())
        .select_from(VersionResource)
        .where(VersionResource.version_id.in_(versions)),
        "resources": sa.select(sa.func.count())
        .select_from(Resource)
        .where(Resource.workspace_id == workspace_id),
        "operations": sa.select(sa.func.count())
        .select_from(Operation)
        .where(Operation.workspace_id == workspace_id),
        "draft_entries": sa.select(sa.func.count())
        .select_from(DraftEntry)
        .where(DraftEntry.workspace_id == workspace_id),
        "schedules": sa.select(sa.func.count())
        .select_from(ScheduledPromotion)
        .where(ScheduledPromotion.workspace_id == workspace_id),
        "promotions": sa.select(sa.func.count())
        .select_from(Promotion)
        .where(Promotion.workspace_id == workspace_id),
        "events": sa.select(sa.func.count())
        .select_from(OutboxEvent)
        .where(OutboxEvent.workspace_id == workspace_id),
        "members": sa.select(sa.func.count())
        .select_from(WorkspaceMember)
        .where(WorkspaceMember.workspace_id == workspace_id),
        "keys": sa.select(sa.func.count()).select_from(ApiKey).where(ApiKey.workspace_id == workspace_id),
        "revoked_keys": sa.select(sa.func.count())
        .select_from(ApiKey)
        .where(ApiKey.workspace_id == workspace_id, ApiKey.revoked_at.is_not(None)),
        "audit_events": sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.workspace_id == workspace_id),
    }
    with unit_of_work() as session:
        return {name: int(session.scalar(query) or 0) for name, query in queries.items()}


@dataclass(frozen=True)
class Tenant:
    key: str
    auth: dict[str, str]
    workspace_id: str  # the key's user's own workspace: a tenant of its own
    user_id: str  # its admin, the key's user
    key_id: str
    persona_id: str  # draft v1, archived v2, production v3, a pending scheduled promotion
    schedule_id: str
    operation_id: str
    draft_id: str  # a composable draft (seed 002)
    entry_id: str  # a dormant proposal on it
    webhook_id: str  # an endpoint (on a closed port) ...
    delivery_id: str  # ... and one of its deliveries
    request_id: str  # an open promotion request, of a second persona that reviews promotions


def make_tenant(http: httpx.Client) -> Tenant:
    """A workspace (a new user's own) with one of everything, each id real (made through the API,
    settled)."""
    key = new_key()
    auth = {"authorization": key, "Prefer": "wait=20"}

    def ok(response: httpx.Response) -> Any:
        assert response.status_code < 300, response.text
        return response.json()

    webhook_id = ok(http.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=auth))["data"][
        "id"
    ]
    pid = ok(http.post("/v1/personas", json={"name": "Mine"}, headers=auth))["data"]["id"]
    ok(http.post(f"/v1/personas/{pid}/versions/promote", headers=auth))
    ok(http.post(f"/v1/personas/{pid}/versions/promote", headers=auth))
    ok(http.patch(f"/v1/personas/{pid}/draft", json={"personality_prompt": "next"}, headers=auth))
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    schedule = ok(
        http.post(f"/v1/personas/{pid}/versions/promote", json={"scheduled_at": later}, headers=auth)
    )
    draft = ok(http.post("/persona/draft", json={"name": "Composable"}, headers=auth))
    proposal = ok(
        http.post(
            "/persona/draft", json={"draft_id": draft["draft_id"], "soft": True, "name": "P"}, headers=auth
        )
    )
    request_id = _open_promotion_request(http, auth, ok)
    with unit_of_work() as session:
        principal = authenticate(session, key)
    workspace_id = principal.workspace_id
    deliveries: list[dict[str, Any]] = []

    def delivered() -> bool:
        deliveries[:] = ok(http.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=auth))["data"]["items"]
        return bool(deliveries)

    wait_until(delivered, timeout=30, interval=0.1)
    return Tenant(
        key=key,
        auth={"authorization": key, "Prefer": "respond-async"},
        workspace_id=workspace_id,
        user_id=principal.user_id,
        key_id=principal.key_id,
        persona_id=pid,
        schedule_id=schedule["data"]["id"],
        operation_id=_latest_operation(workspace_id),
        draft_id=draft["draft_id"],
        entry_id=proposal["idempotency_key"],
        webhook_id=webhook_id,
        delivery_id=deliveries[0]["id"],
        request_id=request_id,
    )


def _open_promotion_request(http: httpx.Client, auth: dict[str, str], ok: Any) -> str:
    """A second persona whose promotions need one approval, and its promotion waiting for it."""
    reviewed = ok(http.post("/v1/personas", json={"name": "Reviewed"}, headers=auth))["data"]["id"]
    policy = {"required_approvals": 1, "allow_self_approval": False}
    ok(http.put(f"/v1/personas/{reviewed}/review-policy", json=policy, headers=auth))
    waiting = http.post(f"/v1/personas/{reviewed}/versions/promote", headers=auth)
    assert waiting.status_code == 202, waiting.text
    return str(waiting.json()["data"]["promotion_request_id"])


def _latest_operation(workspace_id: str) -> str:
    with unit_of_work() as session:
        return str(
            session.scalar(
                sa.select(Operation.id)
                .where(Operation.workspace_id == workspace_id)
                .order_by(Operation.created_at.desc())
            )
        )
