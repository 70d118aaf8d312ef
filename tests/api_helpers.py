"""Small HTTP helpers shared by the API tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import wait_until


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
