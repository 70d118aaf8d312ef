"""Roles: every route, every role, the expected answer; checked against the app's own route table.

Each route has a row here naming the permission it needs (greenlight/access.py), with requests that
exercise it; a new route fails ``test_every_route_has_a_row`` until it is given one. A role without
the permission is refused with 403 ``FORBIDDEN`` naming it, in the endpoint's own error shape, and
nothing changes; a role with it is never refused for its role.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from greenlight.access import PERMISSIONS, Permission, Role
from greenlight.db import unit_of_work
from greenlight.keys import authenticate
from tests.support.http import new_key
from tests.support.processes import Process
from tests.support.tenants import PUBLIC_ROUTES, Tenant, api_routes, error_of, footprint, make_tenant, settle

Request = tuple[str, str, dict[str, Any]]  # method, url, httpx keyword arguments
Rows = dict[tuple[str, str], list[tuple[Request, Permission]]]

READ, PROPOSE, EDIT, REVIEW, PUBLISH, ADMINISTER = (
    Permission.READ,
    Permission.PROPOSE,
    Permission.EDIT,
    Permission.REVIEW,
    Permission.PUBLISH,
    Permission.ADMINISTER,
)


@pytest.fixture(scope="module")
def http(api_url: str, module_worker: Process, notifications_worker: Process) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def team(http: httpx.Client) -> Tenant:
    return make_tenant(http)


@pytest.fixture(scope="module")
def keys(team: Tenant) -> dict[Role, str]:
    """A key of each role in the team's workspace (the admin's own user, with narrower keys)."""
    with unit_of_work() as session:
        name = authenticate(session, team.key).user_name
    return {role: new_key(name, role) for role in Role}


@pytest.fixture(scope="module")
def spare_key(http: httpx.Client, team: Tenant) -> str:
    """A key of the team's, for an admin to revoke."""
    created = http.post("/v1/keys", json={"name": "spare"}, headers={"authorization": team.key})
    assert created.status_code == 201, created.text
    return str(created.json()["data"]["id"])


def rows(team: Tenant, spare_key: str) -> Rows:
    """Per route: (a request, the permission it needs)."""
    pid, persona = team.persona_id, f"/v1/personas/{team.persona_id}"
    later = (datetime.now(UTC) + timedelta(days=60)).isoformat()
    hook = f"/v1/webhooks/{team.webhook_id}"
    requests = "/v1/promotion-requests"

    def one(method: str, url: str, permission: Permission, **kwargs: Any) -> list[tuple[Request, Permission]]:
        return [((method, url, kwargs), permission)]

    draft_id, entry = team.draft_id, team.entry_id
    return {
        ("POST", "/v1/personas"): one("POST", "/v1/personas", EDIT, json={"name": "By role"}),
        ("GET", "/v1/personas/{persona_id}"): one("GET", persona, READ),
        ("GET", "/v1/personas/{persona_id}/versions"): one("GET", f"{persona}/versions", READ),
        ("PATCH", "/v1/personas/{persona_id}/draft"): one(
            "PATCH", f"{persona}/draft", EDIT, json={"personality_prompt": "by role"}
        ),
        ("POST", "/v1/personas/{persona_id}/versions/promote"): [
            (("POST", f"{persona}/versions/promote", {}), PUBLISH),
            (("POST", f"{persona}/versions/promote", {"json": {"scheduled_at": later}}), PUBLISH),
        ],
        ("GET", "/v1/personas/{persona_id}/versions/{number}"): one("GET", f"{persona}/versions/1", READ),
        ("POST", "/v1/personas/{persona_id}/versions/{number}/publish"): one(
            "POST", f"{persona}/versions/1/publish", PUBLISH
        ),
        ("POST", "/v1/personas/{persona_id}/versions/{number}/unarchive"): one(
            "POST", f"{persona}/versions/2/unarchive", PUBLISH
        ),
        ("GET", "/v1/personas/{persona_id}/promotions"): one("GET", f"{persona}/promotions", READ),
        ("GET", "/v1/personas/{persona_id}/production"): one("GET", f"{persona}/production", READ),
        ("GET", "/v1/personas/{persona_id}/versions/{a}/diff/{b}"): one(
            "GET", f"{persona}/versions/1/diff/3", READ
        ),
        ("GET", "/v1/personas/{persona_id}/scheduled-promotions"): one(
            "GET", f"{persona}/scheduled-promotions", READ
        ),
        ("DELETE", "/v1/personas/{persona_id}/scheduled-promotions/{schedule_id}"): one(
            "DELETE", f"{persona}/scheduled-promotions/{team.schedule_id}", PUBLISH
        ),
        ("GET", "/v1/personas/{persona_id}/proposals"): one("GET", f"{persona}/proposals", READ),
        ("GET", "/v1/operations/{operation_id}"): one("GET", f"/v1/operations/{team.operation_id}", READ),
        ("GET", "/v1/events"): one("GET", "/v1/events", READ, params={"persona_id": pid}),
        ("POST", "/publish-agent-version/{agent_id}"): one(
            "POST", f"/publish-agent-version/{pid}", PUBLISH, json={"version": 1}
        ),
        ("GET", "/persona/flags"): one("GET", "/persona/flags", READ),
        ("GET", "/persona/draft/{draft_id}"): one("GET", f"/persona/draft/{draft_id}", READ),
        ("POST", "/persona/draft"): [
            (("POST", "/persona/draft", {"json": {"name": "New by role"}}), EDIT),
            (("POST", "/persona/draft", {"json": {"draft_id": draft_id, "name": "Edited"}}), EDIT),
            (
                ("POST", "/persona/draft", {"json": {"draft_id": draft_id, "soft": True, "name": "P"}}),
                PROPOSE,
            ),
            (("POST", "/persona/draft", {"json": {"idempotency_key": entry, "accept": False}}), REVIEW),
        ],
        ("GET", "/v1/personas/{persona_id}/review-policy"): one("GET", f"{persona}/review-policy", READ),
        ("PUT", "/v1/personas/{persona_id}/review-policy"): one(
            "PUT", f"{persona}/review-policy", ADMINISTER, json={"required_approvals": 0}
        ),
        ("GET", "/v1/promotion-requests"): one("GET", "/v1/promotion-requests", READ),
        ("GET", "/v1/promotion-requests/{request_id}"): one("GET", f"{requests}/{team.request_id}", READ),
        ("POST", "/v1/promotion-requests/{request_id}/approve"): one(
            "POST", f"{requests}/{team.request_id}/approve", REVIEW
        ),
        ("POST", "/v1/promotion-requests/{request_id}/reject"): one(
            "POST", f"{requests}/{team.request_id}/reject", REVIEW
        ),
        ("POST", "/v1/promotion-requests/{request_id}/withdraw"): one(
            "POST", f"{requests}/{team.request_id}/withdraw", EDIT
        ),
        ("GET", "/v1/workspace"): one("GET", "/v1/workspace", READ),
        ("GET", "/v1/members"): one("GET", "/v1/members", READ),
        ("POST", "/v1/members"): one(
            "POST", "/v1/members", ADMINISTER, json={"user": f"added-{team.key_id[:8]}", "role": "viewer"}
        ),
        ("PATCH", "/v1/members/{user_id}"): one(
            "PATCH", f"/v1/members/{team.user_id}", ADMINISTER, json={"role": "admin"}
        ),
        ("DELETE", "/v1/members/{user_id}"): one("DELETE", f"/v1/members/{team.user_id}", ADMINISTER),
        ("GET", "/v1/keys"): one("GET", "/v1/keys", ADMINISTER),
        ("POST", "/v1/keys"): one("POST", "/v1/keys", ADMINISTER, json={"name": "by role"}),
        ("DELETE", "/v1/keys/{key_id}"): one("DELETE", f"/v1/keys/{spare_key}", ADMINISTER),
        ("GET", "/v1/audit-events"): one("GET", "/v1/audit-events", ADMINISTER, params={"persona_id": pid}),
        ("GET", "/v1/webhooks"): one("GET", "/v1/webhooks", ADMINISTER),
        ("POST", "/v1/webhooks"): one(
            "POST", "/v1/webhooks", ADMINISTER, json={"url": "http://127.0.0.1:9/r"}
        ),
        ("GET", "/v1/webhooks/{webhook_id}"): one("GET", hook, ADMINISTER),
        ("PATCH", "/v1/webhooks/{webhook_id}"): one("PATCH", hook, ADMINISTER, json={"enabled": False}),
        ("POST", "/v1/webhooks/{webhook_id}/rotate-secret"): one("POST", f"{hook}/rotate-secret", ADMINISTER),
        ("GET", "/v1/webhooks/{webhook_id}/deliveries"): one("GET", f"{hook}/deliveries", ADMINISTER),
        ("POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): one(
            "POST", f"{hook}/deliveries/{team.delivery_id}/redeliver", ADMINISTER
        ),
        ("DELETE", "/v1/webhooks/{webhook_id}"): one("DELETE", hook, ADMINISTER),
    }


