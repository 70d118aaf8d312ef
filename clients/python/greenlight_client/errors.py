"""Typed errors: one class per kind of refusal, each carrying what the server said.

The server answers errors in three shapes, by path (its ``api/errors.py``):

- ``/v1/...``: ``{"data": null, "errors": [{"error", "message", "details"}]}``
- Retell's ``/publish-agent-version/...``: ``{"status": "error", "message"}``
- the draft API's ``/persona/...``: ``{"success": false, "message", "error", "details"}``

:func:`error_from_response` reads all three (and anything else, as text).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from greenlight_client.models import Operation

# The code the server uses for a status when its body names none (Retell's shape has no code).
_CODE_BY_STATUS: dict[int, str] = {
    400: "INVALID_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    422: "VALIDATION_ERROR",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_ERROR",
}


class GreenlightError(Exception):
    """Base of every error this package raises."""


class APIError(GreenlightError):
    """The server refused a request (or failed it): its code, message, details, status and request id."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "HTTP_ERROR",
        details: dict[str, Any] | None = None,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details: dict[str, Any] = details or {}
        self.status = status
        self.request_id = request_id

    def __str__(self) -> str:
        where = f" (request {self.request_id})" if self.request_id else ""
        status = f"{self.status} " if self.status is not None else ""
        return f"{status}{self.code}: {self.message}{where}"


class BadRequestError(APIError):
    """400: malformed request, or a change the persona's state does not allow (e.g. NO_DRAFT_VERSION)."""


class AuthenticationError(APIError):
    """401: missing, invalid or revoked API key."""


class PermissionDeniedError(APIError):
    """403: the key's role does not allow this (``details["permission"]`` names what it needs)."""


class NotFoundError(APIError):
    """404: not found, or not yours (the server does not tell the two apart)."""


class ConflictError(APIError):
    """409: the persona changed (e.g. a compare-and-swap on the production version failed)."""


class PayloadTooLargeError(APIError):
    """413: the body is larger than the server accepts."""


class ValidationError(APIError):
    """422: well-formed but invalid, or an Idempotency-Key reused with a different request."""


class RateLimitError(APIError):
    """429: too many requests; ``retry_after`` is the server's Retry-After in seconds, when given."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InternalServerError(APIError):
    """5xx."""


class OperationFailedError(APIError):
    """An operation this client waited for by polling ended ``failed``; ``operation`` is its record.

    (When the server itself answers the outcome, its refusal is raised as the matching class above.)"""

    def __init__(self, operation: Operation) -> None:
        error = operation.error
        super().__init__(
            error.message if error else "The operation failed",
            code=error.error if error else "OPERATION_FAILED",
            details=error.details if error else {},
        )
        self.operation = operation


class APIConnectionError(GreenlightError):
    """The server could not be reached (or did not answer) after every retry."""


class APITimeoutError(APIConnectionError):
    """The request timed out after every retry."""


class WaitTimeoutError(GreenlightError):
    """An operation was not finished when the wait's timeout ran out; ``operation`` is its last state."""

    def __init__(self, operation: Operation, timeout: float) -> None:
        super().__init__(f"operation {operation.id} still {operation.status} after {timeout:g} s")
        self.operation = operation
        self.timeout = timeout


class WebhookVerificationError(GreenlightError):
    """A webhook's signature or timestamp does not check out: do not trust its body."""


_CLASS_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: ValidationError,
    429: RateLimitError,
}


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds (only the delta-seconds form; an HTTP date is ignored)."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds)


def _parse_body(response: httpx.Response) -> tuple[str | None, str, dict[str, Any]]:
    """(code, message, details) from any of the server's three error shapes."""
    try:
        body = response.json()
    except ValueError:
        return None, response.text[:500] or response.reason_phrase, {}
    if not isinstance(body, dict):
        return None, str(body)[:500], {}
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):  # the /v1 envelope
        first = errors[0]
        return first.get("error"), str(first.get("message", "")), dict(first.get("details") or {})
    if body.get("success") is False or body.get("status") == "error":  # drafts, Retell
        details = body.get("details")
        return body.get("error"), str(body.get("message", "")), dict(details or {})
    return None, str(body.get("message") or body.get("detail") or response.reason_phrase), {}


def error_from_response(response: httpx.Response) -> APIError:
    """The typed error for a 4xx or 5xx answer."""
    status = response.status_code
    code, message, details = _parse_body(response)
    fields: dict[str, Any] = {
        "code": code or _CODE_BY_STATUS.get(status, "HTTP_ERROR"),
        "details": details,
        "status": status,
        "request_id": response.headers.get("x-request-id"),
    }
    if status == 429:
        return RateLimitError(message, retry_after=retry_after_seconds(response), **fields)
    cls = _CLASS_BY_STATUS.get(status, InternalServerError if status >= 500 else APIError)
    return cls(message, **fields)
