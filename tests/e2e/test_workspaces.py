"""Workspaces are the tenant: members share everything in theirs, through real HTTP and real workers;
members and keys are managed by the workspace's admins (GET /v1/workspace, /v1/members, /v1/keys)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from greenlight.db import unit_of_work
from greenlight.models import ApiKey
from tests.support.http import create_persona, member_key, new_key, wait_operation
from tests.support.notify import SSEClient
from tests.support.processes import Process, start_api
from tests.support.tenants import error_of


def _as(key: str) -> dict[str, str]:
    return {"authorization": key}


def _me(client: httpx.Client, key: str) -> dict[str, object]:
    response = client.get("/v1/workspace", headers=_as(key))
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()["data"]
    return data


def test_two_members_see_and_change_the_same_personas(client: httpx.Client) -> None:
    admin = new_key()
    editor = member_key(client, admin, "editor")
    publisher = member_key(client, admin, "publisher")
    editor_id = str(_me(client, editor)["user"]["id"])  # type: ignore[index]
    publisher_id = str(_me(client, publisher)["user"]["id"])  # type: ignore[index]

    # The editor creates it; it is the workspace's: the admin and the publisher read it.
    persona = create_persona(client, _as(editor), name="Shared")
    assert persona["user_id"] == editor_id  # Bland's user_id: the member who created it
    for key in (admin, publisher):
        assert (
            client.get(f"/v1/personas/{persona['id']}", headers=_as(key)).json()["data"]["name"] == "Shared"
        )

    # The admin edits the draft (queued, applied by a worker); the publisher promotes it.
    edited = client.patch(
        f"/v1/personas/{persona['id']}/draft",
        json={"personality_prompt": "Edited by the admin"},
        headers={**_as(admin), "Prefer": "respond-async"},
    )
    assert edited.status_code == 202, edited.text
    assert wait_operation(client, _as(admin), edited.json()["data"]["id"])["status"] == "succeeded"
    promoted = client.post(
        f"/v1/personas/{persona['id']}/versions/promote",
        json={"notes": "ship it"},
        headers={**_as(publisher), "Prefer": "respond-async"},
    )
    assert promoted.status_code == 202, promoted.text
    # Operations are the workspace's: any member reads any member's.
    op = wait_operation(client, _as(editor), promoted.json()["data"]["id"])
    assert op["status"] == "succeeded", op

    production = client.get(f"/v1/personas/{persona['id']}/production", headers=_as(editor))
    assert production.status_code == 200, production.text
    assert production.json()["data"]["version"]["personality_prompt"] == "Edited by the admin"
    history = client.get(f"/v1/personas/{persona['id']}/promotions", headers=_as(admin)).json()["data"]
    assert [row["promoted_by"] for row in history["items"]] == [publisher_id]

    # The editor cannot promote (its role), and nothing changed.
    refused = client.post(f"/v1/personas/{persona['id']}/versions/promote", headers=_as(editor))
    assert refused.status_code == 403 and error_of(refused)["error"] == "FORBIDDEN"


def test_another_workspace_sees_nothing_of_a_shared_persona(client: httpx.Client) -> None:
    admin, stranger = new_key(), new_key()
    member = member_key(client, admin, "viewer")
    persona = create_persona(client, _as(admin))
    assert client.get(f"/v1/personas/{persona['id']}", headers=_as(member)).status_code == 200
    theirs = client.get(f"/v1/personas/{persona['id']}", headers=_as(stranger))
    missing = client.get(f"/v1/personas/{uuid.uuid4()}", headers=_as(stranger))
    assert theirs.status_code == missing.status_code == 404
    assert error_of(theirs)["message"] == error_of(missing)["message"]


def test_the_workspace_endpoint_names_the_caller(client: httpx.Client) -> None:
    admin = new_key()
    me = _me(client, admin)
    assert me["role"] == "admin" and me["key"]["role"] is None  # type: ignore[index]
    assert me["workspace"]["name"] == me["user"]["name"]  # type: ignore[index]
    assert me["workspace"]["id"] == me["user"]["id"]  # type: ignore[index]  # a newcomer's own workspace
    narrow = client.post("/v1/keys", json={"name": "copilot", "role": "proposer"}, headers=_as(admin))
    assert narrow.status_code == 201, narrow.text
    data = narrow.json()["data"]
    assert data["api_key"].startswith("gl_") and data["role"] == "proposer"
    as_copilot = _me(client, data["api_key"])
    assert as_copilot["role"] == "admin" and as_copilot["key"] == {"id": data["id"], "role": "proposer"}
    assert as_copilot["workspace"] == me["workspace"]
    # A proposer's key cannot administer, though its member is an admin.
    assert client.get("/v1/members", headers=_as(data["api_key"])).status_code == 200  # reading is allowed
    refused = client.post("/v1/keys", json={"name": "x"}, headers=_as(data["api_key"]))
    assert refused.status_code == 403 and error_of(refused)["error"] == "FORBIDDEN"


def test_members_are_added_changed_and_removed_and_an_admin_always_remains(client: httpx.Client) -> None:
    admin = new_key()
    admin_id = str(_me(client, admin)["user"]["id"])  # type: ignore[index]
    name = f"carol-{uuid.uuid4().hex[:8]}"
    added = client.post("/v1/members", json={"user": name, "role": "reviewer"}, headers=_as(admin))
    assert added.status_code == 201, added.text
    carol = added.json()["data"]
    assert carol["name"] == name and carol["role"] == "reviewer"
    again = client.post("/v1/members", json={"user": carol["user_id"], "role": "viewer"}, headers=_as(admin))
    assert again.status_code == 409 and error_of(again)["error"] == "ALREADY_A_MEMBER"
    # An existing user (another workspace's admin) joins by id.
    other_id = str(_me(client, new_key())["user"]["id"])  # type: ignore[index]
    joined = client.post("/v1/members", json={"user": other_id, "role": "viewer"}, headers=_as(admin))
    assert joined.status_code == 201 and joined.json()["data"]["user_id"] == other_id

    listed = client.get("/v1/members", headers=_as(admin)).json()["data"]
    assert {m["user_id"]: m["role"] for m in listed} == {
        admin_id: "admin",
        carol["user_id"]: "reviewer",
        other_id: "viewer",
    }

    # The last admin can be neither demoted nor removed; once Carol is admin too, it can.
    for response in (
        client.patch(f"/v1/members/{admin_id}", json={"role": "editor"}, headers=_as(admin)),
        client.delete(f"/v1/members/{admin_id}", headers=_as(admin)),
    ):
        assert response.status_code == 409 and error_of(response)["error"] == "LAST_ADMIN", response.text
    promoted = client.patch(f"/v1/members/{carol['user_id']}", json={"role": "admin"}, headers=_as(admin))
    assert promoted.status_code == 200 and promoted.json()["data"]["role"] == "admin"
    demoted = client.patch(f"/v1/members/{admin_id}", json={"role": "viewer"}, headers=_as(admin))
    assert demoted.status_code == 200, demoted.text
    # At once: the demoted admin's key can no longer administer.
    assert client.get("/v1/keys", headers=_as(admin)).status_code == 403


def test_a_keys_role_is_never_wider_than_its_members(client: httpx.Client) -> None:
    admin = new_key()
    added = client.post(
        "/v1/members", json={"user": f"ed-{uuid.uuid4().hex[:8]}", "role": "editor"}, headers=_as(admin)
    )
    editor_id = added.json()["data"]["user_id"]
    wide = client.post(
        "/v1/keys", json={"name": "x", "user_id": editor_id, "role": "publisher"}, headers=_as(admin)
    )
    assert wide.status_code == 422 and error_of(wide)["error"] == "ROLE_TOO_WIDE", wide.text
    same = client.post(
        "/v1/keys", json={"name": "x", "user_id": editor_id, "role": "editor"}, headers=_as(admin)
    )
    narrow = client.post(
        "/v1/keys", json={"name": "y", "user_id": editor_id, "role": "viewer"}, headers=_as(admin)
    )
    assert same.status_code == narrow.status_code == 201
    assert _me(client, narrow.json()["data"]["api_key"])["key"]["role"] == "viewer"  # type: ignore[index]
    refused = client.post("/v1/personas", json={"name": "x"}, headers=_as(narrow.json()["data"]["api_key"]))
    assert refused.status_code == 403

    listed = client.get("/v1/keys", headers=_as(admin)).json()["data"]
    assert {k["id"] for k in listed} >= {same.json()["data"]["id"], narrow.json()["data"]["id"]}
    raw_keys = {same.json()["data"]["api_key"], narrow.json()["data"]["api_key"]}
    for key in listed:
        assert "api_key" not in key and "key_hash" not in key
        assert not any(raw in str(key) for raw in raw_keys)


def test_a_key_created_with_an_idempotency_key_is_shown_once(client: httpx.Client) -> None:
    admin = new_key()
    headers = {**_as(admin), "Idempotency-Key": f"key-{uuid.uuid4()}"}
    first = client.post("/v1/keys", json={"name": "ci"}, headers=headers)
    again = client.post("/v1/keys", json={"name": "ci"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["data"]["api_key"].startswith("gl_")
    assert again.json()["data"] == {**first.json()["data"], "api_key": None}
    keys = client.get("/v1/keys", headers=_as(admin)).json()["data"]
    assert len([k for k in keys if k["name"] == "ci"]) == 1


@pytest.fixture
def second_api(services: dict[str, str]) -> Iterator[str]:
    process, base = start_api(name="api-workspaces")
    yield base
    process.stop()


def _warm(base: str, key: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as http:
        for _ in range(2):
            assert http.get("/v1/workspace", headers=_as(key)).status_code == 200


def _status(base: str, key: str) -> int:
    with httpx.Client(base_url=base, timeout=30) as http:
        return http.get("/v1/workspace", headers=_as(key)).status_code


def test_a_removed_members_keys_are_refused_at_once_in_every_api_process(
    client: httpx.Client, api_url: str, second_api: str
) -> None:
    admin = new_key()
    kept, removed = member_key(client, admin, "editor"), member_key(client, admin, "editor")
    revoked = client.post("/v1/keys", json={"name": "soon revoked"}, headers=_as(admin)).json()["data"]
    removed_id = str(_me(client, removed)["user"]["id"])  # type: ignore[index]
    for base in (api_url, second_api):  # each process now answers these keys from its memory
        for key in (kept, removed, revoked["api_key"]):
            _warm(base, key)

    gone = client.delete(f"/v1/members/{removed_id}", headers=_as(admin))
    assert gone.status_code == 200 and gone.json()["data"] == {"user_id": removed_id, "removed": True}
    dropped = client.delete(f"/v1/keys/{revoked['id']}", headers=_as(admin))
    assert dropped.status_code == 200 and dropped.json()["data"]["revoked_at"] is not None
    for base in (api_url, second_api):
        assert _status(base, removed) == 401
        assert _status(base, revoked["api_key"]) == 401
        assert _status(base, kept) == 200
    with unit_of_work() as session:  # the removed member's keys are revoked, not only unusable
        rows = session.query(ApiKey).filter(ApiKey.user_id == removed_id).all()
        assert rows and all(row.revoked_at is not None for row in rows)
    members = {m["user_id"] for m in client.get("/v1/members", headers=_as(admin)).json()["data"]}
    assert removed_id not in members
    # Another workspace's key is a 404 like a missing one; revoking twice answers the same key.
    stranger = new_key()
    theirs = client.delete(f"/v1/keys/{revoked['id']}", headers=_as(stranger))
    missing = client.delete(f"/v1/keys/{uuid.uuid4()}", headers=_as(stranger))
    assert theirs.status_code == missing.status_code == 404
    assert client.delete(f"/v1/keys/{revoked['id']}", headers=_as(admin)).status_code == 200


def test_members_see_the_same_event_stream_and_webhooks(
    client: httpx.Client, api_url: str, notifications_worker: Process
) -> None:
    admin = new_key()
    viewer = member_key(client, admin, "viewer")
    hook = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=_as(admin))
    assert hook.status_code == 201, hook.text
    second_admin = member_key(client, admin, "admin")
    listed = client.get("/v1/webhooks", headers=_as(second_admin)).json()["data"]
    assert [item["id"] for item in listed] == [hook.json()["data"]["id"]]
    assert client.get("/v1/webhooks", headers=_as(viewer)).status_code == 403  # webhooks are an admin's
    stream = SSEClient(api_url, _as(viewer), {"last_event_id": "0"})
    try:
        persona = create_persona(client, _as(second_admin))
        event = stream.next(timeout=20)
        assert event.type == "persona.created" and event.data["persona_id"] == persona["id"]
    finally:
        stream.close()


def test_ids_in_a_workspace_path_are_checked(client: httpx.Client) -> None:
    admin = new_key()
    for method, path in (("PATCH", "/v1/members/x"), ("DELETE", "/v1/members/x"), ("DELETE", "/v1/keys/x")):
        response = client.request(
            method, path, json={"role": "viewer"} if method == "PATCH" else None, headers=_as(admin)
        )
        assert response.status_code == 404, response.text


def test_two_admins_demoting_each_other_at_once_leave_one_admin(client: httpx.Client) -> None:
    first = new_key()
    second = member_key(client, first, "admin")
    ids = [str(_me(client, key)["user"]["id"]) for key in (first, second)]  # type: ignore[index]
    barrier = threading.Barrier(2)

    def demote(key: str, other: str) -> int:
        with httpx.Client(base_url=str(client.base_url), timeout=30) as http:
            barrier.wait()
            return http.patch(f"/v1/members/{other}", json={"role": "editor"}, headers=_as(key)).status_code

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(demote, (first, second), reversed(ids)))
    # The loser is refused by the last-admin rule, or (arriving once demoted) by its role.
    assert statuses in ([200, 409], [200, 403]), statuses
    roles = [m["role"] for m in client.get("/v1/members", headers=_as(first)).json()["data"]]
    assert sorted(roles) == ["admin", "editor"]
