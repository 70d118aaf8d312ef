"""Bland's promote with ``Prefer: respond-async``, answered ahead of routing.

Most of the accept's cost in this process was FastAPI's route matching, dependency resolution
and body handling, not the recording. When the caller's key is already known to this process and
the request is the plain case (no wait, no ``If-Match``, a JSON body that ``PromoteRequest``
accepts, nothing scheduled), this parses it as the route would and hands it to the route's own
``promote_answer``, so the answer is the route's. Anything else goes on to the route, with the
body replayed, and is answered there in full. A domain error from the submission also goes on:
a refused submission wrote nothing, and replaying a recorded key gives the same operation, so the
route's second try answers exactly as it would have the first time. Other errors propagate as the
route's would (a 500 from the outermost handler). ``RequestGuard`` sits outside: reading a body
past the limit raises its 413 here as it would in the route.
"""

from __future__ import annotations

import json
import re

from pydantic import ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import known_principal, scope_client
from api.fast.headers import RepeatedHeader, read_headers
from api.routers.personas import promote_answer, promote_wait
from api.schemas import PromoteRequest
from api.waiter import OperationWaiter
from greenlight import logs
from greenlight.access import Permission
from greenlight.errors import DomainError

_PROMOTE_PATH = re.compile(r"^/v1/personas/([^/]+)/versions/promote$")
_HEADERS = frozenset({b"authorization", b"prefer", b"idempotency-key", b"if-match", b"content-type"})


class _RouteDecides(Exception):
    """The request is not the plain case: the route answers it."""


def _is_json(content_type: str | None) -> bool:
    return content_type is None or content_type.split(";", 1)[0].strip().lower() == "application/json"


def _body(raw: bytes | None) -> PromoteRequest | None:
    """The body as the route takes it (decoded by ``json.loads``, then validated), when plain."""
    if raw is None:  # the client went away
        raise _RouteDecides
    if not raw:
        return None
    try:
        data = json.loads(raw)
        body = PromoteRequest.model_validate(data) if isinstance(data, dict) else None
    except (ValueError, ValidationError, RecursionError) as exc:
        # Any body the route's own parsing refuses (bad UTF-8, bad JSON, nesting past the
        # interpreter's recursion limit) is the route's to answer, with the route's 400.
        raise _RouteDecides from exc
    if body is None or body.scheduled_at is not None:
        raise _RouteDecides
    return body


async def _read(receive: Receive) -> tuple[list[Message], bytes | None]:
    """Every message of the request body, and the body (None when the client went away)."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return messages, b"".join(chunks)


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` for the route: the messages already read, then the server's own."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


class PromoteAcceptAhead:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("query_string"):
            match = _PROMOTE_PATH.match(scope["path"])
            if match is not None:
                await self._promote(scope, receive, send, match.group(1))
                return
        await self.app(scope, receive, send)

    async def _promote(self, scope: Scope, receive: Receive, send: Send, persona_id: str) -> None:
        try:
            headers = read_headers(scope, _HEADERS)
        except RepeatedHeader:
            await self.app(scope, receive, send)
            return
        if (
            b"if-match" in headers
            or not _is_json(headers.get(b"content-type"))
            or promote_wait(headers.get(b"prefer")) > 0
        ):
            await self.app(scope, receive, send)
            return
        principal = known_principal(headers.get(b"authorization"), scope_client(scope), Permission.PUBLISH)
        if principal is None:
            await self.app(scope, receive, send)
            return
        messages, raw = await _read(receive)
        try:
            body = _body(raw)
        except _RouteDecides:
            await self.app(scope, _replaying(messages, receive), send)
            return
        logs.bind(persona_id=persona_id)
        request = Request(scope, receive)
        waiter: OperationWaiter = request.app.state.waiter
        try:
            response = await promote_answer(
                request,
                persona_id,
                principal,
                waiter,
                headers.get(b"idempotency-key"),
                headers.get(b"prefer"),
                None,
                body,
            )
        except DomainError:  # nothing was written for this request (see above): the route answers
            await self.app(scope, _replaying(messages, receive), send)
            return
        await response(scope, receive, send)
