"""The production read agents make before every conversation, answered ahead of routing.

When this process holds a valid copy of the persona's production configuration and already knows
the caller's key, the answer is the one the route in ``api/routers/lifecycle.py`` gives, built by
the same function, without FastAPI's route matching and dependency resolution (most of the cost of
a request that does no I/O). Everything else (no copy, ``?at=``, an unknown or missing key, another
tenant's persona) goes on to the route, which answers it fully.
"""

from __future__ import annotations

import re

from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import known_principal, scope_client
from greenlight import logs
from greenlight.personas.production import ProductionCopy, cached_production

_PRODUCTION_PATH = re.compile(r"^/v1/personas/([^/]+)/production$")


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether the caller already holds this ETag (``If-None-Match``: one or several)."""
    return bool(if_none_match) and etag in {tag.strip() for tag in (if_none_match or "").split(",")}


def production_response(copy: ProductionCopy, if_none_match: str | None) -> Response:
    """The answer for a copy: 304 when the caller holds its ETag, else the envelope."""
    if etag_matches(if_none_match, copy.etag):
        return Response(status_code=304, headers={"ETag": copy.etag})
    return Response(
        b'{"data":' + copy.body_json + b',"errors":null}',
        media_type="application/json",
        headers={"ETag": copy.etag, "Cache-Control": "no-cache"},
    )


def _hot_answer(scope: Scope, persona_id: str) -> Response | None:
    authorization = if_none_match = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"if-none-match":
            if_none_match = value.decode("latin-1")
    if authorization is None:
        return None
    principal = known_principal(authorization, scope_client(scope))
    if principal is None:
        return None
    copy = cached_production(principal.user_id, persona_id)
    if copy is None:
        return None
    logs.bind(persona_id=persona_id)
    return production_response(copy, if_none_match)


class HotReadMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("query_string"):
            match = _PRODUCTION_PATH.match(scope["path"])
            if match is not None:
                response = _hot_answer(scope, match.group(1))
                if response is not None:
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)
