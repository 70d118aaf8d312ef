"""Idempotency keys: validation, the request fingerprint that detects a reused key, and the stored
answers of synchronous requests (operations are their own record: see operations/submit.py)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenlight.errors import IdempotencyKeyReused, InvalidRequest
from greenlight.models.idempotency import IdempotencyRecord

MAX_KEY_LENGTH = 255


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


def replay(session: Session, user_id: str, key: str | None, request_hash: str) -> IdempotencyRecord | None:
    """The stored answer of an earlier identical request under this key; 422 if the key was
    used for a different request."""
    if validate_key(key) is None:
        return None
    record = session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
    )
    if record is not None and record.request_hash != request_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request", {"idempotency_key": key}
        )
    return record


def remember(
    session: Session, user_id: str, key: str | None, request_hash: str, status_code: int, body: dict[str, Any]
) -> None:
    """Store the answer in the same transaction as the change: both happen, or neither."""
    if key is not None:
        session.add(
            IdempotencyRecord(
                user_id=user_id, key=key, request_hash=request_hash, status_code=status_code, body=body
            )
        )
        session.flush()
