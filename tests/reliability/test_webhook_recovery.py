"""Crashes between commit and delivery lose nothing. This module runs its own notification workers
(never the shared fixture): it kills them, and nothing else may deliver meanwhile."""

from __future__ import annotations

import threading

import httpx
import redis
import sqlalchemy as sa
from standardwebhooks import Webhook

from cli.processes import NOTIFICATION_QUEUES
from greenlight import queues
from greenlight.db import unit_of_work
from greenlight.models import OutboxEvent, WebhookDelivery
from greenlight.settings import get_settings
from tests.support.http import create_persona
from tests.support.notify import Request, receiver
from tests.support.processes import start_worker, wait_until
from tests.support.webhooks import promote, register, wait_deliveries


def test_worker_killed_mid_delivery_the_event_is_still_delivered(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    release = threading.Event()

    def hang_first(_request: Request, index: int) -> tuple[int, dict[str, str]]:
        if index == 0:
            release.wait(30)  # the sender is SIGKILLed while it waits for this answer
        return 200, {}

    with receiver(hang_first) as hook:
        endpoint = register(client, auth, hook.url, ["version.promoted"])
        persona = create_persona(client, auth)
        node = start_worker(concurrency=2, queues=NOTIFICATION_QUEUES)
        try:
            promote(client, auth, persona["id"])
            wait_until(lambda: len(hook.snapshot()) == 1, timeout=20)
        finally:
            node.kill()
        release.set()
        with unit_of_work() as session:
            row = session.scalars(
                sa.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint["id"])
            ).one()
            assert (row.status, row.attempts) == ("sending", 1)  # killed mid-request, nothing recorded

        replacement = start_worker(concurrency=2, queues=NOTIFICATION_QUEUES)
        try:
            [delivery] = wait_deliveries(client, auth, endpoint["id"], 1, "succeeded", timeout=30)
        finally:
            replacement.stop()
        first, again = hook.snapshot()
        assert first.webhook_id == again.webhook_id == delivery["event_id"]
        assert again.status == 200 and delivery["attempts"] == 2
        Webhook(endpoint["secret"]).verify(again.body, again.headers)


def test_events_committed_while_no_notification_worker_runs_and_the_broker_lost_the_nudges(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    with receiver() as hook:
        endpoint = register(client, auth, hook.url, ["version.promoted"])
        persona = create_persona(client, auth)
        promote(client, auth, persona["id"])  # committed; its relay nudge waits in the broker...
        broker = redis.Redis.from_url(get_settings().require_redis_url())
        for queue in queues.NOTIFICATION_QUEUES:
            for queue_key in broker.scan_iter(match=f"{queue.value}*"):
                broker.delete(queue_key)  # ...and is lost, as in a Redis restart without persistence
        with unit_of_work() as session:
            pending = session.scalars(
                sa.select(OutboxEvent.relayed_at).where(
                    OutboxEvent.persona_id == persona["id"], OutboxEvent.type == "version.promoted"
                )
            ).all()
        assert pending == [None]

        node = start_worker(concurrency=2, queues=NOTIFICATION_QUEUES)
        try:
            [delivery] = wait_deliveries(client, auth, endpoint["id"], 1, "succeeded", timeout=30)
        finally:
            node.stop()
        [request] = hook.snapshot()
        assert request.webhook_id == delivery["event_id"] and request.payload["type"] == "version.promoted"
