"""The live event stream's fan-in: one Redis subscriber per API process wakes the streams of the
workspaces whose events the relay just committed; each stream then reads its new rows from the database
by position. A heartbeat re-reads too, so a lost announcement costs latency, never an event."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from api.subscriber import ChannelSubscriber
from greenlight.db import unit_of_work
from greenlight.notifications.stream import (
    Page,
    StreamFilter,
    parse_announcement,
    read_after,
    relayed_channel,
)
from greenlight.settings import get_settings

log = logging.getLogger(__name__)

RECONNECT_MILLISECONDS = 1000
DISCONNECT_CHECK_SECONDS = 1.0


def format_event(position: int, event_type: str, body: dict[str, object]) -> bytes:
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return f"id: {position}\nevent: {event_type}\ndata: {data}\n\n".encode()


def _read(stream: StreamFilter, after: int) -> Page:
    with unit_of_work() as session:
        return read_after(session, stream, after)


class EventHub(ChannelSubscriber):
    def __init__(self) -> None:
        super().__init__()
        self._streams: dict[str, set[asyncio.Event]] = {}

    def channel(self) -> str:
        return relayed_channel()

    def subscribed(self) -> None:
        self._wake_all()  # anything relayed while we were not subscribed

    def on_message(self, data: bytes) -> None:
        self._wake(parse_announcement(data)[1])

    def _wake(self, workspace_ids: set[str]) -> None:
        for workspace_id in workspace_ids:
            for event in self._streams.get(workspace_id, ()):
                event.set()

    def _wake_all(self) -> None:
        for events in self._streams.values():
            for event in events:
                event.set()

    @staticmethod
    async def _idle(request: Request, wake: asyncio.Event, heartbeat: float) -> bool:
        """Wait for news or the heartbeat, checking the client is still there; False once it left."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + heartbeat
        while not wake.is_set():
            if await request.is_disconnected():
                return False
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=min(DISCONNECT_CHECK_SECONDS, remaining))
        return True

    async def stream(self, request: Request, stream: StreamFilter, after: int) -> AsyncIterator[bytes]:
        """Server-Sent Events from position ``after`` on, until the client goes away."""
        self._ensure_listening()
        heartbeat = get_settings().sse_heartbeat_seconds
        wake = asyncio.Event()
        self._streams.setdefault(stream.workspace_id, set()).add(wake)
        try:
            yield f"retry: {RECONNECT_MILLISECONDS}\n: connected\n\n".encode()
            while True:
                wake.clear()  # before reading: an announcement during the read wakes the next wait
                page = await run_in_threadpool(_read, stream, after)
                for position, event_type, body in page.events:
                    yield format_event(position, event_type, body)
                after = page.scanned
                if page.more:
                    continue
                if not await self._idle(request, wake, heartbeat):
                    return
                if not wake.is_set():
                    yield b": heartbeat\n\n"  # keeps proxies from closing; the next read is the fallback
        finally:
            streams = self._streams.get(stream.workspace_id)
            if streams is not None:
                streams.discard(wake)
                if not streams:
                    self._streams.pop(stream.workspace_id, None)
