"""Idempotency keys: validation and the request fingerprint that detects a reused key."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from greenlight.errors import InvalidRequest

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
