"""Bad input on every public endpoint family: a clear 4xx in the endpoint's own error shape, never a
500, nothing written; and text that is accepted comes back byte for byte."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from api.inputs import MAX_DEPTH
from api.schemas import MAX_VERSION_NUMBER
from tests.support.http import new_key
from tests.support.processes import Process
from tests.support.tenants import api_routes, error_of, footprint, settle, workspace_id_of

# How a creation is asked for its outcome (the world asks every change not to wait).
WAIT = {"Prefer": "wait=30"}


@dataclass(frozen=True)
class World:
    """One user's persona (draft v1, production v2, a pending schedule) and a composable draft."""

    http: httpx.Client
    auth: dict[str, str]
    workspace_id: str
    persona_id: str
    schedule_id: str
    draft_id: str
    entry_id: str  # a dormant proposal on the composable draft
    webhook_id: str


@pytest.fixture(scope="module")
def world(api_url: str, module_worker: Process) -> Iterator[World]:
    key = new_key()
    auth = {"authorization": key, "Prefer": "wait=20"}
    with httpx.Client(base_url=api_url, timeout=60) as http:
        pid = http.post("/v1/personas", json={"name": "Target"}, headers=auth).json()["data"]["id"]
        assert http.post(f"/v1/personas/{pid}/versions/promote", headers=auth).status_code == 200
        later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
        schedule = http.post(
            f"/v1/personas/{pid}/versions/promote", json={"scheduled_at": later}, headers=auth
        )
        assert schedule.status_code == 202, schedule.text
        draft = http.post("/persona/draft", json={"name": "Composable"}, headers=auth).json()
        proposal = http.post(
            "/persona/draft", json={"draft_id": draft["draft_id"], "soft": True, "name": "P"}, headers=auth
        ).json()
        hook = http.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=auth).json()
        yield World(
            http=http,
            auth={"authorization": key, "Prefer": "respond-async"},
            workspace_id=workspace_id_of(key),
            persona_id=pid,
            schedule_id=schedule.json()["data"]["id"],
            draft_id=draft["draft_id"],
            entry_id=proposal["idempotency_key"],
            webhook_id=hook["data"]["id"],
        )


def send(world: World, method: str, url: str, **kwargs: Any) -> httpx.Response:
    headers = {**world.auth, **kwargs.pop("headers", {})}
    return world.http.request(method, url, headers=headers, **kwargs)


def refused(world: World, cases: list[tuple[str, str, dict[str, Any], int, str | None]]) -> None:
    """Each (method, url, request kwargs, status, error code) is refused so, and writes nothing."""
    settle(world.workspace_id)
    before = footprint(world.workspace_id)
    for method, url, kwargs, status, code in cases:
        response = send(world, method, url, **kwargs)
        assert response.status_code == status, (method, url, kwargs, response.text)
        error = error_of(response)
        if code is not None and error["error"] is not None:  # Retell's shape has no code
            assert error["error"] == code, (method, url, response.text)
        assert error["message"], response.text
    settle(world.workspace_id)
    assert footprint(world.workspace_id) == before


def body_endpoints(world: World) -> list[tuple[str, str]]:
    pid = world.persona_id
    return [
        ("POST", "/v1/personas"),
        ("PATCH", f"/v1/personas/{pid}/draft"),
        ("POST", f"/v1/personas/{pid}/versions/promote"),
        ("POST", f"/v1/personas/{pid}/versions/1/publish"),
        ("POST", f"/publish-agent-version/{pid}"),
        ("POST", "/persona/draft"),
    ]


