"""Webhook endpoints: registration, changes, secrets and their rotation. Callers own the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from greenlight.clock import isoformat, utcnow
from greenlight.errors import NotFound, Unprocessable
from greenlight.models import WebhookDelivery, WebhookEndpoint
from greenlight.notifications.events import normalize_types
from greenlight.notifications.signing import new_secret
from greenlight.notifications.ssrf import validate_webhook_url
from greenlight.settings import Settings, get_settings
from greenlight.tenancy import Actor, owned_by

MAX_ENDPOINTS_PER_USER = 50
UNSET: Any = object()


@dataclass(frozen=True)
class EndpointChanges:
    """A PATCH: fields left UNSET keep their value."""

    url: str = UNSET
    event_types: list[str] | None = UNSET
    enabled: bool = UNSET
    description: str | None = UNSET


def get_endpoint(
    session: Session, workspace_id: str, endpoint_id: str, *, for_update: bool = False
) -> WebhookEndpoint:
    """The workspace's endpoint; another workspace's answers exactly like a missing one."""
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id, owned_by(WebhookEndpoint, workspace_id)
    )
    if for_update:
        query = query.with_for_update()
    endpoint = session.scalar(query)
    if endpoint is None:
        raise NotFound("Webhook not found", {"webhook_id": endpoint_id})
    return endpoint


def list_endpoints(session: Session, workspace_id: str) -> list[WebhookEndpoint]:
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(owned_by(WebhookEndpoint, workspace_id))
            .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        )
    )


def create_endpoint(
    session: Session,
    actor: Actor,
    url: str,
    event_types: list[str] | None = None,
    *,
    enabled: bool = True,
    description: str | None = None,
    settings: Settings | None = None,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret, which is returned only here and by a rotation."""
    settings = settings or get_settings()
    count = session.scalar(select(func.count()).where(owned_by(WebhookEndpoint, actor.workspace_id))) or 0
    if count >= MAX_ENDPOINTS_PER_USER:
        raise Unprocessable(
            f"At most {MAX_ENDPOINTS_PER_USER} webhooks per workspace",
            {"limit": MAX_ENDPOINTS_PER_USER},
            code="WEBHOOK_LIMIT_REACHED",
        )
    patterns = normalize_types(event_types)  # cheap checks first: the URL check resolves the host
    checked_url = validate_webhook_url(url, allow_private=settings.webhook_allow_private)
    now = utcnow()
    secret = new_secret()
    endpoint = WebhookEndpoint(
        workspace_id=actor.workspace_id,
        user_id=actor.user_id,
        url=checked_url,
        event_types=patterns,
        enabled=enabled,
        description=description,
        secret=secret,
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def update_endpoint(
    session: Session,
    workspace_id: str,
    endpoint_id: str,
    changes: EndpointChanges,
    settings: Settings | None = None,
) -> WebhookEndpoint:
    settings = settings or get_settings()
    endpoint = get_endpoint(session, workspace_id, endpoint_id, for_update=True)
    if changes.event_types is not UNSET:
        endpoint.event_types = normalize_types(changes.event_types)
    if changes.url is not UNSET:
        endpoint.url = validate_webhook_url(changes.url, allow_private=settings.webhook_allow_private)
    if changes.description is not UNSET:
        endpoint.description = changes.description
    if changes.enabled is not UNSET:
        endpoint.enabled = changes.enabled
        # Re-enabling clears why it was disabled; its pending deliveries resume in order.
        endpoint.disabled_reason = None if changes.enabled else "disabled by the user"
    endpoint.updated_at = utcnow()
    return endpoint


def delete_endpoint(session: Session, workspace_id: str, endpoint_id: str) -> None:
    endpoint = get_endpoint(session, workspace_id, endpoint_id, for_update=True)
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    session.delete(endpoint)


def rotate_secret(
    session: Session, workspace_id: str, endpoint_id: str, settings: Settings | None = None
) -> tuple[WebhookEndpoint, str]:
    """A new secret; the old one keeps signing too until the rotation window ends."""
    settings = settings or get_settings()
    endpoint = get_endpoint(session, workspace_id, endpoint_id, for_update=True)
    now = utcnow()
    window = timedelta(hours=settings.webhook_secret_rotation_hours)
    endpoint.previous_secret = endpoint.secret if window.total_seconds() > 0 else None
    endpoint.previous_secret_expires_at = now + window if window.total_seconds() > 0 else None
    endpoint.secret = new_secret()
    endpoint.updated_at = now
    return endpoint, endpoint.secret


def current_secret(session: Session, workspace_id: str, answer: dict[str, Any]) -> str | None:
    """The secret of the endpoint an answer describes, if it still exists (for an idempotent replay)."""
    try:
        return get_endpoint(session, workspace_id, str(answer.get("id"))).secret
    except NotFound:
        return None


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The current secret first, then the previous one while its rotation window lasts."""
    found = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        found.append(endpoint.previous_secret)
    return found


def endpoint_to_dict(endpoint: WebhookEndpoint, *, secret: str | None = None) -> dict[str, Any]:
    now = utcnow()
    rotating = len(signing_secrets(endpoint, now)) > 1
    body: dict[str, Any] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "previous_secret_expires_at": isoformat(endpoint.previous_secret_expires_at) if rotating else None,
        "created_at": isoformat(endpoint.created_at),
        "updated_at": isoformat(endpoint.updated_at),
    }
    if secret is not None:
        body["secret"] = secret
    return body
