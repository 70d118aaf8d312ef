"""HTTP helpers for the webhook tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.processes import wait_until


def register(
    client: httpx.Client, auth: dict[str, str], url: str, event_types: list[str] | None = None
) -> dict[str, Any]:
    response = client.post("/v1/webhooks", json={"url": url, "event_types": event_types}, headers=auth)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def deliveries(client: httpx.Client, auth: dict[str, str], webhook_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/webhooks/{webhook_id}/deliveries", params={"limit": 100}, headers=auth)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["data"]["items"]
    return items


def wait_deliveries(
    client: httpx.Client, auth: dict[str, str], webhook_id: str, count: int, status: str, timeout: float = 30
) -> list[dict[str, Any]]:
    """Wait until ``count`` deliveries exist and all of them have ``status``."""
    seen: list[dict[str, Any]] = []

    def done() -> bool:
        seen[:] = deliveries(client, auth, webhook_id)
        return len(seen) == count and all(d["status"] == status for d in seen)

    try:
        wait_until(done, timeout=timeout, interval=0.1)
    except AssertionError:
        raise AssertionError(f"deliveries did not settle: {seen}") from None
    return seen


def promote(client: httpx.Client, auth: dict[str, str], persona_id: str) -> dict[str, Any]:
    response = client.post(f"/v1/personas/{persona_id}/versions/promote", headers=auth)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def edit(client: httpx.Client, auth: dict[str, str], persona_id: str, prompt: str) -> None:
    response = client.patch(
        f"/v1/personas/{persona_id}/draft",
        json={"personality_prompt": prompt},
        headers={**auth, "Prefer": "wait=20"},
    )
    assert response.status_code == 200, response.text
