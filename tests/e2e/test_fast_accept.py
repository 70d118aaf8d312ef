"""The asynchronous promote answered ahead of routing (api/fast/promote_accept.py) answers as the
route does.

In process, with no worker running, so an operation's status cannot change between two answers.
The route's own answer for the same request comes from adding ``If-Match: *``: it changes nothing in
the payload (``*`` expects no version) but sends the request past the fast path, so under the same
``Idempotency-Key`` both render the same operation.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

import api.fast.promote_accept
from greenlight.db import unit_of_work
from greenlight.keys import create_key
from tests.support.actors import own
from tests.support.http import create_persona
from tests.support.processes import Process
from tests.support.workloads import make_persona

ROUTED = {"If-Match": "*"}
ASYNC = {"Prefer": "respond-async", "content-type": "application/json"}


@pytest.fixture
def fast_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The requests the fast path handed to the route's answer (whether or not it then fell through)."""
    calls: list[str] = []
    answer = api.fast.promote_accept.promote_answer

    async def counted(*args: Any) -> Any:
        calls.append(args[1])
        return await answer(*args)

    monkeypatch.setattr(api.fast.promote_accept, "promote_answer", counted)
    return calls


@pytest.fixture
def app(own_workers: list[Process]) -> Iterator[TestClient]:
    from api.main import create_app

    with TestClient(create_app()) as client:
        yield client


@pytest.fixture
def key(services: dict[str, str]) -> tuple[str, str]:
    with unit_of_work() as session:
        api_key, raw = create_key(session, f"fast-{uuid.uuid4().hex[:8]}")
        return api_key.user_id, raw


@pytest.fixture
def persona(app: TestClient, key: tuple[str, str]) -> str:
    user_id, raw = key
    persona_id = make_persona(own(user_id))
    # The route checks the key and this process remembers it: the fast path's precondition.
    assert app.get(f"/v1/personas/{persona_id}", headers={"authorization": raw}).status_code == 200
    return persona_id


def _same(fast: httpx.Response, routed: httpx.Response) -> None:
    assert (fast.status_code, fast.content) == (routed.status_code, routed.content)

    def headers(response: httpx.Response) -> list[tuple[str, str]]:
        return [(name, value) for name, value in response.headers.items() if name != "x-request-id"]

    assert headers(fast) == headers(routed)
    assert fast.headers["x-request-id"]


def _post(app: TestClient, persona_id: str, raw: str, body: bytes | None, **headers: str) -> httpx.Response:
    return app.post(
        f"/v1/personas/{persona_id}/versions/promote",
        content=body,
        headers={"authorization": raw, **ASYNC, **headers},
    )


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"{}", {}),
        (b"", {}),
        (b'{"notes": "from the fast path", "expected_production_version_id": null}', {}),
        (b"{}", {"content-type": "application/json; charset=utf-8"}),
        (b"{}", {"Prefer": "wait=0"}),
    ],
)
def test_the_plain_case_is_answered_byte_for_byte_as_the_route_does(
    app: TestClient,
    key: tuple[str, str],
    persona: str,
    fast_calls: list[str],
    body: bytes,
    headers: dict[str, str],
) -> None:
    _, raw = key
    same_key = {"Idempotency-Key": uuid.uuid4().hex, **headers}
    fast = _post(app, persona, raw, body, **same_key)
    assert fast.status_code == 202, fast.text
    assert fast_calls == [persona]
    assert fast.headers["location"] == f"/v1/operations/{fast.json()['data']['id']}"
    routed = _post(app, persona, raw, body, **same_key, **ROUTED)
    assert fast_calls == [persona]  # the route answered this one
    _same(fast, routed)
    _same(_post(app, persona, raw, body, **same_key), routed)  # and a replay through the fast path


def test_without_a_key_each_request_is_its_own_operation(
    app: TestClient, key: tuple[str, str], persona: str, fast_calls: list[str]
) -> None:
    _, raw = key
    first, second = (_post(app, persona, raw, b"{}").json()["data"] for _ in range(2))
    assert fast_calls == [persona, persona]
    assert first["id"] != second["id"] and second["seq"] == first["seq"] + 1
    assert first["status"] == "queued" and first["kind"] == "persona.promote"