def test_malformed_json_is_400(world: World) -> None:
    cases = []
    for method, url in body_endpoints(world):
        for raw in (b'{"name": ', b"[1, 2", b'{"name": "x"} trailing', b"\xff\xfe\x00", b"{'name': 'x'}"):
            kwargs = {"content": raw, "headers": {"content-type": "application/json"}}
            cases.append((method, url, kwargs, 400, None))
    refused(world, cases)
    response = send(
        world, "POST", "/v1/personas", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert error_of(response)["error"] == "INVALID_JSON"


def test_wrong_types_unknown_fields_and_oversized_values(world: World) -> None:
    pid = world.persona_id
    create, patch = "/v1/personas", f"/v1/personas/{pid}/draft"
    promote, publish = f"/v1/personas/{pid}/versions/promote", f"/v1/personas/{pid}/versions/1/publish"
    retell = f"/publish-agent-version/{pid}"
    envelope = [
        ("POST", create, {"name": 123}),
        ("POST", create, {"name": ""}),
        ("POST", create, {"name": None}),
        ("POST", create, {}),
        ("POST", create, ["name"]),
        ("POST", create, "name"),
        ("POST", create, {"name": "x", "tags": "not a list"}),
        ("POST", create, {"name": "x", "kb_ids": {"a": 1}}),
        ("POST", create, {"name": "x", "call_config": [1, 2]}),
        ("POST", create, {"name": "x", "unknown_field": 1}),
        ("POST", create, {"name": "x" * 201}),
        ("POST", create, {"name": "x", "personality_prompt": "p" * 100_001}),
        ("POST", create, {"name": "x", "tags": ["t"] * 101}),
        # Explicit nulls for columns that hold none: once accepted, they failed in the worker again and again.
        ("POST", create, {"name": "x", "tags": None}),
        ("POST", create, {"name": "x", "kb_ids": None, "default_tools": None}),
        ("PATCH", patch, {"name": None}),
        ("PATCH", patch, {"tags": None}),
        ("PATCH", patch, {"kb_ids": None}),
        ("PATCH", patch, {"default_tools": None}),
        ("PATCH", patch, {"personality_prompt": 5}),
        ("PATCH", patch, {"nope": True}),
        ("PATCH", patch, {"tags": ["x" * 201]}),
        ("POST", promote, {"notes": 1}),
        ("POST", promote, {"notes": "n" * 2001}),
        ("POST", promote, {"scheduled_at": "tomorrow"}),
        ("POST", promote, {"scheduled_at": "2030-01-01T00:00:00"}),  # no timezone
        ("POST", promote, {"scheduled_at": "9999-12-31T23:59:59-23:59"}),  # beyond year 9999 in UTC
        ("POST", promote, {"scheduled_at": 1900000000}),  # ISO 8601, not Unix time
        ("POST", promote, {"scheduled_at": "1900000000"}),
        ("POST", promote, {"extra": 1}),
        ("POST", publish, {"expected_production_version_id": 7}),
    ]
    cases = [(m, u, {"json": b}, 422, "VALIDATION_ERROR") for m, u, b in envelope]
    for body in (
        {},
        {"version": "1"},
        {"version": 1.5},
        {"version": -1},
        {"version": True},
        {"version": MAX_VERSION_NUMBER + 1},
        {"version": 2**64},
        {"version": 1, "version_description": 5},
    ):
        cases.append(("POST", retell, {"json": body}, 400, None))
    for body in (
        {"examples": "not a list"},
        {"flag_ids": [1]},
        {"name": "x" * 200_001},
        {"nope": 1},
        {"draft_id": ""},
        {"soft": "yes please"},
    ):
        cases.append(("POST", "/persona/draft", {"json": body}, 422, "VALIDATION_ERROR"))
    refused(world, cases)


def _nested(depth: int, inner: Any = 1) -> Any:
    value = inner
    for _ in range(depth):
        value = [value]
    return value


def _raw(text: str) -> dict[str, Any]:
    return {"content": text.encode(), "headers": {"content-type": "application/json"}}


def test_text_the_database_cannot_store_and_unbounded_nesting(world: World) -> None:
    pid = world.persona_id
    create, patch = "/v1/personas", f"/v1/personas/{pid}/draft"
    deep_arrays = '{"name": "x", "pathway_conditions": ' + "[" * 10_000 + "]" * 10_000 + "}"
    deep_objects = '{"name": "x", "call_config": ' + '{"a": ' * 10_000 + "1" + "}" * 10_000 + "}"
    cases: list[tuple[str, str, dict[str, Any], int, str | None]] = [
        ("POST", create, {"json": {"name": "nul\x00byte"}}, 422, "VALIDATION_ERROR"),
        ("POST", create, {"json": {"name": "x", "call_config": {"key\x00": 1}}}, 422, "VALIDATION_ERROR"),
        ("POST", create, {"json": {"name": "x", "pathway_conditions": ["\x00"]}}, 422, "VALIDATION_ERROR"),
        ("POST", create, _raw('{"name": "x", "personality_prompt": "\\ud800"}'), 422, "VALIDATION_ERROR"),
        ("POST", create, _raw('{"name": "x", "default_tools": ["\\udfff"]}'), 422, "VALIDATION_ERROR"),
        ("POST", create, _raw('{"name": "x", "pathway_conditions": NaN}'), 422, "VALIDATION_ERROR"),
        ("POST", create, _raw('{"name": "x", "call_config": {"t": Infinity}}'), 422, "VALIDATION_ERROR"),
        ("POST", create, _raw('{"name": "x", "pathway_conditions": [1e400]}'), 422, "VALIDATION_ERROR"),
        ("POST", create, {"json": {"name": "x", "pathway_conditions": _nested(MAX_DEPTH)}}, 422, None),
        ("POST", create, _raw(deep_arrays), 400, None),
        ("POST", create, _raw(deep_objects), 400, None),
        ("PATCH", patch, {"json": {"call_config": {"a": _nested(MAX_DEPTH)}}}, 422, "VALIDATION_ERROR"),
        ("PATCH", patch, {"json": {"orchestration_prompt": "a\x00"}}, 422, "VALIDATION_ERROR"),
        ("PATCH", patch, _raw(deep_arrays.replace('"name": "x", ', "")), 400, None),
        ("POST", f"/v1/personas/{pid}/versions/promote", {"json": {"notes": "\x00"}}, 422, None),
        (
            "POST",
            f"/publish-agent-version/{pid}",
            {"json": {"version": 1, "version_description": "\x00"}},
            400,
            None,
        ),
        (
            "POST",
            "/persona/draft",
            {"json": {"name": "x", "examples": ["ok", "\x00"]}},
            422,
            "VALIDATION_ERROR",
        ),
        ("POST", "/persona/draft", _raw('{"name": "\\ud83d"}'), 422, "VALIDATION_ERROR"),
        (
            "POST",
            "/persona/draft",
            _raw('{"name": "x", "departments": ' + "[" * 10_000 + "]" * 10_000 + "}"),
            400,
            None,
        ),
    ]
    refused(world, cases)
    # Just under the limit is fine, and comes back as it was sent.
    deep = {"rules": _nested(MAX_DEPTH - 3, "leaf")}
    # Waited for: a creation answers 201 with the persona (asked not to wait, the 202).
    created = send(world, "POST", create, json={"name": "Deep", "pathway_conditions": deep}, headers=WAIT)
    assert created.status_code == 201, created.text
    assert created.json()["data"]["current_draft_version"]["pathway_conditions"] == deep


def test_invalid_ids_and_query_values(world: World) -> None:
    pid = world.persona_id
    odd_ids = ["not-a-uuid", "x" * 3000, "' OR '1'='1", "1; DROP TABLE personas; --", "🦜", "%2e%2e%2f%2e%2e"]
    cases: list[tuple[str, str, dict[str, Any], int, str | None]] = []
    for odd in odd_ids:
        cases += [
            ("GET", f"/v1/personas/{odd}", {}, 404, "NOT_FOUND"),
            ("PATCH", f"/v1/personas/{odd}/draft", {"json": {"name": "x"}}, 404, "NOT_FOUND"),
            ("POST", f"/v1/personas/{odd}/versions/promote", {}, 404, "NOT_FOUND"),
            ("GET", f"/v1/operations/{odd}", {}, 404, "NOT_FOUND"),
            ("DELETE", f"/v1/personas/{pid}/scheduled-promotions/{odd}", {}, 404, "NOT_FOUND"),
            ("GET", f"/persona/draft/{odd}", {}, 404, "NOT_FOUND"),
            ("POST", f"/publish-agent-version/{odd}", {"json": {"version": 1}}, 404, None),
            ("POST", "/persona/draft", {"json": {"draft_id": odd[:100], "name": "x"}}, 404, "NOT_FOUND"),
            ("POST", "/persona/draft", {"json": {"name_id": odd[:100]}}, 422, "INVALID_RESOURCE"),
            ("POST", "/persona/draft", {"json": {"idempotency_key": odd[:100], "accept": True}}, 404, None),
        ]
    cases += [
        ("GET", f"/v1/personas/{pid}%00", {}, 400, "INVALID_REQUEST"),
        ("GET", f"/persona/draft/{world.draft_id}%00", {}, 400, "INVALID_REQUEST"),
        ("GET", f"/v1/personas/{pid}/versions/abc", {}, 404, "NOT_FOUND"),
        ("GET", f"/v1/personas/{pid}/versions/-1", {}, 404, "NOT_FOUND"),
        ("GET", f"/v1/personas/{pid}/versions/{MAX_VERSION_NUMBER + 1}", {}, 422, "VALIDATION_ERROR"),
        ("GET", f"/v1/personas/{pid}/versions/{10**30}/diff/1", {}, 422, "VALIDATION_ERROR"),
        ("POST", f"/v1/personas/{pid}/versions/{10**30}/publish", {}, 422, "VALIDATION_ERROR"),
        ("GET", f"/v1/personas/{pid}/promotions", {"params": {"limit": 0}}, 422, "VALIDATION_ERROR"),
        ("GET", f"/v1/personas/{pid}/promotions", {"params": {"limit": 10**30}}, 422, "VALIDATION_ERROR"),
        ("GET", f"/v1/personas/{pid}/promotions", {"params": {"from": "yesterday"}}, 422, "VALIDATION_ERROR"),
        ("GET", f"/v1/personas/{pid}/promotions", {"params": {"from": "-43"}}, 422, "VALIDATION_ERROR"),
        (
            "GET",
            f"/v1/personas/{pid}/production",
            {"params": {"at": "1700000000.5"}},
            422,
            "VALIDATION_ERROR",
        ),
        ("GET", f"/v1/personas/{pid}/promotions", {"params": {"to": "0001-01-01T00:00:00+23:00"}}, 422, None),
        (
            "GET",
            f"/v1/personas/{pid}/promotions",
            {"params": {"cursor": "!!not base64!!"}},
            400,
            "INVALID_CURSOR",
        ),
        (
            "GET",
            f"/v1/personas/{pid}/promotions",
            {"params": {"promoted_by": "a\x00b"}},
            400,
            "INVALID_REQUEST",
        ),
        ("GET", f"/v1/personas/{pid}/production", {"params": {"at": "9999-12-31T23:59:59-23:59"}}, 422, None),
        (
            "GET",
            f"/v1/personas/{pid}/proposals",
            {"params": {"status": "' OR 1=1 --"}},
            422,
            "VALIDATION_ERROR",
        ),
    ]
    refused(world, cases)
    sql = send(world, "GET", f"/v1/personas/{pid}/promotions", params={"promoted_by": "' OR '1'='1"})
    assert sql.status_code == 200 and sql.json()["data"]["items"] == []


# Emoji (with ZWJ and skin tones), right-to-left, astral letters, combining marks, bidi controls,
# quotes, backslashes and SQL: every one must come back exactly as sent.
ODD_TEXT = [
    "🦜 parrot 👩‍👩‍👧‍👦 👍🏽",
    "مرحبا بالعالم — שלום עולם",
    "𝔊𝔯𝔢𝔢𝔫𝔩𝔦𝔤𝔥𝔱 𐍈 𝄞",  # noqa: RUF001 - astral letters on purpose
    "e\u0301 Z\u0351\u0358\u0364alg\u0335o",
    "\u202eoverride\u202c \u200bzero\u200dwidth \ufeffbom",
    "Robert'); DROP TABLE personas; --",
    "1' OR '1'='1 /* */ UNION SELECT * FROM api_keys",
    'quote " backslash \\ tab \t newline \n',
    "日本語のテキスト 한국어",
]


def _utf8_in(response: httpx.Response, text: str) -> bool:
    return json.dumps(text, ensure_ascii=False).encode() in response.content


def test_unicode_and_sql_looking_text_round_trip_byte_exact(world: World) -> None:
    body = {
        "name": ODD_TEXT[0],
        "role": ODD_TEXT[1],
        "description": "\n".join(ODD_TEXT),
        "tags": ODD_TEXT,
        "personality_prompt": "".join(ODD_TEXT),
        "orchestration_prompt": ODD_TEXT[5],
        "pathway_conditions": {text: [text, {"nested": text}] for text in ODD_TEXT},
        "call_config": {"voice": ODD_TEXT[2], "list": ODD_TEXT},
        "kb_ids": ODD_TEXT,
        "version_description": ODD_TEXT[6],
    }
    created = send(world, "POST", "/v1/personas", json=body, headers=WAIT)
    assert created.status_code == 201, created.text
    pid = created.json()["data"]["id"]
    fields = (
        "personality_prompt",
        "orchestration_prompt",
        "pathway_conditions",
        "call_config",
        "kb_ids",
        "version_description",
    )
    persona = send(world, "GET", f"/v1/personas/{pid}")
    data = persona.json()["data"]
    assert {k: data[k] for k in ("name", "role", "description", "tags")} == {
        k: body[k] for k in ("name", "role", "description", "tags")
    }
    assert {k: data["current_draft_version"][k] for k in fields} == {k: body[k] for k in fields}
    assert all(_utf8_in(persona, text) for text in ODD_TEXT)  # raw UTF-8 on the wire, not re-encoded

    promoted = send(world, "POST", f"/v1/personas/{pid}/versions/promote", headers={"Prefer": "wait=20"})
    assert promoted.status_code == 200, promoted.text
    for _ in range(2):  # the first read fills the production cache (Redis), the second is served by it
        production = send(world, "GET", f"/v1/personas/{pid}/production")
        version = production.json()["data"]["version"]
        assert {k: version[k] for k in fields} == {k: body[k] for k in fields}
    retell = send(
        world,
        "POST",
        f"/publish-agent-version/{world.persona_id}",
        json={"version": 1, "version_description": ODD_TEXT[4]},
        headers={"Prefer": "wait=20"},
    )
    assert retell.status_code == 200, retell.text
    assert retell.json()["version_description"] == ODD_TEXT[4]

    composable = {
        "name": ODD_TEXT[1],
        "description": ODD_TEXT[7],
        "instructions": "\n".join(ODD_TEXT),
        "examples": ODD_TEXT,
        "departments": ODD_TEXT[:4],
        "voices": [ODD_TEXT[2]],
    }
    draft = send(world, "POST", "/persona/draft", json=composable, headers=WAIT)
    assert draft.status_code == 200, draft.text
    read = send(world, "GET", f"/persona/draft/{draft.json()['draft_id']}")
    form = read.json()["form_state"]
    assert form["name"]["value"] == composable["name"]
    assert form["description"]["value"] == composable["description"]
    assert form["instructions"]["value"] == composable["instructions"]
    assert [e["value"] for e in form["examples"]] == composable["examples"]
    assert [d["value"] for d in form["departments"]] == composable["departments"]
    assert [v["value"] for v in form["voices"]] == composable["voices"]
    assert all(_utf8_in(read, text) for text in ODD_TEXT)


MUTATING = {"POST", "PATCH", "PUT", "DELETE"}


def test_invalid_idempotency_keys_are_400_on_every_mutating_endpoint(world: World) -> None:
    pid = world.persona_id
    endpoints = {
        ("POST", "/v1/personas"): ("/v1/personas", {"name": "x"}),
        ("PATCH", "/v1/personas/{persona_id}/draft"): (f"/v1/personas/{pid}/draft", {"name": "x"}),
        ("POST", "/v1/personas/{persona_id}/versions/promote"): (
            f"/v1/personas/{pid}/versions/promote",
            None,
        ),
        ("POST", "/v1/personas/{persona_id}/versions/{number}/publish"): (
            f"/v1/personas/{pid}/versions/1/publish",
            None,
        ),
        ("POST", "/v1/personas/{persona_id}/versions/{number}/unarchive"): (
            f"/v1/personas/{pid}/versions/1/unarchive",
            None,
        ),
        ("DELETE", "/v1/personas/{persona_id}/scheduled-promotions/{schedule_id}"): (
            f"/v1/personas/{pid}/scheduled-promotions/{world.schedule_id}",
            None,
        ),
        ("POST", "/publish-agent-version/{agent_id}"): (f"/publish-agent-version/{pid}", {"version": 1}),
        ("POST", "/persona/draft"): ("/persona/draft", {"name": "x"}),
    }
    hook = world.webhook_id
    endpoints |= {
        ("POST", "/v1/webhooks"): ("/v1/webhooks", {"url": "http://127.0.0.1:9/hook"}),
        ("PATCH", "/v1/webhooks/{webhook_id}"): (f"/v1/webhooks/{hook}", {"enabled": True}),
        ("DELETE", "/v1/webhooks/{webhook_id}"): (f"/v1/webhooks/{hook}", None),
        ("POST", "/v1/webhooks/{webhook_id}/rotate-secret"): (f"/v1/webhooks/{hook}/rotate-secret", None),
        ("POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): (
            f"/v1/webhooks/{hook}/deliveries/{uuid.uuid4()}/redeliver",
            None,
        ),
    }
    someone = uuid.uuid4()
    endpoints |= {
        ("POST", "/v1/members"): ("/v1/members", {"user": "someone", "role": "viewer"}),
        ("PATCH", "/v1/members/{user_id}"): (f"/v1/members/{someone}", {"role": "viewer"}),
        ("DELETE", "/v1/members/{user_id}"): (f"/v1/members/{someone}", None),
        ("POST", "/v1/keys"): ("/v1/keys", {"name": "x"}),
        ("DELETE", "/v1/keys/{key_id}"): (f"/v1/keys/{someone}", None),
    }
    requests = f"/v1/promotion-requests/{someone}"
    endpoints |= {
        ("PUT", "/v1/personas/{persona_id}/review-policy"): (
            f"/v1/personas/{pid}/review-policy",
            {"required_approvals": 0},
        ),
        ("POST", "/v1/promotion-requests/{request_id}/approve"): (f"{requests}/approve", None),
        ("POST", "/v1/promotion-requests/{request_id}/reject"): (f"{requests}/reject", None),
        ("POST", "/v1/promotion-requests/{request_id}/withdraw"): (f"{requests}/withdraw", None),
    }
    assert {route for route in api_routes() if route[0] in MUTATING} == set(endpoints)
    bodies = [
        *endpoints.values(),
        ("/persona/draft", {"draft_id": world.draft_id, "name": "y"}),
        ("/persona/draft", {"idempotency_key": world.entry_id, "accept": True}),
    ]
    methods = [method for method, _ in endpoints] + ["POST", "POST"]
    cases: list[tuple[str, str, dict[str, Any], int, str | None]] = []
    for method, (url, body) in zip(methods, bodies, strict=True):
        for key in ("k" * 256, "tab\there", ("é" * 256).encode("latin-1")):
            kwargs: dict[str, Any] = {"headers": {"Idempotency-Key": key}}
            if body is not None:
                kwargs["json"] = body
            cases.append((method, url, kwargs, 400, "INVALID_IDEMPOTENCY_KEY"))
    refused(world, cases)
    longest = send(
        world, "POST", "/v1/personas", json={"name": "x"}, headers={**WAIT, "Idempotency-Key": "k" * 255}
    )
    assert longest.status_code == 201, longest.text
