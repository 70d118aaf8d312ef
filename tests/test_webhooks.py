"""Signed webhooks through real processes: API, operation and notification workers, beat, and a
real HTTP receiver on 127.0.0.1 (GREENLIGHT_WEBHOOK_ALLOW_PRIVATE=true in the test env)."""

from __future__ import annotations

import base64
import threading
from collections import defaultdict

import httpx
import pytest
import sqlalchemy as sa
from standardwebhooks import Webhook, WebhookVerificationError

from greenlight.db import unit_of_work
from greenlight.models import OutboxEvent
from greenlight.settings import get_settings
from tests.api_helpers import create_persona
from tests.notify_support import Request, always, receiver
from tests.support import Process, wait_until
from tests.webhook_helpers import deliveries, edit, promote, register, wait_deliveries

SCHEDULE = get_settings().webhook_retry_schedule_seconds


@pytest.fixture(autouse=True)
def _notifications(notifications_worker: Process) -> None:
    return None


def test_promotion_sends_one_signed_webhook(client: httpx.Client, auth: dict[str, str]) -> None:
    with receiver() as hook:
        endpoint = register(client, auth, hook.url, ["version.promoted"])
        secret = endpoint["secret"]
        assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) >= 24
        assert "secret" not in client.get(f"/v1/webhooks/{endpoint['id']}", headers=auth).json()["data"]

        persona = create_persona(client, auth)
        promoted = promote(client, auth, persona["id"])
        [delivery] = wait_deliveries(client, auth, endpoint["id"], 1, "succeeded")

        [request] = hook.snapshot()
        payload = Webhook(secret).verify(request.body, request.headers)
        assert payload == request.payload
        assert request.webhook_id == payload["id"] == delivery["event_id"]
        assert payload["type"] == "version.promoted"
        assert payload["persona_id"] == persona["id"] and payload["user_id"] == persona["user_id"]
        assert payload["persona_seq"] == 2  # persona.created was 1
        assert payload["created_at"].endswith("Z")
        assert payload["data"]["version_id"] == promoted["current_production_version_id"]
        assert payload["data"]["version"] == 2
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + base64.b64encode(b"x" * 32).decode()).verify(request.body, request.headers)
        assert delivery["attempts"] == 1 and delivery["response_status_code"] == 200
        assert (
            delivery["latency_ms"] is not None
            and delivery["delivered_at"]
            and delivery["next_attempt_at"] is None
        )


def test_receiver_down_then_up_same_id_and_in_order(client: httpx.Client, auth: dict[str, str]) -> None:
    down = threading.Event()
    down.set()

    def flaky(_request: Request, _index: int) -> tuple[int, dict[str, str]]:
        return (503 if down.is_set() else 200), {}

    with receiver(flaky) as hook:
        endpoint = register(client, auth, hook.url)
        first, second = create_persona(client, auth), create_persona(client, auth)
        for round_ in range(2):
            for persona in (first, second):
                edit(client, auth, persona["id"], f"round {round_}")
                promote(client, auth, persona["id"])

        def head_retried() -> bool:
            return sum(1 for r in hook.snapshot() if r.payload["persona_id"] == first["id"]) >= 3

        wait_until(head_retried, timeout=20)
        down.clear()  # the receiver comes back
        with unit_of_work() as session:
            expected = session.execute(
                sa.select(OutboxEvent.persona_id, OutboxEvent.persona_seq, OutboxEvent.id).where(
                    OutboxEvent.persona_id.in_([first["id"], second["id"]])
                )
            ).all()
        assert len(expected) == 2 * 6  # created; edited, promoted; edited, promoted, archived
        wait_deliveries(client, auth, endpoint["id"], len(expected), "succeeded", timeout=60)

        requests = hook.snapshot()
        by_event: dict[tuple[str, int], list[Request]] = defaultdict(list)
        for request in requests:
            Webhook(endpoint["secret"]).verify(request.body, request.headers)
            by_event[(request.payload["persona_id"], request.payload["persona_seq"])].append(request)
        # Every retry of an event carries the same webhook-id (the outbox event id) and the same body.
        for persona_id, seq, event_id in expected:
            tries = by_event[(persona_id, seq)]
            assert {r.webhook_id for r in tries} == {event_id}
            assert len({r.body for r in tries}) == 1
            assert tries[-1].status == 200 and all(r.status == 503 for r in tries[:-1])
        assert len(by_event[(first["id"], 1)]) >= 4
        # Per persona: attempts never go back in sequence, deliveries arrive in sequence, once each.
        for persona in (first, second):
            mine = [r for r in requests if r.payload["persona_id"] == persona["id"]]
            attempted = [r.payload["persona_seq"] for r in mine]
            assert attempted == sorted(attempted)
            assert [r.payload["persona_seq"] for r in mine if r.status == 200] == list(range(1, 7))
        log = {d["event_id"]: d for d in deliveries(client, auth, endpoint["id"])}
        head = next(
            event_id for persona_id, seq, event_id in expected if (persona_id, seq) == (first["id"], 1)
        )
        assert log[head]["attempts"] == len(by_event[(first["id"], 1)])


