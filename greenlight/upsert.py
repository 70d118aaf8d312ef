"""Inserting a row that a concurrent transaction may be inserting too, through the database's own
conflict handling (``INSERT ... ON CONFLICT DO NOTHING``, PostgreSQL and SQLite alike).

A get-or-create that reads, then inserts, lets two writers both find nothing and one of them fail
on the unique constraint. Here the insert comes first: on a row a concurrent transaction holds, it
waits for that transaction (PostgreSQL's unique index; SQLite's single writer) and then does
nothing, so the read that follows finds the row whichever writer made it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from greenlight.dialects import capabilities_of
from greenlight.models.base import Base, table_of


def insert_missing(
    session: Session, model: type[Base], values: dict[str, Any], conflict: Sequence[str]
) -> bool:
    """Insert the row unless one with the same ``conflict`` columns exists; whether it was inserted.

    Python-side column defaults (ids, timestamps) are filled in as for any Core insert.
    """
    table = table_of(model)
    statement = (
        capabilities_of(session)
        .upsert(table)
        .values(values)
        .on_conflict_do_nothing(index_elements=list(conflict))
        .returning(*table.primary_key.columns)
    )
    return session.execute(statement).first() is not None
