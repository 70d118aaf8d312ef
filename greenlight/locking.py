"""The per-persona Redis lock: the one place that knows how locks are taken and kept.

The lock only avoids wasted work; correctness comes from the persona's revision
(the fencing token), which every applying transaction compares and bumps.
"""

from __future__ import annotations

import logging
import time

import redis
from redis.exceptions import LockError, LockNotOwnedError

from greenlight.errors import FencingError
from greenlight.redis_client import key

log = logging.getLogger(__name__)


class PersonaLock:
    def __init__(self, client: redis.Redis, persona_id: str, ttl_seconds: float):
        self.persona_id = persona_id
        self._ttl = ttl_seconds
        self._lock = client.lock(
            key("lock", "persona", persona_id), timeout=ttl_seconds, blocking=False, thread_local=False
        )
        self._renewed_at = 0.0

    def try_acquire(self) -> bool:
        """Never waits: a busy lock means another worker is draining this persona."""
        acquired = bool(self._lock.acquire(blocking=False))
        if acquired:
            self._renewed_at = time.monotonic()
        return acquired

    def keep_alive(self) -> None:
        """Extend the lease once a third of it has gone; refuse to go on if it was lost."""
        if time.monotonic() - self._renewed_at < self._ttl / 3:
            return
        try:
            self._lock.extend(self._ttl, replace_ttl=True)
        except LockError as exc:
            raise FencingError(f"lock on persona {self.persona_id} was lost") from exc
        self._renewed_at = time.monotonic()

    def release(self) -> None:
        try:
            self._lock.release()
        except LockNotOwnedError:
            # Expired while we worked; fencing already kept our writes honest.
            log.warning("lock on persona %s expired before release", self.persona_id)
        except LockError:
            log.warning("lock on persona %s was not held at release", self.persona_id)
