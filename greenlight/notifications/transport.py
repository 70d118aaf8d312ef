"""One webhook request: SSRF-checked at send time, pinned to the checked address, no redirects,
within a total deadline."""

from __future__ import annotations

import asyncio
import email.utils
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from greenlight.digits import is_ascii_number
from greenlight.notifications.ssrf import DestinationRefused, check_destination

USER_AGENT = "Greenlight-Webhooks/1.0"
MAX_ERROR_LENGTH = 500


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    latency_ms: int
    error: str | None = None
    retry_after_seconds: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds (``120``) or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if is_ascii_number(text):
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def post(
    url: str, body: bytes, headers: dict[str, str], *, timeout: float, allow_private: bool
) -> AttemptResult:
    """POST once, within ``timeout`` seconds in all (resolution, connection, sending, the answer's
    headers). The host is resolved and every address checked now (DNS may have changed since
    registration); the connection goes only to checked addresses, with the original Host and TLS name."""
    started = time.monotonic()
    try:
        return asyncio.run(
            asyncio.wait_for(_post(url, body, headers, timeout, allow_private, started), timeout)
        )
    except TimeoutError:
        return AttemptResult(None, _elapsed(started), f"timed out after {timeout:g} s")


def _elapsed(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


async def _post(
    url: str, body: bytes, headers: dict[str, str], timeout: float, allow_private: bool, started: float
) -> AttemptResult:
    try:
        destination = await asyncio.to_thread(check_destination, url, allow_private=allow_private)
    except DestinationRefused as exc:
        return AttemptResult(None, _elapsed(started), f"refused: {exc.reason}")
    target = httpx.URL(url)
    request_headers = {
        **headers,
        "host": target.netloc.decode("ascii"),
        "user-agent": USER_AGENT,
        "content-type": "application/json",
    }
    error = "no address"
    async with httpx.AsyncClient(follow_redirects=False, timeout=timeout, trust_env=False) as client:
        # Connect only to addresses just checked (never re-resolve), trying each in turn.
        for address in destination.addresses:
            request = client.build_request(
                "POST",
                target.copy_with(host=str(address)),
                content=body,
                headers=request_headers,
                extensions={"sni_hostname": destination.host},
            )
            try:
                response = await client.send(request, stream=True)
            except httpx.ConnectError as exc:
                error = f"ConnectError ({address}): {exc}"
                continue
            except httpx.HTTPError as exc:
                return AttemptResult(
                    None, _elapsed(started), f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]
                )
            await response.aclose()  # the body is not read: only the status (and Retry-After) matter
            retry_after = None
            if response.status_code in (429, 503):
                retry_after = parse_retry_after(response.headers.get("retry-after"), datetime.now(UTC))
            return AttemptResult(response.status_code, _elapsed(started), None, retry_after)
    return AttemptResult(None, _elapsed(started), error[:MAX_ERROR_LENGTH])
