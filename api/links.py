"""OpenAPI links: which answer gives the ids that other operations take.

A client (or a stateful fuzzer) follows them from what creates a resource to what reads and
changes it: a persona to its draft, versions, promotions, proposals and scheduled promotions; a
webhook (created or listed) to its deliveries; every accepted change to its operation; a member
added to their role and removal; a key created to its revocation (never a listed one: that could be
the caller's own).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PERSONA = "/v1/personas/{persona_id}"
WEBHOOK = "/v1/webhooks/{webhook_id}"
OPERATION = ("get", "/v1/operations/{operation_id}")
MEMBER = "/v1/members/{user_id}"
REQUEST = "/v1/promotion-requests/{request_id}"


@dataclass(frozen=True)
class Link:
    name: str
    target: tuple[str, str]  # method, path
    parameters: dict[str, str]
    body: dict[str, Any] | None = field(default=None)


def _persona_links(data: str) -> list[Link]:
    """Links from an answer whose ``data`` (a JSON pointer) is a persona object."""
    pid = {"persona_id": f"$response.body#{data}/id"}
    draft = f"$response.body#{data}/current_draft_version/version_number"
    production = f"$response.body#{data}/current_production_version/version_number"
    return [
        Link("read", ("get", PERSONA), pid),
        Link("versions", ("get", f"{PERSONA}/versions"), pid),
        Link("edit_draft", ("patch", f"{PERSONA}/draft"), pid),
        Link("promote", ("post", f"{PERSONA}/versions/promote"), pid),
        Link("draft_version", ("get", f"{PERSONA}/versions/{{number}}"), {**pid, "number": draft}),
        Link("publish_draft", ("post", f"{PERSONA}/versions/{{number}}/publish"), {**pid, "number": draft}),
        Link("production_version", ("get", f"{PERSONA}/versions/{{number}}"), {**pid, "number": production}),
        Link(
            "unarchive", ("post", f"{PERSONA}/versions/{{number}}/unarchive"), {**pid, "number": production}
        ),
        Link("diff", ("get", f"{PERSONA}/versions/{{a}}/diff/{{b}}"), {**pid, "a": production, "b": draft}),
        Link("promotions", ("get", f"{PERSONA}/promotions"), pid),
        Link("production", ("get", f"{PERSONA}/production"), pid),
        Link("scheduled_promotions", ("get", f"{PERSONA}/scheduled-promotions"), pid),
        Link("proposals", ("get", f"{PERSONA}/proposals"), pid),
        Link("events", ("get", "/v1/events"), {"persona_id": f"$response.body#{data}/id"}),
        Link("audit_events", ("get", "/v1/audit-events"), {"persona_id": f"$response.body#{data}/id"}),
        Link(
            "retell_publish",
            ("post", "/publish-agent-version/{agent_id}"),
            {"agent_id": pid["persona_id"]},
            {"version": draft},
        ),
        Link(
            "draft_form",
            ("get", "/persona/draft/{draft_id}"),
            {"draft_id": f"$response.body#{data}/current_draft_version_id"},
        ),
        Link(
            "patch_draft",
            ("post", "/persona/draft"),
            {},
            {"draft_id": f"$response.body#{data}/current_draft_version_id", "instructions": "Be brief."},
        ),
    ]


def _operation_link(data: str) -> list[Link]:
    return [Link("operation", OPERATION, {"operation_id": f"$response.body#{data}/id"})]


def _webhook_links(webhook: str = "/data") -> list[Link]:
    wid = {"webhook_id": f"$response.body#{webhook}/id"}
    return [
        Link("read", ("get", WEBHOOK), wid),
        Link("update", ("patch", WEBHOOK), wid),
        Link("delete", ("delete", WEBHOOK), wid),
        Link("rotate_secret", ("post", f"{WEBHOOK}/rotate-secret"), wid),
        Link("deliveries", ("get", f"{WEBHOOK}/deliveries"), wid),
    ]


_ACCEPTED = _operation_link("/data")
# (method, path, status) of an answer -> the links it gives.
LINKS: dict[tuple[str, str, str], list[Link]] = {
    ("post", "/v1/personas", "201"): _persona_links("/data"),
    ("post", "/v1/personas", "202"): _ACCEPTED,
    ("get", PERSONA, "200"): _persona_links("/data"),
    ("post", f"{PERSONA}/versions/promote", "200"): _persona_links("/data"),
    ("post", f"{PERSONA}/versions/promote", "202"): [
        *_ACCEPTED,
        Link(
            "cancel_schedule",
            ("delete", f"{PERSONA}/scheduled-promotions/{{schedule_id}}"),
            {"persona_id": "$request.path.persona_id", "schedule_id": "$response.body#/data/id"},
        ),
    ],
    # Once promoted twice, the second version is the archived one (the first stays the draft).
    ("get", f"{PERSONA}/versions", "200"): [
        Link(
            "unarchive",
            ("post", f"{PERSONA}/versions/{{number}}/unarchive"),
            {"persona_id": "$request.path.persona_id", "number": "$response.body#/data/1/version_number"},
        )
    ],
    ("get", f"{PERSONA}/scheduled-promotions", "200"): [
        Link(
            "cancel_schedule",
            ("delete", f"{PERSONA}/scheduled-promotions/{{schedule_id}}"),
            {"persona_id": "$request.path.persona_id", "schedule_id": "$response.body#/data/0/id"},
        )
    ],
    ("patch", f"{PERSONA}/draft", "202"): _ACCEPTED,
    ("patch", f"{PERSONA}/draft", "200"): _ACCEPTED,
    ("post", f"{PERSONA}/versions/{{number}}/publish", "202"): _ACCEPTED,
    ("post", f"{PERSONA}/versions/{{number}}/unarchive", "202"): _ACCEPTED,
    ("delete", f"{PERSONA}/scheduled-promotions/{{schedule_id}}", "202"): _ACCEPTED,
    ("post", "/publish-agent-version/{agent_id}", "202"): _operation_link(""),
    ("post", "/persona/draft", "202"): _operation_link(""),
    ("post", "/persona/draft", "200"): [
        Link("draft_form", ("get", "/persona/draft/{draft_id}"), {"draft_id": "$response.body#/draft_id"}),
        Link(
            "ack",
            ("post", "/persona/draft"),
            {},
            {"idempotency_key": "$response.body#/idempotency_key", "accept": True},
        ),
    ],
    ("post", "/v1/webhooks", "201"): _webhook_links(),
    # The oldest endpoint in the list has seen the most events: its deliveries lead to a redelivery.
    ("get", "/v1/webhooks", "200"): _webhook_links("/data/0"),
    ("post", "/v1/members", "201"): [
        Link("change_role", ("patch", MEMBER), {"user_id": "$response.body#/data/user_id"}),
        Link("remove", ("delete", MEMBER), {"user_id": "$response.body#/data/user_id"}),
    ],
    ("post", "/v1/keys", "201"): [
        Link("revoke", ("delete", "/v1/keys/{key_id}"), {"key_id": "$response.body#/data/id"})
    ],
    # The newest request of the list: read it, vote on it, or withdraw it.
    ("get", "/v1/promotion-requests", "200"): [
        Link(name, (method, f"{REQUEST}{suffix}"), {"request_id": "$response.body#/data/items/0/id"})
        for name, method, suffix in (
            ("read", "get", ""),
            ("approve", "post", "/approve"),
            ("reject", "post", "/reject"),
            ("withdraw", "post", "/withdraw"),
        )
    ],
    ("get", f"{WEBHOOK}/deliveries", "200"): [
        Link(
            "redeliver",
            ("post", f"{WEBHOOK}/deliveries/{{delivery_id}}/redeliver"),
            {"webhook_id": "$request.path.webhook_id", "delivery_id": "$response.body#/data/items/0/id"},
        )
    ],
}


def with_links(schema: dict[str, Any]) -> dict[str, Any]:
    """Add LINKS to the document; a link whose source or target is missing is a programming error."""
    paths = schema["paths"]
    for (method, path, status), links in LINKS.items():
        response = paths[path][method]["responses"][status]
        documented = response.setdefault("links", {})
        for link in links:
            target_method, target_path = link.target
            entry: dict[str, Any] = {"operationId": paths[target_path][target_method]["operationId"]}
            if link.parameters:
                entry["parameters"] = link.parameters
            if link.body is not None:
                entry["requestBody"] = link.body
            documented[link.name] = entry
    return schema
