"""Group commit: several accepted requests recorded in one transaction, each as if it were alone."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import sqlalchemy as sa

from api.group_commit import GroupCommit
from greenlight import kinds
from greenlight.clock import new_id, utcnow
from greenlight.db import unit_of_work
from greenlight.dispatch import Accepted
from greenlight.errors import DomainError, IdempotencyKeyReused, NotFound
from greenlight.models import Operation, OperationCounter, Persona
from greenlight.operations.submit import Recorded, Submission, record_many
from tests.support.workloads import make_persona, make_user


def _op(result: Recorded) -> Operation:
    assert not isinstance(result, DomainError), result
    return result[0]


def test_a_group_keeps_arrival_order_per_persona(services: dict[str, str]) -> None:
    user = make_user()
    a, b = make_persona(user), make_persona(user)
    requests = [
        (user, Submission(kinds.PERSONA_PROMOTE.name, {"notes": str(i)}, [a, b][i % 3 == 0]))
        for i in range(9)
    ]
    with unit_of_work() as session:
        results = record_many(session, requests)
    ops = [_op(r) for r in results]
    for persona in (a, b):
        seqs = [op.seq for op in ops if op.persona_id == persona]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    with unit_of_work() as session:  # committed as the answers say
        stored = {
            op.id: (op.persona_id, op.seq)
            for op in session.query(Operation).filter(Operation.user_id == user.user_id)
        }
    assert {op.id: (op.persona_id, op.seq) for op in ops}.items() <= stored.items()
    with unit_of_work() as session:  # the next group continues the sequences
        later = _op(record_many(session, [(user, Submission(kinds.PERSONA_PROMOTE.name, {}, a))])[0])
    assert later.seq == max(op.seq for op in ops if op.persona_id == a) + 1


def test_a_refused_request_does_not_stop_the_others(services: dict[str, str]) -> None:
    user, stranger = make_user(), make_user()
    mine, theirs = make_persona(user), make_persona(stranger)
    requests = [
        (user, Submission(kinds.PERSONA_PROMOTE.name, {}, mine)),
        (user, Submission(kinds.PERSONA_PROMOTE.name, {}, theirs)),  # someone else's: like a missing one
        (user, Submission(kinds.PERSONA_PROMOTE.name, {}, "no-such-persona")),
        (user, Submission(kinds.PERSONA_PROMOTE.name, {}, mine, idempotency_key="")),  # an invalid key
        (user, Submission(kinds.PERSONA_PROMOTE.name, {}, mine)),
    ]
    with unit_of_work() as session:
        results = record_many(session, requests)
    assert isinstance(results[1], NotFound) and isinstance(results[2], NotFound)
    assert isinstance(results[3], DomainError) and results[3].code == "INVALID_IDEMPOTENCY_KEY"
    first, last = _op(results[0]), _op(results[4])
    assert last.seq == first.seq + 1
    with unit_of_work() as session:
        assert (
            session.query(Operation)
            .filter(Operation.persona_id == theirs, Operation.user_id == user.user_id)
            .count()
            == 0
        )


def test_one_key_twice_in_a_group_is_one_operation(services: dict[str, str]) -> None:
    user = make_user()
    persona = make_persona(user)
    same = Submission(kinds.PERSONA_PROMOTE.name, {"notes": "x"}, persona, idempotency_key="group-key")
    other = Submission(kinds.PERSONA_PROMOTE.name, {"notes": "y"}, persona, idempotency_key="group-key")
    with unit_of_work() as session:
        results = record_many(session, [(user, same), (user, same), (user, other)])
    first, again = results[0], results[1]
    assert not isinstance(first, DomainError) and not isinstance(again, DomainError)
    assert first[0].id == again[0].id and (first[1], again[1]) == (True, False)
    assert isinstance(results[2], IdempotencyKeyReused)
    with unit_of_work() as session:  # a later group gets the recorded operation back
        replayed = record_many(session, [(user, same)])[0]
    assert not isinstance(replayed, DomainError) and replayed == (replayed[0], False)
    assert replayed[0].id == first[0].id


class _Recording:
    """A dispatcher that only notes what it was given (no broker: nothing is applied)."""

    def __init__(self) -> None:
        self.enqueued: list[str] = []

    def enqueue_operation(self, operation_id: str, kind: str = "") -> None:
        self.enqueued.append(operation_id)

    def enqueue_operations(self, operations: Sequence[Accepted]) -> None:
        self.enqueued.extend(op.id for op in operations)

    def enqueue_relay(self) -> None:
        pass


def test_two_groups_in_flight_keep_each_personas_arrival_order(services: dict[str, str]) -> None:
    """With two recorders, a persona (or key) in a group being recorded waits for it: arrival order
    per persona is still sequence order, and one key is still one operation."""
    user = make_user()
    personas = [make_persona(user) for _ in range(8)]
    dispatcher = _Recording()
    commit = GroupCommit(dispatcher, max_group=4, recorders=2)

    async def burst() -> list[Operation]:
        submissions = [
            commit.submit(user, Submission(kinds.PERSONA_PROMOTE.name, {"notes": str(i)}, personas[i % 8]))
            for i in range(60)
        ]
        keyed = Submission(kinds.PERSONA_PROMOTE.name, {}, personas[0], idempotency_key="two-in-flight")
        submissions += [commit.submit(user, keyed) for _ in range(5)]
        return await asyncio.gather(*submissions)

    ops = asyncio.run(burst())
    for persona in personas:
        notes = [
            int(op.payload["notes"])
            for op in sorted(ops[:60], key=lambda op: op.seq)
            if op.persona_id == persona
        ]
        assert notes == sorted(notes)
    assert len({op.id for op in ops[60:]}) == 1
    assert sorted(dispatcher.enqueued) == sorted({op.id for op in ops})


def _stored(operation_id: str) -> tuple[object, ...]:
    """The operation's row as the database renders it, but for its id, sequence number and times."""
    table = Operation.__table__
    columns = [c for c in table.columns if c.name not in {"id", "seq"} and not c.name.endswith("_at")]
    with unit_of_work() as session:
        row = session.execute(
            sa.select(*(sa.cast(c, sa.Text) for c in columns)).where(table.c.id == operation_id)
        ).one()
    return tuple(row)


