"""Statements SQLAlchemy will not cache, compiled once per dialect and run on the driver directly.

SQLAlchemy compiles a statement with a data-modifying WITH afresh on every execution (it cannot
cache it), which cost more than the round trips such a statement saves. A `Precompiled` renders it
once per dialect and, on each execution, passes every value through its column type's bind
processor, as SQLAlchemy's own execute would, before handing SQL and values to the driver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, CursorResult, Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

_Processors = dict[str, Callable[[Any], Any] | None]


class Precompiled:
    def __init__(self, statement: ClauseElement) -> None:
        self._statement = statement
        self._compiled: dict[str, tuple[str, _Processors]] = {}

    def _for(self, dialect: Dialect) -> tuple[str, _Processors]:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self._statement.compile(dialect=dialect)
            assert isinstance(compiled, SQLCompiler)
            processors: _Processors = {}
            for name, bind in compiled.binds.items():
                # Values are passed by their bind parameters' names: these must be rendered as is.
                assert compiled.bind_names[bind] == name, (name, compiled.bind_names[bind])
                processors[name] = bind.type.dialect_impl(dialect).bind_processor(dialect)
            found = self._compiled[dialect.name] = (str(compiled), processors)
        return found

    def execute(self, connection: Connection, params: dict[str, Any]) -> CursorResult[Any]:
        sql, processors = self._for(connection.dialect)
        processed = {}
        for name, value in params.items():
            process = processors[name]
            processed[name] = value if process is None else process(value)
        return connection.exec_driver_sql(sql, processed)
