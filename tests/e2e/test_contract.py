"""The OpenAPI document is the contract: what the fuzzer found, pinned down one by one.

Answers the request guard gives before any route are documented on every operation; the event
stream's events validate against the schema documented for `text/event-stream`; the links lead from
a created persona to operations that find it; positions and cursors are ASCII digits ("²" is a
digit to `str.isdigit` and not to `int`: it was a 500).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema_rs
import pytest

from tests.support.http import create_persona
from tests.support.notify import SSEClient
from tests.support.processes import Process
from tests.support.webhooks import promote


def _document(client: httpx.Client) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").json()
    return document


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()]


def test_the_guards_answers_are_documented_on_every_operation(client: httpx.Client) -> None:
    for path, method, op in _operations(_document(client)):
        assert "400" in op["responses"], f"{method} {path}: a NUL in the URL is a 400"
        if "requestBody" in op:
            assert "413" in op["responses"], f"{method} {path}: an oversized body is a 413"
        for name in ("Idempotency-Key",):
            if any(p["name"] == name for p in op.get("parameters", [])):
                examples = op["responses"]["400"]["content"]["application/json"].get("examples", {})
                assert "invalid_idempotency_key" in examples or not path.startswith("/v1/"), path


def test_a_malformed_idempotency_key_is_the_documented_400(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    created = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=auth)
    webhook_id = created.json()["data"]["id"]
    for method, path in (("DELETE", ""), ("POST", "/rotate-secret")):
        answer = client.request(
            method, f"/v1/webhooks/{webhook_id}{path}", headers={**auth, "Idempotency-Key": ""}
        )
        assert answer.status_code == 400 and answer.json()["errors"][0]["error"] == "INVALID_IDEMPOTENCY_KEY"
    client.delete(f"/v1/webhooks/{webhook_id}", headers=auth)


@pytest.mark.parametrize("position", ["²", "١٢"])  # a superscript two; Arabic-Indic one, two
def test_positions_and_cursors_in_other_digits_are_a_400(
    client: httpx.Client, auth: dict[str, str], position: str
) -> None:
    stream = client.get("/v1/events", params={"last_event_id": position}, headers=auth)
    assert stream.status_code == 400 and stream.json()["errors"][0]["error"] == "INVALID_LAST_EVENT_ID"
    created = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=auth)
    webhook_id = created.json()["data"]["id"]
    page = client.get(f"/v1/webhooks/{webhook_id}/deliveries", params={"cursor": position}, headers=auth)
    assert page.status_code == 400, page.text
    client.delete(f"/v1/webhooks/{webhook_id}", headers=auth)


def test_stream_events_validate_against_the_documented_schema(
    api_url: str, client: httpx.Client, auth: dict[str, str], notifications_worker: Process
) -> None:
    media = _document(client)["paths"]["/v1/events"]["get"]["responses"]["200"]["content"][
        "text/event-stream"
    ]
    event_schema = jsonschema_rs.validator_for(media["schema"])
    data_schema = jsonschema_rs.validator_for(media["schema"]["properties"]["data"]["contentSchema"])
    persona = create_persona(client, auth)
    stream = SSEClient(api_url, auth, {"persona_id": persona["id"]})
    try:
        promote(client, auth, persona["id"])
        for _ in range(2):  # version.promoted, version.archived (the first draft has no production)
            event = stream.next(timeout=10)
            # As a client parses it (RFC 8895 field names): id, event, data (text).
            parsed = {"id": event.id, "event": event.type, "data": json.dumps(event.data)}
            event_schema.validate(parsed)
            data_schema.validate(json.loads(parsed["data"]))
            if event.type == "version.promoted":
                break
    finally:
        stream.close()


def _pointer(body: Any, expression: str) -> Any:
    assert expression.startswith("$response.body#/"), expression
    for part in expression.removeprefix("$response.body#/").split("/"):
        body = body[int(part)] if isinstance(body, list) else (body or {}).get(part)
    return body


def test_links_from_a_persona_reach_it(client: httpx.Client, auth: dict[str, str]) -> None:
    document = _document(client)
    by_id = {op["operationId"]: (path, method) for path, method, op in _operations(document)}
    created = document["paths"]["/v1/personas"]["post"]["responses"]["201"]["links"]
    links = document["paths"]["/v1/personas/{persona_id}"]["get"]["responses"]["200"]["links"]
    assert set(created) == set(links)
    assert {
        "read",
        "versions",
        "edit_draft",
        "promote",
        "promotions",
        "proposals",
        "scheduled_promotions",
    } <= set(links)
    persona = create_persona(client, auth)
    promote(client, auth, persona["id"])
    body = client.get(f"/v1/personas/{persona['id']}", headers=auth).json()
    followed = 0
    for name, link in links.items():
        path, method = by_id[link["operationId"]]
        values = {key: _pointer(body, value) for key, value in link.get("parameters", {}).items()}
        # Reads only (following every link would change the persona under the others), not the stream.
        if method != "get" or path == "/v1/events" or None in values.values():
            continue
        answer = client.get(path.format(**values), headers=auth)
        assert answer.status_code == 200, (name, answer.status_code, answer.text)
        followed += 1
    assert followed >= 8


def test_respond_async_is_a_202_on_the_endpoints_that_apply_inline(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    """`Prefer: respond-async` means 202 with the operation everywhere, also where the change is made
    within the request (it is already finished); the document says so, and a replay answers alike."""
    document = _document(client)
    for path in ("/v1/personas", "/persona/draft"):
        assert "202" in document["paths"][path]["post"]["responses"], path
    asynchronous = {**auth, "Prefer": "respond-async"}
    for path, body, data in (
        ("/v1/personas", {"name": "Async"}, lambda b: b["data"]),
        ("/persona/draft", {"name": "Async draft"}, lambda b: b),
    ):
        headers = {**asynchronous, "Idempotency-Key": f"async-{path}"}
        first = client.post(path, json=body, headers=headers)
        assert first.status_code == 202, first.text
        operation = data(first.json())
        assert operation["status"] == "succeeded" and first.headers["location"].endswith(operation["id"])
        polled = client.get(first.headers["location"], headers=auth).json()["data"]
        assert polled["id"] == operation["id"] and polled["status"] == "succeeded"
        replay = client.post(path, json=body, headers=headers)
        assert (replay.status_code, data(replay.json())["id"]) == (202, operation["id"])
        waited = client.post(path, json=body, headers={**auth, "Idempotency-Key": f"wait-{path}"})
        assert waited.status_code in (200, 201), waited.text
