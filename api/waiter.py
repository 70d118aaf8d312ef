"""Waiting for an operation's outcome without tying up a thread.

Workers publish each finished operation's id on one Redis channel; one subscriber per
API process wakes the matching waiters. A slow poll of the database backs it up, so a
lost announcement only costs latency, never a wrong answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from greenlight.models import Operation
from greenlight.operations.query import is_terminal
from greenlight.redis_client import operations_done_channel
from greenlight.settings import get_settings

log = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS = 0.5


class OperationWaiter:
    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Future[None]]] = {}
        self._listener: asyncio.Task[None] | None = None

    def _ensure_listening(self) -> None:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.get_running_loop().create_task(self._listen())

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
            self._listener = None

    async def _listen(self) -> None:
        url = get_settings().require_redis_url()
        while True:
            try:
                client = aioredis.Redis.from_url(url)
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(operations_done_channel())
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._wake(message["data"].decode())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("operation announcements unavailable; retrying", exc_info=True)
                await asyncio.sleep(1.0)

    def _wake(self, operation_id: str) -> None:
        for future in self._waiting.pop(operation_id, set()):
            if not future.done():
                future.set_result(None)

    async def wait(
        self, operation_id: str, timeout: float, load: Callable[[], Awaitable[Operation]]
    ) -> Operation:
        """The operation once terminal, or as it stands when the timeout runs out."""
        self._ensure_listening()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            # Register before reading, so an announcement between the two is not missed.
            future: asyncio.Future[None] = loop.create_future()
            self._waiting.setdefault(operation_id, set()).add(future)
            try:
                op = await load()
                remaining = deadline - loop.time()
                if is_terminal(op) or remaining <= 0:
                    return op
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(future, timeout=min(remaining, POLL_INTERVAL_SECONDS))
            finally:
                waiters = self._waiting.get(operation_id)
                if waiters is not None:
                    waiters.discard(future)
                    if not waiters:
                        self._waiting.pop(operation_id, None)
