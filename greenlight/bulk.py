"""Rows for several tables written in as few round trips as the database allows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import groupby
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, func, insert, literal_column, select, update
from sqlalchemy.sql.dml import ReturningInsert, Update

from greenlight.dialects import capabilities_of
from greenlight.models.base import Base
from greenlight.precompiled import Precompiled

Rows = list[dict[str, Any]]
_InsertShape = tuple[str, int, tuple[str, ...]]
_UpdateShape = tuple[str, tuple[str, ...], tuple[str, ...]]

# Up to this many rows per table (inserted, or updated) go in one statement, compiled once per
# shape. Longer runs write a table a statement: their round trips are shared by many rows anyway.
MAX_ROWS_TOGETHER = 4


@dataclass(frozen=True)
class RowUpdate:
    """Set `values` on the row of `table` whose primary key (one column) is `key`, provided its
    columns still hold `expected` (a compare-and-set)."""

    table: Table
    key: Any
    values: dict[str, Any]
    expected: dict[str, Any] = field(default_factory=dict)

    def shape(self) -> _UpdateShape:
        return (self.table.name, tuple(self.values), tuple(self.expected))


@dataclass
class Writes:
    """One transaction's writes, sent together: the `before` updates, the inserts, then the
    `after` updates (which may name rows just inserted).

    On PostgreSQL, when no table has more than `MAX_ROWS_TOGETHER` rows in it, they go as one
    statement (a data-modifying WITH each), which saves a round trip per statement. PostgreSQL runs
    such sub-statements in no set order, all on one snapshot: whoever adds writes vouches that no
    two of them touch one row, and that every constraint they could trip together is checked at
    the end of the statement (foreign keys, deferrable constraints), not row by row. Elsewhere:
    one statement per update shape and per table, in the order above."""

    before: list[RowUpdate] = field(default_factory=list)
    inserts: list[tuple[Table, Rows]] = field(default_factory=list)
    after: list[RowUpdate] = field(default_factory=list)

    def send(self, connection: Connection) -> bool:
        """Write everything; whether every update found its row (and its expected values)."""
        inserts = [(table, rows) for table, rows in self.inserts if rows]
        updates = [*self.before, *self.after]
        if not inserts and not updates:
            return True
        per_table: dict[str, int] = {}
        for row_update in updates:
            per_table[row_update.table.name] = per_table.get(row_update.table.name, 0) + 1
        if capabilities_of(connection).writes_in_one_statement and all(
            count <= MAX_ROWS_TOGETHER for count in (*per_table.values(), *(len(rows) for _, rows in inserts))
        ):
            return self._send_together(connection, inserts, updates)
        matched = _update_each(connection, self.before)
        for table, rows in inserts:
            # RETURNING makes SQLAlchemy send the rows as one multi-row INSERT.
            connection.execute(_insert_statement(table.name), rows).all()
        return _update_each(connection, self.after) and matched

    @staticmethod
    def _send_together(
        connection: Connection, inserts: list[tuple[Table, Rows]], updates: list[RowUpdate]
    ) -> bool:
        shapes = tuple((table.name, len(rows), tuple(rows[0])) for table, rows in inserts)
        params = {
            f"t{n}_{i}_{column}": value
            for n, (_, rows) in enumerate(inserts)
            for i, row in enumerate(rows)
            for column, value in row.items()
        }
        for u, row_update in enumerate(updates):
            params[f"u{u}_key"] = row_update.key
            params.update({f"u{u}_{column}": value for column, value in row_update.values.items()})
            params.update({f"u{u}_was_{column}": value for column, value in row_update.expected.items()})
        statement = _together(shapes, tuple(row_update.shape() for row_update in updates))
        found = statement.execute(connection, params).one()
        return all(count == 1 for count in found)


@lru_cache(maxsize=32)
def _insert_statement(name: str) -> ReturningInsert[Any]:
    table = Base.metadata.tables[name]
    return insert(table).returning(*table.primary_key.columns)


@lru_cache(maxsize=128)
def _update_statement(shape: _UpdateShape, prefix: str) -> Update:
    """Built once per shape: building a statement costs about as much as sending it."""
    name, columns, expected = shape
    table = Base.metadata.tables[name]
    (key,) = table.primary_key.columns
    conditions = [key == bindparam(f"{prefix}key", type_=key.type)]
    conditions += [
        table.c[column] == bindparam(f"{prefix}was_{column}", type_=table.c[column].type)
        for column in expected
    ]
    return (
        update(table)
        .where(and_(*conditions))
        .values({column: bindparam(f"{prefix}{column}", type_=table.c[column].type) for column in columns})
    )


def _update_each(connection: Connection, updates: Sequence[RowUpdate]) -> bool:
    """Consecutive updates of one shape as one executemany; whether each found its row."""
    matched = True
    for shape, same in groupby(updates, key=RowUpdate.shape):
        group = list(same)
        params = [
            {
                "u_key": row_update.key,
                **{f"u_{column}": value for column, value in row_update.values.items()},
                **{f"u_was_{column}": value for column, value in row_update.expected.items()},
            }
            for row_update in group
        ]
        result = connection.execute(_update_statement(shape, "u_"), params)
        matched = matched and result.rowcount == len(group)
    return matched


@lru_cache(maxsize=128)
def _together(inserts: tuple[_InsertShape, ...], updates: tuple[_UpdateShape, ...]) -> Precompiled:
    ctes: list[Any] = []
    counts: list[Any] = []
    for u, shape in enumerate(updates):
        table = Base.metadata.tables[shape[0]]
        (key,) = table.primary_key.columns
        updated = _update_statement(shape, f"u{u}_").returning(key).cte(f"updated_{u}")
        ctes.append(updated)
        counts.append(select(func.count()).select_from(updated).scalar_subquery())
    for n, (name, count, columns) in enumerate(inserts):
        table = Base.metadata.tables[name]
        rows = [
            {column: bindparam(f"t{n}_{i}_{column}", type_=table.c[column].type) for column in columns}
            for i in range(count)
        ]
        ctes.append(insert(table).values(rows).cte(f"inserted_{n}"))
    # The updates' row counts (nothing when there are none): data-modifying WITHs run whether or not
    # the query reads them.
    return Precompiled(select(*counts or [literal_column("1")]).add_cte(*ctes))
