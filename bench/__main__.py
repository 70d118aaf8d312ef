"""`python -m bench [--quick] [--record]`: run every measurement, print the table and ratio lines."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from bench.profile import FULL, QUICK, Profile
from bench.stack import ROOT, Backend, BenchError, Stack, make_workdir, remove_workdir

PHASES = ("accept", "throughput", "latency", "read", "promote", "history")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="short runs and smaller data (CI: about a minute)"
    )
    parser.add_argument("--record", action="store_true", help="append this run to bench/RESULTS.md")
    parser.add_argument("--api-workers", type=int, default=1, help="gunicorn workers per server (default 1)")
    parser.add_argument("--concurrency", type=int, default=2, help="prefork children per worker (default 2)")
    parser.add_argument("--log-level", default="INFO", help="GREENLIGHT_LOG_LEVEL of every process")
    parser.add_argument(
        "--only", default=",".join(PHASES), help=f"comma-separated phases to run (of {','.join(PHASES)})"
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs (path printed)")
    return parser.parse_args(argv)


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _environment(backend: Backend, log_level: str) -> dict[str, str]:
    """Settings for this process and every child: the scratch database, our own Redis key prefix."""
    values = {
        "GREENLIGHT_DATABASE_URL": backend.database_url,
        "GREENLIGHT_REDIS_URL": backend.redis_url,
        "GREENLIGHT_REDIS_PREFIX": f"greenlight-bench-{os.getpid()}",
        "GREENLIGHT_LOG_LEVEL": log_level,
    }
    os.environ.update(values)
    from greenlight.db import get_engine, get_sessionmaker
    from greenlight.redis_client import get_redis
    from greenlight.settings import get_settings

    for cached in (get_settings, get_engine, get_sessionmaker, get_redis):
        cached.cache_clear()
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def run(args: argparse.Namespace, profile: Profile, backend: Backend, workdir: Path) -> int:
    env = _environment(backend, args.log_level)
    phases = {phase.strip() for phase in args.only.split(",") if phase.strip()}
    from bench import rates, report, scale, seed, throughput
    from bench.celery_app import BENCH_QUEUES
    from bench.context import Context
    from greenlight import migrate
    from greenlight.db import get_engine

    started = time.monotonic()
    print(f"bench: {profile.name} profile on {backend.description}", flush=True)
    migrate.upgrade()
    stack = Stack(backend, workdir / "logs", env, args.api_workers, args.concurrency)
    (workdir / "logs").mkdir(exist_ok=True)
    try:
        ctx = Context(profile, stack, env, seed.make_user("bench"))
        ctx.spread = seed.make_personas(ctx.user, profile.spread_personas, "spread")
        ctx.hot = seed.make_personas(ctx.user, 1, "hot")[0]
        ctx.accept = seed.make_personas(ctx.user, profile.spread_personas, "accept")
        ctx.api = stack.serve("api", "api.main:app")
        ctx.plain = stack.serve("plain", "bench.plain:app")
        ctx.naive = stack.serve("naive", "bench.naive:api")
        stack.worker("bench-worker", "bench.celery_app", queues=BENCH_QUEUES)
        if "accept" in phases:
            ctx.say("accept vs trivial POST (no Greenlight worker running)")
            rates.measure_accept(ctx)
            _purge_engine_queues()
        stack.worker("greenlight-worker", "workers.app")
        if "throughput" in phases or "latency" in phases:
            ctx.say("end-to-end throughput vs no-op tasks and the naive pipeline")
            throughput.measure_throughput(ctx)
        if "latency" in phases:
            ctx.say("latency at half the sustained rate")
            throughput.measure_latency(ctx)
        if "read" in phases:
            ctx.say("production read vs trivial GET")
            rates.measure_read(ctx)
        if "promote" in phases:
            scale.measure_promote_scale(ctx)
        if "history" in phases:
            scale.measure_history_scale(ctx)
    finally:
        stack.close()
        get_engine().dispose()
    found = report.ratios(ctx)
    settings = (
        f"{args.api_workers} gunicorn/uvicorn worker per server, {args.concurrency} prefork children per "
        f"Celery worker (acks_late, prefetch 1), log level {args.log_level}; "
        f"load from a separate process on 127.0.0.1"
    )
    head = report.header(ctx, backend.description, settings)
    body = report.table(ctx, found)
    lines = report.ratio_lines(found)
    print(f"\n{head}\n\n{body}\n\n{lines}", flush=True)
    if args.record:
        report.record(ctx, backend.kind, head, body, lines)
        print(f"bench: recorded in {report.RESULTS}", flush=True)
    print(f"bench: done in {time.monotonic() - started:.0f} s", flush=True)
    return 0


def _purge_engine_queues() -> None:
    """The accept benchmark's messages are not for the throughput runs: drop them."""
    from workers.app import app

    app.control.purge()


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    profile = QUICK if args.quick else FULL
    signal.signal(signal.SIGTERM, _terminate)
    workdir = make_workdir()
    backend = Backend.create(workdir)
    ok = False
    try:
        code = run(args, profile, backend, workdir)
        ok = True
        return code
    except BenchError as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        backend.close()
        if ok and not args.keep_logs:
            remove_workdir(workdir)
        else:
            print(f"bench: logs kept in {workdir / 'logs'}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