def test_dead_letter_after_the_schedule_unblocks_the_next_and_can_be_redelivered(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    healthy = {"value": False}

    def first_event_fails(request: Request, _index: int) -> tuple[int, dict[str, str]]:
        return (200 if healthy["value"] or request.payload["persona_seq"] != 1 else 500), {}

    with receiver(first_event_fails) as hook:
        endpoint = register(client, auth, hook.url)
        persona = create_persona(client, auth)  # persona.created: persona_seq 1, always 500
        edit(client, auth, persona["id"], "second event")  # draft.updated: persona_seq 2

        def settled() -> bool:
            return {d["status"] for d in deliveries(client, auth, endpoint["id"])} == {"failed", "succeeded"}

        wait_until(settled, timeout=60, interval=0.1)
        failed, succeeded = sorted(deliveries(client, auth, endpoint["id"]), key=lambda d: d["persona_seq"])
        assert (failed["status"], failed["attempts"], failed["response_status_code"]) == (
            "failed",
            len(SCHEDULE),
            500,
        )
        assert failed["next_attempt_at"] is None
        requests = hook.snapshot()
        first = [r for r in requests if r.webhook_id == failed["event_id"]]
        second = [r for r in requests if r.webhook_id == succeeded["event_id"]]
        assert len(first) == len(SCHEDULE) and all(r.status == 500 for r in first)
        # The next event waited for the dead letter, then went out.
        assert len(second) == 1 and second[0].at >= first[-1].at

        healthy["value"] = True
        response = client.post(
            f"/v1/webhooks/{endpoint['id']}/deliveries/{failed['id']}/redeliver", headers=auth
        )
        assert response.status_code == 202, response.text
        assert response.json()["data"]["status"] == "pending"

        def redelivered() -> bool:
            row = next(d for d in deliveries(client, auth, endpoint["id"]) if d["id"] == failed["id"])
            return bool(row["status"] == "succeeded" and row["attempts"] == 1)

        wait_until(redelivered, timeout=30, interval=0.1)
        last = hook.snapshot()[-1]
        assert last.webhook_id == failed["event_id"] and last.status == 200
        Webhook(endpoint["secret"]).verify(last.body, last.headers)


def test_410_disables_the_endpoint(client: httpx.Client, auth: dict[str, str]) -> None:
    with receiver(always(410)) as hook:
        endpoint = register(client, auth, hook.url, ["version.*"])
        persona = create_persona(client, auth)
        promote(client, auth, persona["id"])
        [gone] = wait_deliveries(client, auth, endpoint["id"], 1, "failed")
        assert gone["response_status_code"] == 410 and gone["attempts"] == 1
        data = client.get(f"/v1/webhooks/{endpoint['id']}", headers=auth).json()["data"]
        assert data["enabled"] is False and "410" in data["disabled_reason"]

        promote(client, auth, persona["id"])  # version.promoted + version.archived, relayed but not sent

        def relayed() -> bool:
            with unit_of_work() as session:
                return not session.scalar(
                    sa.select(sa.func.count()).where(
                        OutboxEvent.persona_id == persona["id"], OutboxEvent.relayed_at.is_(None)
                    )
                )

        wait_until(relayed, timeout=20)
        assert len(deliveries(client, auth, endpoint["id"])) == 1 and len(hook.snapshot()) == 1

        hook.policy = always(200)
        response = client.patch(f"/v1/webhooks/{endpoint['id']}", json={"enabled": True}, headers=auth)
        assert response.status_code == 200 and response.json()["data"]["disabled_reason"] is None
        promote(client, auth, persona["id"])

        def resumed() -> bool:
            return [d["status"] for d in deliveries(client, auth, endpoint["id"])] == [
                "succeeded",
                "succeeded",
                "failed",
            ]

        wait_until(resumed, timeout=30, interval=0.1)
