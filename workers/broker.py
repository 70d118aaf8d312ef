"""Kombu's Redis transport, with one command client per channel instead of one per command.

Kombu's Redis channel builds a new ``redis.Redis`` for every publish, acknowledgement and event
(``conn_or_acquire``); redis-py's constructor fills a table of some 170 response callbacks each
time, which was about a quarter of the CPU of sending a task. The client is only a handle on the
channel's connection pool (thread-safe, and reset by redis-py after a fork), so one per pool does
the same work. Everything else is kombu's own transport.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    # (kombu's type stubs leave out the private methods overridden here)
    _command_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:  # the consumer's client: kombu already keeps one per channel
            return super()._create_client(asynchronous=True)  # type: ignore[misc]
        client = self._command_client
        if client is None or client.connection_pool is not self.pool:  # a new pool after a reset
            client = self._command_client = super()._create_client()  # type: ignore[misc]
        return client


class Transport(kombu_redis.Transport):
    Channel = Channel


# For Celery's ``broker_transport`` setting (the broker URL still says where Redis is).
TRANSPORT = f"{__name__}:{Transport.__name__}"
