"""What the code may rely on from each database (greenlight/dialects.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, create_mock_engine
from sqlalchemy.orm import Session

from greenlight.dialects import POSTGRESQL, SQLITE, capabilities_of


def test_each_supported_database_is_known_by_its_engine_session_or_connection_alike() -> None:
    sqlite = create_engine("sqlite://")
    assert capabilities_of(sqlite) is SQLITE
    assert capabilities_of(Session(sqlite)) is SQLITE
    assert capabilities_of(create_engine("postgresql+psycopg://u@127.0.0.1/db")) is POSTGRESQL


def test_sqlite_is_never_asked_for_what_only_postgresql_does() -> None:
    assert not (SQLITE.writes_in_one_statement or SQLITE.autocommit_statements or SQLITE.concurrent_writers)
    assert POSTGRESQL.writes_in_one_statement and POSTGRESQL.concurrent_writers


def test_another_database_is_refused_by_name() -> None:
    with pytest.raises(RuntimeError, match="mysql"):
        capabilities_of(create_mock_engine("mysql://", executor=print))  # type: ignore[arg-type]
