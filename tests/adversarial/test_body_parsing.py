"""Any body the parser refuses is the route's own 400 on every path, the answers given ahead of
routing included: never a 500, always with its request id, the connection kept, nothing written."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.http import create_persona, new_key
from tests.support.processes import Process
from tests.support.tenants import api_routes, error_of, footprint, settle, workspace_id_of

# Each is refused by the JSON parser itself: nesting past the interpreter's recursion limit, bad
# UTF-8, a truncated document.
UNPARSABLE = {
    "deep arrays": b"[" * 100_000,
    "deep objects": b'{"a":' * 100_000,
    "bad utf-8": b'{"notes": "\xff\xfe"}',
    "truncated": b'{"notes": ',
}


@pytest.fixture(scope="module")
def http(api_url: str, module_worker: Process) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=60) as client:
        yield client


def _body_routes(api_url: str) -> list[tuple[str, str]]:
    schema = httpx.get(f"{api_url}/openapi.json").json()
    return sorted(
        (method, path)
        for method, path in api_routes()
        if "requestBody" in schema["paths"][path][method.lower()]
    )


def test_unparsable_bodies_are_the_routes_400_on_every_path(http: httpx.Client, api_url: str) -> None:
    key = new_key()
    auth = {"authorization": key, "content-type": "application/json"}
    persona_id = create_persona(http, {"authorization": key})["id"]
    workspace_id = workspace_id_of(key)
    settle(workspace_id)
    before = footprint(workspace_id)
    routes = _body_routes(api_url)
    assert ("POST", "/v1/personas/{persona_id}/versions/promote") in routes
    for method, path in routes:
        url = path.replace("{persona_id}", persona_id).replace("{number}", "1")
        url = url.replace("{agent_id}", persona_id).replace("{webhook_id}", persona_id)
        # respond-async with a key this process already knows: the promote is answered ahead of routing.
        for prefer in ("respond-async", "wait=5"):
            for name, body in UNPARSABLE.items():
                response = http.request(method, url, content=body, headers={**auth, "Prefer": prefer})
                where = (method, path, prefer, name)
                assert response.status_code == 400, (where, response.text)
                error_of(response)  # the endpoint family's own error shape
                assert response.headers.get("x-request-id"), where
                assert response.headers.get("connection") != "close", where
    settle(workspace_id)
    assert footprint(workspace_id) == before
