"""The FastAPI application: thin routers over the domain."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.guard import RequestGuard
from api.routers import drafts, lifecycle, operations, personas, retell
from api.waiter import OperationWaiter


def create_app() -> FastAPI:
    waiter = OperationWaiter()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await waiter.stop()

    app = FastAPI(
        title="Greenlight",
        version="0.1.0",
        description="Review, promote and roll back versioned AI-agent personas.",
        lifespan=lifespan,
    )
    app.state.waiter = waiter
    errors.install(app)
    app.add_middleware(RequestGuard)
    app.include_router(personas.router)
    app.include_router(lifecycle.router)
    app.include_router(operations.router)
    app.include_router(retell.router)
    app.include_router(drafts.router)
    app.include_router(drafts.native)

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


logging.basicConfig(level=logging.INFO)
app = create_app()
