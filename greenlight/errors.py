"""Typed domain errors. ``api/errors.py`` maps each ``kind`` to an HTTP status in one place."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A refusal the caller can act on; it never means the service is broken."""

    kind: ClassVar[str] = "invalid"
    code: ClassVar[str] = "INVALID_REQUEST"

    def __init__(self, message: str, details: dict[str, Any] | None = None, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if code is not None:
            self.code = code  # type: ignore[misc]

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "details": self.details, "kind": self.kind}


class NotFound(DomainError):
    kind = "not_found"
    code = "NOT_FOUND"


class Unauthorized(DomainError):
    kind = "unauthorized"
    code = "UNAUTHORIZED"


class InvalidRequest(DomainError):
    """Malformed input (a 400): headers, keys, shapes the schema could not catch."""

    kind = "bad_request"
    code = "INVALID_REQUEST"


class Unprocessable(DomainError):
    """Well-formed input that refers to something that cannot be used (a 422)."""

    kind = "unprocessable"
    code = "UNPROCESSABLE"


class Conflict(DomainError):
    """The persona's state does not allow the change right now (a 409)."""

    kind = "conflict"
    code = "CONFLICT"


class NoDraftVersion(DomainError):
    kind = "bad_request"
    code = "NO_DRAFT_VERSION"


class IdempotencyKeyReused(DomainError):
    kind = "unprocessable"
    code = "IDEMPOTENCY_KEY_REUSED"


class InfrastructureError(Exception):
    """The database, Redis or the broker failed: retry, never report the operation as failed."""


class FencingError(InfrastructureError):
    """This worker's lock expired and someone else moved the persona on; its write is refused."""


def error_from_dict(data: dict[str, Any]) -> DomainError:
    """Rebuild a stored operation error so it renders exactly like a live one."""
    kinds: dict[str, type[DomainError]] = {
        cls.kind: cls for cls in (NotFound, Unauthorized, InvalidRequest, Unprocessable, Conflict)
    }
    cls = kinds.get(str(data.get("kind")), DomainError)
    return cls(str(data.get("message", "")), dict(data.get("details") or {}), code=str(data.get("error")))
