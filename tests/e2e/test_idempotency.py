"""Same key, same request: one effect and the same answer; same key, other request: 422."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import sqlalchemy as sa

from greenlight.db import unit_of_work
from greenlight.models import Operation, PersonaVersion
from tests.support.http import create_persona


def test_twenty_concurrent_promotes_with_one_key(
    api_url: str, client: httpx.Client, auth: dict[str, str]
) -> None:
    persona = create_persona(client, auth)
    url = f"{api_url}/v1/personas/{persona['id']}/versions/promote"
    headers = {**auth, "Idempotency-Key": "promote-once"}

    def call(_: int) -> tuple[int, str]:
        with httpx.Client(timeout=60) as http:
            response = http.post(url, json={"notes": "ship it"}, headers=headers)
            return response.status_code, response.text

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(call, range(20)))
    assert {status for status, _ in answers} == {200}
    assert len({text for _, text in answers}) == 1  # twenty identical answers
    with unit_of_work() as session:
        ops = session.scalars(
            sa.select(Operation).where(
                Operation.persona_id == persona["id"], Operation.kind == "persona.promote"
            )
        ).all()
        published = session.scalar(
            sa.select(sa.func.count()).where(
                PersonaVersion.persona_id == persona["id"], PersonaVersion.status != "draft"
            )
        )
    assert len(ops) == 1 and ops[0].idempotency_key == "promote-once"
    assert published == 1

    reused = client.post(url, json={"notes": "something else"}, headers=headers)
    assert reused.status_code == 422
    assert reused.json()["errors"][0]["error"] == "IDEMPOTENCY_KEY_REUSED"


def test_replay_after_completion_returns_the_same_answer(client: httpx.Client, auth: dict[str, str]) -> None:
    persona = create_persona(client, auth)
    headers = {**auth, "Idempotency-Key": "edit-1", "Prefer": "wait=10"}
    url = f"/v1/personas/{persona['id']}/draft"
    first = client.patch(url, json={"personality_prompt": "first"}, headers=headers)
    client.patch(url, json={"personality_prompt": "second"}, headers={**auth, "Prefer": "wait=10"})
    replay = client.patch(url, json={"personality_prompt": "first"}, headers=headers)
    assert first.status_code == replay.status_code == 200
    assert first.json() == replay.json()
    current = client.get(f"/v1/personas/{persona['id']}", headers=auth).json()["data"]
    assert current["current_draft_version"]["personality_prompt"] == "second"  # the replay applied nothing


def test_create_with_a_key_is_idempotent_and_keys_are_per_user(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    from tests.support.http import new_key

    headers = {**auth, "Idempotency-Key": "create-1"}
    first = client.post("/v1/personas", json={"name": "Once"}, headers=headers)
    second = client.post("/v1/personas", json={"name": "Once"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    other = client.post(
        "/v1/personas",
        json={"name": "Once"},
        headers={"authorization": new_key(), **{"Idempotency-Key": "create-1"}},
    )
    assert other.status_code == 201 and other.json()["data"]["id"] != first.json()["data"]["id"]


def test_invalid_idempotency_keys_are_400(client: httpx.Client, auth: dict[str, str]) -> None:
    persona = create_persona(client, auth)
    url = f"/v1/personas/{persona['id']}/versions/promote"
    for key in ("k" * 256, "tab\there"):
        response = client.post(url, headers={**auth, "Idempotency-Key": key})
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["error"] == "INVALID_IDEMPOTENCY_KEY"
    with unit_of_work() as session:
        count = session.scalar(sa.select(sa.func.count()).where(Operation.persona_id == persona["id"]))
    assert count == 1  # only the create
