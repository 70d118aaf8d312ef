"""The database itself refuses a second production version of one persona, whatever writes it.

On PostgreSQL the rule is an exclusion constraint checked at the end of each statement (so one
statement may archive the old version and insert the new one); on SQLite a partial unique index."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from greenlight import kinds
from greenlight.clock import new_id
from greenlight.db import get_engine, unit_of_work
from greenlight.dispatch import NullDispatcher
from greenlight.models import PersonaVersion, VersionStatus
from greenlight.models.base import table_of
from greenlight.operations.engine import Engine
from greenlight.operations.submit import Submission, submit
from tests.support.workloads import make_persona, make_user

_VERSIONS = table_of(PersonaVersion)
PUBLISHED = VersionStatus.PUBLISHED.value


def _promoted_persona() -> str:
    user = make_user()
    persona = make_persona(user)
    for _ in range(2):  # the second promotion archives the first's version
        submit(user, Submission(kinds.PERSONA_PROMOTE.name, {}, persona), NullDispatcher())
        assert Engine(kinds.REGISTRY).drain(persona) == 1
    return persona


def _statuses(persona: str) -> list[str]:
    with unit_of_work() as session:
        query = sa.select(_VERSIONS.c.status).where(_VERSIONS.c.persona_id == persona)
        return sorted(session.scalars(query))


def _another_published(connection: sa.Connection, persona: str) -> dict[str, Any]:
    """A copy of the persona's production version, as a second published row."""
    production = connection.execute(
        sa.select(_VERSIONS).where(_VERSIONS.c.persona_id == persona, _VERSIONS.c.status == PUBLISHED)
    ).one()
    top = connection.scalar(
        sa.select(sa.func.max(_VERSIONS.c.version_number)).where(_VERSIONS.c.persona_id == persona)
    )
    return {**production._asdict(), "id": new_id(), "version_number": int(top or 0) + 1}


def test_promotions_leave_one_production_version_and_archive_the_rest(services: dict[str, str]) -> None:
    persona = _promoted_persona()
    statuses = _statuses(persona)
    assert statuses.count(PUBLISHED) == 1
    assert VersionStatus.ARCHIVED.value in statuses


def test_the_database_refuses_a_second_production_version(services: dict[str, str]) -> None:
    persona = _promoted_persona()
    before = _statuses(persona)
    with pytest.raises(IntegrityError), get_engine().begin() as connection:
        connection.execute(sa.insert(_VERSIONS), [_another_published(connection, persona)])
    assert _statuses(persona) == before


def test_a_writer_cannot_add_a_production_version_beside_a_promotion_in_flight(
    services: dict[str, str],
) -> None:
    """One transaction promotes (archives the production version, inserts a new one) and has not
    committed; another inserts a published version without archiving anything. The second waits for
    the first, and is refused once the first commits: one production version at every instant."""
    if get_engine().dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: two write transactions never overlap")
    persona = _promoted_persona()
    first = get_engine().connect()
    first_tx = first.begin()
    row = _another_published(first, persona)
    first.execute(
        sa.update(_VERSIONS)
        .where(_VERSIONS.c.persona_id == persona, _VERSIONS.c.status == PUBLISHED)
        .values(status=VersionStatus.ARCHIVED.value)
    )
    first.execute(sa.insert(_VERSIONS), [row])
    outcome: list[BaseException | None] = []

    def second() -> None:
        try:
            with get_engine().begin() as connection:
                connection.execute(sa.insert(_VERSIONS), [{**row, "id": new_id(), "version_number": 999}])
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive()  # waiting to learn whether the first one's rows stand
    first_tx.commit()
    first.close()
    thread.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], IntegrityError)
    assert _statuses(persona).count(PUBLISHED) == 1
