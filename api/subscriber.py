"""One Redis pub/sub subscription per API process, kept alive across Redis outages."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as aioredis

from greenlight.settings import get_settings

log = logging.getLogger(__name__)


class ChannelSubscriber:
    """Subclasses name their channel and handle each message; `subscribed` runs on every
    (re)subscription, for whatever was announced while nobody listened."""

    channel_name = "greenlight"

    def __init__(self) -> None:
        self._listener: asyncio.Task[None] | None = None

    def channel(self) -> str:
        return self.channel_name

    def on_message(self, data: bytes) -> None:
        raise NotImplementedError

    def subscribed(self) -> None:
        return None

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
                    await pubsub.subscribe(self.channel())
                    self.subscribed()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self.on_message(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("announcements on %s unavailable; retrying", self.channel(), exc_info=True)
                await asyncio.sleep(1.0)