@pytest.mark.parametrize(
    "body",
    [
        b'{"notes": ',  # not JSON: 400 INVALID_JSON
        b'{"notes": 5}',  # not valid: 422
        b'{"unknown": true}',
        b"[]",
        b"null",
        b'{"notes": "\\u0000"}',  # refused by the rules every body obeys
        b'{"scheduled_at": "2999-01-01T00:00:00Z"}',  # scheduled: the route's other answer
        b"\xff\xfe",
    ],
)
def test_bodies_the_route_must_judge_are_answered_by_it(
    app: TestClient, key: tuple[str, str], persona: str, fast_calls: list[str], body: bytes
) -> None:
    _, raw = key
    same_key = {"Idempotency-Key": uuid.uuid4().hex}
    fast = _post(app, persona, raw, body, **same_key)
    assert fast_calls == []
    _same(fast, _post(app, persona, raw, body, **same_key, **ROUTED))


def test_a_reused_key_falls_through_to_the_routes_error(
    app: TestClient, key: tuple[str, str], persona: str, fast_calls: list[str]
) -> None:
    _, raw = key
    same_key = {"Idempotency-Key": uuid.uuid4().hex}
    assert _post(app, persona, raw, b"{}", **same_key).status_code == 202
    other = b'{"notes": "a different request"}'
    fast = _post(app, persona, raw, other, **same_key)
    assert fast.status_code == 422 and fast.json()["errors"][0]["error"] == "IDEMPOTENCY_KEY_REUSED"
    assert fast_calls == [persona, persona]  # tried, refused, then answered by the route (body replayed)
    _same(fast, _post(app, persona, raw, other, **same_key, **ROUTED))


def test_another_tenants_persona_is_the_routes_404(
    app: TestClient, key: tuple[str, str], persona: str, fast_calls: list[str]
) -> None:
    _, raw = key
    with unit_of_work() as session:
        stranger, _ = create_key(session, f"stranger-{uuid.uuid4().hex[:8]}")
    theirs = make_persona(own(stranger.user_id))
    for persona_id in (theirs, "no-such-persona"):
        fast = _post(app, persona_id, raw, b'{"notes": "mine?"}')
        assert fast.status_code == 404, fast.text
        _same(fast, _post(app, persona_id, raw, b'{"notes": "mine?"}', **ROUTED))
    assert fast_calls == [theirs, "no-such-persona"]


def test_headers_the_fast_path_does_not_read_go_to_the_route(
    app: TestClient, key: tuple[str, str], persona: str, fast_calls: list[str]
) -> None:
    _, raw = key
    unknown = _post(app, persona, "gl_not-a-key-of-anyone", b"{}")
    assert unknown.status_code == 401
    moved = _post(app, persona, raw, b"{}", **{"If-Match": '"some-other-version"'})
    assert moved.status_code == 202  # accepted; it fails when applied (409), as the route decides
    as_text = _post(app, persona, raw, b"{}", **{"content-type": "text/plain"})
    assert as_text.status_code == 422
    query = app.post(
        f"/v1/personas/{persona}/versions/promote?x=1", content=b"{}", headers={"authorization": raw, **ASYNC}
    )
    assert query.status_code == 202
    assert fast_calls == []


def test_a_waiting_promote_still_waits(client: httpx.Client, auth: dict[str, str]) -> None:
    """Through the real server, with workers: waiting is the route's, the 202 the fast path's."""
    persona = create_persona(client, auth)
    url = f"/v1/personas/{persona['id']}/versions/promote"
    waited = client.post(url, json={"notes": "waited"}, headers={**auth, "Prefer": "wait=20"})
    assert waited.status_code == 200, waited.text
    assert waited.json()["data"]["current_production_version"]["version_number"] >= 1
    quick = client.post(url, json={}, headers={**auth, "Prefer": "respond-async"})
    assert quick.status_code == 202 and quick.headers["location"].endswith(quick.json()["data"]["id"])
