"""Every operation kind declares the events it writes (greenlight/kinds/): one of each kind,
applied through the API by real workers, writes no event type its kind did not declare, and every
declared type is written by some run of it here."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa

from greenlight import kinds
from greenlight.db import unit_of_work
from greenlight.events import EventType
from greenlight.models import Operation, OutboxEvent
from tests.support.http import create_persona, ok, patch, wait_operation

WAIT = {"Prefer": "wait=10"}


def _events_by_kind(persona_ids: list[str]) -> dict[str, set[str]]:
    written: dict[str, set[str]] = defaultdict(set)
    with unit_of_work() as session:
        rows = session.execute(
            sa.select(Operation.kind, OutboxEvent.type)
            .join(Operation, Operation.id == OutboxEvent.operation_id)
            .where(OutboxEvent.persona_id.in_(persona_ids))
        )
        for kind, event_type in rows:
            written[kind].add(event_type)
    return written


def _review_kinds(client: httpx.Client, headers: dict[str, str], base: str) -> None:
    """A review policy; promotions and a publish that wait for it, approved, rejected, withdrawn."""
    policy = {"required_approvals": 1, "allow_self_approval": True}
    assert client.put(f"{base}/review-policy", json=policy, headers=headers).status_code == 200
    decisions = ["approve", "reject", "withdraw"]
    for decision in decisions:
        edited = client.patch(f"{base}/draft", json={"personality_prompt": decision}, headers=headers)
        assert edited.status_code == 200, edited.text
        waiting = client.post(f"{base}/versions/promote", headers=headers)
        assert waiting.status_code == 202, waiting.text
        request_id = waiting.json()["data"]["promotion_request_id"]
        decided = client.post(f"/v1/promotion-requests/{request_id}/{decision}", headers=headers)
        assert decided.status_code == 200, decided.text
    draft = client.get(base, headers=headers).json()["data"]["current_draft_version"]["version_number"]
    published = client.post(f"{base}/versions/{draft}/publish", headers=headers)
    assert published.status_code == 202 and published.json()["data"]["status"] == "awaiting_approval"
    withdraw = f"/v1/promotion-requests/{published.json()['data']['promotion_request_id']}/withdraw"
    assert client.post(withdraw, headers=headers).status_code == 200


def test_each_kind_writes_exactly_the_events_it_declares(client: httpx.Client, auth: dict[str, str]) -> None:
    persona = create_persona(client, auth)
    pid = persona["id"]
    base = f"/v1/personas/{pid}"
    headers = {**auth, **WAIT}
    assert client.post(f"{base}/versions/1/publish", headers=headers).status_code == 200
    edited = client.patch(f"{base}/draft", json={"personality_prompt": "Edited"}, headers=headers)
    assert edited.status_code == 200, edited.text
    assert client.post(f"{base}/versions/2/publish", headers=headers).status_code == 200
    # Version 1 was archived: unarchive it, then publish it again (a rollback).
    assert client.post(f"{base}/versions/1/unarchive", headers=headers).status_code == 200
    assert client.post(f"{base}/versions/1/publish", headers=headers).status_code == 200
    client.patch(f"{base}/draft", json={"personality_prompt": "Third"}, headers=headers)
    assert client.post(f"{base}/versions/promote", headers=headers).status_code == 200
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    scheduled = client.post(f"{base}/versions/promote", json={"scheduled_at": later}, headers=auth)
    assert scheduled.status_code == 202, scheduled.text
    schedule_id = scheduled.json()["data"]["id"]
    cancelled = client.delete(f"{base}/scheduled-promotions/{schedule_id}", headers=headers)
    assert cancelled.status_code == 200, cancelled.text

    _review_kinds(client, headers, base)

    form = ok(patch(client, auth, name="Drafted"))["form_state"]
    drafted = form["persona_id"]
    ok(patch(client, auth, draft_id=form["draft_id"], name="Patched"))
    accepted = ok(patch(client, auth, draft_id=form["draft_id"], soft=True, name="Proposed"))
    ok(patch(client, auth, idempotency_key=accepted["idempotency_key"], accept=True))
    rejected = ok(patch(client, auth, draft_id=form["draft_id"], soft=True, name="Not this"))
    ok(patch(client, auth, idempotency_key=rejected["idempotency_key"], accept=False))

    with unit_of_work() as session:
        pending = session.scalars(
            sa.select(Operation.id).where(Operation.persona_id.in_([pid, drafted]))
        ).all()
    for operation_id in pending:
        wait_operation(client, auth, operation_id)
    written = _events_by_kind([pid, drafted])
    assert set(written) == {kind.name for kind in kinds.REGISTRY}
    for kind in kinds.REGISTRY:
        declared = {str(event) for event in kind.emits}
        assert written[kind.name] - {EventType.OPERATION_FAILED} <= declared, kind.name
        assert declared <= written[kind.name], f"{kind.name} declares events it never wrote here"
