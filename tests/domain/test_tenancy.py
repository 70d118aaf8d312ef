"""One tenancy rule for every read and write (greenlight/tenancy.py): a deleted persona is gone
for its owner too, whether a request names it or an operation accepted before the deletion is
applied after it."""

from __future__ import annotations

import sqlalchemy as sa

from greenlight import kinds
from greenlight.clock import utcnow
from greenlight.db import unit_of_work
from greenlight.dispatch import NullDispatcher
from greenlight.errors import NotFound
from greenlight.models import Operation, Persona
from greenlight.operations.engine import Engine
from greenlight.operations.submit import Submission, submit
from greenlight.personas.service import get_owned_persona
from tests.support.workloads import make_persona, make_user


def _delete(persona_id: str) -> None:
    with unit_of_work() as session:
        session.execute(sa.update(Persona).where(Persona.id == persona_id).values(deleted_at=utcnow()))


def test_an_operation_accepted_before_its_persona_was_deleted_is_refused_when_applied(
    services: dict[str, str],
) -> None:
    user = make_user()
    persona_id = make_persona(user)
    pending = submit(user, Submission(kinds.PERSONA_PROMOTE.name, {}, persona_id), NullDispatcher())
    _delete(persona_id)
    Engine(kinds.REGISTRY).drain(persona_id)
    with unit_of_work() as session:
        op = session.get(Operation, pending.id)
        assert op is not None and op.status == "failed"
        assert op.error is not None and op.error["error"] == "NOT_FOUND"
        persona = session.get(Persona, persona_id)
        assert persona is not None and persona.current_production_version_id is None


def test_a_deleted_persona_is_missing_to_its_owner_and_refuses_new_operations(
    services: dict[str, str],
) -> None:
    user = make_user()
    persona_id = make_persona(user)
    _delete(persona_id)
    with unit_of_work() as session:
        try:
            get_owned_persona(session, user.workspace_id, persona_id)
            raise AssertionError("a deleted persona was found")
        except NotFound:
            pass
    try:
        submit(user, Submission(kinds.PERSONA_PROMOTE.name, {}, persona_id), NullDispatcher())
        raise AssertionError("an operation on a deleted persona was accepted")
    except NotFound:
        pass
