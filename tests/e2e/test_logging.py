"""JSON logs: a request id on every API line, the operation and persona ids where they
apply (in the API and in the worker), and never an API key."""

from __future__ import annotations

import json
import logging
import re
import uuid

import httpx

from greenlight import logs
from tests.support.http import create_persona, new_key, wait_operation
from tests.support.processes import ARTIFACTS, log_lines, wait_until
from workers.catalogue import DRAIN_PERSONAS


def test_request_id_is_taken_from_the_caller_or_made(client: httpx.Client) -> None:
    assert (
        client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.1:2"}).headers["x-request-id"]
        == "lb-7f3a.1:2"
    )
    made = client.get("/healthz").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    # Something unfit for a log line (spaces, too long) is replaced, not echoed.
    for sent in ("has spaces in it", "x" * 129):
        returned = client.get("/healthz", headers={"X-Request-ID": sent}).headers["x-request-id"]
        assert returned != sent and re.fullmatch(r"[0-9a-f]{32}", returned)
    # Errors carry it too.
    assert (
        client.get("/v1/personas/nope", headers={"X-Request-ID": "err-1"}).headers["x-request-id"] == "err-1"
    )


def test_lines_carry_request_operation_and_persona_ids(client: httpx.Client, auth: dict[str, str]) -> None:
    persona = create_persona(client, auth)
    request_id = f"test-{uuid.uuid4().hex}"
    response = client.post(
        f"/v1/personas/{persona['id']}/versions/promote",
        headers={**auth, "X-Request-ID": request_id, "Prefer": "respond-async"},
    )
    assert response.headers["x-request-id"] == request_id
    operation_id = response.json()["data"]["id"]
    assert wait_operation(client, auth, operation_id)["status"] == "succeeded"

    def api_lines() -> list[dict[str, object]]:
        return [line for line in log_lines("api.log") if line.get("request_id") == request_id]

    wait_until(lambda: any(line.get("logger") == "greenlight.access" for line in api_lines()), timeout=10)
    lines = api_lines()
    assert lines  # the access line (the operation line is DEBUG: the access line carries its ids)
    for line in lines:
        assert line["component"] == "api"
        assert line["persona_id"] == persona["id"]
        assert line["operation_id"] == operation_id
    access = next(line for line in lines if line["logger"] == "greenlight.access")
    assert access["status"] == 202 and access["method"] == "POST"

    def worker_lines() -> list[dict[str, object]]:
        return [line for line in log_lines("worker-*.log") if line.get("operation_id") == operation_id]

    # The drain of the persona writes a line per operation it settles, with both ids.
    wait_until(lambda: any(line["message"] == "operation settled" for line in worker_lines()), timeout=10)
    for line in worker_lines():
        assert line["component"] == "worker"
        assert line["persona_id"] == persona["id"]
        assert line["task"] == DRAIN_PERSONAS.name


def test_api_keys_never_reach_the_logs(client: httpx.Client) -> None:
    key = new_key()
    unknown = "gl_" + uuid.uuid4().hex + uuid.uuid4().hex  # well-formed, but no such key
    request_ids = []

    def call(method: str, path: str, headers: dict[str, str], **kwargs: object) -> httpx.Response:
        request_id = f"keys-{uuid.uuid4().hex}"
        request_ids.append(request_id)
        return client.request(method, path, headers={**headers, "X-Request-ID": request_id}, **kwargs)  # type: ignore[arg-type]

    created = call("POST", "/v1/personas", {"authorization": key}, json={"name": "Secretive"})
    persona_id = created.json()["data"]["id"]
    edit = call(
        "PATCH",
        f"/v1/personas/{persona_id}/draft",
        {"authorization": f"Bearer {key}"},
        json={"description": "x"},
    )
    promoted = call("POST", f"/v1/personas/{persona_id}/versions/promote", {"authorization": key})
    assert (created.status_code, edit.status_code, promoted.status_code) == (201, 202, 200)
    assert call("GET", f"/v1/personas/{persona_id}", {"authorization": unknown}).status_code == 401
    assert (
        call("GET", f"/v1/personas/{persona_id}", {"authorization": f"Bearer {unknown}"}).status_code == 401
    )
    operation_id = edit.json()["data"]["id"]

    # Wait until both the API and the worker have written about these requests, then grep.
    def written() -> bool:
        ids = {line.get("request_id") for line in log_lines("api.log")}
        worked = any(line.get("operation_id") == operation_id for line in log_lines("worker-*.log"))
        return set(request_ids) <= ids and worked

    wait_until(written, timeout=15)
    texts = {path.name: path.read_text(errors="replace") for path in ARTIFACTS.glob("*.log")}
    assert "api.log" in texts and any(name.startswith("worker-") for name in texts)
    for name, text in texts.items():
        assert key not in text, name
        assert key[3:] not in text, name
        assert unknown[3:] not in text, name


def test_formatter_masks_anything_shaped_like_a_key() -> None:
    record = logging.makeLogRecord(
        {
            "msg": "header was %s and %s",
            "args": ("gl_abcdefghijklmnopqrstuvwxyz012345", "Bearer s3cr3t-token"),
        }
    )
    token = logs.open_context(request_id="r-1", persona_id="p-1")
    try:
        logs.ContextFilter().filter(record)
    finally:
        logs.close_context(token)
    line = json.loads(logs.JsonFormatter("test").format(record))
    assert "abcdefghijklmnop" not in line["message"] and "s3cr3t" not in line["message"]
    assert (line["request_id"], line["persona_id"], line["component"]) == ("r-1", "p-1", "test")
