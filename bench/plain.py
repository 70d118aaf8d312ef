"""The trivial FastAPI app the API is compared with: served the same way, doing nothing."""

from __future__ import annotations

from typing import Any

from fastapi import Body, FastAPI

app = FastAPI(title="plain")


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/plain", status_code=202)
async def plain_post(body: dict[str, Any] | None = Body(default=None)) -> dict[str, Any]:
    return {"data": {"status": "queued"}, "errors": None}


@app.get("/plain")
async def plain_get() -> dict[str, Any]:
    return {"data": {"status": "ok"}, "errors": None}
