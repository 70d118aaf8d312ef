"""Rows for several tables written in as few round trips as the database allows."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert

from greenlight.models.base import Base
from greenlight.precompiled import Precompiled

Rows = list[dict[str, Any]]
_Shape = tuple[tuple[str, int, tuple[str, ...]], ...]

# Up to this many rows per table go in one statement, compiled once per shape. Longer runs write a
# table a statement: their round trips are shared by many rows anyway.
MAX_ROWS_TOGETHER = 4


def insert_together(connection: Connection, inserts: Sequence[tuple[Table, Rows]]) -> None:
    """Insert each table's rows. On PostgreSQL a few rows go as one statement (a data-modifying WITH
    per table but the last), which saves a round trip per table; otherwise one multi-row INSERT per
    table."""
    inserts = [(table, rows) for table, rows in inserts if rows]
    if not inserts:
        return
    if connection.dialect.name == "postgresql" and all(len(rows) <= MAX_ROWS_TOGETHER for _, rows in inserts):
        shape = tuple((table.name, len(rows), tuple(rows[0])) for table, rows in inserts)
        params = {
            f"t{n}_{i}_{column}": value
            for n, (_, rows) in enumerate(inserts)
            for i, row in enumerate(rows)
            for column, value in row.items()
        }
        _together(shape).execute(connection, params)
        return
    for table, rows in inserts:
        # RETURNING makes SQLAlchemy send the rows as one multi-row INSERT.
        connection.execute(insert(table).returning(*table.primary_key.columns), rows).all()


@lru_cache(maxsize=128)
def _together(shape: _Shape) -> Precompiled:
    statements = []
    for n, (name, count, columns) in enumerate(shape):
        table = Base.metadata.tables[name]
        rows = [
            {column: bindparam(f"t{n}_{i}_{column}", type_=table.c[column].type) for column in columns}
            for i in range(count)
        ]
        statements.append(insert(table).values(rows))
    *before, statement = statements
    for n, earlier in enumerate(before):
        statement = statement.add_cte(earlier.cte(f"inserted_{n}"))
    return Precompiled(statement)
