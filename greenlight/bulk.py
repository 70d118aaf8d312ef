"""Rows for several tables written in as few round trips as the database allows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, update

from greenlight.models.base import Base
from greenlight.precompiled import Precompiled

Rows = list[dict[str, Any]]
_Shape = tuple[tuple[str, int, tuple[str, ...]], ...]
_UpdateShape = tuple[str, tuple[str, ...]] | None

# Up to this many rows per table go in one statement, compiled once per shape. Longer runs write a
# table a statement: their round trips are shared by many rows anyway.
MAX_ROWS_TOGETHER = 4


@dataclass(frozen=True)
class RowUpdate:
    """Set `values` on the row of `table` whose primary key (one column) is `key`."""

    table: Table
    key: Any
    values: dict[str, Any]


def insert_together(
    connection: Connection, inserts: Sequence[tuple[Table, Rows]], first: RowUpdate | None = None
) -> None:
    """Update `first`, then insert each table's rows.

    On PostgreSQL a few rows go as one statement (a data-modifying WITH per table but the last, and
    one for the update), which saves a round trip per table. PostgreSQL runs such sub-statements in
    no set order: a caller that passes `first` vouches that every constraint the update and the
    inserts could trip together is checked at the end of the statement (deferrable), not row by
    row. Elsewhere: the update, then one multi-row INSERT per table."""
    inserts = [(table, rows) for table, rows in inserts if rows]
    if not inserts and first is None:
        return
    if connection.dialect.name == "postgresql" and all(len(rows) <= MAX_ROWS_TOGETHER for _, rows in inserts):
        shape = tuple((table.name, len(rows), tuple(rows[0])) for table, rows in inserts)
        params = {
            f"t{n}_{i}_{column}": value
            for n, (_, rows) in enumerate(inserts)
            for i, row in enumerate(rows)
            for column, value in row.items()
        }
        updated: _UpdateShape = None
        if first is not None:
            updated = (first.table.name, tuple(first.values))
            params["u_key"] = first.key
            params.update({f"u_{column}": value for column, value in first.values.items()})
        _together(shape, updated).execute(connection, params)
        return
    if first is not None:
        (key,) = first.table.primary_key.columns
        connection.execute(update(first.table).where(key == first.key).values(first.values))
    for table, rows in inserts:
        # RETURNING makes SQLAlchemy send the rows as one multi-row INSERT.
        connection.execute(insert(table).returning(*table.primary_key.columns), rows).all()


@lru_cache(maxsize=128)
def _together(shape: _Shape, updated: _UpdateShape) -> Precompiled:
    statements: list[Any] = []
    if updated is not None:
        name, columns = updated
        table = Base.metadata.tables[name]
        (key,) = table.primary_key.columns
        statements.append(
            update(table)
            .where(key == bindparam("u_key", type_=key.type))
            .values({column: bindparam(f"u_{column}", type_=table.c[column].type) for column in columns})
        )
    for n, (name, count, columns) in enumerate(shape):
        table = Base.metadata.tables[name]
        rows = [
            {column: bindparam(f"t{n}_{i}_{column}", type_=table.c[column].type) for column in columns}
            for i in range(count)
        ]
        statements.append(insert(table).values(rows))
    *before, statement = statements
    for n, earlier in enumerate(before):
        statement = statement.add_cte(earlier.cte(f"written_{n}"))
    return Precompiled(statement)
