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
from tests.support.http import create_persona
from tests.support.notify import Request, always, receiver
from tests.support.processes import Process, wait_until
from tests.support.webhooks import deliveries, edit, promote, register, wait_deliveries

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


def test_retry_after_is_honoured(client: httpx.Client, auth: dict[str, str]) -> None:
    def busy_once(_request: Request, index: int) -> tuple[int, dict[str, str]]:
        return (429, {"Retry-After": "3"}) if index == 0 else (200, {})

    with receiver(busy_once) as hook:
        endpoint = register(client, auth, hook.url, ["version.promoted"])
        persona = create_persona(client, auth)
        promote(client, auth, persona["id"])
        [delivery] = wait_deliveries(client, auth, endpoint["id"], 1, "succeeded", timeout=30)
        busy, ok = hook.snapshot()
        assert busy.webhook_id == ok.webhook_id and (busy.status, ok.status) == (429, 200)
        assert ok.at - busy.at >= 3.0 > SCHEDULE[1]  # the schedule alone would have retried sooner
        assert delivery["attempts"] == 2


def test_rotated_secret_signs_with_both_secrets(client: httpx.Client, auth: dict[str, str]) -> None:
    with receiver() as hook:
        endpoint = register(client, auth, hook.url, ["version.promoted"])
        rotated = client.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret", headers=auth)
        assert rotated.status_code == 200, rotated.text
        new_secret = rotated.json()["data"]["secret"]
        assert new_secret != endpoint["secret"] and rotated.json()["data"]["previous_secret_expires_at"]
        persona = create_persona(client, auth)
        promote(client, auth, persona["id"])
        wait_deliveries(client, auth, endpoint["id"], 1, "succeeded")
        [request] = hook.snapshot()
        signatures = request.headers["webhook-signature"].split(" ")
        assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
        for secret in (new_secret, endpoint["secret"]):
            Webhook(secret).verify(request.body, request.headers)
            alone = {**request.headers, "webhook-signature": signatures[0 if secret == new_secret else 1]}
            Webhook(secret).verify(request.body, alone)


def test_crud_validation_and_delivery_pages(client: httpx.Client, auth: dict[str, str]) -> None:
    bad = [
        ({"url": "ftp://example.com/hook"}, "INVALID_WEBHOOK_URL"),
        ({"url": "not a url"}, "INVALID_WEBHOOK_URL"),
        ({"url": "http://127.0.0.1:9/hook", "event_types": ["Version Promoted"]}, "INVALID_EVENT_TYPES"),
        ({"url": "http://127.0.0.1:9/hook", "event_types": []}, "INVALID_EVENT_TYPES"),
        ({"url": "http://127.0.0.1:9/hook", "secret": "mine"}, "VALIDATION_ERROR"),
        ({"url": "http://no-such-host.invalid/hook"}, "WEBHOOK_URL_UNRESOLVABLE"),
    ]
    for body, code in bad:
        response = client.post("/v1/webhooks", json=body, headers=auth)
        assert response.status_code == 422, response.text
        assert response.json()["data"] is None and response.json()["errors"][0]["error"] == code

    with receiver() as hook:
        endpoint = register(client, auth, hook.url, ["draft.updated"])
        assert endpoint["event_types"] == ["draft.updated"] and endpoint["enabled"] is True
        patched = client.patch(
            f"/v1/webhooks/{endpoint['id']}", json={"event_types": None, "description": "all"}, headers=auth
        )
        assert patched.status_code == 200, patched.text
        assert (
            patched.json()["data"]["event_types"] is None and patched.json()["data"]["description"] == "all"
        )
        listed = client.get("/v1/webhooks", headers=auth).json()["data"]
        assert [w["id"] for w in listed] == [endpoint["id"]] and "secret" not in listed[0]

        persona = create_persona(client, auth)
        for i in range(3):
            edit(client, auth, persona["id"], f"edit {i}")
        wait_deliveries(client, auth, endpoint["id"], 4, "succeeded")
        seen: list[int] = []
        cursor = None
        while True:
            params: dict[str, str | int] = {"limit": 3}
            if cursor:
                params["cursor"] = cursor
            page = client.get(f"/v1/webhooks/{endpoint['id']}/deliveries", params=params, headers=auth)
            assert page.status_code == 200, page.text
            seen += [d["persona_seq"] for d in page.json()["data"]["items"]]
            cursor = page.json()["data"]["next_cursor"]
            if cursor is None:
                break
        assert seen == [4, 3, 2, 1]  # newest first, every delivery once
        failed_only = client.get(
            f"/v1/webhooks/{endpoint['id']}/deliveries", params={"status": "failed"}, headers=auth
        )
        assert failed_only.json()["data"]["items"] == []
        assert (
            client.get(f"/v1/webhooks/{endpoint['id']}/deliveries?limit=0", headers=auth).status_code == 400
        )

        deleted = client.delete(f"/v1/webhooks/{endpoint['id']}", headers=auth)
        assert deleted.status_code == 200 and deleted.json()["data"] == {
            "id": endpoint["id"],
            "deleted": True,
        }
        assert client.get(f"/v1/webhooks/{endpoint['id']}", headers=auth).status_code == 404


