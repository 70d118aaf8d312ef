"""Error rendering: the one place that maps domain errors to HTTP statuses and bodies.

Each public document has its own error shape, chosen by path:
- Bland-style ``/v1/...``: ``{"data": null, "errors": [{"error", "message", "details"}]}``
- Retell's ``/publish-agent-version/...``: ``{"status": "error", "message"}``
- the draft API's ``/persona/...``: ``{"success": false, "message", "error", "details"}``
- the web console's ``/console/...``: an HTML page (a 401 sends the browser to sign in)
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.console.rendering import error_page
from greenlight.auth_throttle import TooManyFailedAttempts
from greenlight.errors import DomainError

log = logging.getLogger(__name__)

STATUS_BY_KIND: dict[str, int] = {
    "bad_request": 400,
    "invalid": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "unprocessable": 422,
    "too_large": 413,
    "too_many_requests": 429,
}

CODE_BY_STATUS: dict[int, str] = {
    400: "INVALID_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    422: "VALIDATION_ERROR",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_ERROR",
}


class ErrorStyle(enum.Enum):
    ENVELOPE = "envelope"
    RETELL = "retell"
    DRAFT = "draft"
    CONSOLE = "console"


def style_for(path: str) -> ErrorStyle:
    if path == "/console" or path.startswith("/console/"):
        return ErrorStyle.CONSOLE
    if path.startswith("/publish-agent-version"):
        return ErrorStyle.RETELL
    if path.startswith("/persona/"):
        return ErrorStyle.DRAFT
    return ErrorStyle.ENVELOPE


def status_for(error: DomainError) -> int:
    return STATUS_BY_KIND.get(error.kind, 400)


def error_body(style: ErrorStyle, code: str, message: str, details: dict[str, Any]) -> dict[str, Any]:
    if style is ErrorStyle.RETELL:
        return {"status": "error", "message": message}
    if style is ErrorStyle.DRAFT:
        # The draft API's success body has `success` and `message`; its errors keep them.
        return {"success": False, "message": message, "error": code, "details": details}
    return {"data": None, "errors": [{"error": code, "message": message, "details": details}]}


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    if style_for(request.url.path) is ErrorStyle.CONSOLE:
        return error_page(request, status, code, message, details or {})
    body = error_body(style_for(request.url.path), code, message, details or {})
    extra = dict(headers or {})
    if status == 401:
        extra["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=status, headers=extra or None)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": [str(part) for part in err.get("loc", ())], "msg": err.get("msg"), "type": err.get("type")}
        for err in exc.errors()
    ]


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyFailedAttempts) else None
    return error_response(request, status_for(exc), exc.code, exc.message, exc.details, headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    malformed = any(err["type"] == "json_invalid" for err in errors)
    if style_for(request.url.path) is ErrorStyle.RETELL:
        return error_response(
            request, 400, "INVALID_REQUEST", "Invalid request format, please check API reference."
        )
    if malformed:
        return error_response(
            request, 400, "INVALID_JSON", "The request body is not valid JSON", {"errors": errors}
        )
    return error_response(request, 422, "VALIDATION_ERROR", "The request is not valid", {"errors": errors})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = CODE_BY_STATUS.get(exc.status_code, "HTTP_ERROR")
    message = exc.detail if isinstance(exc.detail, str) else code
    if exc.status_code == 404 and message == "Not Found":
        message = "The requested resource was not found."
    # Keep the exception's headers: a 405 must say which methods are allowed (`Allow`).
    return error_response(request, exc.status_code, code, message, headers=exc.headers)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(request, 500, "INTERNAL_ERROR", "An unexpected server error occurred.")


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
