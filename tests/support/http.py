"""Small HTTP helpers shared by the API tests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from greenlight.access import Role
from greenlight.db import unit_of_work
from greenlight.keys import create_key
from tests.support.processes import wait_until


def create_persona(client: httpx.Client, auth: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"name": "Blandy", "personality_prompt": "You are a helpful assistant", **fields}
    response = client.post("/v1/personas", json=body, headers=auth)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def wait_operation(client: httpx.Client, auth: dict[str, str], operation_id: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def done() -> bool:
        body = client.get(f"/v1/operations/{operation_id}", headers=auth).json()["data"]
        seen.update(body)
        return body["status"] in ("succeeded", "failed")

    wait_until(done, timeout=30, interval=0.05)
    return seen


def new_key(name: str | None = None, role: Role | None = None) -> str:
    with unit_of_work() as session:
        _, raw = create_key(session, name or f"user-{uuid.uuid4().hex[:8]}", role)
    return raw


def member_key(client: httpx.Client, workspace_key: str, role: Role | str, name: str | None = None) -> str:
    """A key of a new member with ``role`` in the workspace of ``workspace_key`` (an admin's key),
    made through the API: POST /v1/members, then POST /v1/keys for that member."""
    admin = {"authorization": workspace_key}
    user = name or f"member-{uuid.uuid4().hex[:8]}"
    added = client.post("/v1/members", json={"user": user, "role": str(role)}, headers=admin)
    assert added.status_code == 201, added.text
    body = {"name": f"{user}'s key", "user_id": added.json()["data"]["user_id"]}
    created = client.post("/v1/keys", json=body, headers=admin)
    assert created.status_code == 201, created.text
    raw: str = created.json()["data"]["api_key"]
    return raw


# Seed 002's POST /persona/draft: its answer's fields, a request, and a successful answer's body.
RESPONSE_FIELDS = {"success", "draft_id", "idempotency_key", "message", "form_state"}


def patch(client: httpx.Client, auth: dict[str, str], **body: Any) -> httpx.Response:
    return client.post("/persona/draft", json=body, headers=auth)


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == RESPONSE_FIELDS and body["success"] is True
    return body
