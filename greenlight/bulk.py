"""Rows for several tables written in as few round trips as the database allows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect, Table, bindparam, insert

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
    dialect = connection.dialect
    if dialect.name == "postgresql" and all(len(rows) <= MAX_ROWS_TOGETHER for _, rows in inserts):
        shape = tuple((table.name, len(rows), tuple(rows[0])) for table, rows in inserts)
        sql, processors = _together(shape, dialect)
        params: dict[str, Any] = {}
        for n, (_, rows) in enumerate(inserts):
            for i, row in enumerate(rows):
                for column, value in row.items():
                    name = f"t{n}_{i}_{column}"
                    process = processors[name]
                    params[name] = value if process is None else process(value)
        # Compiled once (SQLAlchemy does not cache a statement with data-modifying WITH): the values
        # go through their columns' bind processors here, as SQLAlchemy's execute would do.
        connection.exec_driver_sql(sql, params)
        return
    for table, rows in inserts:
        # RETURNING makes SQLAlchemy send the rows as one multi-row INSERT.
        connection.execute(insert(table).returning(*table.primary_key.columns), rows).all()


@lru_cache(maxsize=128)
def _together(shape: _Shape, dialect: Dialect) -> tuple[str, dict[str, Callable[[Any], Any] | None]]:
    from greenlight.models.base import Base

    statements = []
    processors: dict[str, Callable[[Any], Any] | None] = {}
    for n, (name, count, columns) in enumerate(shape):
        table = Base.metadata.tables[name]
        values = []
        for i in range(count):
            row = {}
            for column in columns:
                key = f"t{n}_{i}_{column}"
                column_type = table.c[column].type
                row[column] = bindparam(key, type_=column_type)
                processors[key] = column_type.dialect_impl(dialect).bind_processor(dialect)
            values.append(row)
        statements.append(insert(table).values(values))
    *before, statement = statements
    for n, earlier in enumerate(before):
        statement = statement.add_cte(earlier.cte(f"inserted_{n}"))
    return str(statement.compile(dialect=dialect)), processors
