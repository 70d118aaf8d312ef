"""The naive alternative: one Celery task per request, a blocking lock, the same ORM promotion.

What a first implementation would do: the endpoint authenticates the caller and enqueues a task
naming the persona (nothing recorded); the task waits for the persona's Redis lock and runs the
same promotion transaction Greenlight's handler runs (`promote_drafts` of one request in a unit of work).
No durable operation, no ordering, no fencing, no outbox relay nudge, no production cache.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Header
from starlette.concurrency import run_in_threadpool

from bench.celery_app import NAIVE_QUEUE, app
from greenlight.db import unit_of_work
from greenlight.errors import NotFound
from greenlight.keys import authenticate
from greenlight.models import Persona
from greenlight.personas.draft_promotion import promote_drafts
from greenlight.personas.promotion import PromotionRequest
from greenlight.redis_client import get_redis, key

PROMOTE = "bench.naive.promote"
# Blocking, but polling every 2 ms rather than redis-py's default 100 ms, so that the naive
# pipeline is not slowed by a poor default.
LOCK_SLEEP_SECONDS = 0.002


@app.task(name=PROMOTE)
def promote(persona_id: str) -> None:
    lock = get_redis().lock(
        key("lock", "persona", persona_id), timeout=30, sleep=LOCK_SLEEP_SECONDS, blocking_timeout=60
    )
    with lock, unit_of_work() as session:
        persona = session.get(Persona, persona_id, with_for_update=True)
        if persona is None:
            raise NotFound("Persona not found", {"persona_id": persona_id})
        request = PromotionRequest(actor_id=persona.user_id, notes=None, operation_id=None)
        promote_drafts(session, persona, [request])


api = FastAPI(title="naive promote")


def _accept(authorization: str | None, persona_id: str) -> None:
    with unit_of_work() as session:
        authenticate(session, authorization)
    app.send_task(PROMOTE, args=[persona_id], queue=NAIVE_QUEUE)


@api.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@api.post("/naive/personas/{persona_id}/promote", status_code=202)
async def naive_promote(persona_id: str, authorization: str | None = Header(default=None)) -> dict[str, Any]:
    await run_in_threadpool(_accept, authorization, persona_id)
    return {"data": {"persona_id": persona_id, "status": "queued"}, "errors": None}
