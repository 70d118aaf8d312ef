"""The production read agents make before every conversation, answered ahead of routing.

When this process already knows the caller's key and holds a valid copy of the persona's production
configuration, the route's own ``cached_production_answer`` (``api/routers/lifecycle.py``) gives
the answer, without FastAPI's route matching and dependency resolution. Everything else (no copy,
``?at=``, an unknown or missing key, a repeated header, another tenant's persona) goes on to the
route, which answers it fully.
"""

from __future__ import annotations

import re

from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import known_principal, scope_client
from api.fast.headers import RepeatedHeader, read_headers
from api.routers.lifecycle import cached_production_answer
from greenlight import logs
from greenlight.access import Permission

_PRODUCTION_PATH = re.compile(r"^/v1/personas/([^/]+)/production$")
_HEADERS = frozenset({b"authorization", b"if-none-match"})


def _cached_answer(scope: Scope, persona_id: str) -> Response | None:
    try:
        headers = read_headers(scope, _HEADERS)
    except RepeatedHeader:
        return None
    principal = known_principal(headers.get(b"authorization"), scope_client(scope), Permission.READ)
    if principal is None:
        return None
    response = cached_production_answer(principal.workspace_id, persona_id, headers.get(b"if-none-match"))
    if response is not None:
        logs.bind(persona_id=persona_id)
    return response


class ProductionReadAhead:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("query_string"):
            match = _PRODUCTION_PATH.match(scope["path"])
            if match is not None:
                response = _cached_answer(scope, match.group(1))
                if response is not None:
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)
