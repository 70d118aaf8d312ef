"""Process-local copies that Redis invalidates: never served once the key has changed."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis

from greenlight.tracked_cache import CLIENT_NAME, CacheUnavailable, TrackedCache


@pytest.fixture
def writer(services: dict[str, str]) -> redis.Redis:
    return redis.Redis.from_url(services["redis_url"])


@pytest.fixture
def cache(services: dict[str, str]) -> Iterator[TrackedCache[bytes]]:
    tracked: TrackedCache[bytes] = TrackedCache(services["redis_url"], bytes)
    yield tracked
    tracked.close()


def test_a_copy_is_dropped_as_soon_as_its_key_is_written(
    writer: redis.Redis, cache: TrackedCache[bytes]
) -> None:
    writer.set("tracked-test:k", "0")
    assert cache.get("tracked-test:k") == b"0"
    for i in range(1, 300):
        assert cache.get("tracked-test:k") == str(i - 1).encode()  # served from the copy
        writer.set("tracked-test:k", str(i))
        # Writers make one more round trip before they commit (the engine's tombstone does): after
        # it, the notice is in this process's socket, and the very next read sees the write.
        writer.ping()
        assert cache.get("tracked-test:k") == str(i).encode()
    writer.delete("tracked-test:k")
    writer.ping()
    assert cache.get("tracked-test:k") is None
    writer.set("tracked-test:k", "back")
    writer.ping()
    assert cache.get_many(["tracked-test:k", "tracked-test:absent"]) == [b"back", None]


def test_a_lost_connection_never_serves_an_old_copy(writer: redis.Redis, cache: TrackedCache[bytes]) -> None:
    writer.set("tracked-test:lost", "old")
    assert cache.get("tracked-test:lost") == b"old"
    # This process's invalidation connection goes away; a write made meanwhile must not be missed.
    mine = f"{CLIENT_NAME}-{os.getpid()}"
    ids = [c["id"] for c in writer.client_list() if c.get("name") == mine]
    assert ids
    for client_id in ids:
        writer.execute_command("CLIENT", "KILL", "ID", client_id)
    writer.set("tracked-test:lost", "new")
    writer.ping()
    try:
        value = cache.get("tracked-test:lost")
    except CacheUnavailable:
        value = cache.get("tracked-test:lost")  # the caller fell back once; then it reconnects
    assert value == b"new"


def test_redis_away_is_reported_not_hidden(services: dict[str, str]) -> None:
    cache: TrackedCache[bytes] = TrackedCache("redis://127.0.0.1:1/0", bytes, socket_timeout=0.5)
    with pytest.raises(CacheUnavailable):
        cache.get("anything")
