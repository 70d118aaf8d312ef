"""The house cursor (greenlight/paging.py): what it makes it reads back; anything else is a 400."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from greenlight.errors import InvalidRequest
from greenlight.paging import decode_cursor, encode_cursor


def test_a_cursor_reads_back_what_it_was_made_of() -> None:
    at = datetime(2026, 12, 3, 16, 0, 0, 123456, tzinfo=UTC)
    assert decode_cursor(encode_cursor(at, "0b0e-id")) == (at, "0b0e-id")


@pytest.mark.parametrize(
    "raw",
    [b"not a date|id", b"2026-01-01T00:00:00|\x00", b"\xff\xfe", b""],
    ids=["date", "nul", "utf8", "empty"],
)
def test_anything_else_is_an_invalid_cursor(raw: bytes) -> None:
    with pytest.raises(InvalidRequest) as refused:
        decode_cursor(base64.urlsafe_b64encode(raw).decode())
    assert refused.value.code == "INVALID_CURSOR"
    with pytest.raises(InvalidRequest):
        decode_cursor("not base64 at all!")
