"""The tenancy rules (greenlight/tenancy.py) say the same as SQL and as Python: one definition,
evaluated by a database (an in-memory SQLite) and on loaded rows, agrees on every case."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, create_engine, insert, select

from greenlight.tenancy import owned_by, usable_by, visible_to

ROWS = Table(
    "rows",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("workspace_id", String, nullable=True),
    Column("deleted_at", DateTime, nullable=True),
)
OWNERS = ["alice", "bob", None]
DELETED = [None, datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)]


@pytest.mark.parametrize("rule", [owned_by, usable_by, visible_to])
@pytest.mark.parametrize("asking", ["alice", "bob", "carol"])
def test_the_sql_form_and_the_loaded_form_agree(rule: Callable[[Any, Any], Any], asking: str) -> None:
    engine = create_engine("sqlite://")
    ROWS.create(engine)
    cases = [(owner, deleted) for owner in OWNERS for deleted in DELETED]
    with engine.begin() as connection:
        connection.execute(insert(ROWS), [{"workspace_id": o, "deleted_at": d} for o, d in cases])
        rows = connection.execute(select(ROWS).order_by(ROWS.c.id)).all()
        by_sql = set(connection.scalars(select(ROWS.c.id).where(rule(ROWS.c, asking))))
    by_python = {row.id for row in rows if rule(row, asking)}
    assert by_sql == by_python


def test_what_each_rule_lets_a_tenant_reach() -> None:
    class Loaded:
        def __init__(self, workspace_id: str | None, deleted_at: datetime | None = None) -> None:
            self.workspace_id, self.deleted_at = workspace_id, deleted_at

    now = datetime.now(UTC)
    assert visible_to(Loaded("alice"), "alice") and not visible_to(Loaded("alice", now), "alice")
    assert not visible_to(Loaded("bob"), "alice") and not owned_by(Loaded(None), "alice")
    assert usable_by(Loaded(None), "alice") and usable_by(Loaded("alice"), "alice")
    assert not usable_by(Loaded("bob"), "alice")
