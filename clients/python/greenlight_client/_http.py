"""The transport: base URL, authentication, timeouts, and retries that never double an effect.

Every mutating request carries an ``Idempotency-Key`` (a uuid4 unless the caller gives one), and every
retry of it carries the same key, so the server answers a retry as it answered the first attempt
instead of doing the change again. Retried: connection errors, timeouts, 5xx and 429 (after its
``Retry-After``), with exponential backoff and full jitter, at most ``max_retries`` times.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from greenlight_client import __version__
from greenlight_client.errors import (
    APIConnectionError,
    APITimeoutError,
    error_from_response,
    retry_after_seconds,
)

DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 3
# The server waits for an outcome at most 30 s (GREENLIGHT_MAX_WAIT_SECONDS by default).
SERVER_MAX_WAIT = 30.0
INITIAL_BACKOFF = 0.25
MAX_BACKOFF = 8.0
MAX_RETRY_AFTER = 60.0
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

Params = Mapping[str, str | int | list[str] | None]


def backoff_delay(attempt: int, *, initial: float = INITIAL_BACKOFF, cap: float = MAX_BACKOFF) -> float:
    """Full jitter: a random delay in [0, min(cap, initial * 2**attempt)]."""
    return random.uniform(0, min(cap, initial * 2**attempt))


def _retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


class HTTP:
    """One ``httpx.Client`` with the API key, the base URL and the retry policy."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.timeout = timeout
        self.max_retries = max_retries
        self._sleep = sleep
        headers = {
            "authorization": f"Bearer {api_key}",
            "user-agent": f"greenlight-client/{__version__}",
            "accept": "application/json",
        }
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/", headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        ok_statuses: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """Send with retries; a 2xx (or a status in ``ok_statuses``) is returned, anything else raised
        as its typed error (:mod:`greenlight_client.errors`)."""
        sent = dict(headers or {})
        if method.upper() in MUTATING:
            sent["idempotency-key"] = idempotency_key or str(uuid.uuid4())
        query = {name: value for name, value in (params or {}).items() if value is not None}
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, json=json, params=query, headers=sent)
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise _connection_error(exc) from exc
                self._sleep(backoff_delay(attempt))
                attempt += 1
                continue
            if response.is_success or response.status_code in ok_statuses:
                return response
            if _retryable_status(response.status_code) and attempt < self.max_retries:
                self._sleep(self._delay(response, attempt))
                attempt += 1
                continue
            raise error_from_response(response)

    def _delay(self, response: httpx.Response, attempt: int) -> float:
        server_says = retry_after_seconds(response)
        if server_says is not None:
            return min(server_says, MAX_RETRY_AFTER)
        return backoff_delay(attempt)


def _connection_error(exc: httpx.TransportError) -> APIConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"request timed out: {exc!r}")
    return APIConnectionError(f"could not reach the server: {exc!r}")
