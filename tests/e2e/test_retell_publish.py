"""Retell's POST /publish-agent-version/{agent_id} (seed 004): success and every documented error."""

from __future__ import annotations

import httpx

from tests.support.http import create_persona, wait_operation


def _bearer(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def test_publish_draft_in_place(client: httpx.Client, api_key: str) -> None:
    auth = _bearer(api_key)
    persona = create_persona(client, auth)
    response = client.post(
        f"/publish-agent-version/{persona['id']}",
        json={"version": 1, "version_description": "Hotfix for transfer timeout"},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["agent_id"] == persona["id"]
    assert (body["version_number"], body["version_type"]) == (1, "production")
    assert body["version_description"] == "Hotfix for transfer timeout"

    after = client.get(f"/v1/personas/{persona['id']}", headers=auth).json()["data"]
    assert after["current_production_version_id"] == body["id"]
    assert after["current_draft_version_id"] is None  # published in place: no draft until the next edit

    edit = client.patch(
        f"/v1/personas/{persona['id']}/draft",
        json={"personality_prompt": "v2"},
        headers={**auth, "Prefer": "wait=10"},
    )
    draft = edit.json()["data"]["current_draft_version"]
    assert draft["version_number"] == 2 and draft["promoted_from_version_id"] == body["id"]


def test_documented_errors(client: httpx.Client, api_key: str) -> None:
    auth = _bearer(api_key)
    persona = create_persona(client, auth)
    url = f"/publish-agent-version/{persona['id']}"

    for bad in ({}, {"version": -1}, {"version": "one"}, {"version": 1.5}, {"version_description": "x"}):
        response = client.post(url, json=bad, headers=auth)
        assert response.status_code == 400, (bad, response.text)
        assert response.json() == {
            "status": "error",
            "message": "Invalid request format, please check API reference.",
        }
    malformed = client.post(url, content=b"{", headers={**auth, "content-type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["status"] == "error"

    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = client.post(url, json={"version": 1}, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"status": "error", "message": "API key is missing or invalid."}

    missing_agent = client.post("/publish-agent-version/agent_xxx", json={"version": 1}, headers=auth)
    assert missing_agent.status_code == 404 and missing_agent.json()["status"] == "error"
    missing_version = client.post(url, json={"version": 15}, headers=auth)
    assert missing_version.status_code == 404 and set(missing_version.json()) == {"status", "message"}

    assert client.post(url, json={"version": 1}, headers=auth).status_code == 200
    again = client.post(url, json={"version": 1}, headers=auth)  # already published
    assert again.status_code == 422
    assert again.json()["status"] == "error" and "published" in again.json()["message"]


def test_respond_async_gives_202(client: httpx.Client, api_key: str) -> None:
    auth = _bearer(api_key)
    persona = create_persona(client, auth)
    response = client.post(
        f"/publish-agent-version/{persona['id']}",
        json={"version": 1},
        headers={**auth, "Prefer": "respond-async"},
    )
    assert response.status_code == 202
    op = response.json()
    assert op["kind"] == "version.publish" and response.headers["location"] == f"/v1/operations/{op['id']}"
    assert wait_operation(client, auth, op["id"])["status"] == "succeeded"
