"""The drain's claim brings the persona's draft and production versions with its operations (one
round trip fewer). Those are read in the statement's snapshot, but the persona's row is locked,
and PostgreSQL hands back its newest version: a writer that committed in between (a worker whose
lock expired, say) may have changed the versions too. The claim then drops what it read, and the
promotion reads the versions again: it promotes the draft as it stands when the row is locked."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from greenlight import kinds
from greenlight.db import get_engine, unit_of_work
from greenlight.dispatch import NullDispatcher
from greenlight.models import Persona, PersonaVersion
from greenlight.models.base import table_of
from greenlight.operations.engine import Engine
from greenlight.operations.submit import Submission, submit
from tests.support.workloads import make_persona, make_user

_PERSONAS, _VERSIONS = table_of(Persona), table_of(PersonaVersion)


def _production_prompt(persona: str) -> str | None:
    with unit_of_work() as session:
        return session.scalar(
            sa.select(_VERSIONS.c.orchestration_prompt)
            .join(_PERSONAS, _PERSONAS.c.current_production_version_id == _VERSIONS.c.id)
            .where(_PERSONAS.c.id == persona)
        )


def test_a_promotion_that_waited_for_the_persona_promotes_the_draft_committed_meanwhile(
    services: dict[str, str],
) -> None:
    if get_engine().dialect.name != "postgresql":
        pytest.skip("SQLite has one writer and no row locks: a claim never waits for one")
    user = make_user()
    persona = make_persona(user)
    submit(user, Submission(kinds.PERSONA_PROMOTE.name, {}, persona), NullDispatcher())
    other = get_engine().connect()
    other_tx = other.begin()
    draft = other.scalar(
        sa.select(_PERSONAS.c.current_draft_version_id).where(_PERSONAS.c.id == persona).with_for_update()
    )
    assert draft is not None
    other.execute(
        sa.update(_VERSIONS).where(_VERSIONS.c.id == draft).values(orchestration_prompt="changed meanwhile")
    )
    other.execute(
        sa.update(_PERSONAS).where(_PERSONAS.c.id == persona).values(revision=_PERSONAS.c.revision + 1)
    )
    applied: list[int] = []
    thread = threading.Thread(target=lambda: applied.append(Engine(kinds.REGISTRY).drain(persona)))
    thread.start()
    thread.join(0.5)
    assert thread.is_alive()  # its claim waits for the persona's row
    other_tx.commit()
    other.close()
    thread.join(10)
    assert applied == [1]
    assert _production_prompt(persona) == "changed meanwhile"
