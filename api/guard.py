"""A pure ASGI guard in front of the app: request bodies over the limit, and NUL in the URL.

A body whose ``Content-Length`` is over ``GREENLIGHT_MAX_BODY_BYTES`` is refused with 413 at once,
before a byte of it is read. A body without one (chunked) is counted as it streams; reading past the
limit raises ``BodyTooLarge`` (a 413) in whoever reads it, so it is never read, or buffered, whole.
Both answer in the endpoint's own error shape.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import CODE_BY_STATUS, error_body, style_for
from greenlight.settings import get_settings


class BodyTooLarge(HTTPException):
    """Rendered by api/errors.py like any HTTP error; an HTTPException so frameworks re-raise it as is."""

    def __init__(self, limit: int) -> None:
        # The rest of the body is not read: the connection cannot be reused.
        super().__init__(413, f"The request body is larger than {limit} bytes", {"Connection": "close"})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed Content-Length before we run
    return None


def _nul_in_url(scope: Scope) -> bool:
    return "\x00" in scope.get("path", "") or b"\x00" in unquote_to_bytes(scope.get("query_string", b""))


class RequestGuard:
    def __init__(self, app: ASGIApp, max_body_bytes: int | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes if self.max_body_bytes is not None else get_settings().max_body_bytes
        if _nul_in_url(scope):
            await _refuse(scope, send, 400, "The URL must not contain NUL characters")
            return
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, send, 413, BodyTooLarge(limit).detail)
            return

        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge as exc:  # an app that let it through: answer here if we still can
            if started:
                raise
            await _refuse(scope, send, 413, exc.detail)


async def _refuse(scope: Scope, send: Send, status: int, message: str) -> None:
    code = CODE_BY_STATUS.get(status, "INVALID_REQUEST")
    body = error_body(style_for(scope.get("path", "")), code, message, {})
    # The rest of the body is not read: ask the client not to reuse the connection.
    response = JSONResponse(body, status_code=status, headers={"Connection": "close"})

    async def no_body() -> Message:
        return {"type": "http.disconnect"}

    await response(scope, no_body, send)
