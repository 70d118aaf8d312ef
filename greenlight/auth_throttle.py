"""Back-off on failed authentication: per client address and per key prefix, shared in Redis.

Every failed authentication (a key sent and refused: wrong, unknown or revoked) counts against two
limits, in the `limits` library's moving windows kept in Redis, so every API process shares them:

- the client's address (an IPv6 address counts as its /64, the block one client usually holds);
- the key's prefix, its first ``PREFIX_LENGTH`` characters as sent (what ``greenlight keys list``
  shows), so guesses at one key spread over many addresses still slow down.

While either limit is used up, an attempt from that address or with that prefix is refused before
the key is checked (``TooManyFailedAttempts``, with the seconds until the oldest counted failure
leaves its window), a valid key included: otherwise a guesser would learn which guess was right.

One exception, against lock-out: a key this process has already checked and still holds
(``principal_cache().known``) is not checked again, so a prefix throttled by somebody else's
failures does not slow its owner there. A throttled *address* is remembered by each process that
refuses it, and that process then refuses the cached keys from it as well, for the rest of the
window (no Redis round trip on the cached path).

A request without any key guesses nothing: it is counted in the metric, not against the limits.
When Redis does not answer, the throttle lets attempts through (fail open, with a warning):
authentication itself never depends on it.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Literal, TypeVar

import redis
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from greenlight.errors import DomainError, Unauthorized
from greenlight.keys import PREFIX_LENGTH, parse_authorization
from greenlight.redis_client import key
from greenlight.settings import get_settings

log = logging.getLogger(__name__)

Where = Literal["api", "console"]
Scope = Literal["address", "prefix"]
T = TypeVar("T")

# Errors that mean "Redis did not answer": the throttle then lets the attempt through.
_UNAVAILABLE = (redis.RedisError, StorageError, OSError)
_WARN_EVERY_SECONDS = 30.0
# After Redis fails to answer, the throttle stays out of the way this long: one request pays the timeout.
_PAUSE_AFTER_ERROR_SECONDS = 5.0
_MEMO_MAX = 10_000


class TooManyFailedAttempts(DomainError):
    """Too many failed authentications from this address or with this key prefix (a 429)."""

    kind = "too_many_requests"
    code = "TOO_MANY_FAILED_ATTEMPTS"

    def __init__(self, scope: Scope, retry_after: int) -> None:
        what = "from your address" if scope == "address" else "with this API key prefix"
        super().__init__(
            f"Too many failed authentication attempts {what}. Try again in {retry_after} seconds.",
            {"retry_after_seconds": retry_after, "limited_by": scope},
        )
        self.scope = scope
        self.retry_after = retry_after


def failures_key() -> str:
    """A hash of failed authentications, ``{where}:{reason}`` -> count (read by /metrics)."""
    return key("auth", "failures")


def refusals_key() -> str:
    """A hash of attempts the throttle refused, ``{where}:{scope}`` -> count (read by /metrics)."""
    return key("auth", "throttled")


def limiter_key_prefix() -> str:
    """Where the `limits` library keeps its windows in Redis."""
    return key("auth", "limits")


def client_block(address: str | None) -> str:
    """The unit an address is counted as: itself, or its /64 for IPv6."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def key_prefix(raw_key: str) -> str:
    return raw_key[:PREFIX_LENGTH]


def parse_limits(text: str) -> list[RateLimitItem]:
    """A `limits` rate string: ``30/minute``, ``10 per 30 seconds``, ``30/minute;200/hour``; empty: none."""
    return parse_many(text) if text.strip() else []


