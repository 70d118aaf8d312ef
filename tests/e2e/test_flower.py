"""Flower: on the test broker, closed without credentials, showing the tasks we ran."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.http import create_persona, wait_operation
from tests.support.processes import start_flower, wait_until
from workers.catalogue import DRAIN_PERSONAS

CREDENTIALS = ("ops", "flower-test-password")


@pytest.fixture(scope="module")
def flower(services: dict[str, str]) -> Iterator[str]:
    process, base = start_flower(":".join(CREDENTIALS))
    yield base
    process.stop()


def test_flower_refuses_requests_without_credentials(flower: str) -> None:
    for path in ("/api/tasks", "/api/workers", "/"):
        assert httpx.get(f"{flower}{path}", timeout=10).status_code == 401, path
    assert httpx.get(f"{flower}/api/tasks", auth=("ops", "wrong"), timeout=10).status_code == 401
    assert httpx.get(f"{flower}/api/tasks", auth=CREDENTIALS, timeout=10).status_code == 200
    # Prometheus scrapes Flower's own metrics without credentials.
    metrics = httpx.get(f"{flower}/metrics", timeout=10)
    assert metrics.status_code == 200 and "flower_" in metrics.text


def test_flower_shows_the_drain_of_a_persona_by_task_name_and_id(
    flower: str, client: httpx.Client, auth: dict[str, str], api_key: str
) -> None:
    persona = create_persona(client, auth)
    accepted = client.post(
        f"/v1/personas/{persona['id']}/versions/promote", headers={**auth, "Prefer": "respond-async"}
    )
    operation_id = accepted.json()["data"]["id"]
    assert wait_operation(client, auth, operation_id)["status"] == "succeeded"

    found: list[dict[str, Any]] = []
    listing: list[str] = []

    def shown() -> bool:
        response = httpx.get(
            f"{flower}/api/tasks",
            params={"taskname": DRAIN_PERSONAS.name},
            auth=CREDENTIALS,
            timeout=10,
        )
        listing[:] = [response.text]
        found[:] = [task for task in response.json().values() if persona["id"] in str(task.get("args"))]
        return bool(found) and found[0].get("state") == "SUCCESS"

    wait_until(shown, timeout=30, interval=0.2)
    task = found[0]
    # Accepted operations are applied by a drain of their persona (one message for all that wait).
    assert task["name"] == DRAIN_PERSONAS.name
    assert json.loads(task["args"].replace("'", '"')) == [persona["id"]]  # the id, and nothing else
    assert api_key not in listing[0]
