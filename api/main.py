"""The FastAPI application: thin routers over the domain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from api import errors, fast, openapi
from api.console.routes import install as install_console
from api.event_hub import EventHub
from api.guard import RequestGuard
from api.request_context import RequestContextMiddleware, bind_path_ids
from api.responses import HealthStatus
from api.routers import (
    audit,
    drafts,
    events,
    lifecycle,
    operations,
    operator,
    personas,
    retell,
    reviews,
    webhooks,
    workspace,
)
from api.waiter import OperationWaiter
from greenlight.logs import configure_logging

DESCRIPTION = """Review, promote and roll back versioned AI-agent personas.

Every `/v1` endpoint takes the API key in `authorization`, raw or as `Bearer <key>`, and
answers in the envelope `{"data": ..., "errors": null}`, or `{"data": null, "errors":
[{"error", "message", "details"}]}` on failure. Mutating endpoints accept `Idempotency-Key`.
Every response carries `X-Request-ID` (the caller's, when it sent a valid one).
"""


def create_app() -> FastAPI:
    waiter = OperationWaiter()
    event_hub = EventHub()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await waiter.stop()
        await event_hub.stop()

    app = FastAPI(
        title="Greenlight",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(bind_path_ids)],
    )
    app.state.waiter = waiter
    app.state.event_hub = event_hub
    errors.install(app)
    openapi.install(app)
    fast.install(app)
    app.add_middleware(RequestGuard)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(operator.router)
    app.include_router(personas.router)
    app.include_router(lifecycle.router)
    app.include_router(operations.router)
    app.include_router(retell.router)
    app.include_router(drafts.router)
    app.include_router(drafts.native)
    app.include_router(webhooks.router)
    app.include_router(events.router)
    app.include_router(audit.router)
    app.include_router(reviews.router)
    app.include_router(workspace.router)
    install_console(app)

    @app.get("/healthz", tags=["operator"], summary="The process is alive", response_model=HealthStatus)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


configure_logging("api")
app = create_app()
