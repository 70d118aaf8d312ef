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

from api.subscriber import ChannelSubscriber
from greenlight.models import Operation
from greenlight.operations.query import is_terminal
from greenlight.redis_client import operations_done_channel

log = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS = 0.5


class OperationWaiter(ChannelSubscriber):
    def __init__(self) -> None:
        super().__init__()
        self._waiting: dict[str, set[asyncio.Future[None]]] = {}

    def channel(self) -> str:
        return operations_done_channel()

    def on_message(self, data: bytes) -> None:
        self._wake(data.decode())

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
