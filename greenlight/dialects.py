"""Every difference between PostgreSQL and SQLite the code relies on, in one place.

Callers ask what the database can do (``capabilities_of(bind).writes_in_one_statement``), never
which database it is; the engine's own set-up (SQLite's pragmas, pool options) stays in
``greenlight/db.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

# INSERT ... ON CONFLICT, in the dialect's own construct (both take the same arguments).
UpsertInsert = postgresql.Insert | sqlite.Insert


def _epoch_seconds(end: Any, start: Any) -> ColumnElement[Any]:
    return func.extract("epoch", end - start)


def _julian_seconds(end: Any, start: Any) -> ColumnElement[Any]:
    # SQLite stores timestamps as ISO text; julianday() reads it.
    return (func.julianday(end) - func.julianday(start)) * 86400.0


@dataclass(frozen=True)
class Capabilities:
    name: str
    # Statements that write several tables at once (data-modifying CTEs), and several statements
    # sent in one round trip.
    writes_in_one_statement: bool
    # A statement may commit by itself (autocommit): no BEGIN and COMMIT round trips around it.
    autocommit_statements: bool
    # Several transactions may write at once (row locks); SQLite has a single writer, and a
    # deferred transaction that meets another's write fails instead of waiting.
    concurrent_writers: bool
    _insert: Callable[[Table], UpsertInsert]
    seconds_between: Callable[[Any, Any], ColumnElement[Any]]

    def upsert(self, table: Table) -> UpsertInsert:
        """An INSERT that can take ``on_conflict_do_nothing``/``on_conflict_do_update``."""
        return self._insert(table)


POSTGRESQL = Capabilities(
    name="postgresql",
    writes_in_one_statement=True,
    autocommit_statements=True,
    concurrent_writers=True,
    _insert=postgresql.insert,
    seconds_between=_epoch_seconds,
)
SQLITE = Capabilities(
    name="sqlite",
    writes_in_one_statement=False,
    autocommit_statements=False,
    concurrent_writers=False,
    _insert=sqlite.insert,
    seconds_between=_julian_seconds,
)
_BY_NAME = {POSTGRESQL.name: POSTGRESQL, SQLITE.name: SQLITE}


def capabilities_of(bind: Session | Connection | Engine) -> Capabilities:
    """What the database behind this session, connection or engine can do."""
    dialect = bind.get_bind().dialect if isinstance(bind, Session) else bind.dialect
    try:
        return _BY_NAME[dialect.name]
    except KeyError:
        raise RuntimeError(f"Greenlight runs on PostgreSQL or SQLite, not {dialect.name}") from None
