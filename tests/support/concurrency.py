"""Identical requests released at the same instant, and what their answers must share."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa

from greenlight.db import unit_of_work

BURST = 12
# What an operation's answer may differ in between two replays: it progresses.
PROGRESSING = frozenset({"status", "attempts", "updated_at", "started_at", "finished_at", "result", "error"})


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    location: str | None


def burst(
    base_url: str,
    method: str,
    path: str,
    headers: dict[str, str],
    json: Any = None,
    warm_path: str = "/v1/webhooks",
    count: int = BURST,
) -> list[Answer]:
    """``count`` identical requests, each on its own kept-alive connection (opened, and its key made
    known to the process that accepted it, by a first read of ``warm_path``), released together."""
    clients = [httpx.Client(base_url=base_url, timeout=60) for _ in range(count)]
    try:
        auth = {"authorization": headers["authorization"]}
        for client in clients:
            assert client.get(warm_path, headers=auth).status_code == 200
        barrier = threading.Barrier(count)

        def send(client: httpx.Client) -> Answer:
            barrier.wait()
            response = client.request(method, path, headers=headers, json=json)
            body = response.json() if response.content else None
            return Answer(response.status_code, body, response.headers.get("location"))

        with ThreadPoolExecutor(max_workers=count) as pool:
            return list(pool.map(send, clients))
    finally:
        for client in clients:
            client.close()


def _stable(body: Any) -> Any:
    """The answer without what an operation gains as it runs (an operation has `kind` and `seq`)."""
    if isinstance(body, dict):
        operation = "kind" in body and "seq" in body
        return {k: _stable(v) for k, v in body.items() if not (operation and k in PROGRESSING)}
    if isinstance(body, list):
        return [_stable(item) for item in body]
    return body


def assert_identical(answers: list[Answer], status: int) -> Answer:
    """Every answer has this status and the same body (modulo an operation's progress); the first."""
    assert [a.status for a in answers] == [status] * len(answers), [(a.status, a.body) for a in answers]
    first = answers[0]
    for answer in answers[1:]:
        assert _stable(answer.body) == _stable(first.body), (first.body, answer.body)
        assert answer.location == first.location
    return first


def count_of(query: sa.Select[Any]) -> int:
    with unit_of_work() as session:
        return int(session.scalar(query) or 0)
