"""Answers given ahead of routing (api/fast/) are the route's answers, request for request.

Two applications in this process, over the same database, Redis and workers: one as served (the
answers ahead of routing on) and one built with ``GREENLIGHT_FAST_PATHS=false`` (every request
routed). Each request of a table goes to both; their status, headers (but the request id) and
body must be equal, and the table's plain cases must have been answered ahead of routing (counted),
so the comparison cannot pass by never taking the fast path.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

import api.fast.production_read
import api.fast.promote_accept
from api.main import create_app
from greenlight.access import Role
from greenlight.settings import get_settings
from tests.support.http import create_persona, new_key, wait_operation
from tests.support.processes import Process


def _counting(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[str]:
    """Calls the fast path made to the route's own answer function (the persona ids)."""
    calls: list[str] = []
    original: Callable[..., Any] = getattr(module, name)

    def counted(*args: Any) -> Any:
        calls.append(args[1])  # both take the persona id second
        return original(*args)

    monkeypatch.setattr(module, name, counted)
    return calls


@pytest.fixture(scope="module")
def apps(module_worker: Process) -> Iterator[tuple[TestClient, TestClient]]:
    """(answers ahead of routing on, off)."""
    with pytest.MonkeyPatch.context() as patch:
        get_settings.cache_clear()
        patch.setenv("GREENLIGHT_FAST_PATHS", "false")
        routed_app = create_app()
    get_settings.cache_clear()
    assert get_settings().fast_paths
    with TestClient(create_app()) as fast, TestClient(routed_app) as routed:
        yield fast, routed


@pytest.fixture(scope="module")
def tenant(apps: tuple[TestClient, TestClient]) -> dict[str, str]:
    return {"authorization": new_key("fast-paths")}


@pytest.fixture(scope="module")
def live_persona(apps: tuple[TestClient, TestClient], tenant: dict[str, str]) -> dict[str, Any]:
    """A persona with a production version (and a draft), read once through each app, so both know
    the key and the fast one holds a copy of its production."""
    fast = apps[0]
    persona = create_persona(fast, tenant)
    promoted = fast.post(
        f"/v1/personas/{persona['id']}/versions/promote", headers={**tenant, "Prefer": "respond-async"}
    )
    assert promoted.status_code == 202, promoted.text
    assert wait_operation(fast, tenant, promoted.json()["data"]["id"])["status"] == "succeeded"
    for client in apps:
        assert client.get(f"/v1/personas/{persona['id']}/production", headers=tenant).status_code == 200
    persona["etag"] = fast.get(f"/v1/personas/{persona['id']}/production", headers=tenant).headers["etag"]
    return persona


def _same(fast: httpx.Response, routed: httpx.Response) -> None:
    assert (fast.status_code, fast.content) == (routed.status_code, routed.content), fast.text

    def headers(response: httpx.Response) -> list[tuple[str, str]]:
        return [(name, value) for name, value in response.headers.multi_items() if name != "x-request-id"]

    assert headers(fast) == headers(routed)


READS: list[tuple[str, Callable[[dict[str, Any]], list[tuple[str, str]]], bool]] = [
    # (case, extra headers for the persona, answered ahead of routing)
    ("plain", lambda p: [], True),
    ("holds the ETag", lambda p: [("if-none-match", p["etag"])], True),
    ("holds one of several", lambda p: [("if-none-match", f'"other", {p["etag"]}')], True),
    ("holds another", lambda p: [("if-none-match", '"other"')], True),
    ("a repeated If-None-Match", lambda p: [("if-none-match", '"x"'), ("if-none-match", p["etag"])], False),
]


@pytest.mark.parametrize(("case", "extra", "ahead"), READS, ids=[case for case, _, _ in READS])
def test_the_production_read_is_the_routes(
    apps: tuple[TestClient, TestClient],
    tenant: dict[str, str],
    live_persona: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    extra: Callable[[dict[str, Any]], list[tuple[str, str]]],
    ahead: bool,
) -> None:
    calls = _counting(monkeypatch, api.fast.production_read, "cached_production_answer")
    headers = [("authorization", tenant["authorization"]), *extra(live_persona)]
    path = f"/v1/personas/{live_persona['id']}/production"
    fast, routed = (client.get(path, headers=headers) for client in apps)
    assert calls == ([live_persona["id"]] if ahead else [])
    _same(fast, routed)


