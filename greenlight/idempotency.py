"""Idempotency keys: validation, the request fingerprint that detects a reused key, and the stored
answers of synchronous requests (operations are their own record: see operations/submit.py).

A stored answer never holds a secret (a webhook's signing secret, answered on creation and
rotation): ``data.secret`` is stored as null, with the secret's SHA-256 beside the answer. A replay
gives the secret again only while the resource's current secret, read from the resource itself, is
still the one first answered; once it was rotated (or the resource deleted) it answers
``"secret": null``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from greenlight.errors import IdempotencyKeyReused, InvalidRequest
from greenlight.models.idempotency import IdempotencyRecord
from greenlight.tenancy import Actor, owned_by
from greenlight.upsert import insert_missing

MAX_KEY_LENGTH = 255
SECRET_FIELD = "secret"
# Answered once and never again, a replay included: a new API key (only its hash is kept anywhere).
ANSWERED_ONCE_FIELD = "api_key"
# Beside data and errors in a stored body, never in an answer.
_WITHHELD = "withheld_secret_sha256"

# The current secret of the resource an answer's data names, for this user; None if it has none.
CurrentSecret = Callable[[Session, str, dict[str, Any]], str | None]


def validate_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidRequest(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters",
            {"length": len(key)},
            code="INVALID_IDEMPOTENCY_KEY",
        )
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in key):
        raise InvalidRequest(
            "Idempotency-Key must not contain control characters", code="INVALID_IDEMPOTENCY_KEY"
        )
    return key


def fingerprint(kind: str, target: str | None, payload: dict[str, Any]) -> str:
    """Stable hash of what the request asks for; key order and whitespace do not matter."""
    canonical = json.dumps([kind, target or "", payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def reuse_refusal(
    key: str, earlier_hash: str, request_hash: str, operation_id: str | None = None
) -> IdempotencyKeyReused | None:
    """The refusal of a key already used with a different request (None: the same request)."""
    if earlier_hash == request_hash:
        return None
    details = {"idempotency_key": key} | ({"operation_id": operation_id} if operation_id else {})
    return IdempotencyKeyReused("This Idempotency-Key was already used with a different request", details)


def claim(session: Session, actor: Actor, key: str | None, request_hash: str) -> IdempotencyRecord | None:
    """Take the key for this request, as the first write of its transaction; or, when an earlier
    request holds it, that request's stored answer (422 if it was a different request).

    The claim is an insert that a concurrent holder of the key makes wait until it commits
    (greenlight/upsert.py): a retry sent while the first is still running waits for its answer, as
    the IETF Idempotency-Key draft allows, and never makes a second change. Nobody else ever sees
    the claimed row before ``remember`` fills it in, in the same transaction.
    """
    if validate_key(key) is None:
        return None
    claimed = insert_missing(
        session,
        IdempotencyRecord,
        {
            "workspace_id": actor.workspace_id,
            "user_id": actor.user_id,
            "key": key,
            "request_hash": request_hash,
            "status_code": 0,
            "body": {},
        },
        ("workspace_id", "key"),
    )
    if claimed:
        return None
    record = session.scalar(
        select(IdempotencyRecord).where(
            owned_by(IdempotencyRecord, actor.workspace_id), IdempotencyRecord.key == key
        )
    )
    assert record is not None  # the holder the claim waited for committed it
    refusal = reuse_refusal(record.key, record.request_hash, request_hash)
    if refusal is not None:
        raise refusal
    return record


def remember(
    session: Session, workspace_id: str, key: str | None, status_code: int, body: dict[str, Any]
) -> None:
    """Store the answer in the claimed row, in the same transaction as the change: both happen, or
    neither (a refusal rolls the claim back too, so a retry tries again)."""
    if key is not None:
        session.execute(
            update(IdempotencyRecord)
            .where(owned_by(IdempotencyRecord, workspace_id), IdempotencyRecord.key == key)
            .values(status_code=status_code, body=withhold_secret(body))
        )


def withhold_secret(body: dict[str, Any]) -> dict[str, Any]:
    """The body as it may be stored: ``data.secret`` null, its SHA-256 kept beside; ``data.api_key``
    null."""
    data = body.get("data")
    if isinstance(data, dict) and data.get(ANSWERED_ONCE_FIELD) is not None:
        data = {**data, ANSWERED_ONCE_FIELD: None}
        body = {**body, "data": data}
    if not isinstance(data, dict) or not isinstance(data.get(SECRET_FIELD), str):
        return body
    return {**body, "data": {**data, SECRET_FIELD: None}, _WITHHELD: _digest(data[SECRET_FIELD])}


def replayed_body(
    session: Session, record: IdempotencyRecord, current: CurrentSecret | None
) -> dict[str, Any]:
    """A stored answer as a retry gets it: the secret filled in from its resource while unchanged."""
    body = dict(record.body)
    digest = body.pop(_WITHHELD, None)
    if digest is None or current is None:
        return body
    secret = current(session, record.workspace_id, body["data"])
    if secret is not None and hmac.compare_digest(_digest(secret), digest):
        body["data"] = {**body["data"], SECRET_FIELD: secret}
    return body


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
