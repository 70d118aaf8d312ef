"""The audit log through real HTTP and real workers: every change once, with who, which key, which
request and how it ended; filters and paging; one workspace never sees another's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from greenlight import kinds
from greenlight.access import Role
from greenlight.db import unit_of_work
from greenlight.keys import authenticate, revoke_key
from greenlight.models import AuditEvent, AuditOutcome, Operation
from greenlight.operations.submit import Submission, submit
from tests.support.actors import own
from tests.support.http import create_persona, new_key, wait_operation
from tests.support.processes import Process, wait_until
from tests.support.tenants import error_of, settle
from tests.support.webhooks import deliveries
from workers.dispatch import CeleryDispatcher

AUDIT = "/v1/audit-events"


def _ids(key: str) -> tuple[str, str]:
    """(user id, key id) of a key."""
    with unit_of_work() as session:
        principal = authenticate(session, key)
    return principal.user_id, principal.key_id


def _rid(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:12]}"


def _events(client: httpx.Client, auth: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every event the filters match, newest first, walking every page."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get(AUDIT, params=query, headers=auth)
        assert response.status_code == 200, response.text
        page = response.json()["data"]
        found.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def _one(events: list[dict[str, Any]], request_id: str) -> dict[str, Any]:
    matching = [event for event in events if event["request_id"] == request_id]
    assert len(matching) == 1, (request_id, matching)
    return matching[0]


def test_every_change_appears_once_with_actor_key_request_and_outcome(
    client: httpx.Client, notifications_worker: Process
) -> None:
    key = new_key()
    user_id, key_id = _ids(key)
    auth = {"authorization": key}

    def sent(request_id: str, **extra: str) -> dict[str, str]:
        return {**auth, "X-Request-ID": request_id, **extra}

    rids = {name: _rid(name) for name in ("create", "edit", "promote", "stale", "again", "fast", "hook")}
    rids |= {name: _rid(name) for name in ("patch", "rotate", "delete", "redeliver")}
    # Registered first, so the persona's events make deliveries to redeliver (to a closed port).
    hook = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/audit"}, headers=sent(rids["hook"]))
    assert hook.status_code == 201, hook.text
    hook_id = hook.json()["data"]["id"]
    created = client.post("/v1/personas", json={"name": "Audited"}, headers=sent(rids["create"]))
    assert created.status_code == 201, created.text
    pid = created.json()["data"]["id"]
    edit = client.patch(
        f"/v1/personas/{pid}/draft",
        json={"personality_prompt": "Be brief."},
        headers=sent(rids["edit"], Prefer="wait=20"),
    )
    assert edit.status_code == 200, edit.text
    promoted = client.post(
        f"/v1/personas/{pid}/versions/promote", headers=sent(rids["promote"], **{"Idempotency-Key": "p1"})
    )
    assert promoted.status_code == 200, promoted.text
    # The same request again under its key: the same operation, audited once.
    replay = client.post(
        f"/v1/personas/{pid}/versions/promote", headers=sent(rids["again"], **{"Idempotency-Key": "p1"})
    )
    assert replay.status_code == 200, replay.text
    stale = client.post(
        f"/v1/personas/{pid}/versions/promote", headers=sent(rids["stale"], **{"If-Match": '"stale"'})
    )
    assert stale.status_code == 409 and error_of(stale)["error"] == "PRODUCTION_CHANGED", stale.text
    # Answered ahead of routing (the key is known to the process now): attributed all the same.
    fast = client.post(
        f"/v1/personas/{pid}/versions/promote", headers=sent(rids["fast"], Prefer="respond-async")
    )
    assert fast.status_code == 202, fast.text
    assert wait_operation(client, auth, fast.json()["data"]["id"])["status"] in ("succeeded", "failed")
    made: list[dict[str, Any]] = []
    wait_until(lambda: bool(made.extend(deliveries(client, auth, hook_id)) or made), timeout=30, interval=0.1)
    delivery_id = made[0]["id"]
    again = client.post(
        f"/v1/webhooks/{hook_id}/deliveries/{delivery_id}/redeliver", headers=sent(rids["redeliver"])
    )
    assert again.status_code == 202, again.text
    patched = client.patch(f"/v1/webhooks/{hook_id}", json={"enabled": False}, headers=sent(rids["patch"]))
    assert patched.status_code == 200, patched.text
    rotated = client.post(f"/v1/webhooks/{hook_id}/rotate-secret", headers=sent(rids["rotate"]))
    assert rotated.status_code == 200, rotated.text
    assert client.delete(f"/v1/webhooks/{hook_id}", headers=sent(rids["delete"])).status_code == 200
    settle(user_id)

    events = _events(client, auth)
    assert [event["occurred_at"] for event in events] == sorted(
        (event["occurred_at"] for event in events), reverse=True
    )
    expected = {
        "create": ("persona.create", "persona", pid, "succeeded"),
        "edit": ("draft.update", "persona", pid, "succeeded"),
        "promote": ("persona.promote", "persona", pid, "succeeded"),
        "stale": ("persona.promote", "persona", pid, "refused"),
        "hook": ("webhook.created", "webhook", hook_id, "succeeded"),
        "patch": ("webhook.updated", "webhook", hook_id, "succeeded"),
        "rotate": ("webhook.secret_rotated", "webhook", hook_id, "succeeded"),
        "delete": ("webhook.deleted", "webhook", hook_id, "succeeded"),
        "redeliver": ("webhook.redelivered", "webhook", hook_id, "succeeded"),
    }
    for name, (action, target_type, target_id, outcome) in expected.items():
        event = _one(events, rids[name])
        assert (event["action"], event["target_type"], event["target_id"]) == (action, target_type, target_id)
        assert event["outcome"] == outcome, event
        assert (event["actor_user_id"], event["key_id"]) == (user_id, key_id), event
    assert not [event for event in events if event["request_id"] == rids["again"]]
    _one(events, rids["fast"])
    promote_event = _one(events, rids["promote"])
    assert promote_event["operation_id"] == _operation_of(rids["promote"])
    assert (
        promote_event["detail"]["production_version"]
        == promoted.json()["data"]["current_production_version"]["version_number"]
    )
    assert _one(events, rids["stale"])["detail"] == {"error": "PRODUCTION_CHANGED"}
    assert _one(events, rids["patch"])["detail"] == {"fields": ["enabled"]}
    assert _one(events, rids["redeliver"])["detail"] == {"delivery_id": delivery_id}
    operations = [event for event in events if event["operation_id"] is not None]
    assert len({event["operation_id"] for event in operations}) == len(operations)  # once each
    assert {event["persona_id"] for event in operations} == {pid}


def test_an_operation_that_could_not_be_applied_is_audited_as_failed(client: httpx.Client) -> None:
    key = new_key()
    user_id, _ = _ids(key)
    auth = {"authorization": key}
    persona = create_persona(client, auth)
    # A payload the API would refuse (a persona name cannot be null), slipped in behind its back by
    # an operator: the database refuses it, so it fails; submitted with no key and no request.
    bad = submit(
        own(user_id),
        Submission(kinds.DRAFT_UPDATE.name, {"changes": {"name": None}}, persona["id"]),
        CeleryDispatcher(),
    )
    assert wait_operation(client, auth, bad.id)["status"] == "failed"
    [event] = [event for event in _events(client, auth) if event["operation_id"] == bad.id]
    assert (event["action"], event["outcome"], event["persona_id"]) == (
        "draft.update",
        "failed",
        persona["id"],
    )
    assert event["detail"] == {"error": "REJECTED_BY_DATABASE"}
    assert (event["actor_user_id"], event["key_id"], event["request_id"]) == (user_id, None, None)


def test_a_scheduled_promotion_is_audited_with_the_key_that_scheduled_it(client: httpx.Client) -> None:
    key = new_key()
    user_id, key_id = _ids(key)
    auth = {"authorization": key}
    pid = create_persona(client, auth)["id"]
    request_id = _rid("schedule")
    run_at = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    scheduled = client.post(
        f"/v1/personas/{pid}/versions/promote",
        json={"scheduled_at": run_at},
        headers={**auth, "X-Request-ID": request_id},
    )
    assert scheduled.status_code == 202, scheduled.text
    schedule_id = scheduled.json()["data"]["id"]
    found: list[dict[str, Any]] = []

    def promoted() -> bool:
        found[:] = _events(client, auth, action="persona.promote")
        return bool(found)

    wait_until(promoted, timeout=20, interval=0.1)
    [event] = found
    assert (event["actor_user_id"], event["key_id"], event["request_id"]) == (user_id, key_id, None)
    assert event["outcome"] == "succeeded" and event["detail"]["schedule_id"] == schedule_id
    scheduling = _one(_events(client, auth, action="promotion.schedule"), request_id)
    assert scheduling["key_id"] == key_id and scheduling["detail"] == {"schedule_id": schedule_id}


def _operation_of(request_id: str) -> str:
    with unit_of_work() as session:
        return str(session.scalar(sa.select(Operation.id).where(Operation.request_id == request_id)))


def test_filters_and_paging(client: httpx.Client) -> None:
    key = new_key()
    user_id, _ = _ids(key)
    auth = {"authorization": key, "Prefer": "wait=20"}
    first, second = create_persona(client, auth), create_persona(client, auth)
    for persona in (first, second, first):
        assert client.post(f"/v1/personas/{persona['id']}/versions/promote", headers=auth).status_code == 200
    stale = client.post(f"/v1/personas/{first['id']}/versions/promote", headers={**auth, "If-Match": '"x"'})
    assert stale.status_code == 409 and error_of(stale)["error"] == "PRODUCTION_CHANGED", stale.text
    settle(user_id)

    everything = _events(client, auth, limit=200)
    assert len(everything) == 6  # two creations, three promotions, one refused
    assert [e["occurred_at"] for e in everything] == sorted(
        (e["occurred_at"] for e in everything), reverse=True
    )
    paged = _events(client, auth, limit=1)
    assert paged == everything  # page by page: the same events in the same order, none twice
    assert _events(client, auth, limit=4) == everything

    promotions = _events(client, auth, action="persona.promote")
    assert len(promotions) == 4 and {e["action"] for e in promotions} == {"persona.promote"}
    assert [e["outcome"] for e in promotions].count("refused") == 1
    mine = _events(client, auth, persona_id=first["id"])
    assert len(mine) == 4 and {e["persona_id"] for e in mine} == {first["id"]}
    both = _events(client, auth, persona_id=first["id"], action="persona.create")
    assert [e["target_id"] for e in both] == [first["id"]]
    assert _events(client, auth, actor=user_id) == everything
    assert _events(client, auth, actor=str(uuid.uuid4())) == []

    oldest_first = list(reversed(everything))
    middle = datetime.fromisoformat(oldest_first[2]["occurred_at"])
    since = _events(client, auth, since=middle.isoformat())
    assert since == [e for e in everything if datetime.fromisoformat(e["occurred_at"]) >= middle]
    until = _events(client, auth, until=middle.isoformat())
    assert until == [e for e in everything if datetime.fromisoformat(e["occurred_at"]) < middle]
    assert len(since) + len(until) == len(everything) and until
    later = (datetime.fromisoformat(everything[0]["occurred_at"]) + timedelta(seconds=1)).isoformat()
    assert _events(client, auth, since=later) == []

    bad = client.get(AUDIT, params={"cursor": "not a cursor"}, headers=auth)
    assert bad.status_code == 400 and error_of(bad)["error"] == "INVALID_CURSOR", bad.text
    for params in ({"limit": 0}, {"limit": 201}, {"since": "yesterday"}):
        assert client.get(AUDIT, params=params, headers=auth).status_code == 422, params


def test_another_workspaces_events_are_never_visible(client: httpx.Client) -> None:
    mine, theirs = new_key(), new_key()
    my_auth, their_auth = {"authorization": mine, "Prefer": "wait=20"}, {"authorization": theirs}
    their_user, _ = _ids(theirs)
    persona = create_persona(client, their_auth)
    assert (
        client.post(f"/v1/personas/{persona['id']}/versions/promote", headers=their_auth).status_code == 200
    )
    hook = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/theirs"}, headers=their_auth)
    assert hook.status_code == 201
    create_persona(client, my_auth)
    settle(their_user)

    assert len(_events(client, their_auth)) == 3
    seen = _events(client, my_auth)
    assert len(seen) == 1 and seen[0]["action"] == "persona.create"
    assert {persona["id"], hook.json()["data"]["id"]}.isdisjoint({e["target_id"] for e in seen})
    # Their ids as filters find nothing, exactly like ids that do not exist.
    assert _events(client, my_auth, persona_id=persona["id"]) == []
    assert _events(client, my_auth, actor=their_user) == []
    assert _events(client, my_auth, persona_id=str(uuid.uuid4())) == []


def test_reading_the_log_needs_the_admin_role(client: httpx.Client) -> None:
    for role in (Role.VIEWER, Role.PUBLISHER):
        response = client.get(AUDIT, headers={"authorization": new_key(role=role)})
        assert response.status_code == 403 and error_of(response)["error"] == "FORBIDDEN", response.text
    assert client.get(AUDIT, headers={"authorization": new_key(role=Role.ADMIN)}).status_code == 200


def test_a_revoked_key_is_audited_and_no_key_is_ever_stored(client: httpx.Client) -> None:
    key, spare = new_key(), new_key()
    user_id, key_id = _ids(key)
    auth = {"authorization": key, "Prefer": "wait=20"}
    persona = create_persona(client, auth)
    assert client.post(f"/v1/personas/{persona['id']}/versions/promote", headers=auth).status_code == 200
    with unit_of_work() as session:
        revoke_key(session, key_id)  # an operator at the command line: no member acts
    with unit_of_work() as session:
        revoke_key(session, key_id)  # already revoked: nothing changes, nothing is audited
    settle(user_id)
    with unit_of_work() as session:
        rows = session.scalars(sa.select(AuditEvent).where(AuditEvent.workspace_id == user_id)).all()
        [revoked] = [row for row in rows if row.action == "key.revoked"]
        assert (revoked.target_type, revoked.target_id, revoked.actor_user_id) == ("key", key_id, None)
        assert revoked.outcome == AuditOutcome.SUCCEEDED.value
        assert {row.key_id for row in rows if row.action != "key.revoked"} == {key_id}
        for table_row in session.execute(sa.select(AuditEvent.__table__)).all():
            assert not any(secret in str(value) for value in table_row for secret in (key, spare))
    assert client.get(AUDIT, headers=auth).status_code == 401


@pytest.mark.parametrize("outcome", list(AuditOutcome))
def test_the_documented_outcomes_are_the_recorded_ones(outcome: AuditOutcome) -> None:
    from api.main import app

    schema = app.openapi()["components"]["schemas"]["AuditEventObject"]["properties"]["outcome"]
    assert outcome.value in schema["enum"]
