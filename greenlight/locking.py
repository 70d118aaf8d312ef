"""The per-persona Redis lock: the one place that knows how locks are taken and kept.

The lock only avoids wasted work; correctness comes from the database: every applying transaction
locks the persona's row and compares-and-bumps its revision (the fencing token).

A drain that finds the lock busy leaves a *contended* flag; the holder consumes it as it lets go,
and only then looks for operations accepted meanwhile (their messages found the lock busy and gave
up). A drain nobody contended ends without that query: any later operation has its own message.

Beside the lock lives a *drain mark*, set with the lock and cleared when its holder lets go. A mark
found on acquiring means the previous holder never let go: its process died or stalled mid-drain,
perhaps on the operation now at the head of the queue. Only then does the engine spend a committed
transaction counting an attempt before applying, so a poison operation ends as TOO_MANY_ATTEMPTS
instead of killing workers forever, while a healthy drain reads and applies in one transaction.
"""

from __future__ import annotations

import logging
import time
import uuid

import redis

from greenlight import drain_request
from greenlight.errors import FencingError
from greenlight.redis_client import key

log = logging.getLogger(__name__)

# Kept long after any lock expires: whoever takes the persona next must find it.
MARK_TTL_MS = 24 * 3600 * 1000

# KEYS: lock, mark, contended, then keys to delete first. ARGV: token, lock ttl ms, mark ttl ms.
# 0: busy (contended is set); 1: taken; 2: taken, the last holder never let go.
_ACQUIRE = """
for i = 4, #KEYS do redis.call('DEL', KEYS[i]) end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('SET', KEYS[3], '1', 'PX', ARGV[3])
  return 0
end
local mark = redis.call('GET', KEYS[2])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
if mark then return 2 end
return 1
"""
# KEYS: lock. ARGV: token, ttl ms. 1 if still ours (and extended).
_EXTEND = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""
# KEYS: lock, mark, contended. ARGV: token. Our mark goes even if the lock expired meanwhile: we did
# let go. 0: it was not ours any more; 1: released; 2: released, and someone found it busy meanwhile.
_RELEASE = """
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if redis.call('DEL', KEYS[3]) == 1 then return 2 end
return 1
"""


class PersonaLock:
    def __init__(self, client: redis.Redis, persona_id: str, ttl_seconds: float):
        self.persona_id = persona_id
        self._ttl_ms = max(1, int(ttl_seconds * 1000))
        self._keys = [
            key("lock", "persona", persona_id),
            key("lock", "persona-mark", persona_id),
            key("lock", "persona-contended", persona_id),
        ]
        self._token = uuid.uuid4().hex
        self._acquire = client.register_script(_ACQUIRE)
        self._extend = client.register_script(_EXTEND)
        self._release = client.register_script(_RELEASE)
        self._renewed_at = 0.0
        # Set by try_acquire: the previous holder never let go (see the module's docstring).
        self.interrupted = False

    def try_acquire(self, clear_drain_request: bool = False) -> bool:
        """Never waits: a busy lock means another worker is draining this persona.
        `clear_drain_request`: the persona's "drain requested" flag is deleted first, in the same
        round trip, whether or not the lock is taken (it must go before the drain reads what is
        pending)."""
        keys = [*self._keys, drain_request.key(self.persona_id)] if clear_drain_request else self._keys
        taken = int(self._acquire(keys=keys, args=[self._token, self._ttl_ms, MARK_TTL_MS]))
        if taken:
            self._renewed_at = time.monotonic()
            self.interrupted = taken == 2
        return bool(taken)

    def keep_alive(self) -> None:
        """Extend the lease once a third of it has gone; refuse to go on if it was lost."""
        if time.monotonic() - self._renewed_at < self._ttl_ms / 3000:
            return
        if not int(self._extend(keys=self._keys[:1], args=[self._token, self._ttl_ms])):
            raise FencingError(f"lock on persona {self.persona_id} was lost")
        self._renewed_at = time.monotonic()

    def release(self) -> bool:
        """Let go; whether someone may have found the lock busy meanwhile (then whoever let go last
        must look for work they left)."""
        released = int(self._release(keys=self._keys, args=[self._token]))
        if not released:
            # Expired while we worked; fencing already kept our writes honest.
            log.warning("lock on persona %s expired before release", self.persona_id)
        return released != 1