def test_reads_the_fast_path_cannot_answer_are_the_routes(
    apps: tuple[TestClient, TestClient], tenant: dict[str, str], live_persona: dict[str, Any]
) -> None:
    stranger = {"authorization": new_key("fast-paths-stranger")}
    never_promoted = create_persona(apps[0], tenant)
    cases = [
        (f"/v1/personas/{live_persona['id']}/production", stranger),  # another tenant's: 404
        (f"/v1/personas/{never_promoted['id']}/production", tenant),  # no production version
        (f"/v1/personas/{uuid.uuid4().hex}/production", tenant),  # no such persona
        (f"/v1/personas/{live_persona['id']}/production", {"authorization": "gl_not_a_key"}),
        (f"/v1/personas/{live_persona['id']}/production", {}),
    ]
    for path, headers in cases:
        for _ in range(2):  # the second time, with the key known to both processes
            fast, routed = (client.get(path, headers=headers) for client in apps)
            _same(fast, routed)


PROMOTES: list[tuple[str, bytes, dict[str, str], bool]] = [
    # (case, body, headers, answered ahead of routing)
    ("empty body", b"", {}, True),
    ("notes", b'{"notes": "ahead"}', {}, True),
    ("charset", b"{}", {"content-type": "application/json; charset=utf-8"}, True),
    ("If-Match", b"{}", {"if-match": "*"}, False),
    ("waits", b"{}", {"prefer": "wait=1"}, False),
    ("unknown field", b'{"nope": 1}', {}, False),
    ("not JSON", b"{", {}, False),
    ("not an object", b"[]", {}, False),
]


@pytest.mark.parametrize(("case", "body", "extra", "ahead"), PROMOTES, ids=[c for c, _, _, _ in PROMOTES])
def test_the_asynchronous_promote_is_the_routes(
    apps: tuple[TestClient, TestClient],
    tenant: dict[str, str],
    live_persona: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    body: bytes,
    extra: dict[str, str],
    ahead: bool,
) -> None:
    calls = _counting(monkeypatch, api.fast.promote_accept, "promote_answer")
    headers = {
        **tenant,
        "prefer": "respond-async",
        "content-type": "application/json",
        "idempotency-key": f"fast-{uuid.uuid4().hex}",
        **extra,
    }
    path = f"/v1/personas/{live_persona['id']}/versions/promote"
    first = apps[0].post(path, content=body, headers=headers)
    assert calls == ([live_persona["id"]] if ahead else [])
    # The same request (same key) through the router, then again ahead of it: one operation, one
    # answer, whichever path gave it (an operation's status may move on between them).
    for client in (apps[1], apps[0]):
        _same_operation(first, client.post(path, content=body, headers=headers))


def _same_operation(first: httpx.Response, again: httpx.Response) -> None:
    if first.status_code != 202:
        _same(first, again)
        return
    assert again.status_code == 202
    moving = {"status", "updated_at", "started_at", "finished_at", "result", "attempts"}

    def settled(response: httpx.Response) -> dict[str, Any]:
        data: dict[str, Any] = response.json()["data"]
        return {name: value for name, value in data.items() if name not in moving}

    assert settled(first) == settled(again)
    assert first.headers["location"] == again.headers["location"]


def test_a_key_whose_role_may_not_promote_is_refused_as_the_route_refuses_it(
    apps: tuple[TestClient, TestClient],
    tenant: dict[str, str],
    live_persona: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _counting(monkeypatch, api.fast.promote_accept, "promote_answer")
    viewer = new_key("fast-paths", Role.VIEWER)  # the same user, with a key that may only read
    headers = {"authorization": viewer, "prefer": "respond-async", "content-type": "application/json"}
    path = f"/v1/personas/{live_persona['id']}/versions/promote"
    for _ in range(2):  # the second time, with the key known to both processes
        fast, routed = (client.post(path, content=b"{}", headers=headers) for client in apps)
        assert fast.status_code == 403, fast.text
        _same(fast, routed)
    assert calls == []
    # It may read, and the read is answered ahead of routing as any other.
    reads = _counting(monkeypatch, api.fast.production_read, "cached_production_answer")
    read = apps[0].get(f"/v1/personas/{live_persona['id']}/production", headers={"authorization": viewer})
    assert read.status_code == 200 and reads == [live_persona["id"]]
