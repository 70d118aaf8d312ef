"""Does cost grow with data? A promotion on a persona with a long version history, and history
pages over a long promotion log, each against a small one."""

from __future__ import annotations

import statistics

from bench import seed
from bench.context import Context
from bench.load import generate
from bench.profile import count_label


def _sequence(ctx: Context, requests: list[dict[str, object]], rounds: int) -> dict[str, list[float]]:
    result = generate(
        {
            "mode": "http_sequence",
            "base": ctx.api,
            "headers": ctx.auth,
            "requests": requests,
            "rounds": rounds,
        },
        ctx.env,
    )
    latencies: dict[str, list[float]] = result["latencies"]
    return latencies


def measure_promote_scale(ctx: Context) -> None:
    p = ctx.profile
    quick = " (quick: 10k)" if p.big_versions < 100_000 else ""
    ctx.say(f"seeding personas with {p.small_versions} and {p.big_versions} versions")
    small = seed.persona_with_versions(ctx.user, p.small_versions)
    big = seed.persona_with_versions(ctx.user, p.big_versions)
    small_fig = ctx.figure(
        "promote_small", f"promote, waited for, persona with {p.small_versions} versions", "ms"
    )
    big_fig = ctx.figure(
        "promote_big",
        f"promote, waited for, persona with {count_label(p.big_versions)} versions{quick}",
        "ms",
    )
    wait = {"Prefer": "wait=10"}
    requests: list[dict[str, object]] = [
        {
            "name": "small",
            "method": "POST",
            "path": f"/v1/personas/{small}/versions/promote",
            "headers": wait,
        },
        {"name": "big", "method": "POST", "path": f"/v1/personas/{big}/versions/promote", "headers": wait},
    ]
    for rep in range(p.reps):
        latencies = _sequence(ctx, requests, p.promote_rounds)
        small_fig.add(statistics.median(latencies["small"]) * 1000)
        big_fig.add(statistics.median(latencies["big"]) * 1000)
        ctx.say(
            f"promote rep {rep + 1}: small {small_fig.samples[-1]:.1f} ms, big {big_fig.samples[-1]:.1f} ms"
        )


def measure_history_scale(ctx: Context) -> None:
    p = ctx.profile
    big_label = count_label(p.big_history)
    quick = " (quick: 100k)" if p.big_history < 1_000_000 else ""
    ctx.say(f"seeding promotion histories of {p.small_history} and {p.big_history} rows")
    small = seed.persona_with_history(ctx.user, p.small_history)
    big = seed.persona_with_history(ctx.user, p.big_history)
    figures = {
        "small_first": ctx.figure("hist_small_first", f"history first page, {p.small_history} rows", "ms"),
        "small_deep": ctx.figure("hist_small_deep", f"history page at row {p.small_history // 2}", "ms"),
        "big_first": ctx.figure("hist_big_first", f"history first page, {big_label} rows{quick}", "ms"),
        "big_deep": ctx.figure("hist_big_deep", f"history page at row {p.big_history // 2}{quick}", "ms"),
    }
    small_total = ctx.figure("hist_small", f"history first + deep page, {p.small_history} rows", "ms")
    big_total = ctx.figure("hist_big", f"history first + deep page, {big_label} rows{quick}", "ms")
    requests: list[dict[str, object]] = []
    for name, history in (("small", small), ("big", big)):
        base = f"/v1/personas/{history.persona_id}/promotions"
        requests.append({"name": f"{name}_first", "path": base})
        requests.append({"name": f"{name}_deep", "path": f"{base}?cursor={history.deep_cursor}"})
    for rep in range(p.reps):
        latencies = _sequence(ctx, requests, p.history_rounds)
        for name, figure in figures.items():
            figure.add(statistics.median(latencies[name]) * 1000)
        small_total.add(figures["small_first"].samples[-1] + figures["small_deep"].samples[-1])
        big_total.add(figures["big_first"].samples[-1] + figures["big_deep"].samples[-1])
        small_ms, big_ms = small_total.samples[-1], big_total.samples[-1]
        ctx.say(f"history rep {rep + 1}: small {small_ms:.1f} ms, big {big_ms:.1f} ms")
