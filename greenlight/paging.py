"""The house cursor for lists paged newest first on (an instant, an id): opaque to clients."""

from __future__ import annotations

import base64
from datetime import datetime

from greenlight.errors import InvalidRequest


def encode_cursor(at: datetime, row_id: str) -> str:
    """The cursor of the last row of a page: the next page starts strictly before it."""
    raw = f"{at.isoformat()}|{row_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """(instant, id) of a cursor; 400 ``INVALID_CURSOR`` for anything this module did not make."""
    try:
        at, _, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        if "\x00" in row_id:  # no id holds one, and a database refuses it in text
            raise ValueError(row_id)
        return datetime.fromisoformat(at), row_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest("Invalid cursor", {"cursor": cursor}, code="INVALID_CURSOR") from exc
