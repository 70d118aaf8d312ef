"""Property-based bad input on every route of the OpenAPI document: every request model's fields,
every documented header and query parameter, filled with what breaks services (nesting, NUL, lone
surrogates, huge arrays, extreme numbers and dates, odd header bytes). Whatever arrives: never a
5xx, an error in the route's own shape, and a refused request changes nothing.

Routes, fields and parameters are read from the served OpenAPI document, so a new route or field is
covered the day it is added. Ids in paths are a real tenant's, so requests reach validation and the
engine instead of stopping at a 404.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.processes import Process
from tests.support.tenants import Tenant, error_of, footprint, make_tenant, settle

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
# The SSE stream never ends by itself: its parameters are checked with a short read (see _send).
STREAMING = {("GET", "/v1/events")}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    fields: tuple[str, ...]  # the request body's properties ("" when the route takes no body)
    takes_body: bool
    query: tuple[str, ...]
    headers: tuple[str, ...]


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = document["components"]["schemas"][name]
    for option in schema.get("anyOf", []):  # Optional[Model]
        if "$ref" in option:
            return _resolve(document, option)
    return schema


def routes_of(document: dict[str, Any]) -> list[Route]:
    routes = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            schema = _resolve(document, body.get("schema", {})) if body else {}
            parameters = operation.get("parameters", [])
            routes.append(
                Route(
                    method=method.upper(),
                    path=path,
                    fields=tuple(schema.get("properties", {})),
                    takes_body=bool(body),
                    query=tuple(p["name"] for p in parameters if p["in"] == "query"),
                    headers=tuple(p["name"] for p in parameters if p["in"] == "header"),
                )
            )
    return sorted(routes, key=lambda r: (r.path, r.method))


DEEP = "\u2063deep:"  # a placeholder the encoder swaps for nesting too deep for json.dumps itself


def _nested(depth: int) -> str:
    return f"{DEEP}{depth}"


def _encoded(body: Any) -> bytes:
    """JSON as a client sends it (ensure_ascii: lone surrogates escaped), deep nesting spliced in."""
    text = json.dumps(body)
    while (start := text.find(json.dumps(DEEP)[:-1])) != -1:
        end = text.index('"', start + 1)
        depth = int(text[start:end].rsplit(":", 1)[1])
        text = text[:start] + '{"n": [' * depth + '"leaf"' + "]}" * depth + text[end + 1 :]
    return text.encode()


TEXT = st.sampled_from(
    [
        "\x00",
        "a\x00b",
        "\ud800",  # lone surrogates: valid JSON escapes, not encodable text
        "x\udfffy",
        "\u202e\u200b\ufeff",
        "'; DROP TABLE personas; --",
        "",
        " ",
        "x" * 300_000,
        "é" * 5_000,
        "../../etc/passwd",
    ]
)
NUMBER = st.sampled_from(
    [0, -1, 1.5, 2**31, 2**63, 2**64, 10**400, -(10**400), 1e308, -1e308, 5e-324, float("nan"), float("inf")]
)
DATE = st.sampled_from(
    [
        "0001-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-23:59",
        "+275760-09-13T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-12-03T12:00:00+99:00",
        "2026-12-03",
        "tomorrow",
    ]
)
LEAF = st.one_of(TEXT, NUMBER, DATE, st.booleans(), st.none(), st.text(max_size=8))
VALUE = st.one_of(
    st.recursive(
        LEAF,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
        max_leaves=12,
    ),
    st.integers(20, 3_000).map(_nested),
    st.sampled_from([[0] * 100_000, ["x"] * 10_000, [{}] * 5_000, {str(i): i for i in range(10_000)}]),
)
HEADER = st.sampled_from(
    [
        b"",
        b"x" * 8_000,
        b"a  b",
        "\xe9\xff".encode("latin-1"),
        b"respond-async, wait=99999999999999999999",
        b"wait=1e309",
        b"wait=-5",
        b"wait=nan",
        b'W/"x", *',
        b'"' * 50,
        b"18446744073709551616",
        b"-1",
    ]
)
QUERY = st.one_of(TEXT.filter(lambda t: len(t) < 10_000), DATE, NUMBER.map(str), st.text(max_size=8))


@st.composite
def requests(draw: st.DrawFn, routes: list[Route]) -> tuple[Route, Any, dict[str, Any], dict[str, bytes]]:
    route = draw(st.sampled_from(routes))
    body: Any = None
    if route.takes_body:
        names = draw(st.lists(st.sampled_from(route.fields or ("x",)), min_size=1, max_size=4, unique=True))
        body = {name: draw(VALUE) for name in names}
        if draw(st.booleans()):
            body = draw(st.one_of(st.just(body), VALUE))  # sometimes not an object at all
    query = {name: draw(QUERY) for name in route.query if draw(st.booleans())}
    headers = {name: draw(HEADER) for name in route.headers if draw(st.booleans())}
    return route, body, query, headers


def _url(route: Route, tenant: Tenant) -> str:
    ids = {
        "persona_id": tenant.persona_id,
        "agent_id": tenant.persona_id,
        "draft_id": tenant.draft_id,
        "schedule_id": tenant.schedule_id,
        "operation_id": tenant.operation_id,
        "webhook_id": tenant.webhook_id,
        "delivery_id": tenant.delivery_id,
        "user_id": tenant.user_id,  # the workspace's only admin: never removed nor demoted (LAST_ADMIN)
        "key_id": "00000000-0000-0000-0000-000000000000",  # not the tenant's own: a DELETE would revoke it
        "number": "1",
        "a": "1",
        "b": "2",
    }
    url = route.path
    for name, value in ids.items():
        url = url.replace("{" + name + "}", value)
    return url


def _quoted(value: Any) -> str:
    return quote(str(value).encode("utf-8", "surrogatepass"), safe="")


def _send(
    http: httpx.Client,
    tenant: Tenant,
    route: Route,
    body: Any,
    query: dict[str, Any],
    headers: dict[str, bytes],
) -> httpx.Response:
    sent = {
        "authorization": tenant.key.encode(),
        "Prefer": b"respond-async",
        **headers,
        "content-type": b"application/json",
    }
    content = None if body is None else _encoded(body)
    url = _url(route, tenant)
    if query:  # encoded by hand: a lone surrogate goes as the (invalid UTF-8) bytes a client could send
        url += "?" + "&".join(f"{name}={_quoted(value)}" for name, value in query.items())
    request = http.build_request(route.method, url, headers=sent, content=content)
    if (route.method, route.path) in STREAMING:
        response = http.send(request, stream=True)
        if response.status_code >= 400:
            response.read()  # an error is a whole body
        response.close()  # a stream's body never ends: its status and headers are the answer
        return response
    return http.send(request)


@pytest.fixture(scope="module")
def world(
    api_url: str, module_worker: Process, notifications_worker: Process
) -> Iterator[tuple[httpx.Client, Tenant, list[Route]]]:
    with httpx.Client(base_url=api_url, timeout=60) as http:
        document = http.get("/openapi.json").json()
        yield http, make_tenant(http), routes_of(document)


def _content(tenant: Tenant) -> dict[str, int]:
    """The tenant's rows, less the records of requests: a refusal found while applying (a version
    that is not archived, say) is a failed operation, its event and its audit row, the durable
    record of the request, and changes nothing else."""
    rows = footprint(tenant.workspace_id)
    records = ("operations", "events", "audit_events")
    return {table: count for table, count in rows.items() if table not in records}


def test_the_route_table_is_read(world: tuple[httpx.Client, Tenant, list[Route]]) -> None:
    _, _, routes = world
    promote = next(r for r in routes if r.path == "/v1/personas/{persona_id}/versions/promote")
    assert {"notes", "scheduled_at", "expected_production_version_id"} <= set(promote.fields)
    assert {"Idempotency-Key", "Prefer", "If-Match"} <= set(promote.headers)
    assert len(routes) >= 30


@settings(
    max_examples=250,
    deadline=None,
    derandomize=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(data=st.data())
def test_bad_input_is_never_a_server_error_and_a_refusal_changes_nothing(
    world: tuple[httpx.Client, Tenant, list[Route]], data: st.DataObject
) -> None:
    http, tenant, routes = world
    route, body, query, headers = data.draw(requests(routes))
    settle(tenant.workspace_id)
    before = _content(tenant)
    response = _send(http, tenant, route, body, query, headers)
    where = (route.method, route.path, str(body)[:300], query, headers)
    assert response.status_code < 500, (where, response.text[:2000])
    if response.status_code >= 400:
        error_of(response)  # the route's own error shape
        settle(tenant.workspace_id)
        assert _content(tenant) == before, where
