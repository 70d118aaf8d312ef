"""Seed 002's POST /persona/draft: every field, resources by text and by id, pending, flags."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from greenlight.db import unit_of_work
from greenlight.drafts.catalogue import PERSONA_ACTIVE, option_id
from greenlight.models import Operation, Persona, Resource
from tests.support.http import new_key, ok, patch

SVG_ICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4"/></svg>'


def _counts() -> tuple[int, int, int]:
    with unit_of_work() as session:
        return (
            session.scalar(sa.select(sa.func.count()).select_from(Resource)) or 0,
            session.scalar(sa.select(sa.func.count()).select_from(Persona)) or 0,
            session.scalar(sa.select(sa.func.count()).select_from(Operation)) or 0,
        )


def test_create_with_every_text_field(client: httpx.Client, auth: dict[str, str]) -> None:
    body = ok(
        patch(
            client,
            auth,
            name="Blandy",
            description="Helpful Agent",
            color="#1a2B3c",
            icon=SVG_ICON,
            instructions="Greet {{caller}} warmly",
            examples=["Hi there!", "How can I help?"],
            departments=["Sales", "Support"],
            parameter_fields=["order_id"],
            voices=["maya"],
            flag_ids=[option_id("tone", "friendly")],
            active=True,
        )
    )
    form = body["form_state"]
    assert body["draft_id"] == form["draft_id"]
    assert body["idempotency_key"] != body["draft_id"]  # the entry's id, not the draft's
    assert form["name"]["value"] == "Blandy" and form["name_id"] == form["name"]["id"]
    assert form["description"]["value"] == "Helpful Agent"
    assert form["color"]["value"] == "#1a2B3c"
    assert form["icon"]["value"] == SVG_ICON  # stored as text, byte for byte
    assert form["instructions"]["value"] == "Greet {{caller}} warmly"
    assert [e["value"] for e in form["examples"]] == ["Hi there!", "How can I help?"]
    assert [d["value"] for d in form["departments"]] == ["Sales", "Support"]
    assert [p["value"] for p in form["parameter_fields"]] == ["order_id"]
    assert [v["value"] for v in form["voices"]] == ["maya"]
    assert {(f["type"], f["value"]) for f in form["flags"]} == {
        ("tone", "friendly"),
        (PERSONA_ACTIVE, "true"),
    }
    assert form["active"] is True and form["pending_ids"] == []
    assert client.get(f"/persona/draft/{body['draft_id']}", headers=auth).json()["form_state"] == form

    persona = client.get(f"/v1/personas/{form['persona_id']}", headers=auth).json()["data"]
    assert persona["name"] == "Blandy" and persona["current_draft_version_id"] == body["draft_id"]


def test_select_by_id_and_reuse_identical_text(client: httpx.Client, auth: dict[str, str]) -> None:
    first = ok(patch(client, auth, name="Shared", examples=["one"], voices=["maya"]))["form_state"]
    second = ok(
        patch(
            client,
            auth,
            name_id=first["name_id"],
            example_ids=first["example_ids"],
            examples=["one", "two"],  # "one" is the same text: the same resource
            voice_ids=first["voice_ids"],
        )
    )["form_state"]
    assert second["name_id"] == first["name_id"]
    assert second["example_ids"][0] == first["example_ids"][0] and len(second["example_ids"]) == 2
    assert second["voice_ids"] == first["voice_ids"]
    # Patch the existing draft: select a new name by id, keep the rest.
    other = ok(patch(client, auth, name="Other"))["form_state"]
    patched = ok(patch(client, auth, draft_id=first["draft_id"], name_id=other["name_id"]))["form_state"]
    assert patched["name"]["value"] == "Other" and patched["example_ids"] == first["example_ids"]


def test_unknown_and_foreign_ids_are_422_and_write_nothing(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    mine = ok(patch(client, auth, name="Mine"))["form_state"]
    foreign = ok(patch(client, {"authorization": new_key()}, name="Theirs", examples=["x"]))["form_state"]
    before = _counts()
    cases = [
        {"name_id": "00000000-0000-0000-0000-000000000000"},
        {"name_id": foreign["name_id"]},
        {"example_ids": foreign["example_ids"]},
        {"voice_ids": [mine["name_id"]]},  # a name is not a voice
        {"flag_ids": [mine["name_id"]]},
        {"name": "new text is not written either", "description_id": foreign["name_id"]},
    ]
    for body in cases:
        response = patch(client, auth, draft_id=mine["draft_id"], **body)
        assert response.status_code == 422, response.text
        error = response.json()
        assert error["success"] is False and error["error"] == "INVALID_RESOURCE"
        field = next(k for k in body if k.endswith(("_id", "_ids")))
        assert error["details"]["errors"][0]["field"] == field
        assert error["details"]["errors"][0]["id"] in str(body[field])
    assert _counts() == before
    # Someone else's draft is not found, like a missing one.
    assert patch(client, auth, draft_id=foreign["draft_id"], name="x").status_code == 404
    assert client.get(f"/persona/draft/{foreign['draft_id']}", headers=auth).status_code == 404


def test_validation_names_the_field(client: httpx.Client, auth: dict[str, str]) -> None:
    before = _counts()
    for body, field in (
        ({"color": "red"}, "color"),
        ({"color": "#12345"}, "color"),
        ({"icon": "<script>alert(1)</script>"}, "icon"),
        ({"icon": "<svg>" + "x" * 70_000 + "</svg>"}, "icon"),
        ({"name": "x" * 201}, "name"),
        ({"examples": ["ok", "   "]}, "examples"),
        ({"flag_ids": [option_id("tone", "friendly"), option_id("tone", "casual")]}, "flag_ids"),
    ):
        response = patch(client, auth, **body)
        assert response.status_code == 422, response.text
        assert response.json()["details"]["errors"][0]["field"] == field
    assert patch(client, auth, unknown_field=1).status_code == 422
    assert patch(client, auth, examples="not a list").status_code == 422
    assert _counts() == before


def test_pending_ids_flags_and_active(client: httpx.Client, auth: dict[str, str]) -> None:
    form = ok(patch(client, auth, name="P", voices=["a", "b"], active=True))["form_state"]
    pending = form["voice_ids"][1]
    form = ok(patch(client, auth, draft_id=form["draft_id"], pending_ids=[pending]))["form_state"]
    assert form["pending_ids"] == [pending]
    assert [v["active"] for v in form["voices"]] == [True, False]
    # `active` alone changes only the persona_active flag; other flags stay.
    form = ok(patch(client, auth, draft_id=form["draft_id"], flag_ids=[option_id("language", "fr")]))[
        "form_state"
    ]
    form = ok(patch(client, auth, draft_id=form["draft_id"], active=False))["form_state"]
    assert form["active"] is False
    assert {(f["type"], f["value"]) for f in form["flags"]} == {("language", "fr"), (PERSONA_ACTIVE, "false")}
    assert form["pending_ids"] == [pending]  # kept across patches
    not_connected = ok(patch(client, auth, name="elsewhere"))["form_state"]["name_id"]
    refused = patch(client, auth, draft_id=form["draft_id"], pending_ids=[not_connected])
    assert refused.status_code == 422 and refused.json()["details"]["errors"][0]["field"] == "pending_ids"
    flags = client.get("/persona/flags", headers=auth).json()["flags"]
    assert {"id": option_id(PERSONA_ACTIVE, "true"), "type": PERSONA_ACTIVE}.items() <= next(
        f for f in flags if f["id"] == option_id(PERSONA_ACTIVE, "true")
    ).items()


def test_promotion_freezes_resources(client: httpx.Client, auth: dict[str, str]) -> None:
    form = ok(patch(client, auth, name="Frozen", examples=["v1"]))["form_state"]
    pid = form["persona_id"]
    assert client.post(f"/v1/personas/{pid}/versions/promote", headers=auth).status_code == 200
    ok(patch(client, auth, draft_id=form["draft_id"], examples=["v2"]))
    production = client.get(f"/v1/personas/{pid}/production", headers=auth).json()["data"]
    assert [e["value"] for e in production["resources"]["examples"]] == ["v1"]
    diff = client.get(f"/v1/personas/{pid}/versions/2/diff/1", headers=auth).json()["data"]
    assert [c["field"] for c in diff["changes"]] == ["examples"]


def test_every_id_field_selects_an_existing_resource(client: httpx.Client, auth: dict[str, str]) -> None:
    source = ok(
        patch(
            client,
            auth,
            name="N",
            description="D",
            color="#abc",
            icon=SVG_ICON,
            instructions="I",
            examples=["E"],
            departments=["Dep"],
            parameter_fields=["pf"],
            voices=["V"],
            flag_ids=[option_id("language", "de")],
        )
    )["form_state"]
    id_fields = [
        "name_id", "description_id", "color_id", "icon_id", "instructions_id",
        "example_ids", "department_ids", "parameter_field_ids", "voice_ids", "flag_ids",
    ]  # fmt: skip
    copy = ok(patch(client, auth, **{field: source[field] for field in id_fields}))["form_state"]
    for field in id_fields:
        assert copy[field] == source[field], field
    assert copy["draft_id"] != source["draft_id"]
    # An id wins over text given for the same slot (as the seed says of color/color_id).
    both = ok(patch(client, auth, color="#000", color_id=source["color_id"]))["form_state"]
    assert both["color"]["value"] == "#abc"
