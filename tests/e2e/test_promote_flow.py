"""Bland's promote (seed 000) and the native persona endpoints, through real HTTP and workers."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from greenlight.db import unit_of_work
from greenlight.models import OutboxEvent, Persona, Promotion
from tests.support.http import create_persona, new_key, wait_operation

PERSONA_FIELDS = {
    "id", "name", "role", "description", "tags", "image_url", "created_at", "updated_at", "deleted_at",
    "user_id", "current_production_version_id", "current_draft_version_id", "current_production_version",
    "current_draft_version",
}  # fmt: skip
VERSION_FIELDS = {
    "id", "persona_id", "version_type", "version_number", "orchestration_prompt", "personality_prompt",
    "pathway_conditions", "kb_ids", "call_config", "default_tools", "promoted_from_version_id", "promoted_at",
    "promoted_by", "created_at", "updated_at",
}  # fmt: skip


def test_create_edit_promote_read_back(client: httpx.Client, auth: dict[str, str]) -> None:
    persona = create_persona(client, auth, description="Helpful Agent for Bland Documentation")
    assert persona.keys() >= PERSONA_FIELDS
    assert persona["current_production_version"] is None
    draft = persona["current_draft_version"]
    assert draft.keys() >= VERSION_FIELDS
    assert (draft["version_type"], draft["version_number"]) == ("draft", 1)

    edit = client.patch(
        f"/v1/personas/{persona['id']}/draft", json={"personality_prompt": "Be concise"}, headers=auth
    )
    assert edit.status_code == 202, edit.text
    op = edit.json()["data"]
    assert edit.headers["location"] == f"/v1/operations/{op['id']}"
    assert wait_operation(client, auth, op["id"])["status"] == "succeeded"

    promoted = client.post(f"/v1/personas/{persona['id']}/versions/promote", headers=auth)
    assert promoted.status_code == 200, promoted.text
    body = promoted.json()
    assert body["errors"] is None
    data = body["data"]
    assert data.keys() >= PERSONA_FIELDS
    production, draft_after = data["current_production_version"], data["current_draft_version"]
    assert production["version_type"] == "production"
    assert production["version_number"] == 2
    assert production["personality_prompt"] == "Be concise"
    assert production["promoted_from_version_id"] == draft["id"]
    assert production["promoted_by"] == persona["user_id"]
    assert production["promoted_at"].endswith("Z")
    assert data["current_production_version_id"] == production["id"]
    # The draft stays as it was.
    assert draft_after["id"] == draft["id"] and draft_after["version_type"] == "draft"

    again = client.post(f"/v1/personas/{persona['id']}/versions/promote", headers=auth).json()["data"]
    assert again["current_production_version"]["version_number"] == 3

    read = client.get(f"/v1/personas/{persona['id']}", headers=auth).json()["data"]
    assert read["current_production_version_id"] == again["current_production_version_id"]
    versions = client.get(f"/v1/personas/{persona['id']}/versions", headers=auth).json()["data"]
    assert [(v["version_number"], v["version_type"]) for v in versions] == [
        (1, "draft"),
        (2, "archived"),
        (3, "production"),
    ]
    with unit_of_work() as session:
        history = session.scalars(
            sa.select(Promotion).where(Promotion.persona_id == persona["id"]).order_by(Promotion.promoted_at)
        ).all()
        assert [(h.version_number, h.previous_version_number) for h in history] == [(2, None), (3, 2)]
        types = session.scalars(
            sa.select(OutboxEvent.type)
            .where(OutboxEvent.persona_id == persona["id"])
            .order_by(OutboxEvent.persona_seq)
        ).all()
        assert types == [
            "persona.created",
            "draft.updated",
            "version.promoted",
            "version.promoted",
            "version.archived",
        ]


def test_promote_with_bearer_and_notes_and_async(client: httpx.Client, api_key: str) -> None:
    auth = {"authorization": f"Bearer {api_key}"}
    persona = create_persona(client, auth)
    response = client.post(
        f"/v1/personas/{persona['id']}/versions/promote",
        json={"notes": "Improved tone for enterprise customers"},
        headers={**auth, "Prefer": "respond-async"},
    )
    assert response.status_code == 202
    op = response.json()["data"]
    assert op["kind"] == "persona.promote" and op["persona_id"] == persona["id"]
    finished = wait_operation(client, auth, op["id"])
    assert finished["status"] == "succeeded"
    assert finished["result"]["persona"]["current_production_version"]["version_number"] == 2
    with unit_of_work() as session:
        notes = session.scalar(sa.select(Promotion.notes).where(Promotion.persona_id == persona["id"]))
    assert notes == "Improved tone for enterprise customers"


def test_no_draft_version_error(client: httpx.Client, auth: dict[str, str]) -> None:
    persona = create_persona(client, auth)
    with unit_of_work() as session:  # as after a publish-in-place: production and no draft
        session.execute(
            sa.update(Persona).where(Persona.id == persona["id"]).values(current_draft_version_id=None)
        )
    response = client.post(f"/v1/personas/{persona['id']}/versions/promote", headers=auth)
    assert response.status_code == 400
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "error": "NO_DRAFT_VERSION",
                "message": "No draft version to promote",
                "details": {"persona_id": persona["id"]},
            }
        ],
    }


def test_edit_without_draft_creates_one_from_production(client: httpx.Client, auth: dict[str, str]) -> None:
    persona = create_persona(client, auth, personality_prompt="original")
    client.post(f"/v1/personas/{persona['id']}/versions/promote", headers=auth)
    with unit_of_work() as session:
        session.execute(
            sa.update(Persona).where(Persona.id == persona["id"]).values(current_draft_version_id=None)
        )
    response = client.patch(
        f"/v1/personas/{persona['id']}/draft",
        json={"orchestration_prompt": "route calls"},
        headers={**auth, "Prefer": "wait=10"},
    )
    assert response.status_code == 200, response.text
    draft = response.json()["data"]["current_draft_version"]
    assert draft["version_number"] == 3
    assert draft["personality_prompt"] == "original"  # copied from production
    assert draft["orchestration_prompt"] == "route calls"
    assert draft["promoted_from_version_id"] == response.json()["data"]["current_production_version_id"]


def test_missing_invalid_and_foreign_keys(client: httpx.Client, auth: dict[str, str]) -> None:
    persona = create_persona(client, auth)
    url = f"/v1/personas/{persona['id']}"
    for headers in ({}, {"authorization": "gl_not-a-key"}, {"authorization": "Bearer"}):
        response = client.get(url, headers=headers)
        assert response.status_code == 401
        assert response.json()["errors"][0]["error"] == "UNAUTHORIZED"
    other = {"authorization": new_key()}
    for method, path in (("GET", url), ("POST", f"{url}/versions/promote"), ("GET", f"{url}/versions")):
        response = client.request(method, path, headers=other)
        assert response.status_code == 404, response.text
        assert response.json()["errors"][0]["error"] == "NOT_FOUND"
    response = client.patch(f"{url}/draft", json={"personality_prompt": "x"}, headers=other)
    assert response.status_code == 404
    missing = client.get("/v1/personas/00000000-0000-0000-0000-000000000000", headers=auth)
    assert missing.status_code == 404 and missing.json()["errors"][0]["details"]["persona_id"]


def test_bad_input_is_a_clear_4xx_and_changes_nothing(client: httpx.Client, auth: dict[str, str]) -> None:
    persona = create_persona(client, auth)
    url = f"/v1/personas/{persona['id']}/draft"
    cases = [
        (client.patch(url, content=b"{not json", headers={**auth, "content-type": "application/json"}), 400),
        (client.patch(url, json={"personality_prompt": 5}, headers=auth), 422),
        (client.patch(url, json={"unknown_field": "x"}, headers=auth), 422),
        (client.post("/v1/personas", json={"name": ""}, headers=auth), 422),
        (client.post("/v1/personas", json={"name": "x" * 201}, headers=auth), 422),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        assert response.json()["data"] is None and response.json()["errors"][0]["error"]
    versions = client.get(f"/v1/personas/{persona['id']}/versions", headers=auth).json()["data"]
    assert versions[0]["personality_prompt"] == "You are a helpful assistant"
