"""A schedule is a promise about time: one far in the past or beyond the horizon is a 422 that
changes nothing (a mistyped year never reaches production at once); one within the clock skew runs
at once as a schedule; a replay of an accepted schedule answers as the first request did, even once
its time has passed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from greenlight.settings import get_settings
from tests.support.http import create_persona, new_key
from tests.support.processes import Process, wait_until
from tests.support.tenants import error_of, footprint, settle, workspace_id_of


@pytest.fixture
def http(api_url: str, worker: Process) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=60) as client:
        yield client


def _persona_with_draft(http: httpx.Client, auth: dict[str, str]) -> str:
    persona_id = str(create_persona(http, auth)["id"])
    promoted = http.post(f"/v1/personas/{persona_id}/versions/promote", headers=auth)
    assert promoted.status_code == 200, promoted.text
    edited = http.patch(
        f"/v1/personas/{persona_id}/draft",
        json={"personality_prompt": "v2"},
        headers={**auth, "Prefer": "wait=10"},
    )
    assert edited.status_code == 200, edited.text
    return persona_id


def _at(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


REFUSED = [
    ("1970-01-01T00:00:00Z", "SCHEDULED_AT_IN_PAST"),
    ("2025-12-03T10:00:00+00:00", "SCHEDULED_AT_IN_PAST"),  # a mistyped year
    ("8562-01-01T00:00:00Z", "SCHEDULED_AT_TOO_FAR"),
    ("9999-12-31T23:59:59Z", "SCHEDULED_AT_TOO_FAR"),
]


def test_schedules_far_in_the_past_or_beyond_the_horizon_are_refused(http: httpx.Client) -> None:
    key = new_key()
    auth = {"authorization": key}
    persona_id = _persona_with_draft(http, auth)
    workspace_id = workspace_id_of(key)
    settle(workspace_id)
    before = footprint(workspace_id)
    horizon = get_settings().schedule_horizon_days
    cases = [*REFUSED, (_at(-timedelta(minutes=10)), "SCHEDULED_AT_IN_PAST")]
    cases.append((_at(timedelta(days=horizon + 1)), "SCHEDULED_AT_TOO_FAR"))
    urls = [f"/v1/personas/{persona_id}/versions/promote", f"/v1/personas/{persona_id}/versions/2/publish"]
    for url in urls:
        for prefer in ("respond-async", "wait=10"):
            for scheduled_at, code in cases:
                headers = {**auth, "Prefer": prefer, "Idempotency-Key": str(uuid.uuid4())}
                response = http.post(url, json={"scheduled_at": scheduled_at}, headers=headers)
                assert response.status_code == 422, (url, scheduled_at, response.text)
                error = error_of(response)
                assert error["error"] == code, response.text
                assert error["details"]["scheduled_at"], response.text
    settle(workspace_id)
    assert footprint(workspace_id) == before
    production = http.get(f"/v1/personas/{persona_id}/production", headers=auth).json()["data"]
    assert production["version"]["version_number"] == 2


def test_a_schedule_within_the_clock_skew_runs_at_once_and_replays_answer_alike(http: httpx.Client) -> None:
    auth = {"authorization": new_key()}
    persona_id = _persona_with_draft(http, auth)
    headers = {**auth, "Idempotency-Key": str(uuid.uuid4())}
    body = {"scheduled_at": _at(-timedelta(seconds=5))}
    url = f"/v1/personas/{persona_id}/versions/promote"
    first = http.post(url, json=body, headers=headers)
    assert first.status_code == 202, first.text
    schedule: dict[str, Any] = first.json()["data"]
    assert schedule["status"] in ("scheduled", "submitted") and schedule["kind"] == "persona.promote"

    def promoted() -> bool:
        data = http.get(f"/v1/personas/{persona_id}/production", headers=auth).json()["data"]
        return bool(data["version"]["version_number"] == 3)

    wait_until(promoted, timeout=20, interval=0.1)
    # The same request again, its time now further back: the same schedule, no second promotion.
    replay = http.post(url, json=body, headers=headers)
    assert replay.status_code == 202, replay.text
    assert replay.json()["data"]["id"] == schedule["id"]
    versions = http.get(f"/v1/personas/{persona_id}/versions", headers=auth).json()["data"]
    assert [v["version_number"] for v in versions if v["version_type"] == "production"] == [3]
