"""A unit of work tells what its commit made true only once it is true (greenlight/db.py)."""

from __future__ import annotations

import sqlalchemy as sa

from greenlight.db import after_commit, unit_of_work
from greenlight.models import Persona
from tests.support.workloads import make_persona, make_user


def _name_seen_by_another_transaction(persona_id: str) -> str | None:
    with unit_of_work() as session:
        return session.scalar(sa.select(Persona.name).where(Persona.id == persona_id))


def test_actions_run_after_the_commit_in_order_and_see_what_it_wrote(services: dict[str, str]) -> None:
    persona_id = make_persona(make_user())
    seen: list[tuple[str, str | None]] = []
    with unit_of_work() as session:
        session.execute(sa.update(Persona).where(Persona.id == persona_id).values(name="Committed"))
        after_commit(session, lambda: seen.append(("first", _name_seen_by_another_transaction(persona_id))))
        after_commit(session, lambda: seen.append(("second", None)))
        assert seen == []
    assert seen == [("first", "Committed"), ("second", None)]


def test_actions_of_a_rolled_back_unit_never_run(services: dict[str, str]) -> None:
    persona_id = make_persona(make_user())
    ran: list[str] = []
    try:
        with unit_of_work() as session:
            session.execute(sa.update(Persona).where(Persona.id == persona_id).values(name="Never"))
            after_commit(session, lambda: ran.append("ran"))
            raise RuntimeError("the work failed")
    except RuntimeError:
        pass
    assert ran == []
    assert _name_seen_by_another_transaction(persona_id) != "Never"
    with unit_of_work() as session:  # and they are not left for the next unit of work
        session.execute(sa.select(1))
    assert ran == []
