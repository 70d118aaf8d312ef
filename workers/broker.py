"""Kombu's Redis transport, with one command client per channel instead of one per command, and a
publish that happens only if a flag was not yet set, in one round trip.

Kombu's Redis channel builds a new ``redis.Redis`` for every publish, acknowledgement and event
(``conn_or_acquire``); redis-py's constructor fills a table of some 170 response callbacks each
time, a large share of the CPU of sending a task (bench/RESULTS.md). The client is only a handle on the
channel's connection pool (thread-safe, and reset by redis-py after a fork), so one per pool does
the same work. Everything else is kombu's own transport.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from kombu.transport import redis as kombu_redis
from kombu.utils.json import dumps


@dataclass
class PublishCondition:
    """Publish only if `flag` was not set (and set it, expiring after `ttl_seconds`); `published`
    says what happened once the message went through the channel."""

    flag: str
    ttl_seconds: int
    published: bool | None = None


_condition: ContextVar[PublishCondition | None] = ContextVar("greenlight_publish_condition", default=None)

# SET NX and LPUSH as one atomic step: the flag is set exactly when the message is queued.
_PUSH_IF_NEWLY_SET = """
if redis.call('set', KEYS[1], '1', 'NX', 'EX', tonumber(ARGV[1])) then
  redis.call('lpush', KEYS[2], ARGV[2])
  return 1
end
return 0
"""


@contextmanager
def only_if_newly_set(flag: str, ttl_seconds: int) -> Iterator[PublishCondition]:
    """The one task message sent in this block is queued only if `flag` was not set, in the same
    round trip as setting it; when it is not queued, neither is its task-sent event."""
    condition = PublishCondition(flag, ttl_seconds)
    token = _condition.set(condition)
    try:
        yield condition
    finally:
        _condition.reset(token)


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

    def _put(self, queue: str, message: dict[str, Any], **kwargs: Any) -> None:
        condition = _condition.get()
        if (
            condition is None
            or condition.published is not None
            or getattr(self, "_expires", None)
            or "_publish_batch" in kwargs
        ):
            super()._put(queue, message, **kwargs)
            return
        key = self._q_for_pri(queue, self._get_message_priority(message, reverse=False))  # type: ignore[attr-defined]
        with self.conn_or_acquire() as client:
            body = dumps(message)
            condition.published = bool(
                client.eval(_PUSH_IF_NEWLY_SET, 2, condition.flag, key, condition.ttl_seconds, body)
            )

    def _put_fanout(self, exchange: str, message: dict[str, Any], routing_key: str, **kwargs: Any) -> None:
        condition = _condition.get()
        if condition is not None and condition.published is False:
            return  # the task-sent event of a message that was not queued
        super()._put_fanout(exchange, message, routing_key, **kwargs)  # type: ignore[misc]


class Transport(kombu_redis.Transport):
    Channel = Channel


# For Celery's ``broker_transport`` setting (the broker URL still says where Redis is).
TRANSPORT = f"{__name__}:{Transport.__name__}"