def test_another_users_webhooks_and_deliveries_are_404(client: httpx.Client, auth: dict[str, str]) -> None:
    from tests.support.http import new_key

    with receiver() as hook:
        endpoint = register(client, auth, hook.url)
        create_persona(client, auth)
        [delivery] = wait_deliveries(client, auth, endpoint["id"], 1, "succeeded")
    other = {"authorization": new_key()}
    missing = "00000000-0000-0000-0000-000000000000"

    def calls(webhook_id: str, delivery_id: str) -> list[httpx.Response]:
        base = f"/v1/webhooks/{webhook_id}"
        return [
            client.get(base, headers=other),
            client.patch(base, json={"enabled": False}, headers=other),
            client.post(f"{base}/rotate-secret", headers=other),
            client.get(f"{base}/deliveries", headers=other),
            client.post(f"{base}/deliveries/{delivery_id}/redeliver", headers=other),
            client.delete(base, headers=other),
        ]

    for theirs, absent in zip(calls(endpoint["id"], delivery["id"]), calls(missing, missing), strict=True):
        assert theirs.status_code == absent.status_code == 404, theirs.text
        assert theirs.json()["errors"][0]["error"] == absent.json()["errors"][0]["error"] == "NOT_FOUND"
        assert theirs.json()["errors"][0]["message"] == absent.json()["errors"][0]["message"]
    # The owner's own delivery id under a webhook that is not the owner's answers 404 too.
    second = register(client, auth, "http://127.0.0.1:9/other")
    response = client.post(f"/v1/webhooks/{second['id']}/deliveries/{delivery['id']}/redeliver", headers=auth)
    assert response.status_code == 404
    assert client.get("/v1/webhooks", headers=other).json()["data"] == []
    owner_view = client.get(f"/v1/webhooks/{endpoint['id']}", headers=auth).json()["data"]
    assert owner_view["enabled"] is True  # the other user's PATCH and DELETE changed nothing


def test_webhook_changes_honour_idempotency_keys(client: httpx.Client, auth: dict[str, str]) -> None:
    headers = {**auth, "Idempotency-Key": "hook-1"}
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["version.*"]}
    first = client.post("/v1/webhooks", json=body, headers=headers)
    again = client.post("/v1/webhooks", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()  # the same endpoint and the same secret, created once
    listed = client.get("/v1/webhooks", headers=auth).json()["data"]
    assert [hook["id"] for hook in listed].count(first.json()["data"]["id"]) == 1 and len(listed) == 1
    other = client.post("/v1/webhooks", json={**body, "event_types": None}, headers=headers)
    assert other.status_code == 422 and other.json()["errors"][0]["error"] == "IDEMPOTENCY_KEY_REUSED"

    url = f"/v1/webhooks/{first.json()['data']['id']}/rotate-secret"
    rotated = client.post(url, headers={**auth, "Idempotency-Key": "rotate-1"})
    replayed = client.post(url, headers={**auth, "Idempotency-Key": "rotate-1"})
    assert rotated.json() == replayed.json()  # rotated once: the retry sees the same new secret
