"""End-to-end promotions per second against no-op Celery tasks and the naive pipeline; latency at
half that load against a no-op task's send -> run latency."""

from __future__ import annotations

from typing import Any

from bench.celery_app import NOOP_QUEUE, latency_key
from bench.context import Context
from bench.load import generate
from bench.observe import wait_for, wait_operations, wait_promotions, wait_queue_idle
from bench.stack import BenchError
from bench.stats import percentile
from greenlight.redis_client import get_redis

ASYNC = {"Prefer": "respond-async"}


def _check_statuses(result: dict[str, Any], ok: int, what: str) -> None:
    bad = {code: n for code, n in result["statuses"].items() if int(code) != ok}
    if bad:
        raise BenchError(f"{what}: unexpected answers {bad}")


def noop_burst(ctx: Context, count: int) -> float:
    """No-op tasks per second: the first send until the queue is idle again."""
    client = get_redis()
    result = generate({"mode": "celery_burst", "count": count}, ctx.env)
    finished = wait_queue_idle(client, NOOP_QUEUE, ctx.profile.drain_timeout)
    return count / (finished - float(result["started"]))


def e2e_burst(ctx: Context, personas: list[str], count: int) -> float:
    """Promotions per second: the first HTTP request sent until the last one committed."""
    result = generate(
        {
            "mode": "http_burst",
            "base": ctx.api,
            "headers": {**ctx.auth, **ASYNC},
            "paths": ctx.promote_paths(personas),
            "count": count,
            "concurrency": ctx.profile.burst_concurrency,
        },
        ctx.env,
    )
    _check_statuses(result, 202, "promote")
    started = float(result["started"])
    applied = wait_operations(personas, started, count, ctx.profile.drain_timeout)
    if applied.failed:
        raise BenchError(f"{applied.failed} promotions failed")
    return count / (applied.last_finished - started)


def naive_burst(ctx: Context, personas: list[str], count: int) -> float:
    """The naive pipeline's promotions per second, measured the same way."""
    result = generate(
        {
            "mode": "http_burst",
            "base": ctx.naive,
            "headers": ctx.auth,
            "paths": [f"/naive/personas/{persona}/promote" for persona in personas],
            "count": count,
            "concurrency": ctx.profile.burst_concurrency,
        },
        ctx.env,
    )
    _check_statuses(result, 202, "naive promote")
    started = float(result["started"])
    last = wait_promotions(personas, started, count, ctx.profile.drain_timeout)
    return count / (last - started)


def measure_throughput(ctx: Context) -> None:
    p = ctx.profile
    noop = ctx.figure("noop", f"no-op Celery tasks ({p.noop_count} per rep)", "/s")
    spread = ctx.figure(
        "e2e_spread", f"promotions end to end, {len(ctx.spread)} personas ({p.e2e_count} per rep)", "/s"
    )
    hot = ctx.figure("e2e_hot", f"promotions end to end, 1 persona ({p.e2e_count} per rep)", "/s")
    naive = ctx.figure(
        "naive", f"naive task+lock promotions, {len(ctx.spread)} personas ({p.e2e_count} per rep)", "/s"
    )
    ctx.say("warming up the workers")
    noop_burst(ctx, min(200, p.noop_count))
    e2e_burst(ctx, ctx.spread, min(len(ctx.spread), p.e2e_count))
    naive_burst(ctx, ctx.spread, min(len(ctx.spread), p.e2e_count))
    for rep in range(p.reps):
        noop.add(noop_burst(ctx, p.noop_count))
        spread.add(e2e_burst(ctx, ctx.spread, p.e2e_count))
        hot.add(e2e_burst(ctx, [ctx.hot], p.e2e_count))
        naive.add(naive_burst(ctx, ctx.spread, p.e2e_count))
        ctx.say(
            f"throughput rep {rep + 1}: noop {noop.samples[-1]:.0f}/s, spread {spread.samples[-1]:.0f}/s, "
            f"hot {hot.samples[-1]:.0f}/s, naive {naive.samples[-1]:.0f}/s"
        )


def _greenlight_latencies(ctx: Context, rate: float, seconds: float | None = None) -> list[float]:
    result = generate(
        {
            "mode": "http_rate",
            "base": ctx.api,
            "headers": {**ctx.auth, **ASYNC},
            "paths": ctx.promote_paths(ctx.spread),
            "rate": rate,
            "seconds": seconds or ctx.profile.latency_seconds,
        },
        ctx.env,
    )
    _check_statuses(result, 202, "promote")
    count = sum(result["statuses"].values())
    applied = wait_operations(ctx.spread, float(result["started"]), count, ctx.profile.drain_timeout)
    return applied.latencies


