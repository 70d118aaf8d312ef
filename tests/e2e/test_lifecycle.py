"""Publish, archive, unarchive, rollback, history, production reads, compare-and-swap, schedules."""

from __future__ import annotations

import itertools
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from greenlight.db import unit_of_work
from greenlight.models import OutboxEvent, PersonaVersion, Promotion
from tests.support.http import create_persona
from tests.support.processes import wait_until


def _wait(auth: dict[str, str]) -> dict[str, str]:
    return {**auth, "Prefer": "wait=20"}


def _edit(client: httpx.Client, auth: dict[str, str], pid: str, text: str) -> None:
    response = client.patch(
        f"/v1/personas/{pid}/draft", json={"personality_prompt": text}, headers=_wait(auth)
    )
    assert response.status_code == 200, response.text


def _publish(client: httpx.Client, auth: dict[str, str], pid: str, n: int, **body: Any) -> httpx.Response:
    return client.post(f"/v1/personas/{pid}/versions/{n}/publish", json=body or None, headers=auth)


def _history(client: httpx.Client, auth: dict[str, str], pid: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/v1/personas/{pid}/promotions", params=params, headers=auth)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def test_publish_archive_unarchive_rollback(client: httpx.Client, auth: dict[str, str]) -> None:
    pid = create_persona(client, auth, personality_prompt="one")["id"]
    assert _publish(client, auth, pid, 1, notes="first").status_code == 200
    _edit(client, auth, pid, "two")  # a new draft, version 2, copied from production
    assert _publish(client, auth, pid, 2, notes="second").status_code == 200

    refused = _publish(client, auth, pid, 1)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["error"] == "VERSION_NOT_DRAFT"

    unarchived = client.post(f"/v1/personas/{pid}/versions/1/unarchive", headers=auth)
    assert unarchived.status_code == 200, unarchived.text
    assert unarchived.json()["data"]["version_type"] == "draft"
    rollback = _publish(client, auth, pid, 1, notes="roll back")
    assert rollback.status_code == 200
    production = rollback.json()["data"]["current_production_version"]
    assert (production["version_number"], production["personality_prompt"]) == (1, "one")

    items = _history(client, auth, pid)["items"]
    assert [(i["version"], i["previous_version"], i["notes"]) for i in items] == [
        (1, 2, "roll back"),
        (2, 1, "second"),
        (1, None, "first"),
    ]
    versions = client.get(f"/v1/personas/{pid}/versions", headers=auth).json()["data"]
    assert [(v["version_number"], v["status"]) for v in versions] == [(1, "published"), (2, "archived")]

    # Editing after the rollback does not touch the content that ran in production.
    _edit(client, auth, pid, "three")
    versions = client.get(f"/v1/personas/{pid}/versions", headers=auth).json()["data"]
    assert versions[0]["personality_prompt"] == "one" and versions[-1]["personality_prompt"] == "three"

    diff = client.get(f"/v1/personas/{pid}/versions/1/diff/3", headers=auth).json()["data"]
    assert diff["changes"] == [
        {
            "field": "personality_prompt",
            "from": "one",
            "to": "three",
            "lines": [{"op": "delete", "text": "one"}, {"op": "insert", "text": "three"}],
            "too_large": None,
        }
    ]
    assert client.post(f"/v1/personas/{pid}/versions/3/unarchive", headers=auth).status_code == 422
    assert client.post(f"/v1/personas/{pid}/versions/9/unarchive", headers=auth).status_code == 404


def test_history_filters_pagination_and_at(client: httpx.Client, auth: dict[str, str]) -> None:
    persona = create_persona(client, auth)
    pid, user_id = persona["id"], persona["user_id"]
    stamps = []
    for _ in range(3):
        time.sleep(0.05)
        response = client.post(f"/v1/personas/{pid}/versions/promote", headers=auth)
        stamps.append(response.json()["data"]["current_production_version"]["promoted_at"])

    pages, cursor = [], None
    while True:
        page = _history(client, auth, pid, limit=1, **({"cursor": cursor} if cursor else {}))
        pages.extend(item["version"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [4, 3, 2]

    assert len(_history(client, auth, pid, promoted_by=user_id)["items"]) == 3
    assert _history(client, auth, pid, promoted_by="someone-else")["items"] == []
    middle = _history(client, auth, pid, **{"from": stamps[1], "to": stamps[2]})["items"]
    assert [i["version"] for i in middle] == [3]

    def at(instant: str) -> httpx.Response:
        return client.get(f"/v1/personas/{pid}/production", params={"at": instant}, headers=auth)

    parsed = [datetime.fromisoformat(s.replace("Z", "+00:00")) for s in stamps]
    between = (parsed[1] + (parsed[2] - parsed[1]) / 2).isoformat()
    assert at(between).json()["data"]["version"]["version_number"] == 3
    assert at(stamps[0]).json()["data"]["version"]["version_number"] == 2
    before = at((parsed[0] - timedelta(seconds=5)).isoformat())
    assert before.status_code == 404 and before.json()["errors"][0]["error"] == "NO_PRODUCTION_VERSION"


def test_thirty_concurrent_publishes(api_url: str, client: httpx.Client, auth: dict[str, str]) -> None:
    pid = create_persona(client, auth)["id"]
    for _ in range(30):  # versions 2..31, each archived by the next
        assert client.post(f"/v1/personas/{pid}/versions/promote", headers=auth).status_code == 200
    for n in range(2, 31):
        response = client.post(f"/v1/personas/{pid}/versions/{n}/unarchive", headers=auth)
        assert response.status_code == 200, response.text
    with unit_of_work() as session:
        before = session.scalar(sa.select(sa.func.count()).where(Promotion.persona_id == pid))

    def publish(n: int) -> int:
        with httpx.Client(base_url=api_url, timeout=60) as http:
            return _publish(http, auth, pid, n).status_code

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(publish, [1, *range(2, 31)]))
    assert statuses == [200] * 30

    with unit_of_work() as session:
        chain = session.scalars(
            sa.select(Promotion).where(Promotion.persona_id == pid).order_by(Promotion.promoted_at)
        ).all()
        archived_events = session.scalars(
            sa.select(OutboxEvent.data).where(
                OutboxEvent.persona_id == pid, OutboxEvent.type == "version.archived"
            )
        ).all()
        published = session.scalar(
            sa.select(sa.func.count()).where(
                PersonaVersion.persona_id == pid, PersonaVersion.status == "published"
            )
        )
    assert len(chain) == before + 30
    for earlier, later in itertools.pairwise(chain):
        assert later.previous_version_id == earlier.version_id  # a single chain
    archived_ids = [data["version_id"] for data in archived_events]
    assert len(archived_ids) == len(chain) - 1
    # Archived once per time it was in production: never twice for one stint.
    assert len(archived_ids) == len([p.previous_version_id for p in chain if p.previous_version_id])
    assert published == 1


def test_production_read_is_never_stale_and_304s(client: httpx.Client, auth: dict[str, str]) -> None:
    pid = create_persona(client, auth)["id"]
    url = f"/v1/personas/{pid}/production"
    missing = client.get(url, headers=auth)
    assert missing.status_code == 404
    etag = None
    for i in range(8):
        _edit(client, auth, pid, f"text {i}")
        promoted = client.post(
            f"/v1/personas/{pid}/versions/promote", headers={**auth, "Prefer": "respond-async"}
        ).json()["data"]

        def done(op_id: str = promoted["id"]) -> bool:
            return bool(
                client.get(f"/v1/operations/{op_id}", headers=auth).json()["data"]["status"] == "succeeded"
            )

        wait_until(done, timeout=20, interval=0.005)
        read = client.get(url, headers=auth)  # right after success: must be the new version
        assert read.json()["data"]["version"]["personality_prompt"] == f"text {i}"
        assert read.headers["etag"] != etag
        etag = read.headers["etag"]
        cached = client.get(url, headers={**auth, "If-None-Match": etag})
        assert cached.status_code == 304 and cached.headers["etag"] == etag


def test_compare_and_swap(client: httpx.Client, auth: dict[str, str]) -> None:
    pid = create_persona(client, auth)["id"]
    client.post(f"/v1/personas/{pid}/versions/promote", headers=auth)
    etag = client.get(f"/v1/personas/{pid}/production", headers=auth).headers["etag"]
    client.post(f"/v1/personas/{pid}/versions/promote", headers=auth)  # production moves on

    stale = client.post(f"/v1/personas/{pid}/versions/promote", headers={**auth, "If-Match": etag})
    assert stale.status_code == 409
    assert stale.json()["errors"][0]["error"] == "PRODUCTION_CHANGED"
    versions = client.get(f"/v1/personas/{pid}/versions", headers=auth).json()["data"]
    assert len(versions) == 3  # nothing changed

    fresh = client.get(f"/v1/personas/{pid}/production", headers=auth).headers["etag"]
    ok = client.post(f"/v1/personas/{pid}/versions/promote", headers={**auth, "If-Match": fresh})
    assert ok.status_code == 200
    body_cas = _publish(client, auth, pid, 1, expected_production_version_id="not-it")
    assert body_cas.status_code == 409


def test_scheduled_promotion_applied_at_its_time_and_one_cancelled(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    pid = create_persona(client, auth)["id"]
    run_at = datetime.now(UTC) + timedelta(seconds=2)
    scheduled = client.post(
        f"/v1/personas/{pid}/versions/promote",
        json={"notes": "at launch", "scheduled_at": run_at.isoformat()},
        headers=auth,
    )
    assert scheduled.status_code == 202, scheduled.text
    schedule = scheduled.json()["data"]
    assert schedule["status"] == "scheduled"

    later = client.post(
        f"/v1/personas/{pid}/versions/1/publish",
        json={"scheduled_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
        headers=auth,
    ).json()["data"]
    cancelled = client.delete(f"/v1/personas/{pid}/scheduled-promotions/{later['id']}", headers=auth)
    assert cancelled.status_code == 200 and cancelled.json()["data"]["status"] == "cancelled"

    assert client.get(f"/v1/personas/{pid}/production", headers=auth).status_code == 404  # not yet

    def promoted() -> bool:
        return client.get(f"/v1/personas/{pid}/production", headers=auth).status_code == 200

    wait_until(promoted, timeout=20, interval=0.1)
    items = _history(client, auth, pid)["items"]
    assert len(items) == 1 and items[0]["notes"] == "at launch"
    assert datetime.fromisoformat(items[0]["promoted_at"].replace("Z", "+00:00")) >= run_at
    listed = {
        s["id"]: s
        for s in client.get(f"/v1/personas/{pid}/scheduled-promotions", headers=auth).json()["data"]
    }
    assert listed[schedule["id"]]["status"] == "submitted" and listed[schedule["id"]]["operation_id"]
    assert listed[later["id"]]["status"] == "cancelled" and listed[later["id"]]["operation_id"] is None
    again = client.delete(f"/v1/personas/{pid}/scheduled-promotions/{schedule['id']}", headers=auth)
    assert again.status_code == 409
