"""The "drain requested" flag of a persona, in one place: its key, its lifetime, setting and clearing it.

While set, a drain of the persona is queued and has not started: operations accepted meanwhile need
no message of their own, because the drain clears the flag before it reads what is pending. It
expires in case its message is lost; the sweeper re-sends stalled operations anyway.

The flag travels with other commands to save round trips on the hot path: the dispatcher's broker
transport sets it and queues its message in one script (given ``key`` and ``TTL_SECONDS``), and the
drain clears it as it tries the persona's lock (``PersonaLock.try_acquire``).
"""

from __future__ import annotations

from collections.abc import Sequence

import redis

from greenlight.redis_client import key as redis_key

TTL_SECONDS = 10


def key(persona_id: str) -> str:
    return redis_key("operations", "drain-requested", persona_id)


def set_all(client: redis.Redis, persona_ids: Sequence[str]) -> list[bool]:
    """Set each persona's flag unless it is set, in one round trip: for each, whether it was not set
    (then the caller sends a drain)."""
    with client.pipeline(transaction=False) as pipe:
        for persona_id in persona_ids:
            pipe.set(key(persona_id), "1", nx=True, ex=TTL_SECONDS)
        return [bool(first) for first in pipe.execute()]


def clear(client: redis.Redis, persona_ids: Sequence[str]) -> None:
    """Their drain could not be queued: the next operation accepted sends one (else they expire)."""
    client.delete(*(key(persona_id) for persona_id in persona_ids))
