"""Same key, same request, released at the same instant on every mutating endpoint, through gunicorn
with two API processes: one effect, and every answer the one the first request got (an operation's
progress aside). `Prefer` decides the answer's form: `respond-async` is a 202 with the operation
every time, a wait is the outcome every time. And no get-or-create race: two requests that bring the
same text, or the same new user, at once never make a 500."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from greenlight.db import unit_of_work
from greenlight.keys import create_key
from greenlight.models import (
    Operation,
    Persona,
    PersonaVersion,
    Resource,
    ScheduledPromotion,
    User,
    WebhookEndpoint,
)
from tests.support.concurrency import BURST, Answer, assert_identical, burst, count_of
from tests.support.http import create_persona, new_key
from tests.support.processes import Process, start_api, wait_until
from tests.support.tenants import settle, user_id_of

ASYNC, WAIT = "respond-async", "wait=20"
PREFERS = [ASYNC, WAIT]


@pytest.fixture(scope="module")
def base_url(services: dict[str, str], module_worker: Process) -> Iterator[str]:
    api, base = start_api(name="api-replays", gunicorn_workers=2)
    yield base
    api.stop()


@dataclass(frozen=True)
class Caller:
    base_url: str
    http: httpx.Client
    auth: dict[str, str]
    user_id: str

    def send(
        self,
        method: str,
        path: str,
        prefer: str,
        json: Any = None,
        key: str | None = None,
        count: int = BURST,
    ) -> list[Answer]:
        """``count`` of this request released together, under one new key (or ``key``)."""
        headers = {**self.auth, "Idempotency-Key": key or f"k-{uuid.uuid4().hex}", "Prefer": prefer}
        return burst(self.base_url, method, path, headers, json, count=count)


@pytest.fixture
def caller(base_url: str) -> Iterator[Caller]:
    key = new_key()
    auth = {"authorization": key}
    with httpx.Client(base_url=base_url, timeout=60, headers={"Prefer": "wait=20"}) as http:
        yield Caller(base_url, http, auth, user_id_of(key))


def _ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json()


def _replayed(
    caller: Caller,
    method: str,
    path: str,
    prefer: str,
    json: Any = None,
    waited: int = 200,
) -> Answer:
    """A burst of one request, then the same once more after the outcome: identical answers, and one
    operation under the key (named by the 202 when asynchronous)."""
    key = f"k-{uuid.uuid4().hex}"
    answers = caller.send(method, path, prefer, json, key)
    asynchronous = prefer == ASYNC
    first = assert_identical(answers, 202 if asynchronous else waited)
    with unit_of_work() as session:
        [op] = session.scalars(
            sa.select(Operation).where(Operation.user_id == caller.user_id, Operation.idempotency_key == key)
        )
    if asynchronous:
        body = first.body.get("data", first.body)
        assert body["id"] == op.id and first.location == f"/v1/operations/{op.id}"
    settle(caller.user_id)
    late = caller.send(method, path, prefer, json, key, count=1)
    assert_identical([first, *late], first.status)
    return first


def _published_versions(persona_id: str) -> int:
    return count_of(
        sa.select(sa.func.count())
        .select_from(PersonaVersion)
        .where(PersonaVersion.persona_id == persona_id, PersonaVersion.status != "draft")
    )


def _personas(user_id: str) -> int:
    return count_of(sa.select(sa.func.count()).select_from(Persona).where(Persona.user_id == user_id))


def _resources(user_id: str, kind: str) -> int:
    return count_of(
        sa.select(sa.func.count())
        .select_from(Resource)
        .where(Resource.user_id == user_id, Resource.kind == kind)
    )


def _new_draft(caller: Caller) -> str:
    draft_id: str = _ok(caller.http.post("/persona/draft", json={"name": "Start"}, headers=caller.auth))[
        "draft_id"
    ]
    return draft_id


@pytest.mark.parametrize("prefer", PREFERS)
def test_promote(caller: Caller, prefer: str) -> None:
    pid = create_persona(caller.http, caller.auth)["id"]
    _replayed(caller, "POST", f"/v1/personas/{pid}/versions/promote", prefer, {"notes": "ship"})
    assert _published_versions(pid) == 1


@pytest.mark.parametrize("prefer", PREFERS)
def test_publish(caller: Caller, prefer: str) -> None:
    pid = create_persona(caller.http, caller.auth)["id"]
    _replayed(caller, "POST", f"/v1/personas/{pid}/versions/1/publish", prefer, {"notes": "v1"})
    assert _published_versions(pid) == 1


@pytest.mark.parametrize("prefer", PREFERS)
def test_unarchive(caller: Caller, prefer: str) -> None:
    pid = create_persona(caller.http, caller.auth)["id"]
    for _ in range(2):  # v2 archived, v3 in production
        _ok(caller.http.post(f"/v1/personas/{pid}/versions/promote", headers=caller.auth))
    _replayed(caller, "POST", f"/v1/personas/{pid}/versions/2/unarchive", prefer)
    version = _ok(caller.http.get(f"/v1/personas/{pid}/versions/2", headers=caller.auth))["data"]
    assert version["status"] == "draft"


@pytest.mark.parametrize("prefer", PREFERS)
def test_draft_edit(caller: Caller, prefer: str) -> None:
    pid = create_persona(caller.http, caller.auth)["id"]
    _replayed(caller, "PATCH", f"/v1/personas/{pid}/draft", prefer, {"personality_prompt": "again"})
    persona = _ok(caller.http.get(f"/v1/personas/{pid}", headers=caller.auth))["data"]
    assert persona["current_draft_version"]["personality_prompt"] == "again"


@pytest.mark.parametrize("prefer", PREFERS)
def test_persona_create(caller: Caller, prefer: str) -> None:
    """Made within its request: 201 with the persona, or, asked not to wait, 202 with the (finished)
    operation like every other change."""
    body = {"name": "Once", "personality_prompt": "p"}
    first = _replayed(caller, "POST", "/v1/personas", prefer, body, 201)
    assert _personas(caller.user_id) == 1
    if prefer == ASYNC:
        assert first.body["data"]["status"] == "succeeded"


@pytest.mark.parametrize("prefer", PREFERS)
def test_seed_002_create(caller: Caller, prefer: str) -> None:
    """Made within its request: 200 with the new draft, or, asked not to wait, 202 with the
    (finished) operation like every other change."""
    body = {"name": "Fresh", "instructions": f"new text {uuid.uuid4()}"}
    first = _replayed(caller, "POST", "/persona/draft", prefer, body)
    assert _personas(caller.user_id) == 1 and _resources(caller.user_id, "instructions") == 1
    if prefer == ASYNC:
        assert first.body["status"] == "succeeded"


@pytest.mark.parametrize("prefer", PREFERS)
def test_seed_002_patch_with_new_text(caller: Caller, prefer: str) -> None:
    body = {"draft_id": _new_draft(caller), "instructions": f"new {uuid.uuid4()}", "examples": ["e1", "e2"]}
    _replayed(caller, "POST", "/persona/draft", prefer, body)
    assert _resources(caller.user_id, "instructions") == 1 and _resources(caller.user_id, "example") == 2


@pytest.mark.parametrize("prefer", PREFERS)
def test_seed_002_ack(caller: Caller, prefer: str) -> None:
    draft_id = _new_draft(caller)
    proposal = {"draft_id": draft_id, "soft": True, "voices": ["new voice"]}
    entry = _ok(caller.http.post("/persona/draft", json=proposal, headers=caller.auth))["idempotency_key"]
    ack = {"idempotency_key": entry, "accept": True}
    # An ack's key is the proposal's (the header's plays no part): each burst has a header of its own.
    answers = caller.send("POST", "/persona/draft", prefer, ack)
    first = assert_identical(answers, 202 if prefer == ASYNC else 200)
    settle(caller.user_id)
    state = _ok(caller.http.get(f"/persona/draft/{draft_id}", headers=caller.auth))["form_state"]
    assert [voice["value"] for voice in state["voices"]] == ["new voice"]
    late = caller.send("POST", "/persona/draft", prefer, ack, count=1)  # after the decision
    assert_identical([first, *late], first.status)


@pytest.mark.parametrize("prefer", PREFERS)
def test_retell_publish(caller: Caller, prefer: str) -> None:
    pid = create_persona(caller.http, caller.auth)["id"]
    _replayed(caller, "POST", f"/publish-agent-version/{pid}", prefer, {"version": 1})
    assert _published_versions(pid) == 1


@pytest.mark.parametrize("prefer", PREFERS)
def test_schedule_and_cancel(caller: Caller, prefer: str) -> None:
    pid = create_persona(caller.http, caller.auth)["id"]
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    # Waited, the answer is the schedule: a 202 too (the promotion itself is still to come).
    _replayed(caller, "POST", f"/v1/personas/{pid}/versions/promote", prefer, {"scheduled_at": later}, 202)
    [schedule] = _ok(caller.http.get(f"/v1/personas/{pid}/scheduled-promotions", headers=caller.auth))["data"]
    _replayed(caller, "DELETE", f"/v1/personas/{pid}/scheduled-promotions/{schedule['id']}", prefer)
    with unit_of_work() as session:
        [status] = session.scalars(
            sa.select(ScheduledPromotion.status).where(ScheduledPromotion.persona_id == pid)
        )
    assert status == "cancelled"


def test_webhook_create_update_rotate_delete(caller: Caller) -> None:
    hook = {"url": "http://127.0.0.1:9/hook", "event_types": ["version.*"]}
    created = assert_identical(caller.send("POST", "/v1/webhooks", WAIT, hook), 201).body["data"]
    endpoints = (
        sa.select(sa.func.count())
        .select_from(WebhookEndpoint)
        .where(WebhookEndpoint.user_id == caller.user_id)
    )
    assert count_of(endpoints) == 1
    path = f"/v1/webhooks/{created['id']}"
    updated = assert_identical(caller.send("PATCH", path, WAIT, {"description": "once"}), 200)
    assert updated.body["data"]["description"] == "once"
    rotated = assert_identical(caller.send("POST", f"{path}/rotate-secret", WAIT), 200).body["data"]
    assert rotated["secret"] and rotated["secret"] != created["secret"]
    deleted = assert_identical(caller.send("DELETE", path, WAIT), 200)
    assert deleted.body["data"] == {"id": created["id"], "deleted": True}
    assert count_of(endpoints) == 0


def test_webhook_redeliver(caller: Caller, notifications_worker: Process) -> None:
    hook = _ok(caller.http.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=caller.auth))
    path = f"/v1/webhooks/{hook['data']['id']}/deliveries"
    create_persona(caller.http, caller.auth)
    deliveries: list[dict[str, Any]] = []

    def delivered() -> bool:
        deliveries[:] = _ok(caller.http.get(path, headers=caller.auth))["data"]["items"]
        return bool(deliveries)

    wait_until(delivered, timeout=30, interval=0.1)
    answers = caller.send("POST", f"{path}/{deliveries[0]['id']}/redeliver", WAIT)
    assert_identical(answers, 202)


def test_different_requests_bringing_the_same_text_at_once(caller: Caller) -> None:
    """No key: twelve requests, twelve edits, one resource for the text they share."""
    draft_id = _ok(caller.http.post("/persona/draft", json={"name": "Start"}, headers=caller.auth))[
        "draft_id"
    ]
    body = {"draft_id": draft_id, "instructions": "shared text", "departments": ["Sales", "Support"]}
    headers = {**caller.auth, "Prefer": ASYNC}
    answers = burst(caller.base_url, "POST", "/persona/draft", headers, body)
    assert {answer.status for answer in answers} == {202}, [(a.status, a.body) for a in answers]
    assert len({answer.body["id"] for answer in answers}) == len(answers)  # each its own edit
    assert _resources(caller.user_id, "instructions") == 1 and _resources(caller.user_id, "department") == 2
    settle(caller.user_id)


def test_one_new_user_named_by_many_at_once(services: dict[str, str]) -> None:
    name = f"team-{uuid.uuid4().hex[:8]}"

    def make(_: int) -> str:
        with unit_of_work() as session:
            key, _ = create_key(session, name)
            return key.user_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        owners = set(pool.map(make, range(8)))
    assert count_of(sa.select(sa.func.count()).select_from(User).where(User.name == name)) == 1
    assert len(owners) == 1
