"""Answers given ahead of FastAPI's routing, for the requests agents and tools send most.

Route matching and dependency resolution were most of the CPU of a request that waits on nothing.
Each module here recognises one route's plain case, and answers it only with that route's own
function (``cached_production_answer``, ``promote_answer``), so the answer is the route's: same
status, headers and body, idempotency replays included. Anything else (an unknown key, a repeated
header, a header or body the plain case does not cover) goes on to the route untouched, with the
body replayed. ``tests/e2e/test_fast_paths.py`` sends the same requests to a process with these answers
and to one without (``GREENLIGHT_FAST_PATHS=false``) and compares.
"""

from __future__ import annotations

from fastapi import FastAPI

from api.fast.production_read import ProductionReadAhead
from api.fast.promote_accept import PromoteAcceptAhead
from greenlight.settings import get_settings


def install(app: FastAPI) -> None:
    """Innermost, when on: behind the request guard and the request context, before routing."""
    if get_settings().fast_paths:
        app.add_middleware(ProductionReadAhead)
        app.add_middleware(PromoteAcceptAhead)