# A steady rate is sustained while its median latency stays within this many times the median at a
# light load: beyond the knee, operations wait for each other, not for the work.
SUSTAINED_FACTOR = 10.0


def sustained_rate(ctx: Context) -> float:
    """The highest steady (open-loop) rate at which promotions are applied as they arrive, found by
    bisection between a light load (a tenth of the burst rate) and the burst rate.

    A burst's rate is not a sustained one: with thousands queued, each drain applies long runs of
    one persona's promotions, and a steady load spread over 100 personas leaves one or two per
    drain. Half the burst rate is past the knee, and its latency is queueing."""
    p = ctx.profile
    burst = ctx.figures["e2e_spread"].median
    light = max(1.0, burst / 10)
    light_p50 = percentile(_greenlight_latencies(ctx, light, p.probe_seconds), 50)
    limit = SUSTAINED_FACTOR * max(light_p50, 0.001)  # timestamps are kept to the millisecond
    low, high = light, burst
    for _ in range(p.probe_steps):
        rate = (low + high) / 2
        p50 = percentile(_greenlight_latencies(ctx, rate, p.probe_seconds), 50)
        ctx.say(f"probe at {rate:.0f}/s: p50 {p50 * 1000:.1f} ms (sustained if <= {limit * 1000:.1f} ms)")
        low, high = (rate, high) if p50 <= limit else (low, rate)
    ctx.notes.append(
        f"latency load: the steady-rate probe sustained {low:.0f}/s (p50 within {SUSTAINED_FACTOR:g}x "
        f"its {light_p50 * 1000:.1f} ms at {light:.0f}/s; bisection, {p.probe_steps} steps of "
        f"{p.probe_seconds:g} s, below the burst rate of {burst:.0f}/s); latency is measured at half of it"
    )
    return low


def _noop_latencies(ctx: Context, rate: float) -> list[float]:
    client = get_redis()
    client.delete(latency_key())
    result = generate({"mode": "celery_rate", "rate": rate, "seconds": ctx.profile.latency_seconds}, ctx.env)
    count = int(result["count"])
    wait_for(lambda: int(client.llen(latency_key())) >= count, ctx.profile.drain_timeout, "timed no-ops")
    values = [float(v) for v in client.lrange(latency_key(), 0, -1)]
    client.delete(latency_key())
    return values


def _latency_at(ctx: Context, rate: float, key: str, label: str) -> None:
    """p50 and p99 of Greenlight and of the no-op at `rate`, rep by rep; figures keyed by `key`."""
    gl50 = ctx.figure(f"lat_p50{key}", f"accept -> applied p50, {label}", "ms")
    gl99 = ctx.figure(f"lat_p99{key}", f"accept -> applied p99, {label}", "ms")
    noop50 = ctx.figure(f"noop_p50{key}", f"no-op send -> run p50, {label}", "ms")
    noop99 = ctx.figure(f"noop_p99{key}", f"no-op send -> run p99, {label}", "ms")
    for rep in range(ctx.profile.reps):
        ours = _greenlight_latencies(ctx, rate)
        gl50.add(percentile(ours, 50) * 1000)
        gl99.add(percentile(ours, 99) * 1000)
        theirs = _noop_latencies(ctx, rate)
        noop50.add(percentile(theirs, 50) * 1000)
        noop99.add(percentile(theirs, 99) * 1000)
        ctx.say(
            f"latency rep {rep + 1} at {rate:.0f}/s: p50 {gl50.samples[-1]:.1f} ms (no-op "
            f"{noop50.samples[-1]:.1f}), p99 {gl99.samples[-1]:.1f} ms (no-op {noop99.samples[-1]:.1f})"
        )


def measure_latency(ctx: Context) -> None:
    seconds = f"{ctx.profile.latency_seconds:g} s"
    rate = max(1.0, sustained_rate(ctx) / 2)
    _latency_at(ctx, rate, "", f"at {rate:.0f}/s (half the sustained rate) for {seconds}")
    # Also at half the burst rate, as earlier runs measured it: past the knee, for comparison.
    burst_half = max(1.0, ctx.figures["e2e_spread"].median / 2)
    _latency_at(ctx, burst_half, "_burst", f"at {burst_half:.0f}/s (half the burst rate) for {seconds}")
