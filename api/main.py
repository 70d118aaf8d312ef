"""The FastAPI application: thin routers over the domain."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.event_hub import EventHub
from api.routers import events, operations, personas, webhooks
from api.waiter import OperationWaiter


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
        description="Review, promote and roll back versioned AI-agent personas.",
        lifespan=lifespan,
    )
    app.state.waiter = waiter
    app.state.event_hub = event_hub
    errors.install(app)
    app.include_router(personas.router)
    app.include_router(operations.router)
    app.include_router(webhooks.router)
    app.include_router(events.router)

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


logging.basicConfig(level=logging.INFO)
app = create_app()