def test_an_operation_recorded_alone_is_numbered_and_written_as_in_a_group(services: dict[str, str]) -> None:
    """A group of one takes its own path on PostgreSQL (counter and row in one statement)."""
    user = make_user()
    persona = make_persona(user)
    promote = Submission(kinds.PERSONA_PROMOTE.name, {"notes": "same"}, persona)
    with unit_of_work() as session:
        (alone,) = [_op(r) for r in record_many(session, [(user, promote)])]
    with unit_of_work() as session:
        grouped = [_op(r) for r in record_many(session, [(user, promote), (user, promote)])]
    with unit_of_work() as session:
        (after,) = [_op(r) for r in record_many(session, [(user, promote)])]
    # The persona's own numbers, one after another whichever path took them (1 created it).
    assert [alone.seq, *(op.seq for op in grouped), after.seq] == [2, 3, 4, 5]
    with unit_of_work() as session:
        stored = session.scalars(
            sa.select(Operation.seq).where(Operation.persona_id == persona).order_by(Operation.seq)
        ).all()
    assert stored == [1, 2, 3, 4, 5]
    assert _stored(alone.id) == _stored(grouped[0].id) == _stored(after.id)


def test_an_operation_recorded_alone_on_someone_elses_persona_writes_nothing(
    services: dict[str, str],
) -> None:
    """Alone, the write itself checks the owner on PostgreSQL (no read before it): another user's
    persona, a deleted one, a missing one and an id too long for any row are refused alike, with no
    number taken."""
    owner, other = make_user(), make_user()
    persona, deleted = make_persona(owner), make_persona(owner)
    with unit_of_work() as session:
        session.execute(sa.update(Persona).where(Persona.id == deleted).values(deleted_at=utcnow()))
    for user, target in [(other, persona), (owner, deleted), (owner, new_id()), (owner, "x" * 100)]:
        with unit_of_work(one_statement=True) as session:
            (outcome,) = record_many(session, [(user, Submission(kinds.PERSONA_PROMOTE.name, {}, target))])
        assert isinstance(outcome, NotFound)
    with unit_of_work() as session:
        counters = session.scalars(
            sa.select(OperationCounter.last_seq).where(OperationCounter.persona_id.in_([persona, deleted]))
        ).all()
        assert counters == [1, 1]  # only the creates' numbers
        assert (
            session.scalar(
                sa.select(sa.func.count()).select_from(Operation).where(Operation.user_id == other.user_id)
            )
            == 0
        )
    with unit_of_work(one_statement=True) as session:  # the owner still gets the next number
        (mine,) = [
            _op(r)
            for r in record_many(session, [(owner, Submission(kinds.PERSONA_PROMOTE.name, {}, persona))])
        ]
    assert mine.seq == 2


def test_a_group_written_in_one_statement_writes_only_what_is_the_callers(services: dict[str, str]) -> None:
    """A group that needs only its personas' owners checked is one statement on PostgreSQL, which
    checks them itself: another user's persona, a deleted one, a missing one and an id too long for
    any row are refused alike, with no number taken, and the rest are numbered in arrival order."""
    owner, other = make_user(), make_user()
    persona, deleted = make_persona(owner), make_persona(owner)
    with unit_of_work() as session:
        session.execute(sa.update(Persona).where(Persona.id == deleted).values(deleted_at=utcnow()))
    promote = Submission(kinds.PERSONA_PROMOTE.name, {}, persona)
    requests = [
        (owner, promote),
        (other, promote),
        (owner, Submission(kinds.PERSONA_PROMOTE.name, {}, deleted)),
        (owner, Submission(kinds.PERSONA_PROMOTE.name, {}, new_id())),
        (owner, Submission(kinds.PERSONA_PROMOTE.name, {}, "x" * 100)),
        (owner, Submission(kinds.PERSONA_PROMOTE.name, {"notes": "last"}, persona)),
    ]
    with unit_of_work(one_statement=True) as session:
        results = record_many(session, requests)
    assert all(isinstance(result, NotFound) for result in results[1:5])
    first, last = _op(results[0]), _op(results[5])
    assert (first.seq, last.seq) == (2, 3)
    with unit_of_work() as session:
        counters = session.scalars(
            sa.select(OperationCounter.last_seq)
            .where(OperationCounter.persona_id.in_([persona, deleted]))
            .order_by(OperationCounter.persona_id == deleted)
        ).all()
        assert counters == [3, 1]
        stored = session.execute(
            sa.select(Operation.id, Operation.seq)
            .where(Operation.persona_id == persona)
            .order_by(Operation.seq)
        ).all()
        assert [tuple(row) for row in stored][1:] == [(first.id, 2), (last.id, 3)]
        assert (
            session.scalar(
                sa.select(sa.func.count()).select_from(Operation).where(Operation.user_id == other.user_id)
            )
            == 0
        )
