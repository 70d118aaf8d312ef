"""Whose data is whose, written once: every read and write of a tenant's rows asks these.

The tenant is a workspace: its members share everything in it. Each rule is one expression over a
row's columns, so the same definition filters a query (given the mapped class, or a Core table's
``.c``) and checks a row already loaded (an instance, a Core row, a cached copy):
``owned_by(Persona, workspace_id)`` is SQL, ``owned_by(persona, workspace_id)`` a bool. Another
workspace's row is refused exactly like a missing one (the caller answers 404 either way).
"""

from __future__ import annotations

from typing import Any, Protocol

# A row of a tenant: a mapped class (the rule as SQL), a Core table's ``.c``, an instance, a loaded
# row or a cached copy (the rule as a bool). Typed loosely: the same expression serves them all.
Row = Any


class Actor(Protocol):
    """Who acts, in which workspace: a caller (``greenlight.keys.Principal``), or a row that acts
    again on its member's behalf (a schedule when due, an operation retried)."""

    @property
    def workspace_id(self) -> str: ...

    @property
    def user_id(self) -> str: ...


def owned_by(row: Row, workspace_id: Any) -> Any:
    """The row is the workspace's (``workspace_id`` may be a value or a column of another row)."""
    return row.workspace_id == workspace_id


def usable_by(row: Row, workspace_id: Any) -> Any:
    """A resource the workspace may use: its own, or shared by the catalogue (no owner)."""
    return (row.workspace_id == None) | owned_by(row, workspace_id)  # noqa: E711


def visible_to(row: Row, workspace_id: Any) -> Any:
    """A persona the workspace's members can see and change: its own, and not deleted."""
    # `== None` (not `is None`): SQL's IS NULL on columns, Python's comparison on values.
    return owned_by(row, workspace_id) & (row.deleted_at == None)  # noqa: E711
