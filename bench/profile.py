"""How big and how long each measurement is: the full run and the quick one (CI)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    reps: int
    # wrk (or the fallback client) per repetition, in whole seconds; connections kept open.
    http_seconds: int
    http_connections: int
    # Bounded bursts: promotions (or no-op tasks) sent as fast as the client can, then drained.
    e2e_count: int
    noop_count: int
    burst_concurrency: int
    # Open-loop load at half the sustained rate, for latency; the probe that finds that rate.
    latency_seconds: float
    probe_seconds: float
    probe_steps: int
    # Scale: versions of the big persona, promotion rows of the long history.
    big_versions: int
    small_versions: int
    promote_rounds: int
    big_history: int
    small_history: int
    history_rounds: int
    spread_personas: int = 100
    # Seconds to wait for a burst to drain before the bench calls itself broken.
    drain_timeout: float = 180.0


FULL = Profile(
    name="full",
    reps=3,
    http_seconds=5,
    http_connections=16,
    e2e_count=2000,
    noop_count=5000,
    burst_concurrency=16,
    latency_seconds=8.0,
    probe_seconds=3.0,
    probe_steps=5,
    big_versions=100_000,
    small_versions=10,
    promote_rounds=30,
    big_history=1_000_000,
    small_history=1_000,
    history_rounds=30,
)

QUICK = Profile(
    name="quick",
    reps=3,
    http_seconds=1,
    http_connections=16,
    e2e_count=150,
    noop_count=400,
    burst_concurrency=16,
    latency_seconds=1.5,
    probe_seconds=1.0,
    probe_steps=3,
    big_versions=10_000,
    small_versions=10,
    promote_rounds=6,
    big_history=100_000,
    small_history=1_000,
    history_rounds=6,
    drain_timeout=90.0,
)


def count_label(n: int) -> str:
    """100000 -> '100k', 1000000 -> '1M': for row labels."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)
