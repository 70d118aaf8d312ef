"""The Redis connection and the key names Greenlight uses in it."""

from __future__ import annotations

from functools import lru_cache

import redis

from greenlight.settings import get_settings


@lru_cache(maxsize=1)
def get_redis() -> redis.Redis:
    # redis-py resets its pool in a forked child, so one cached client is safe in prefork workers.
    return redis.Redis.from_url(get_settings().require_redis_url(), health_check_interval=30)


def key(*parts: str) -> str:
    return ":".join((get_settings().redis_prefix, *parts))


def operations_done_channel() -> str:
    return key("operations", "done")
