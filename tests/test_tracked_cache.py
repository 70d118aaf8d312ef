"""Process-local copies that Redis invalidates: never served once the key has changed."""

from __future__ import annotations

import pytest
import redis

from greenlight.tracked_cache import CacheUnavailable, TrackedCache


def test_a_copy_is_dropped_as_soon_as_its_key_is_written(services: dict[str, str]) -> None:
    writer = redis.Redis.from_url(services["redis_url"])
    cache: TrackedCache[bytes] = TrackedCache(services["redis_url"], bytes)
    try:
        writer.set("tracked-test:k", "0")
        assert cache.get("tracked-test:k") == b"0"
        for i in range(1, 300):
            assert cache.get("tracked-test:k") == str(i - 1).encode()  # served from the copy
            writer.set("tracked-test:k", str(i))
            assert cache.get("tracked-test:k") == str(i).encode()  # the very next read sees the write
        writer.delete("tracked-test:k")
        assert cache.get("tracked-test:k") is None
        writer.set("tracked-test:k", "back")
        assert cache.get_many(["tracked-test:k", "tracked-test:absent"]) == [b"back", None]
    finally:
        cache.close()


def test_a_lost_connection_never_serves_an_old_copy(services: dict[str, str]) -> None:
    writer = redis.Redis.from_url(services["redis_url"])
    cache: TrackedCache[bytes] = TrackedCache(services["redis_url"], bytes)
    try:
        writer.set("tracked-test:lost", "old")
        assert cache.get("tracked-test:lost") == b"old"
        # The invalidation connection goes away; a write made meanwhile must not be missed.
        writer.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
        writer.set("tracked-test:lost", "new")
        try:
            value = cache.get("tracked-test:lost")
        except CacheUnavailable:
            value = cache.get("tracked-test:lost")  # the caller fell back once; then it reconnects
        assert value == b"new"
    finally:
        cache.close()


def test_redis_away_is_reported_not_hidden(services: dict[str, str]) -> None:
    cache: TrackedCache[bytes] = TrackedCache("redis://127.0.0.1:1/0", bytes, socket_timeout=0.5)
    with pytest.raises(CacheUnavailable):
        cache.get("anything")