def test_every_route_has_a_row(team: Tenant, spare_key: str) -> None:
    assert set(rows(team, spare_key)) == api_routes() - PUBLIC_ROUTES, (
        "every route needs a row in the role table"
    )


def _send(http: httpx.Client, key: str, request: Request) -> httpx.Response:
    """The answer; for the event stream, its status and headers only (an allowed stream never ends)."""
    method, url, kwargs = request
    headers = {"authorization": key, "Prefer": "respond-async"}
    with http.stream(method, url, headers=headers, **kwargs) as response:
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return response
        response.read()
    return response


def test_a_role_without_the_permission_is_refused_and_nothing_changes(
    http: httpx.Client, team: Tenant, keys: dict[Role, str], spare_key: str
) -> None:
    settle(team.workspace_id)
    before = footprint(team.workspace_id)
    refused: set[Permission] = set()
    for route, cases in rows(team, spare_key).items():
        for request, permission in cases:
            for role, key in keys.items():
                if permission in PERMISSIONS[role]:
                    continue
                response = _send(http, key, request)
                assert response.status_code == 403, (route, role, response.text)
                error = error_of(response)
                assert error["error"] in ("FORBIDDEN", None), response.text  # Retell's shape has no code
                assert f"'{permission}'" in error["message"] and f"({role})" in error["message"]
                if error["error"]:
                    assert error["details"] == {"permission": str(permission), "role": str(role)}
                refused.add(permission)
    assert refused == set(Permission) - {READ}  # every permission but reading was refused to someone
    settle(team.workspace_id)
    assert footprint(team.workspace_id) == before


def test_a_role_with_the_permission_is_never_refused_for_its_role(
    http: httpx.Client, team: Tenant, keys: dict[Role, str], spare_key: str
) -> None:
    # Writes first by the narrowest role allowed: each role's own request runs against the same data.
    for route, cases in rows(team, spare_key).items():
        for request, permission in cases:
            for role, key in keys.items():
                if permission not in PERMISSIONS[role]:
                    continue
                response = _send(http, key, request)
                assert response.status_code < 500, (route, role, response.text)
                if response.status_code == 403:  # refused, but not for its role
                    assert error_of(response)["error"] not in ("FORBIDDEN", None), (
                        route,
                        role,
                        response.text,
                    )
    settle(team.workspace_id)
