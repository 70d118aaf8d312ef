"""Tenant isolation on every route that takes an id, authentication on every route, keys kept secret."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import queue
import re
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis
import sqlalchemy as sa

from greenlight.db import unit_of_work
from greenlight.keys import authenticate, revoke_key
from greenlight.models import ApiKey, Base
from greenlight.settings import get_settings
from tests.support.http import new_key, wait_operation
from tests.support.notify import SSEClient
from tests.support.processes import ARTIFACTS, Process
from tests.support.tenants import (
    PUBLIC_ROUTES,
    Tenant,
    api_routes,
    error_of,
    footprint,
    make_tenant,
    settle,
    workspace_id_of,
)
from workers.catalogue import APPLY_ACK, DRAIN_PERSONAS

Request = tuple[str, str, dict[str, Any]]  # method, url, httpx keyword arguments
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def http(api_url: str, module_worker: Process, notifications_worker: Process) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def owner(http: httpx.Client) -> Tenant:
    return make_tenant(http)


@pytest.fixture(scope="module")
def intruder(http: httpx.Client) -> Tenant:
    return make_tenant(http)


def _missing() -> str:
    return str(uuid.uuid4())


def isolation_cases(owner: Tenant, me: Tenant) -> dict[tuple[str, str], list[tuple[Request, Request]]]:
    """Per route: (someone else's id, an id that does not exist) pairs, sent by `me`."""
    theirs, mine, nobody = owner.persona_id, me.persona_id, _missing()
    sid, nsid = owner.schedule_id, _missing()
    base = "/v1/personas"

    def both(method: str, template: str, **kwargs: Any) -> tuple[Request, Request]:
        return (method, template.format(pid=theirs), kwargs), (method, template.format(pid=nobody), kwargs)

    return {
        ("GET", "/v1/personas/{persona_id}"): [both("GET", base + "/{pid}")],
        ("GET", "/v1/personas/{persona_id}/versions"): [both("GET", base + "/{pid}/versions")],
        ("PATCH", "/v1/personas/{persona_id}/draft"): [
            both("PATCH", base + "/{pid}/draft", json={"personality_prompt": "pwned"})
        ],
        ("POST", "/v1/personas/{persona_id}/versions/promote"): [
            both("POST", base + "/{pid}/versions/promote")
        ],
        ("GET", "/v1/personas/{persona_id}/versions/{number}"): [
            both("GET", base + "/{pid}/versions/1"),
            both("GET", base + "/{pid}/versions/3"),
        ],
        ("POST", "/v1/personas/{persona_id}/versions/{number}/publish"): [
            both("POST", base + "/{pid}/versions/1/publish"),
            both("POST", base + "/{pid}/versions/1/publish", json={"scheduled_at": "2100-01-01T00:00:00Z"}),
        ],
        ("POST", "/v1/personas/{persona_id}/versions/{number}/unarchive"): [
            both("POST", base + "/{pid}/versions/2/unarchive")
        ],
        ("GET", "/v1/personas/{persona_id}/promotions"): [both("GET", base + "/{pid}/promotions")],
        ("GET", "/v1/personas/{persona_id}/production"): [
            both("GET", base + "/{pid}/production"),
            both("GET", base + "/{pid}/production", params={"at": datetime.now(UTC).isoformat()}),
        ],
        ("GET", "/v1/personas/{persona_id}/versions/{a}/diff/{b}"): [
            both("GET", base + "/{pid}/versions/1/diff/3")
        ],
        ("GET", "/v1/personas/{persona_id}/scheduled-promotions"): [
            both("GET", base + "/{pid}/scheduled-promotions")
        ],
        ("DELETE", "/v1/personas/{persona_id}/scheduled-promotions/{schedule_id}"): [
            (
                ("DELETE", f"{base}/{theirs}/scheduled-promotions/{sid}", {}),
                ("DELETE", f"{base}/{nobody}/scheduled-promotions/{nsid}", {}),
            ),
            # Their schedule under my own persona.
            (
                ("DELETE", f"{base}/{mine}/scheduled-promotions/{sid}", {}),
                ("DELETE", f"{base}/{mine}/scheduled-promotions/{nsid}", {}),
            ),
        ],
        ("GET", "/v1/personas/{persona_id}/proposals"): [both("GET", base + "/{pid}/proposals")],
        ("GET", "/v1/operations/{operation_id}"): [
            (("GET", f"/v1/operations/{owner.operation_id}", {}), ("GET", f"/v1/operations/{_missing()}", {}))
        ],
        ("POST", "/publish-agent-version/{agent_id}"): [
            both("POST", "/publish-agent-version/{pid}", json={"version": 1})
        ],
        ("GET", "/persona/draft/{draft_id}"): [
            (("GET", f"/persona/draft/{owner.draft_id}", {}), ("GET", f"/persona/draft/{_missing()}", {}))
        ],
        **webhook_cases(owner, me),
        **review_cases(owner),
        **workspace_cases(owner),
    }


def review_cases(owner: Tenant) -> dict[tuple[str, str], list[tuple[Request, Request]]]:
    theirs, nobody = owner.persona_id, _missing()
    request, norequest = owner.request_id, _missing()
    policy = {"json": {"required_approvals": 0}}

    def on_request(method: str, suffix: str = "") -> list[tuple[Request, Request]]:
        base = "/v1/promotion-requests"
        return [((method, f"{base}/{request}{suffix}", {}), (method, f"{base}/{norequest}{suffix}", {}))]

    return {
        ("GET", "/v1/personas/{persona_id}/review-policy"): [
            (
                ("GET", f"/v1/personas/{theirs}/review-policy", {}),
                ("GET", f"/v1/personas/{nobody}/review-policy", {}),
            )
        ],
        ("PUT", "/v1/personas/{persona_id}/review-policy"): [
            (
                ("PUT", f"/v1/personas/{theirs}/review-policy", policy),
                ("PUT", f"/v1/personas/{nobody}/review-policy", policy),
            )
        ],
        ("GET", "/v1/promotion-requests/{request_id}"): on_request("GET"),
        ("POST", "/v1/promotion-requests/{request_id}/approve"): on_request("POST", "/approve"),
        ("POST", "/v1/promotion-requests/{request_id}/reject"): on_request("POST", "/reject"),
        ("POST", "/v1/promotion-requests/{request_id}/withdraw"): on_request("POST", "/withdraw"),
    }


def workspace_cases(owner: Tenant) -> dict[tuple[str, str], list[tuple[Request, Request]]]:
    """Members and keys of another workspace: its admin, its key."""
    member, nobody = f"/v1/members/{owner.user_id}", f"/v1/members/{_missing()}"
    return {
        ("PATCH", "/v1/members/{user_id}"): [
            (("PATCH", member, {"json": {"role": "viewer"}}), ("PATCH", nobody, {"json": {"role": "viewer"}}))
        ],
        ("DELETE", "/v1/members/{user_id}"): [(("DELETE", member, {}), ("DELETE", nobody, {}))],
        ("DELETE", "/v1/keys/{key_id}"): [
            (("DELETE", f"/v1/keys/{owner.key_id}", {}), ("DELETE", f"/v1/keys/{_missing()}", {}))
        ],
    }


def webhook_cases(owner: Tenant, me: Tenant) -> dict[tuple[str, str], list[tuple[Request, Request]]]:
    hook, nohook, base = owner.webhook_id, _missing(), "/v1/webhooks"

    def both(method: str, suffix: str = "", **kwargs: Any) -> tuple[Request, Request]:
        return (method, f"{base}/{hook}{suffix}", kwargs), (method, f"{base}/{nohook}{suffix}", kwargs)

    redeliver = "/deliveries/{}/redeliver"
    return {
        ("GET", "/v1/webhooks/{webhook_id}"): [both("GET")],
        ("PATCH", "/v1/webhooks/{webhook_id}"): [both("PATCH", json={"enabled": False})],
        ("DELETE", "/v1/webhooks/{webhook_id}"): [both("DELETE")],
        ("POST", "/v1/webhooks/{webhook_id}/rotate-secret"): [both("POST", "/rotate-secret")],
        ("GET", "/v1/webhooks/{webhook_id}/deliveries"): [both("GET", "/deliveries")],
        ("POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): [
            both("POST", redeliver.format(owner.delivery_id)),
            # Their delivery under my own endpoint.
            (
                ("POST", f"{base}/{me.webhook_id}" + redeliver.format(owner.delivery_id), {}),
                ("POST", f"{base}/{me.webhook_id}" + redeliver.format(_missing()), {}),
            ),
        ],
    }


def body_id_cases(owner: Tenant) -> list[tuple[Request, Request]]:
    """Ids inside bodies: someone else's draft to patch, someone else's proposal to ack."""
    return [
        (
            ("POST", "/persona/draft", {"json": {"draft_id": owner.draft_id, "name": "pwned"}}),
            ("POST", "/persona/draft", {"json": {"draft_id": _missing(), "name": "pwned"}}),
        ),
        (
            ("POST", "/persona/draft", {"json": {"draft_id": owner.draft_id, "soft": True, "name": "pwned"}}),
            ("POST", "/persona/draft", {"json": {"draft_id": _missing(), "soft": True, "name": "pwned"}}),
        ),
        (
            ("POST", "/persona/draft", {"json": {"idempotency_key": owner.entry_id, "accept": True}}),
            ("POST", "/persona/draft", {"json": {"idempotency_key": _missing(), "accept": True}}),
        ),
        (
            ("POST", "/persona/draft", {"json": {"idempotency_key": owner.entry_id, "accept": False}}),
            ("POST", "/persona/draft", {"json": {"idempotency_key": _missing(), "accept": False}}),
        ),
    ]


def _call(http: httpx.Client, tenant: Tenant, request: Request) -> httpx.Response:
    method, url, kwargs = request
    return http.request(method, url, headers=tenant.auth, **kwargs)


def _snapshot(http: httpx.Client, tenant: Tenant) -> Any:
    pid, auth = tenant.persona_id, tenant.auth
    return [
        http.get(url, headers=auth).json()
        for url in (
            f"/v1/personas/{pid}",
            f"/v1/personas/{pid}/versions",
            f"/v1/personas/{pid}/scheduled-promotions",
            f"/v1/personas/{pid}/proposals",
            f"/persona/draft/{tenant.draft_id}",
            "/v1/workspace",
            "/v1/members",
            "/v1/keys",
        )
    ]


def test_someone_elses_ids_answer_exactly_like_missing_ones(
    http: httpx.Client, owner: Tenant, intruder: Tenant
) -> None:
    cases = isolation_cases(owner, intruder)
    with_ids = {route for route in api_routes() if "{" in route[1]}
    assert set(cases) == with_ids, "every route that takes an id needs an isolation case here"
    settle(owner.workspace_id)
    settle(intruder.workspace_id)
    owner_before, state_before = footprint(owner.workspace_id), _snapshot(http, owner)
    pairs = [pair for route_pairs in cases.values() for pair in route_pairs] + body_id_cases(owner)
    for foreign, missing in pairs:
        theirs, absent = _call(http, intruder, foreign), _call(http, intruder, missing)
        assert theirs.status_code == absent.status_code == 404, (foreign, theirs.text, absent.text)
        got, expected = error_of(theirs), error_of(absent)
        assert (got["error"], got["message"]) == (expected["error"], expected["message"]), foreign
        assert set(got["details"]) == set(expected["details"]), (theirs.text, absent.text)
        # Details only echo what was sent: nothing of the owner's leaks (e.g. a persona id behind a draft).
        sent = json.dumps(foreign)
        assert all(str(value) in sent for value in got["details"].values()), theirs.text
        if foreign[0] == "GET":  # the ids are real: their owner reads them
            assert _call(http, owner, foreign).status_code == 200, foreign
    settle(owner.workspace_id)
    assert footprint(owner.workspace_id) == owner_before
    assert _snapshot(http, owner) == state_before


# Routes that take no id, and what keeps each tenant's data its own there (checked below).
ROUTES_WITHOUT_IDS = {
    ("POST", "/v1/personas"): "creates the caller's own persona",
    ("POST", "/persona/draft"): "creates or patches the caller's own draft (ids in bodies: body_id_cases)",
    ("GET", "/persona/flags"): "the flag catalogue: the same for everyone, nobody's data",
    ("GET", "/v1/events"): "the caller's events only; someone else's persona_id is a 404",
    ("GET", "/v1/webhooks"): "the caller's endpoints only",
    (
        "GET",
        "/v1/promotion-requests",
    ): "the caller's workspace's requests only; someone else's persona_id is a 404",
    ("POST", "/v1/webhooks"): "creates the caller's own endpoint",
    ("GET", "/v1/audit-events"): "the caller's workspace's audit log only; someone else's ids find nothing",
    ("GET", "/v1/workspace"): "the caller's own workspace, user and key",
    ("GET", "/v1/members"): "the caller's workspace's members only",
    ("POST", "/v1/members"): "adds a member to the caller's workspace only",
    ("GET", "/v1/keys"): "the caller's workspace's keys only",
    ("POST", "/v1/keys"): "creates a key of the caller's workspace, for one of its members only",
}


def test_routes_without_ids_show_and_touch_only_the_callers_data(
    http: httpx.Client, api_url: str, owner: Tenant, intruder: Tenant
) -> None:
    with_ids = {route for route in api_routes() if "{" in route[1]}
    assert api_routes() - with_ids - PUBLIC_ROUTES == set(ROUTES_WITHOUT_IDS), "every route needs a row"
    settle(owner.workspace_id)
    owner_before, state_before = footprint(owner.workspace_id), _snapshot(http, owner)
    hooks_before = http.get("/v1/webhooks", headers=owner.auth).json()["data"]
    stream = SSEClient(api_url, {"authorization": intruder.key}, {"last_event_id": "0"})
    try:
        mine = http.post("/v1/personas", json={"name": "Intruder's"}, headers=intruder.auth)
        assert mine.status_code in (201, 202), mine.text
        draft = http.post("/persona/draft", json={"name": "Intruder's draft"}, headers=intruder.auth)
        assert draft.status_code in (200, 202), draft.text
        hook = http.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/i"}, headers=intruder.auth)
        assert hook.status_code == 201, hook.text
        listed = http.get("/v1/webhooks", headers=intruder.auth).json()["data"]
        assert owner.webhook_id not in {item["id"] for item in listed}
        _workspace_routes_stay_in_the_callers_workspace(http, owner, intruder)
        flags = [http.get("/persona/flags", headers=t.auth).json() for t in (owner, intruder)]
        assert flags[0] == flags[1]
        _audit_shows_only_the_callers(http, owner, intruder)
        _requests_show_only_the_callers(http, owner, intruder)
        theirs = http.get("/v1/events", params={"persona_id": owner.persona_id}, headers=intruder.auth)
        missing = http.get("/v1/events", params={"persona_id": _missing()}, headers=intruder.auth)
        assert theirs.status_code == missing.status_code == 404
        assert error_of(theirs)["message"] == error_of(missing)["message"]
        settle(intruder.workspace_id)
        seen = []
        with contextlib.suppress(queue.Empty):
            while True:
                seen.append(stream.next(timeout=2))
        assert seen, "the stream replayed nothing: the check below would prove nothing"
        assert {event.data.get("persona_id") for event in seen}.isdisjoint({owner.persona_id})
    finally:
        stream.close()
    settle(owner.workspace_id)
    assert footprint(owner.workspace_id) == owner_before
    assert _snapshot(http, owner) == state_before
    assert http.get("/v1/webhooks", headers=owner.auth).json()["data"] == hooks_before


def _requests_show_only_the_callers(http: httpx.Client, owner: Tenant, intruder: Tenant) -> None:
    listed = http.get("/v1/promotion-requests", headers=intruder.auth).json()["data"]["items"]
    assert [item["id"] for item in listed] == [intruder.request_id]
    theirs = http.get(
        "/v1/promotion-requests", params={"persona_id": owner.persona_id}, headers=intruder.auth
    )
    missing = http.get("/v1/promotion-requests", params={"persona_id": _missing()}, headers=intruder.auth)
    assert theirs.status_code == missing.status_code == 404
    assert error_of(theirs)["message"] == error_of(missing)["message"]


def _audit_shows_only_the_callers(http: httpx.Client, owner: Tenant, intruder: Tenant) -> None:
    """The audit log: the intruder sees its own changes, none of the owner's, and the owner's ids
    as filters find nothing, exactly like ids that do not exist."""
    own = http.get("/v1/audit-events", params={"limit": 200}, headers=intruder.auth)
    assert own.status_code == 200, own.text
    items = own.json()["data"]["items"]
    assert items and {item["workspace_id"] for item in items} == {intruder.workspace_id}
    owners = {owner.persona_id, owner.webhook_id, owner.user_id}
    assert owners.isdisjoint(
        {item["target_id"] for item in items} | {item["actor_user_id"] for item in items}
    )
    for params in ({"persona_id": owner.persona_id}, {"actor": owner.user_id}, {"persona_id": _missing()}):
        found = http.get("/v1/audit-events", params=params, headers=intruder.auth)
        assert found.status_code == 200 and found.json()["data"]["items"] == [], (params, found.text)
    assert http.get("/v1/audit-events", headers=owner.auth).json()["data"]["items"], (
        "the owner's log is empty"
    )


def _workspace_routes_stay_in_the_callers_workspace(
    http: httpx.Client, owner: Tenant, intruder: Tenant
) -> None:
    """The intruder's workspace routes answer of the intruder's workspace; the owner's user is no
    member of it, so no key of the intruder's makes them act there."""
    me = http.get("/v1/workspace", headers=intruder.auth).json()["data"]
    assert me["workspace"]["id"] == intruder.workspace_id != owner.workspace_id
    assert me["user"]["id"] == intruder.user_id and me["role"] == "admin"
    added = http.post(
        "/v1/members",
        json={"user": f"helper-{uuid.uuid4().hex[:8]}", "role": "viewer"},
        headers=intruder.auth,
    )
    assert added.status_code == 201, added.text
    listed = {m["user_id"] for m in http.get("/v1/members", headers=intruder.auth).json()["data"]}
    assert listed == {intruder.user_id, added.json()["data"]["user_id"]}
    for_owner = http.post("/v1/keys", json={"name": "x", "user_id": owner.user_id}, headers=intruder.auth)
    nobody = http.post("/v1/keys", json={"name": "x", "user_id": _missing()}, headers=intruder.auth)
    assert for_owner.status_code == nobody.status_code == 404, for_owner.text
    key = http.post("/v1/keys", json={"name": "mine"}, headers=intruder.auth)
    assert key.status_code == 201, key.text
    keys = {k["id"] for k in http.get("/v1/keys", headers=intruder.auth).json()["data"]}
    assert owner.key_id not in keys and key.json()["data"]["id"] in keys


def _fill(path: str) -> str:
    return re.sub(r"\{(number|a|b)\}", "1", re.sub(r"\{\w+_id\}", _missing(), path))


def test_every_route_needs_a_valid_key(http: httpx.Client, services: dict[str, str]) -> None:
    revoked = new_key()
    with unit_of_work() as session:
        revoke_key(session, authenticate(session, revoked).key_id)
    credentials: list[str | None] = [
        None,
        "",
        "Bearer",
        "Bearer  x",
        "gl_not_a_key",
        "Basic dXNlcjpwYXNz",
        revoked,
        f"Bearer {revoked}",
        f"bearer  {revoked}",
    ]
    routes = api_routes()
    assert routes >= PUBLIC_ROUTES
    for method, path in sorted(routes - PUBLIC_ROUTES):
        for credential in credentials:
            headers = {} if credential is None else {"authorization": credential}
            response = http.request(method, _fill(path), headers=headers)
            assert response.status_code == 401, (method, path, credential, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
            error = error_of(response)
            assert error["error"] in ("UNAUTHORIZED", None), response.text  # Retell's shape has no code
            assert revoked not in response.text
    for method, path in PUBLIC_ROUTES:
        assert http.request(method, path).status_code == 200


def test_a_revoked_key_stops_working_at_once(http: httpx.Client, services: dict[str, str]) -> None:
    key = new_key()
    auth = {"authorization": key}
    created = http.post("/v1/personas", json={"name": "Soon revoked"}, headers=auth)
    assert created.status_code == 201
    pid = created.json()["data"]["id"]
    assert http.get(f"/v1/personas/{pid}", headers=auth).status_code == 200
    promoted = http.post(f"/v1/personas/{pid}/versions/promote", headers=auth)
    assert promoted.status_code == 200, promoted.text
    production = f"/v1/personas/{pid}/production"
    for _ in range(3):  # warm: the key and the body are now served from the API process's memory
        assert http.get(production, headers=auth).status_code == 200
    with unit_of_work() as session:
        revoke_key(session, authenticate(session, key).key_id)
    assert http.get(production, headers=auth).status_code == 401
    assert http.get(f"/v1/personas/{pid}", headers=auth).status_code == 401
    assert http.post("/v1/personas", json={"name": "x"}, headers=auth).status_code == 401
    assert http.post(f"/publish-agent-version/{pid}", json={"version": 1}, headers=auth).status_code == 401


def test_keys_are_stored_only_as_hashes(services: dict[str, str]) -> None:
    key = new_key()
    with unit_of_work() as session:
        key_id = authenticate(session, key).key_id
        row = session.get(ApiKey, key_id)
        assert row is not None and row.key_hash == hashlib.sha256(key.encode()).hexdigest()
        for table in Base.metadata.sorted_tables:
            for values in session.execute(sa.select(table)).all():
                assert not any(key in str(value) for value in values), table.name


class RedisMonitor:
    """Every command the Redis server receives while open (MONITOR), until a sentinel is echoed."""

    def __init__(self) -> None:
        self.client = redis.Redis.from_url(get_settings().require_redis_url())
        self.db = int(self.client.connection_pool.connection_kwargs.get("db", 0))
        self.commands: list[dict[str, Any]] = []
        self.sentinel = f"monitor-end-{uuid.uuid4()}"
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.client.monitor() as monitor:
            self._ready.set()
            for command in monitor.listen():
                self.commands.append(command)
                if self.sentinel in command["command"]:
                    return

    def __enter__(self) -> RedisMonitor:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        self.client.echo(self.sentinel)
        self._thread.join(10)
        assert not self._thread.is_alive()

    def task_messages(self) -> list[tuple[str, Any, Any]]:
        """(task name, args, kwargs) of every Celery message pushed onto a queue of our database."""
        found = []
        for command in self.commands:
            text = command["command"]
            if command["db"] != self.db or not text.upper().startswith("LPUSH "):
                continue
            body = re.search(r'"body": "([A-Za-z0-9+/=]*)"', text)
            task = re.search(r'"task": "([^"]+)"', text)
            if body and task:
                args, kwargs, _ = json.loads(base64.b64decode(body.group(1)))
                found.append((task.group(1), args, kwargs))
        return found


def test_keys_never_reach_logs_error_bodies_redis_or_task_arguments(
    http: httpx.Client, worker: Process, services: dict[str, str]
) -> None:
    key = new_key()
    wrong = key[:-4] + "zzzz"
    auth = {"authorization": key, "Prefer": "wait=20"}
    answers: list[httpx.Response] = []
    with RedisMonitor() as monitor:

        def call(method: str, url: str, **kwargs: Any) -> httpx.Response:
            response = http.request(method, url, headers={**auth, **kwargs.pop("headers", {})}, **kwargs)
            answers.append(response)
            return response

        pid = call("POST", "/v1/personas", json={"name": "Secretive"}).json()["data"]["id"]
        edit = call(
            "PATCH",
            f"/v1/personas/{pid}/draft",
            json={"personality_prompt": "p"},
            headers={"Prefer": "respond-async"},
        )
        assert wait_operation(http, auth, edit.json()["data"]["id"])["status"] == "succeeded"
        assert call("POST", f"/v1/personas/{pid}/versions/promote").status_code == 200
        assert (
            call("POST", f"/v1/personas/{pid}/versions/promote", headers={"If-Match": '"stale"'}).status_code
            == 409
        )
        assert call("POST", f"/publish-agent-version/{pid}", json={"version": 1}).status_code == 200
        draft = call("POST", "/persona/draft", json={"name": "S"}).json()
        proposal = call(
            "POST", "/persona/draft", json={"draft_id": draft["draft_id"], "soft": True, "name": "T"}
        )
        ack = call(
            "POST",
            "/persona/draft",
            json={"idempotency_key": proposal.json()["idempotency_key"], "accept": True},
        )
        assert ack.status_code == 200, ack.text
        assert call("GET", f"/v1/personas/{_missing()}").status_code == 404
        # A key pasted into a field that fails validation is not echoed (errors carry no input).
        assert call("POST", "/v1/personas", json={"name": 5, "role": key}).status_code == 422
        assert call("POST", f"/publish-agent-version/{pid}", json={"version": key}).status_code == 400
        assert call("POST", "/persona/draft", json={"name": "x", "examples": key}).status_code == 422
        assert call("GET", f"/v1/personas/{pid}", headers={"authorization": wrong}).status_code == 401
        assert (
            call("GET", f"/v1/personas/{pid}", headers={"authorization": f"Bearer {wrong}"}).status_code
            == 401
        )
        settle(workspace_id_of(key))
    for response in answers:
        if response.status_code >= 400:
            assert key not in response.text and wrong not in response.text, response.text
    messages = monitor.task_messages()
    # Operations reach workers as drains of their persona (coalesced), acks one by one.
    assert {DRAIN_PERSONAS.name, APPLY_ACK.name} <= {task for task, _, _ in messages}
    for task, args, kwargs in messages:
        assert kwargs == {} and all(isinstance(a, str) and UUID_RE.match(a) for a in args), (
            task,
            args,
            kwargs,
        )
    for command in monitor.commands:  # nothing Greenlight or Celery sent to Redis holds the key
        assert key not in command["command"] and wrong not in command["command"], command["command"][:300]
    logs = sorted(ARTIFACTS.glob("*.log"))
    assert any(path.name.startswith("worker") for path in logs) and any(
        path.name == "api.log" for path in logs
    )
    for path in logs:
        text = path.read_text(errors="replace")
        assert key not in text and wrong not in text, path
