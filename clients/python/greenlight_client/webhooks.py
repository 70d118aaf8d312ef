"""``client.webhooks`` (endpoints, their secrets and delivery log) and :func:`verify` for receivers."""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pydantic

from greenlight_client._resource import Resource, unwrap
from greenlight_client.errors import WebhookVerificationError
from greenlight_client.models import DeletedWebhook, Delivery, Event, Webhook

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_SECONDS = 300


class _Unset(enum.Enum):
    UNSET = "UNSET"


UNSET = _Unset.UNSET
# Aliases: inside the class, ``list`` is the method.
EventTypes = list[str]
WebhookList = list[Webhook]


class Webhooks(Resource):
    def create(
        self,
        url: str,
        *,
        event_types: EventTypes | None = None,
        enabled: bool = True,
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> Webhook:
        """Register an endpoint; ``event_types`` None means every type (exact names or ``prefix.*``).
        The answer's ``secret`` is shown only now (and by :meth:`rotate_secret`)."""
        body = {"url": url, "event_types": event_types, "enabled": enabled, "description": description}
        response = self._http.request("POST", "/v1/webhooks", json=body, idempotency_key=idempotency_key)
        return Webhook.model_validate(unwrap(response))

    def list(self) -> WebhookList:
        return [Webhook.model_validate(item) for item in self._get("/v1/webhooks")]

    def get(self, webhook_id: str) -> Webhook:
        return Webhook.model_validate(self._get(f"/v1/webhooks/{webhook_id}"))

    def update(
        self,
        webhook_id: str,
        *,
        url: str | _Unset = UNSET,
        event_types: EventTypes | _Unset | None = UNSET,
        enabled: bool | _Unset = UNSET,
        description: str | _Unset | None = UNSET,
        idempotency_key: str | None = None,
    ) -> Webhook:
        """Change only the fields given (``event_types=None``: every type; re-enabling resumes
        paused deliveries)."""
        fields = {"url": url, "event_types": event_types, "enabled": enabled, "description": description}
        body = {name: value for name, value in fields.items() if value is not UNSET}
        response = self._http.request(
            "PATCH", f"/v1/webhooks/{webhook_id}", json=body, idempotency_key=idempotency_key
        )
        return Webhook.model_validate(unwrap(response))

    def delete(self, webhook_id: str, *, idempotency_key: str | None = None) -> DeletedWebhook:
        response = self._http.request("DELETE", f"/v1/webhooks/{webhook_id}", idempotency_key=idempotency_key)
        return DeletedWebhook.model_validate(unwrap(response))

    def rotate_secret(self, webhook_id: str, *, idempotency_key: str | None = None) -> Webhook:
        """A new secret (in the answer, only now); the old one also signs during the rotation window."""
        response = self._http.request(
            "POST", f"/v1/webhooks/{webhook_id}/rotate-secret", idempotency_key=idempotency_key
        )
        return Webhook.model_validate(unwrap(response))

    def deliveries(
        self, webhook_id: str, *, status: str | None = None, page_size: int = 100
    ) -> Iterator[Delivery]:
        """The delivery log, newest first, page after page."""
        params = {"status": status, "limit": page_size}
        return self._pages(f"/v1/webhooks/{webhook_id}/deliveries", params, Delivery.model_validate)

    def redeliver(self, webhook_id: str, delivery_id: str, *, idempotency_key: str | None = None) -> Delivery:
        """Send a delivery again now."""
        path = f"/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"
        response = self._http.request("POST", path, idempotency_key=idempotency_key)
        return Delivery.model_validate(unwrap(response))


# --- receiving ---------------------------------------------------------------------------------


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WebhookVerificationError("the signing secret is not valid base64") from exc


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`` (Standard Webhooks)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def _header(headers: Mapping[str, str], name: str) -> str:
    lowered = {key.lower(): value for key, value in headers.items()}
    value = lowered.get(name)
    if not value:
        raise WebhookVerificationError(f"missing header {name}")
    return value


def _timestamp(headers: Mapping[str, str], tolerance: float, now: float | None) -> int:
    try:
        timestamp = int(_header(headers, "webhook-timestamp"))
    except ValueError as exc:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from exc
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance: too old or too new")
    return timestamp


def verify(
    secret: str | list[str],
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> Event:
    """Check a delivery's signature and timestamp and return its event.

    ``secret``: the endpoint's secret, or several (while you move to a rotated one). The delivery is
    accepted if any of its signatures (several during the server's rotation window) matches any
    secret, and its ``webhook-timestamp`` is within ``tolerance`` seconds of now (replays are
    refused). Raises :class:`WebhookVerificationError` otherwise: do not trust the body then."""
    raw = body.encode() if isinstance(body, str) else body
    message_id = _header(headers, "webhook-id")
    timestamp = _timestamp(headers, tolerance, now)
    offered = [part.strip() for part in _header(headers, "webhook-signature").split(" ") if part.strip()]
    expected = {
        sign(one, message_id, timestamp, raw) for one in ([secret] if isinstance(secret, str) else secret)
    }
    if not any(hmac.compare_digest(sig, want) for sig in offered for want in expected):
        raise WebhookVerificationError("no signature matches")
    try:
        payload: Any = json.loads(raw)
        return Event.model_validate(payload)
    except (ValueError, pydantic.ValidationError) as exc:
        raise WebhookVerificationError("the body is not an event") from exc
