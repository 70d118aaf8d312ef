"""Numbers written in ASCII digits: ``str.isdigit`` also accepts digits that ``int`` refuses ("²")."""

from __future__ import annotations

import re

# The documented form of positions and cursors (18 digits always fit a 64-bit integer).
POSITION_PATTERN = r"^[0-9]{1,18}$"
_POSITION = re.compile(POSITION_PATTERN)
_DIGITS = re.compile(r"[0-9]+")


def is_position(text: str) -> bool:
    """1 to 18 ASCII digits: an event id or a page cursor."""
    return _POSITION.fullmatch(text) is not None


def is_ascii_number(text: str) -> bool:
    return _DIGITS.fullmatch(text) is not None
