"""Requests per second: the API's accept and production read against a trivial FastAPI app."""

from __future__ import annotations

from bench.context import Context
from bench.httpmax import HttpLoad, client_name, max_rate

ASYNC = {"Prefer": "respond-async"}


def _pairs(ctx: Context, pairs: list[tuple[str, HttpLoad]]) -> None:
    p = ctx.profile
    for _, load in pairs:  # warm up: pools, caches, compiled statements
        max_rate(load, 1, p.http_connections, ctx.env)
    for rep in range(p.reps):
        for key, load in pairs:
            ctx.figures[key].add(max_rate(load, p.http_seconds, p.http_connections, ctx.env))
        ctx.say(
            f"http rep {rep + 1}: " + ", ".join(f"{k} {ctx.figures[k].samples[-1]:.0f}/s" for k, _ in pairs)
        )


def _label(ctx: Context, what: str) -> str:
    p = ctx.profile
    return f"{what} ({client_name()}, {p.http_connections} conns, {p.http_seconds} s)"


def measure_accept(ctx: Context) -> None:
    """POST promote with `Prefer: respond-async` (validate, record, enqueue), no worker running."""
    ctx.figure("plain_post", _label(ctx, "trivial FastAPI POST"), "/s")
    ctx.figure("accept", _label(ctx, f"accept: POST promote respond-async, {len(ctx.accept)} personas"), "/s")
    _pairs(
        ctx,
        [
            ("plain_post", HttpLoad(ctx.plain, ["/plain"], "POST", body={})),
            (
                "accept",
                HttpLoad(ctx.api, ctx.promote_paths(ctx.accept), "POST", {**ctx.auth, **ASYNC}, body={}),
            ),
        ],
    )


def measure_read(ctx: Context) -> None:
    """GET production (cached in Redis) against a trivial GET."""
    ctx.figure("plain_get", _label(ctx, "trivial FastAPI GET"), "/s")
    ctx.figure("read", _label(ctx, f"GET production, {len(ctx.spread)} personas"), "/s")
    paths = [f"/v1/personas/{persona}/production" for persona in ctx.spread]
    _pairs(
        ctx,
        [
            ("plain_get", HttpLoad(ctx.plain, ["/plain"])),
            ("read", HttpLoad(ctx.api, paths, "GET", ctx.auth)),
        ],
    )
