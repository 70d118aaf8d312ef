"""Soft proposals and their acks: dormant until accepted, idempotent, stale-aware, expiring."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from greenlight.clock import utcnow
from greenlight.db import unit_of_work
from greenlight.drafts.expiry import expire_overdue
from greenlight.models import DraftEntry, OutboxEvent, Promotion
from tests.support.http import ok, patch
from tests.support.processes import Process
from workers.catalogue import APPLY_ACK


def _events(persona_id: str, kind: str) -> list[dict[str, Any]]:
    with unit_of_work() as session:
        return list(
            session.scalars(
                sa.select(OutboxEvent.data).where(
                    OutboxEvent.persona_id == persona_id, OutboxEvent.type == kind
                )
            )
        )


def _state(client: httpx.Client, auth: dict[str, str], draft_id: str) -> dict[str, Any]:
    form: dict[str, Any] = client.get(f"/persona/draft/{draft_id}", headers=auth).json()["form_state"]
    return form


def test_soft_patch_changes_nothing_until_accepted(client: httpx.Client, auth: dict[str, str]) -> None:
    form = ok(patch(client, auth, name="Before", examples=["keep"]))["form_state"]
    draft_id, pid = form["draft_id"], form["persona_id"]
    proposal = ok(patch(client, auth, draft_id=draft_id, soft=True, name="After"))
    assert "dormant" in proposal["message"].lower()
    assert proposal["form_state"]["name"]["value"] == "Before"
    assert _state(client, auth, draft_id)["name"]["value"] == "Before"
    [proposed] = _events(pid, "draft.proposed")
    assert proposed["entry_id"] == proposal["idempotency_key"] and proposed["fields"] == ["name"]

    accepted = ok(
        patch(client, auth, idempotency_key=proposal["idempotency_key"], accept=True, reason="lgtm")
    )
    assert accepted["form_state"]["name"]["value"] == "After"
    assert accepted["form_state"]["examples"] == form["examples"]
    assert _state(client, auth, draft_id)["name"]["value"] == "After"
    [event] = _events(pid, "draft.accepted")
    assert (event["decision"], event["reason"], event["actor"]) == (
        "accepted",
        "lgtm",
        form and event["actor"],
    )

    rejected_one = ok(patch(client, auth, draft_id=draft_id, soft=True, name="Never"))
    rejected = ok(patch(client, auth, idempotency_key=rejected_one["idempotency_key"], accept=False))
    assert rejected["message"] == "Proposal rejected"
    assert _state(client, auth, draft_id)["name"]["value"] == "After"
    assert len(_events(pid, "draft.rejected")) == 1

    listing = client.get(f"/v1/personas/{pid}/proposals", headers=auth).json()["data"]
    assert [(p["idempotency_key"], p["status"]) for p in listing] == [
        (rejected_one["idempotency_key"], "rejected"),
        (proposal["idempotency_key"], "accepted"),
    ]
    assert listing[1]["reason"] == "lgtm" and listing[1]["decided_at"]

    # A promotion of a draft shaped by an accepted proposal names it in the history.
    client.post(f"/v1/personas/{pid}/versions/promote", headers=auth)
    with unit_of_work() as session:
        proposal_id = session.scalar(sa.select(Promotion.proposal_id).where(Promotion.persona_id == pid))
    assert proposal_id == proposal["idempotency_key"]


def test_twenty_concurrent_identical_acks(
    api_url: str, client: httpx.Client, auth: dict[str, str], worker: Process
) -> None:
    form = ok(patch(client, auth, name="Start"))["form_state"]
    key = ok(patch(client, auth, draft_id=form["draft_id"], soft=True, voices=["new voice"]))[
        "idempotency_key"
    ]

    def ack(_: int) -> tuple[int, str]:
        with httpx.Client(base_url=api_url, timeout=60) as http:
            response = patch(http, auth, idempotency_key=key, accept=True)
            return response.status_code, response.text

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(ack, range(20)))
    assert {status for status, _ in answers} == {200}
    assert len({text for _, text in answers}) == 1
    assert len(_events(form["persona_id"], "draft.accepted")) == 1
    assert [v["value"] for v in _state(client, auth, form["draft_id"])["voices"]] == ["new voice"]
    assert APPLY_ACK.name in worker.log_path.read_text()  # its own task, on its own queue

    opposite = patch(client, auth, idempotency_key=key, accept=False)
    assert opposite.status_code == 409
    assert opposite.json()["details"]["decision"] == "accepted" and "accepted" in opposite.json()["message"]
    again = patch(client, auth, idempotency_key=key, accept=True)
    assert again.status_code == 200 and again.text == answers[0][1]
    unknown = patch(client, auth, idempotency_key="00000000-0000-0000-0000-000000000000", accept=True)
    assert unknown.status_code == 404 and unknown.json()["success"] is False
    assert patch(client, auth, idempotency_key=key).status_code == 400  # an ack needs accept


def test_stale_proposal_conflicts_only_on_its_own_fields(client: httpx.Client, auth: dict[str, str]) -> None:
    form = ok(patch(client, auth, name="Base", examples=["e1"]))["form_state"]
    draft_id = form["draft_id"]
    on_name = ok(patch(client, auth, draft_id=draft_id, soft=True, name="Proposed"))["idempotency_key"]
    on_examples = ok(patch(client, auth, draft_id=draft_id, soft=True, examples=["e2"]))["idempotency_key"]
    ok(patch(client, auth, draft_id=draft_id, name="Edited meanwhile"))

    stale = patch(client, auth, idempotency_key=on_name, accept=True)
    assert stale.status_code == 409, stale.text
    assert stale.json()["error"] == "STALE_PROPOSAL" and stale.json()["details"]["fields"] == ["name"]
    assert _state(client, auth, draft_id)["name"]["value"] == "Edited meanwhile"

    fine = ok(patch(client, auth, idempotency_key=on_examples, accept=True))
    assert [e["value"] for e in fine["form_state"]["examples"]] == ["e2"]
    assert fine["form_state"]["name"]["value"] == "Edited meanwhile"

    forced = ok(patch(client, auth, idempotency_key=on_name, accept=True, force=True))
    assert forced["form_state"]["name"]["value"] == "Proposed"


def test_dormant_proposals_expire(client: httpx.Client, auth: dict[str, str]) -> None:
    form = ok(patch(client, auth, name="Expiring"))["form_state"]
    key = ok(patch(client, auth, draft_id=form["draft_id"], soft=True, name="Too late"))["idempotency_key"]
    with unit_of_work() as session:
        session.execute(
            sa.update(DraftEntry)
            .where(DraftEntry.id == key)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert expire_overdue() >= 1
    [expired] = _events(form["persona_id"], "draft.expired")
    assert expired["entry_id"] == key
    late = patch(client, auth, idempotency_key=key, accept=True)
    assert late.status_code == 409 and late.json()["details"]["decision"] == "expired"
    assert _state(client, auth, form["draft_id"])["name"]["value"] == "Expiring"


def test_soft_needs_a_draft(client: httpx.Client, auth: dict[str, str]) -> None:
    response = patch(client, auth, soft=True, name="x")
    assert response.status_code == 422 and response.json()["error"] == "SOFT_NEEDS_DRAFT"
