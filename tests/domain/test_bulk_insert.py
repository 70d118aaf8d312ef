"""On PostgreSQL a single promotion's writes go in one statement (``greenlight.bulk``): it must write
exactly what one statement per table writes, column by column, SQL NULL and JSON null told apart,
and refuse a compare-and-set as the statement of its own would."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from greenlight import bulk, kinds
from greenlight.db import unit_of_work
from greenlight.dispatch import NullDispatcher
from greenlight.models import Operation, OutboxEvent, Persona, PersonaVersion, Promotion
from greenlight.models.base import table_of
from greenlight.operations.engine import Engine
from greenlight.operations.submit import Submission, submit
from tests.support.actors import Acting
from tests.support.workloads import make_persona, make_user

_TABLES = [table_of(PersonaVersion), table_of(Promotion), table_of(OutboxEvent)]
_OPERATIONS, _PERSONAS = table_of(Operation), table_of(Persona)
_IDS_AND_TIMES = re.compile(r"[0-9a-f]{8}-[0-9a-f-]{27}|\d{4}-\d\d-\d\d[T ][\d:.+]+Z?")


def _written(persona: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every column but ids and times (also inside JSON), as the database renders it in text."""
    found = {}
    with unit_of_work() as session:
        for table in _TABLES:
            skipped = ("_id", "_at", "global_seq")
            columns = [c for c in table.columns if not (c.name == "id" or c.name.endswith(skipped))]
            query = sa.select(*(sa.cast(c, sa.Text) for c in columns)).where(table.c.persona_id == persona)
            found[table.name] = sorted(
                tuple(None if value is None else _IDS_AND_TIMES.sub("<>", value) for value in row)
                for row in session.execute(query)
            )
        # What the engine writes with them: each operation finished, the persona's revision bumped.
        operations = _OPERATIONS.c
        query = sa.select(operations.status, operations.attempts, sa.cast(operations.result, sa.Text))
        finished = session.execute(query.where(operations.persona_id == persona).order_by(operations.seq))
        found["operations"] = [(s, a, _IDS_AND_TIMES.sub("<>", r)) for s, a, r in finished]
        personas = _PERSONAS.c
        query = sa.select(personas.revision, personas.last_version_number, personas.last_event_seq)
        found["personas"] = [tuple(row) for row in session.execute(query.where(personas.id == persona))]
    return found


def _promoted(user: Acting, notes: str | None) -> str:
    persona = make_persona(user)
    payload = {} if notes is None else {"notes": notes}
    for _ in range(2):  # the second one archives the first one's version (an UPDATE with them)
        submit(user, Submission(kinds.PERSONA_PROMOTE.name, payload, persona), NullDispatcher())
        assert Engine(kinds.REGISTRY).drain(persona) == 1
    return persona


@pytest.mark.parametrize("notes", [None, "with notes"])
def test_one_statement_writes_what_a_statement_per_table_writes(
    services: dict[str, str], monkeypatch: pytest.MonkeyPatch, notes: str | None
) -> None:
    user = make_user()
    together = _promoted(user, notes)
    monkeypatch.setattr(bulk, "MAX_ROWS_TOGETHER", 0)  # every table on its own
    apart = _promoted(user, notes)
    written = _written(together)
    assert written == _written(apart)
    assert all(written.values())  # each table got rows


@pytest.mark.parametrize("together", [bulk.MAX_ROWS_TOGETHER, 0])
def test_a_compare_and_set_that_finds_the_row_moved_on_is_refused(
    services: dict[str, str], monkeypatch: pytest.MonkeyPatch, together: int
) -> None:
    monkeypatch.setattr(bulk, "MAX_ROWS_TOGETHER", together)  # in one statement, or its own
    persona = make_persona(make_user())
    with unit_of_work() as session:
        revision = session.scalar(sa.select(_PERSONAS.c.revision).where(_PERSONAS.c.id == persona))
    assert revision is not None

    def bump(expected: int) -> bool:
        with unit_of_work() as session:
            change = bulk.RowUpdate(_PERSONAS, persona, {"revision": expected + 1}, {"revision": expected})
            return bulk.Writes(after=[change]).send(session.connection())

    assert bump(revision - 1) is False  # stale: nothing matched
    assert bump(revision) is True
    with unit_of_work() as session:
        assert (
            session.scalar(sa.select(_PERSONAS.c.revision).where(_PERSONAS.c.id == persona)) == revision + 1
        )
