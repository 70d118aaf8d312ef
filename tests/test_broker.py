"""The broker transport: kombu's Redis transport with one command client per channel's pool, which
still delivers every message, also after its pool was reset."""

from __future__ import annotations

import time

from kombu import Connection

from greenlight.redis_client import get_redis
from workers.app import make_celery
from workers.broker import Transport


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
