"""The broker transport: kombu's Redis transport with one command client per channel's pool, which
still delivers every message, also after its pool was reset."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import redis
from kombu import Connection

from greenlight.redis_client import get_redis
from workers.app import make_celery
from workers.broker import Transport, only_if_newly_set


def _sent(connection: Connection, queue: str, count: int) -> None:
    with connection.Producer() as producer:
        for i in range(count):
            producer.publish({"n": i}, routing_key=queue, declare=[], serializer="json")


def test_the_apps_broker_is_the_transport_with_one_client_per_pool(services: dict[str, str]) -> None:
    app = make_celery(services["redis_url"])
    queue = f"broker-test-{time.monotonic_ns()}"
    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, Transport)
        channel = connection.default_channel
        first = channel._create_client()
        _sent(connection, queue, 3)
        assert channel._create_client() is first  # reused, not built per command

        channel._disconnect_pools()  # what kombu does when a connection is reset
        _sent(connection, queue, 2)
        again = channel._create_client()
        assert again is not first and again.connection_pool is channel.pool
    client = get_redis()
    try:
        assert client.llen(queue) == 5  # every message arrived, before and after the reset
    finally:
        client.delete(queue)


def _events(pubsub: redis.client.PubSub, queue: str, wait: float = 0.3) -> list[dict[str, Any]]:
    """The task-sent events for `queue` that arrived within `wait` seconds (other processes of the
    test run send theirs on the same channel)."""
    found, deadline = [], time.monotonic() + wait
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.05)
        if message and message["type"] == "pmessage":
            event = json.loads(base64.b64decode(json.loads(message["data"])["body"]))
            if event.get("routing_key") == queue:
                found.append(event)
    return found


def test_a_conditional_publish_queues_once_while_its_flag_stands(services: dict[str, str]) -> None:
    """The drain request's flag and message go in one step: queued (and flagged) when the flag was
    not set; neither the message nor its task-sent event (Flower's) when it was."""
    app = make_celery(services["redis_url"])
    assert app.conf.task_send_sent_event
    client = get_redis()
    queue, flag = f"broker-test-{time.monotonic_ns()}", f"broker-test-flag-{time.monotonic_ns()}"
    pubsub = client.pubsub()
    pubsub.psubscribe("*celeryev*task.sent*")
    pubsub.get_message(timeout=1)  # the subscription's confirmation
    try:
        outcomes = []
        for _ in range(2):
            with only_if_newly_set(flag, 10) as condition:
                app.send_task("broker.test", args=["persona"], queue=queue)
            outcomes.append((condition.published, client.llen(queue), len(_events(pubsub, queue))))
        assert outcomes == [(True, 1, 1), (False, 1, 0)]
        assert 0 < client.ttl(flag) <= 10
        client.delete(flag)  # a drain started: the next request queues again
        with only_if_newly_set(flag, 10) as condition:
            app.send_task("broker.test", args=["persona"], queue=queue)
        assert condition.published and client.llen(queue) == 2
        app.send_task("broker.test", args=["persona"], queue=queue)  # outside the block: as ever
        assert client.llen(queue) == 3 and len(_events(pubsub, queue)) == 2
    finally:
        pubsub.close()
        client.delete(queue, flag)
