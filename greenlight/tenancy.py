"""Whose data is whose, written once: every read and write of a tenant's rows asks these.

Each rule is one expression over a row's columns, so the same definition filters a query (given
the mapped class, or a Core table's ``.c``) and checks a row already loaded (an instance, a Core
row, a cached copy): ``owned_by(Persona, user_id)`` is SQL, ``owned_by(persona, user_id)`` a bool.
Someone else's row is refused exactly like a missing one (the caller answers 404 either way).
"""

from __future__ import annotations

from typing import Any

# A row of a tenant: a mapped class (the rule as SQL), a Core table's ``.c``, an instance, a loaded
# row or a cached copy (the rule as a bool). Typed loosely: the same expression serves them all.
Row = Any


def owned_by(row: Row, user_id: Any) -> Any:
    """The row is the tenant's (``user_id`` may be a value or a column of another row)."""
    return row.user_id == user_id


def usable_by(row: Row, user_id: Any) -> Any:
    """A resource the tenant may use: theirs, or shared by the catalogue (no owner)."""
    return (row.user_id == None) | owned_by(row, user_id)  # noqa: E711


def visible_to(row: Row, user_id: Any) -> Any:
    """A persona the tenant can see and change: theirs, and not deleted."""
    # `== None` (not `is None`): SQL's IS NULL on columns, Python's comparison on values.
    return owned_by(row, user_id) & (row.deleted_at == None)  # noqa: E711
