"""The load generator: a separate process, so the client never shares an interpreter with the bench.

`python -m bench.load` reads one JSON spec on stdin and prints one JSON result on stdout. Every
mode is bounded in count or time and talks to 127.0.0.1 only. Modes:

- http_burst: `count` requests over `paths`, `concurrency` at a time, as fast as answered (with
  the lean client of `bench.rawhttp`: the servers are measured, not the client).
- http_rate: open loop, `rate` requests per second for `seconds` (a request is sent on time
  whether or not earlier ones were answered), with the same lean client.
- http_max: as many requests as answered in `seconds` (the fallback when wrk is missing).
- http_sequence: `rounds` rounds of `requests`, one at a time, each request's latency kept.
- celery_burst: `count` no-op tasks sent as fast as possible.
- celery_rate: open loop, timed no-op tasks at `rate` per second for `seconds`.

Timestamps are wall-clock (time.time()) so that they compare with the database's.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench import rawhttp

Spec = dict[str, Any]


def _check_local(base: str) -> None:
    if urlsplit(base).hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit(f"load is only sent to this machine, not {base}")


def _client(spec: Spec, connections: int) -> httpx.AsyncClient:
    _check_local(spec["base"])
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=spec["base"], headers=_json_headers(spec), limits=limits, timeout=60.0)


def _body(spec: Spec) -> bytes | None:
    body = spec.get("body")
    return None if body is None else json.dumps(body).encode()


def _json_headers(request: Spec) -> dict[str, str]:
    """The request's headers; a JSON body's content type with them (FastAPI refuses it without)."""
    headers = dict(request.get("headers") or {})
    if request.get("body") is not None:
        headers.setdefault("Content-Type", "application/json")
    return headers


async def http_burst(spec: Spec) -> dict[str, Any]:
    paths: list[str] = spec["paths"]
    count, concurrency = int(spec["count"]), int(spec["concurrency"])
    method, headers = spec.get("method", "POST"), dict(spec.get("headers", {}))
    prepared = [rawhttp.prepare(method, spec["base"], path, headers, spec.get("body")) for path in paths]
    statuses: Counter[int] = Counter()
    indexes = iter(range(count))

    async def run() -> None:
        connection = rawhttp.Connection(spec["base"])
        try:
            for i in indexes:
                statuses[await connection.request(prepared[i % len(prepared)])] += 1
        finally:
            await connection.close()

    started = time.time()
    await asyncio.gather(*(run() for _ in range(concurrency)))
    finished = time.time()
    return {"started": started, "finished": finished, "statuses": dict(statuses)}


async def http_rate(spec: Spec) -> dict[str, Any]:
    paths: list[str] = spec["paths"]
    rate, seconds = float(spec["rate"]), float(spec["seconds"])
    method, headers = spec.get("method", "POST"), dict(spec.get("headers", {}))
    prepared = [rawhttp.prepare(method, spec["base"], path, headers, spec.get("body")) for path in paths]
    count = max(1, int(rate * seconds))
    statuses: Counter[int] = Counter()
    loop = asyncio.get_running_loop()
    # The lean client, as for bursts: each request on an idle connection, or on a new one.
    idle: list[rawhttp.Connection] = []
    opened: list[rawhttp.Connection] = []

    async def one(data: bytes) -> None:
        if idle:
            connection = idle.pop()
        else:
            connection = rawhttp.Connection(spec["base"])
            opened.append(connection)
        statuses[await connection.request(data)] += 1
        idle.append(connection)

    tasks: list[asyncio.Task[None]] = []
    start_loop, started = loop.time(), time.time()
    try:
        for i in range(count):
            delay = start_loop + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(prepared[i % len(prepared)])))
        sent = time.time()
        await asyncio.gather(*tasks)
    finally:
        for connection in opened:
            await connection.close()
    return {"started": started, "sent": sent, "finished": time.time(), "statuses": dict(statuses)}


async def http_max(spec: Spec) -> dict[str, Any]:
    paths: list[str] = spec["paths"]
    connections, seconds = int(spec["connections"]), float(spec["seconds"])
    method, body = spec.get("method", "GET"), _body(spec)
    statuses: Counter[int] = Counter()
    async with _client(spec, connections) as client:
        deadline = time.monotonic() + seconds

        async def run(offset: int) -> None:
            i = offset
            while time.monotonic() < deadline:
                response = await client.request(method, paths[i % len(paths)], content=body)
                statuses[response.status_code] += 1
                i += connections

        started = time.monotonic()
        await asyncio.gather(*(run(n) for n in range(connections)))
        elapsed = time.monotonic() - started
    total = sum(statuses.values())
    return {"requests": total, "rate": total / elapsed, "statuses": dict(statuses)}


async def http_sequence(spec: Spec) -> dict[str, Any]:
    requests: list[dict[str, Any]] = spec["requests"]
    rounds = int(spec["rounds"])
    latencies: dict[str, list[float]] = {request["name"]: [] for request in requests}
    statuses: Counter[int] = Counter()
    async with _client(spec, 1) as client:
        for round_ in range(rounds + 1):  # round 0 warms the connection and caches up
            for request in requests:
                began = time.perf_counter()
                response = await client.request(
                    request.get("method", "GET"),
                    request["path"],
                    headers=_json_headers(request),
                    content=_body(request),
                )
                elapsed = time.perf_counter() - began
                statuses[response.status_code] += 1
                if response.status_code >= 400:
                    raise SystemExit(f"{request['name']}: {response.status_code} {response.text[:300]}")
                if round_:
                    latencies[request["name"]].append(elapsed)
    return {"latencies": latencies, "statuses": dict(statuses)}


def celery_burst(spec: Spec) -> dict[str, Any]:
    from bench.celery_app import NOOP, NOOP_QUEUE, app

    count = int(spec["count"])
    ids = [str(uuid.uuid4()) for _ in range(count)]
    app.connection_for_write().ensure_connection()
    started = time.time()
    for operation_id in ids:
        app.send_task(NOOP, args=[operation_id], queue=NOOP_QUEUE)
    sent = time.time()
    return {"started": started, "sent": sent, "count": count}


def celery_rate(spec: Spec) -> dict[str, Any]:
    from bench.celery_app import NOOP_QUEUE, NOOP_TIMED, app

    rate, seconds = float(spec["rate"]), float(spec["seconds"])
    count = max(1, int(rate * seconds))
    app.connection_for_write().ensure_connection()
    start_mono, started = time.monotonic(), time.time()
    for i in range(count):
        delay = start_mono + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        app.send_task(NOOP_TIMED, args=[time.time()], queue=NOOP_QUEUE)
    return {"started": started, "sent": time.time(), "count": count}


def run(spec: Spec) -> dict[str, Any]:
    mode = spec["mode"]
    if mode == "http_burst":
        return asyncio.run(http_burst(spec))
    if mode == "http_rate":
        return asyncio.run(http_rate(spec))
    if mode == "http_max":
        return asyncio.run(http_max(spec))
    if mode == "http_sequence":
        return asyncio.run(http_sequence(spec))
    if mode == "celery_burst":
        return celery_burst(spec)
    if mode == "celery_rate":
        return celery_rate(spec)
    raise SystemExit(f"unknown mode {mode!r}")


class LoadProcess:
    """A load generator running beside the bench; `result()` waits for its JSON answer."""

    def __init__(self, spec: Spec, env: dict[str, str], timeout: float = 600.0):
        self.timeout = timeout
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "bench.load"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.popen.stdin is not None
        self.popen.stdin.write(json.dumps(spec))
        self.popen.stdin.close()
        self.popen.stdin = None  # communicate() must not flush it again

    def done(self) -> bool:
        return self.popen.poll() is not None

    def result(self) -> dict[str, Any]:
        try:
            out, err = self.popen.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.communicate()
            raise RuntimeError("the load generator did not finish in time") from None
        if self.popen.returncode != 0:
            raise RuntimeError(f"the load generator failed ({self.popen.returncode}): {err.strip()[-2000:]}")
        result: dict[str, Any] = json.loads(out)
        return result


def generate(spec: Spec, env: dict[str, str], timeout: float = 600.0) -> dict[str, Any]:
    return LoadProcess(spec, env, timeout).result()


def main() -> None:
    spec = json.loads(sys.stdin.read())
    print(json.dumps(run(spec)))


if __name__ == "__main__":
    main()
