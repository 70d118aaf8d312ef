"""How long a request waits for its outcome (RFC 7240 ``Prefer``), capped by the settings."""

from __future__ import annotations

import pytest

from api.deps import wait_seconds
from greenlight.settings import get_settings


@pytest.mark.parametrize(
    ("prefer", "default", "expected"),
    [
        (None, 30.0, 30.0),
        ("", 5.0, 5.0),
        ("respond-async", 30.0, 0.0),
        ("RESPOND-ASYNC", 30.0, 0.0),
        ("wait=2", 0.0, 2.0),
        ('wait="2.5"', 0.0, 2.5),
        ("respond-async, wait=3", 30.0, 3.0),  # the later preference wins
        ("wait=3, respond-async", 30.0, 0.0),
        ("wait=-4", 30.0, 0.0),
        ("wait=soon", 7.0, 7.0),  # unreadable: the default stands
        ("handling=lenient", 7.0, 7.0),
        ("wait=1000", 0.0, get_settings().max_wait_seconds),
    ],
)
def test_prefer_sets_the_wait(prefer: str | None, default: float, expected: float) -> None:
    assert wait_seconds(prefer, default) == expected


def test_the_default_is_capped_too() -> None:
    assert wait_seconds(None, 10_000.0) == get_settings().max_wait_seconds
