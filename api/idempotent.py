"""Idempotency-Key for synchronous mutating endpoints: the key is claimed first, and the change and
its stored answer commit with the claim, so a retry with the same key (concurrent or later) gets the
same answer and changes nothing again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from greenlight.db import unit_of_work
from greenlight.idempotency import CurrentSecret, claim, fingerprint, remember, replayed_body
from greenlight.keys import Principal


async def idempotent_change(
    request: Request,
    principal: Principal,
    key: str | None,
    body: dict[str, Any] | None,
    status_code: int,
    work: Callable[..., Any],
    *args: Any,
    current_secret: CurrentSecret | None = None,
) -> JSONResponse:
    """Run ``work(session, principal, *args)`` once per key (the workspace's keys); answer
    ``{data, errors: null}``.

    An answer with a secret is stored without it; ``current_secret`` lets a replay give it again
    while it is still the resource's secret (greenlight/idempotency.py).
    """
    request_hash = fingerprint(f"{request.method} {request.url.path}", None, body or {})

    def run() -> tuple[int, dict[str, Any]]:
        with unit_of_work() as session:
            return _once(session, principal, key, request_hash, status_code, current_secret, work, *args)

    status, answer = await run_in_threadpool(run)
    return JSONResponse(answer, status_code=status)


def _once(
    session: Session,
    principal: Principal,
    key: str | None,
    request_hash: str,
    status_code: int,
    current_secret: CurrentSecret | None,
    work: Callable[..., Any],
    *args: Any,
) -> tuple[int, dict[str, Any]]:
    stored = claim(session, principal, key, request_hash)
    if stored is not None:
        return stored.status_code, replayed_body(session, stored, current_secret)
    answer = {"data": work(session, principal, *args), "errors": None}
    remember(session, principal.workspace_id, key, status_code, answer)
    return status_code, answer
