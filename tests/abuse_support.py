"""Helpers for the bad-input, abuse and security tests: error shapes, what a user owns, routes."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa
from fastapi.routing import APIRoute

from api.errors import ErrorStyle, style_for
from api.main import app
from greenlight.db import unit_of_work
from greenlight.keys import authenticate
from greenlight.models import (
    DraftEntry,
    Operation,
    OutboxEvent,
    Persona,
    PersonaVersion,
    Promotion,
    Resource,
    ScheduledPromotion,
    VersionResource,
)
from greenlight.models.operations import PENDING_STATUSES
from tests.support import wait_until

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


def settle(user_id: str, timeout: float = 30) -> None:
    """Wait until none of the user's operations is queued or running."""

    def settled() -> bool:
        with unit_of_work() as session:
            pending = session.scalar(
                sa.select(sa.func.count())
                .select_from(Operation)
                .where(Operation.user_id == user_id, Operation.status.in_(PENDING_STATUSES))
            )
        return pending == 0

    wait_until(settled, timeout=timeout, interval=0.05)


def footprint(user_id: str) -> dict[str, int]:
    """How many rows of every table belong to the user: equal before and after means nothing written."""
    personas = sa.select(Persona.id).where(Persona.user_id == user_id)
    versions = sa.select(PersonaVersion.id).where(PersonaVersion.persona_id.in_(personas))
    queries = {
        "personas": sa.select(sa.func.count()).select_from(Persona).where(Persona.user_id == user_id),
        "versions": sa.select(sa.func.count())
        .select_from(PersonaVersion)
        .where(PersonaVersion.persona_id.in_(personas)),
        "version_resources": sa.select(sa.func.count())
        .select_from(VersionResource)
        .where(VersionResource.version_id.in_(versions)),
        "resources": sa.select(sa.func.count()).select_from(Resource).where(Resource.user_id == user_id),
        "operations": sa.select(sa.func.count()).select_from(Operation).where(Operation.user_id == user_id),
        "draft_entries": sa.select(sa.func.count())
        .select_from(DraftEntry)
        .where(DraftEntry.user_id == user_id),
        "schedules": sa.select(sa.func.count())
        .select_from(ScheduledPromotion)
        .where(ScheduledPromotion.user_id == user_id),
        "promotions": sa.select(sa.func.count()).select_from(Promotion).where(Promotion.user_id == user_id),
        "events": sa.select(sa.func.count()).select_from(OutboxEvent).where(OutboxEvent.user_id == user_id),
    }
    with unit_of_work() as session:
        return {name: int(session.scalar(query) or 0) for name, query in queries.items()}