class AuthThrottle:
    def __init__(
        self,
        limiter: MovingWindowRateLimiter,
        counters: redis.Redis,
        per_address: Sequence[RateLimitItem],
        per_prefix: Sequence[RateLimitItem],
    ) -> None:
        self._limiter = limiter
        self._counters = counters
        self._limits: dict[Scope, Sequence[RateLimitItem]] = {"address": per_address, "prefix": per_prefix}
        # (scope, identifier) -> monotonic deadline: refusals this process learnt from Redis.
        self._memo: dict[tuple[Scope, str], float] = {}
        self._lock = threading.Lock()
        self._last_warning = -math.inf
        self._paused_until = -math.inf

    # --- the in-process memory of refusals ---------------------------------------------------

    def _remembered(self, scope: Scope, ident: str) -> int | None:
        deadline = self._memo.get((scope, ident))
        if deadline is None:
            return None
        left = deadline - time.monotonic()
        if left <= 0:
            with self._lock:
                self._memo.pop((scope, ident), None)
            return None
        return max(1, math.ceil(left))

    def _remember(self, scope: Scope, ident: str, retry_after: int) -> None:
        with self._lock:
            if len(self._memo) >= _MEMO_MAX:
                now = time.monotonic()
                self._memo = {k: v for k, v in self._memo.items() if v > now}
                if len(self._memo) >= _MEMO_MAX:
                    self._memo.clear()
            new = (scope, ident) not in self._memo
            self._memo[(scope, ident)] = time.monotonic() + retry_after
        if new:  # once per process and window: a signal, not a line per attempt
            field = "client" if scope == "address" else "key_prefix"
            extra = {"limited_by": scope, field: ident, "retry_after_seconds": retry_after}
            log.warning("authentication throttled: too many failures", extra=extra)

    def refuses_address(self, address: str | None) -> bool:
        """True while this process knows the address is throttled: no I/O, for the cached paths."""
        if not self._memo:
            return False
        return self._remembered("address", client_block(address)) is not None

    # --- Redis --------------------------------------------------------------------------------

    def _paused(self) -> bool:
        return time.monotonic() < self._paused_until

    def _fail_open(self, what: str) -> None:
        now = time.monotonic()
        self._paused_until = now + _PAUSE_AFTER_ERROR_SECONDS
        if now - self._last_warning >= _WARN_EVERY_SECONDS:
            self._last_warning = now
            log.warning("auth throttle: Redis did not answer while %s; letting attempts through", what)

    def _retry_after(self, scope: Scope, ident: str) -> int | None:
        """Seconds until the next attempt is allowed, or None if it is allowed now."""
        wait = 0.0
        for item in self._limits[scope]:
            stats = self._limiter.get_window_stats(item, scope, ident)
            if stats.remaining <= 0:
                wait = max(wait, stats.reset_time - time.time())
        return max(1, math.ceil(wait)) if wait > 0 else None

    def _count(self, hash_key: str, field: str) -> None:
        if self._paused():
            return
        try:
            self._counters.hincrby(hash_key, field, 1)
        except _UNAVAILABLE:
            self._fail_open("counting")

    # --- the three steps of an authentication ------------------------------------------------

    def admit(self, where: Where, address: str | None, raw_key: str) -> None:
        """Refuse (``TooManyFailedAttempts``) while the address or the key's prefix is throttled."""
        idents: dict[Scope, str] = {"address": client_block(address), "prefix": key_prefix(raw_key)}
        for scope, ident in idents.items():
            retry_after = self._remembered(scope, ident)
            if retry_after is None and not self._paused():
                try:
                    retry_after = self._retry_after(scope, ident)
                except _UNAVAILABLE:
                    self._fail_open("checking the limits")
                    return
                if retry_after is not None:
                    self._remember(scope, ident, retry_after)
            if retry_after is not None:
                self._count(refusals_key(), f"{where}:{scope}")
                raise TooManyFailedAttempts(scope, retry_after)

    def failed(self, where: Where, address: str | None, raw_key: str | None) -> None:
        """Count a failed authentication; a key that was sent also uses up both limits."""
        self._count(failures_key(), f"{where}:{'invalid' if raw_key is not None else 'missing'}")
        if raw_key is None or self._paused():
            return
        idents: dict[Scope, str] = {"address": client_block(address), "prefix": key_prefix(raw_key)}
        try:
            for scope, ident in idents.items():
                for item in self._limits[scope]:
                    self._limiter.hit(item, scope, ident)
        except _UNAVAILABLE:
            self._fail_open("counting a failure")

    def guard(self, where: Where, address: str | None, header: str | None, check: Callable[[], T]) -> T:
        """Authenticate with ``check`` through the throttle (blocking: call it off the event loop)."""
        try:
            raw_key = parse_authorization(header)
        except Unauthorized:
            self.failed(where, address, None)
            raise
        self.admit(where, address, raw_key)
        try:
            return check()
        except Unauthorized:
            self.failed(where, address, raw_key)
            raise


def _redis_options() -> dict[str, Any]:
    # Short timeouts: a stuck Redis must not hold a sign-in for long (the throttle then fails open).
    return {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}


@lru_cache(maxsize=1)
def auth_throttle() -> AuthThrottle:
    settings = get_settings()
    url = settings.require_redis_url()
    # RedisStorage hands the URL to redis-py's from_url, as the rest of Greenlight does: any URL it
    # accepts works here, a password or a unix socket included.
    storage = RedisStorage(url, key_prefix=limiter_key_prefix(), wrap_exceptions=True, **_redis_options())
    return AuthThrottle(
        MovingWindowRateLimiter(storage),
        redis.Redis.from_url(url, **_redis_options()),
        parse_limits(settings.auth_failures_per_address),
        parse_limits(settings.auth_failures_per_prefix),
    )
