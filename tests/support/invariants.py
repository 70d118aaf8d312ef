"""The invariant checker: what must hold for every persona after any workload and any fault."""

from __future__ import annotations

import itertools

import sqlalchemy as sa

from greenlight.db import unit_of_work
from greenlight.models import Operation, OutboxEvent, Persona, PersonaVersion, Promotion


def check_persona(persona_id: str) -> dict[str, int]:
    with unit_of_work() as session:
        ops = session.scalars(
            sa.select(Operation).where(Operation.persona_id == persona_id).order_by(Operation.seq)
        ).all()
        events = session.scalars(
            sa.select(OutboxEvent)
            .where(OutboxEvent.persona_id == persona_id)
            .order_by(OutboxEvent.persona_seq)
        ).all()
        versions = session.scalars(
            sa.select(PersonaVersion)
            .where(PersonaVersion.persona_id == persona_id)
            .order_by(PersonaVersion.version_number)
        ).all()
        history = session.scalars(
            sa.select(Promotion).where(Promotion.persona_id == persona_id).order_by(Promotion.promoted_at)
        ).all()
        revision = session.scalar(sa.select(Persona.revision).where(Persona.id == persona_id))

    # Every accepted operation reached a terminal state; sequence numbers are gapless.
    assert [op.seq for op in ops] == list(range(1, len(ops) + 1))
    pending = [op.id for op in ops if op.status not in ("succeeded", "failed")]
    assert not pending, f"operations not terminal: {pending}"

    # Each operation applied exactly once (its revision bump), in acceptance order.
    assert revision == len(ops), f"revision {revision} for {len(ops)} operations"
    assert [e.persona_seq for e in events] == list(range(1, len(events) + 1))
    seq_of = {op.id: op.seq for op in ops}
    applied = [seq_of[e.operation_id] for e in events if e.operation_id in seq_of]
    assert applied == sorted(applied), "operations applied out of acceptance order"
    groups = [seq for seq, _ in itertools.groupby(applied)]
    assert groups == sorted(set(groups)), "an operation's effects were split or repeated"
    assert set(groups) == set(seq_of.values()), "an operation left no trace or applied twice"

    # Versions: numbers gapless, at most one in production now and at every point of history.
    assert [v.version_number for v in versions] == list(range(1, len(versions) + 1))
    assert [v.status for v in versions].count("published") <= 1
    for earlier, later in itertools.pairwise(history):
        assert later.previous_version_id == earlier.version_id, "history is not a single chain"
    if history:
        assert history[0].previous_version_id is None
        current = next(v for v in versions if v.status == "published")
        assert current.id == history[-1].version_id
    return {"operations": len(ops), "events": len(events), "promotions": len(history)}
