"""A run of promotions of one persona is applied in one go: it must leave exactly what applying them
one at a time leaves (versions, history, events, answers), and a refused one is refused alone."""

from __future__ import annotations

import itertools
from typing import Any

import sqlalchemy as sa

from greenlight import kinds
from greenlight.db import unit_of_work
from greenlight.dispatch import NullDispatcher
from greenlight.models import Operation, OutboxEvent, PersonaVersion, Promotion
from greenlight.operations.engine import Engine
from greenlight.operations.submit import Submission, submit
from greenlight.personas.production import ProductionCache
from greenlight.redis_client import get_redis
from greenlight.settings import get_settings
from tests.support.actors import Acting
from tests.support.workloads import make_persona, make_user


def _engine(apply_batch_size: int) -> Engine:
    settings = get_settings().model_copy(update={"apply_batch_size": apply_batch_size})
    return Engine(kinds.REGISTRY, settings=settings)


def _promote(user: Acting, persona: str, payload: dict[str, Any]) -> str:
    return submit(user, Submission(kinds.PERSONA_PROMOTE.name, payload, persona), NullDispatcher()).id


def _state(persona: str) -> dict[str, Any]:
    """Everything a promotion leaves, with ids replaced by version numbers so two personas compare."""
    with unit_of_work() as session:
        versions = session.scalars(
            sa.select(PersonaVersion)
            .where(PersonaVersion.persona_id == persona)
            .order_by(PersonaVersion.version_number)
        ).all()
        number = {v.id: v.version_number for v in versions}
        history = session.scalars(
            sa.select(Promotion).where(Promotion.persona_id == persona).order_by(Promotion.promoted_at)
        ).all()
        events = session.scalars(
            sa.select(OutboxEvent).where(OutboxEvent.persona_id == persona).order_by(OutboxEvent.persona_seq)
        ).all()
        ops = session.scalars(
            sa.select(Operation).where(Operation.persona_id == persona).order_by(Operation.seq)
        ).all()
        answers = []
        for op in ops[1:]:  # the first created the persona
            body = (op.result or {}).get("persona") or {}
            production = body.get("current_production_version") or {}
            draft = body.get("current_draft_version") or {}
            answers.append(
                (
                    op.status,
                    (op.error or {}).get("error"),
                    production.get("version_number"),
                    production.get("status"),
                    production.get("promoted_at") == body.get("updated_at"),
                    draft.get("version_number"),
                    number.get(body.get("current_production_version_id")),
                )
            )
        promoted_at = [v.promoted_at for v in versions if v.promoted_at is not None]
        return {
            "versions": [
                (v.version_number, v.status, number.get(v.promoted_from_version_id), v.personality_prompt)
                for v in versions
            ],
            "promoted_at_increasing": all(a < b for a, b in itertools.pairwise(promoted_at)),
            "updated_after_promotion": all(
                v.updated_at >= v.promoted_at for v in versions if v.promoted_at is not None
            ),
            "history": [
                (p.version_number, p.previous_version_number, p.notes, number.get(p.version_id))
                for p in history
            ],
            "events": [
                (
                    e.persona_seq,
                    e.type,
                    e.data.get("version"),
                    e.data.get("previous_version"),
                    e.data.get("notes"),
                    e.operation_id is not None,
                )
                for e in events
            ],
            "answers": answers,
        }


def test_a_run_in_one_transaction_leaves_what_one_at_a_time_leaves(services: dict[str, str]) -> None:
    user = make_user()
    alone, together = make_persona(user), make_persona(user)
    for persona in (alone, together):
        for i in range(7):
            _promote(user, persona, {"notes": f"promotion {i}"})
    assert _engine(apply_batch_size=1).drain(alone) == 7
    assert _engine(apply_batch_size=20).drain(together) == 7

    state = _state(together)
    assert state == _state(alone)
    assert [status for _, status, _, _ in state["versions"]] == ["draft"] + ["archived"] * 6 + ["published"]
    assert state["promoted_at_increasing"] and state["updated_after_promotion"]
    # History is one chain: each promotion replaced the one before it.
    assert [(number, previous) for number, previous, _, _ in state["history"]] == [
        (2, None),
        *((n, n - 1) for n in range(3, 9)),
    ]
    # Each answer is the persona as it stood right after that promotion.
    assert [answer[2] for answer in state["answers"]] == list(range(2, 9))
    assert {answer[3] for answer in state["answers"]} == {"published"}
    # The production cache holds the run's last version.
    cached = ProductionCache(get_redis()).get(together)
    assert cached is not None and cached[1]["version"]["version_number"] == 8


def test_a_refused_promotion_in_a_run_is_refused_alone(services: dict[str, str]) -> None:
    user = make_user()
    persona = make_persona(user)
    first = _promote(user, persona, {"notes": "first"})
    # Expects no production, but the first promotion made one: refused, nothing of it written.
    stale = _promote(user, persona, {"notes": "stale", "expected_production_version_id": ""})
    last = _promote(user, persona, {"notes": "last"})
    _engine(apply_batch_size=20).drain(persona)

    with unit_of_work() as session:
        query = sa.select(Operation).where(Operation.persona_id == persona)
        ops = {op.id: op for op in session.scalars(query)}
        history = session.scalars(
            sa.select(Promotion.notes).where(Promotion.persona_id == persona).order_by(Promotion.promoted_at)
        ).all()
        published = session.scalar(
            sa.select(sa.func.count()).where(
                PersonaVersion.persona_id == persona, PersonaVersion.status == "published"
            )
        )
    assert (ops[first].status, ops[stale].status, ops[last].status) == ("succeeded", "failed", "succeeded")
    assert (ops[stale].error or {}).get("error") == "PRODUCTION_CHANGED"
    assert history == ["first", "last"]
    assert published == 1
