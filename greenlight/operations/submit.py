"""Accepting operations: validate the key, take the next per-persona sequence, record, enqueue."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from greenlight.clock import new_id, utcnow
from greenlight.db import unit_of_work
from greenlight.dialects import POSTGRESQL, Capabilities, UpsertInsert, capabilities_of
from greenlight.dispatch import Dispatcher
from greenlight.errors import DomainError, NotFound
from greenlight.idempotency import fingerprint, reuse_refusal, validate_key
from greenlight.models import Operation, OperationCounter, OperationStatus, Persona
from greenlight.models.base import table_of
from greenlight.precompiled import Precompiled
from greenlight.tenancy import Actor, visible_to

# More to check about the (owned) persona before accepting a request, in the same transaction.
PersonaCheck = Callable[[Session, Persona], None]
# What to do, in the accepting transaction, with an operation this request has just created.
AfterCreated = Callable[[Session, Operation], Operation]


@dataclass(frozen=True)
class Submission:
    kind: str
    payload: dict[str, Any] = field(default_factory=dict)
    # None: the operation creates a persona, whose id is chosen here.
    persona_id: str | None = None
    idempotency_key: str | None = None
    # What identifies the request for idempotency when the payload holds server-made
    # values (resolved resource ids); defaults to the payload.
    identity: dict[str, Any] | None = None
    check: PersonaCheck | None = None
    # Who sent it, for the audit log: the id of the key used (never the key) and the request's id.
    key_id: str | None = None
    request_id: str | None = None
    # A promotion requested by someone who may not promote: it waits for approval whatever the
    # persona's policy says by the time its turn comes (greenlight/reviews/gate.py).
    review_required: bool = False


def _advance_counters(session: Session, counts: dict[str, int]) -> dict[str, int]:
    """Take `count` sequence numbers for each persona; returns each persona's last one.

    The upsert's row locks serialise acceptance per persona, so sequence order is commit order.
    Personas are locked in id order, so two batches never wait for each other in a cycle.
    """
    # One statement however many personas (executemany with RETURNING is sent as one multi-row
    # INSERT); its compiled form is cached, unlike a VALUES list whose length varies. Core on the
    # session's connection: the ORM's bulk-insert layer only added cost here.
    params = [{"persona_id": persona_id, "last_seq": counts[persona_id]} for persona_id in sorted(counts)]
    upsert = _counters_upsert(capabilities_of(session))
    return {row.persona_id: int(row.last_seq) for row in session.connection().execute(upsert, params)}


_COUNTERS = table_of(OperationCounter)


def _advanced(values: UpsertInsert) -> ReturningInsert[tuple[str, int]]:
    """The sequence rule, for every way of accepting: each persona's counter starts at, or grows
    by, the number of operations given for it (`last_seq` of `values`), and the statement returns
    the last number taken. Its row lock serialises acceptance per persona, so sequence order is
    commit order."""
    return values.on_conflict_do_update(
        index_elements=[_COUNTERS.c.persona_id],
        set_={"last_seq": _COUNTERS.c.last_seq + values.excluded.last_seq},
    ).returning(_COUNTERS.c.persona_id, _COUNTERS.c.last_seq)


@lru_cache(maxsize=2)
def _counters_upsert(database: Capabilities) -> ReturningInsert[tuple[str, int]]:
    """Built once per dialect: building it cost more than SQLAlchemy's compiled-form cache saves."""
    return _advanced(database.upsert(_COUNTERS))


def record(session: Session, actor: Actor, submission: Submission) -> tuple[Operation, bool]:
    """The operation for this request: the earlier one under the same key, or a new one (a group of
    one: the rules are those of ``record_many``)."""
    outcome = record_many(session, [(actor, submission)])[0]
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


def record_settled(
    actor: Actor, submission: Submission, after_created: AfterCreated | None = None
) -> tuple[Operation, bool]:
    """`record` in a transaction of its own, retried when a concurrent request under the same key
    commits first (then answered with that one's operation). `after_created` runs in the same
    transaction on an operation this request created."""
    for _ in range(3):
        try:
            with unit_of_work() as session:
                op, created = record(session, actor, submission)
                if created and after_created is not None:
                    op = after_created(session, op)
                return op, created
        except IntegrityError:
            # A concurrent request with the same key committed first: answer with its operation.
            if submission.idempotency_key is None:
                raise
    raise RuntimeError("idempotency key race did not settle")  # pragma: no cover


def submit(actor: Actor, submission: Submission, dispatcher: Dispatcher) -> Operation:
    """Record the operation durably, then enqueue it; a lost message is found by the sweeper."""
    op, created = record_settled(actor, submission)
    if created:
        dispatcher.enqueue_operations([op])
    return op


# One request's outcome in a group: its operation and whether this request created it, or the
# domain error that refused it (nothing was written for it).
Recorded = tuple[Operation, bool] | DomainError


# A request ready to record: its place in the group, caller, submission, key and fingerprint.
_Prepared = tuple[int, Actor, Submission, str | None, str]


def record_many(session: Session, requests: Sequence[tuple[Actor, Submission]]) -> list[Recorded]:
    """Record several requests in one transaction (group commit), each as `record` would.

    A refused request does not stop the others. Same key in one group: one operation, like
    concurrent requests. Sequence numbers follow the order of `requests`.
    """
    results: list[Recorded | None] = [None] * len(requests)
    prepared = _prepare(requests, results)
    earlier = _earlier_operations(session, {key for _, _, _, key, _ in prepared if key is not None})
    owner_checked_by_write = _write_checks_owner(session, requests)
    # The write itself refuses a persona the caller may not change when it can (`_record_owned`);
    # else the personas' owner columns, read here, are checked against each request.
    persona_ids = {s.persona_id for _, _, s, _, _ in prepared if s.persona_id is not None}
    owner_rows = {} if owner_checked_by_write else _owner_rows(session, persona_ids)
    now = utcnow()
    created: list[tuple[int, Operation]] = []
    for index, actor, submission, key, request_hash in prepared:
        prior = earlier.get((actor.workspace_id, key)) if key is not None else None
        if prior is not None:
            assert key is not None
            refusal = reuse_refusal(key, prior.request_hash, request_hash, prior.id)
            results[index] = (prior, False) if refusal is None else refusal
            continue
        try:
            if not owner_checked_by_write:
                _check_owner(owner_rows, actor.workspace_id, submission)
            if submission.check is not None and submission.persona_id is not None:
                persona = session.get(Persona, submission.persona_id)
                assert persona is not None
                submission.check(session, persona)
        except DomainError as exc:
            results[index] = exc
            continue
        op = _new_operation(actor, submission, key, request_hash, now)
        created.append((index, op))
        results[index] = (op, True)
        if key is not None:
            earlier[(actor.workspace_id, key)] = op
    written = (
        _write_operations(session, [op for _, op in created], owner_checked_by_write) if created else None
    )
    if written is not None:
        for index, op in created:
            if op.id not in written:  # its write found no persona of the caller's: nothing written
                results[index] = NotFound("Persona not found", {"persona_id": op.persona_id})
    return [result for result in results if result is not None]


def _prepare(requests: Sequence[tuple[Actor, Submission]], results: list[Recorded | None]) -> list[_Prepared]:
    """Each request with its valid key and fingerprint; an invalid key refuses its request."""
    prepared: list[_Prepared] = []
    for index, (actor, submission) in enumerate(requests):
        try:
            key = validate_key(submission.idempotency_key)
        except DomainError as exc:
            results[index] = exc
            continue
        identity = submission.identity if submission.identity is not None else submission.payload
        request_hash = fingerprint(submission.kind, submission.persona_id, identity)
        prepared.append((index, actor, submission, key, request_hash))
    return prepared


def _earlier_operations(session: Session, keys: set[str]) -> dict[tuple[str, str], Operation]:
    """The operations already recorded under these keys, by (workspace, key)."""
    if not keys:
        return {}
    query = select(Operation).where(Operation.idempotency_key.in_(keys))
    return {(op.workspace_id, op.idempotency_key or ""): op for op in session.scalars(query)}


def _check_owner(owner_rows: dict[str, Any], workspace_id: str, submission: Submission) -> None:
    """Another workspace's (or a deleted) persona is refused exactly like a missing one."""
    if submission.persona_id is None:
        return
    row = owner_rows.get(submission.persona_id)
    if row is None or not visible_to(row, workspace_id):
        raise NotFound("Persona not found", {"persona_id": submission.persona_id})


def _new_operation(
    actor: Actor, submission: Submission, key: str | None, request_hash: str, now: datetime
) -> Operation:
    """The operation a request makes, written with Core later; the object is what the caller is
    answered with."""
    return Operation(
        id=new_id(),
        workspace_id=actor.workspace_id,
        user_id=actor.user_id,
        key_id=submission.key_id,
        request_id=submission.request_id,
        persona_id=submission.persona_id or new_id(),
        seq=0,
        kind=submission.kind,
        payload=submission.payload,
        request_hash=request_hash,
        idempotency_key=key,
        status=OperationStatus.QUEUED.value,
        result=None,
        error=None,
        attempts=0,
        created_at=now,
        updated_at=now,
        started_at=None,
        finished_at=None,
        promotion_request_id=None,
        review_required=submission.review_required,
    )


def _owner_rows(session: Session, persona_ids: set[str]) -> dict[str, Any]:
    """The columns the tenancy check reads of each persona (loading whole personas cost more)."""
    if not persona_ids:
        return {}
    personas = table_of(Persona)
    query = select(personas.c.id, personas.c.workspace_id, personas.c.deleted_at).where(
        personas.c.id.in_(persona_ids)
    )
    return {row.id: row for row in session.connection().execute(query)}


def _write_checks_owner(session: Session, requests: Sequence[tuple[Actor, Submission]]) -> bool:
    """Whether this group is written by one statement that checks each persona's owner itself
    (`_record_owned`): on PostgreSQL, a group whose requests all name an existing persona and have
    nothing more to check first."""
    return capabilities_of(session).writes_in_one_statement and _owned_only(requests)


def _owned_only(requests: Sequence[tuple[Actor, Submission]]) -> bool:
    """Requests for existing personas with nothing to check but the owner, no key given twice (a
    request answered with another's operation of the group relies on that one being written)."""
    keys = [(actor.workspace_id, s.idempotency_key) for actor, s in requests if s.idempotency_key is not None]
    return len(set(keys)) == len(keys) and all(
        submission.persona_id is not None and submission.check is None for _, submission in requests
    )


_OPERATIONS = table_of(Operation)
_OPERATION_COLUMNS = tuple(column.key for column in _OPERATIONS.columns)


def _write_operations(
    session: Session, operations: list[Operation], check_owner: bool = False
) -> set[str] | None:
    """Number the operations (each persona's next sequence numbers, in list order) and write them.
    `check_owner` (PostgreSQL): only those whose persona is the caller's are written, and the ids of
    those are returned (None: all of them were written)."""
    connection = session.connection()
    if check_owner:  # the usual group at a steady load: owner checks, counters, rows in one statement
        params = {
            f"r{i}_{column}": getattr(op, column)
            for i, op in enumerate(operations)
            for column in _OPERATION_COLUMNS
            if column != "seq"
        }
        result = _record_owned(len(operations)).execute(connection, params)
        numbered = {str(row.id): int(row.seq) for row in result}
        for op in operations:
            if op.id in numbered:
                op.seq = numbered[op.id]
        return set(numbered)
    if len(operations) == 1 and capabilities_of(connection).writes_in_one_statement:
        # Counter and operation in one statement (a create, or a request checked beforehand).
        (op,) = operations
        params = {f"op_{column}": getattr(op, column) for column in _OPERATION_COLUMNS if column != "seq"}
        op.seq = int(_RECORD_ONE.execute(connection, params).scalar_one())
        return None
    counts = Counter(op.persona_id for op in operations)
    last = _advance_counters(session, dict(counts))
    next_seq = {persona_id: last[persona_id] - count for persona_id, count in counts.items()}
    for op in operations:
        next_seq[op.persona_id] += 1
        op.seq = next_seq[op.persona_id]
    # One multi-row INSERT (RETURNING makes SQLAlchemy send the rows as one statement instead
    # of one statement per row).
    rows = [{column: getattr(op, column) for column in _OPERATION_COLUMNS} for op in operations]
    connection.execute(insert(_OPERATIONS).returning(_OPERATIONS.c.id), rows).all()
    return None


@lru_cache(maxsize=128)
def _record_owned(count: int) -> Precompiled:
    """`count` operations in one statement (PostgreSQL: data-modifying WITHs), each only if its
    persona is its caller's and not deleted; RETURNING (id, seq) of those written. Each persona's
    counter is advanced once by its number of operations, in persona id order as
    `_advance_counters` does (the row locks serialise acceptance per persona, never in a cycle),
    and its operations numbered in list order."""
    personas = table_of(Persona)
    columns = [column for column in _OPERATIONS.columns if column.key != "seq"]
    requested = union_all(
        *(
            select(
                literal_column(str(i), Integer).label("position"),
                *(bindparam(f"r{i}_{column.key}", type_=column.type).label(column.key) for column in columns),
            )
            for i in range(count)
        )
    ).cte("requested")
    # The persona's id from its row: an id that fits no row (too long for the column) is not found.
    owned = (
        select(personas.c.id.label("owned_id"), *requested.c)
        .select_from(requested)
        .join(
            personas,
            and_(personas.c.id == requested.c.persona_id, visible_to(personas.c, requested.c.workspace_id)),
        )
        .cte("owned")
    )
    per_persona = (
        select(owned.c.owned_id, func.count().label("taken"))
        .group_by(owned.c.owned_id)
        .order_by(owned.c.owned_id)
    )
    advanced = _advanced(
        POSTGRESQL.upsert(_COUNTERS).from_select(["persona_id", "last_seq"], per_persona)
    ).cte("advanced")
    taken = per_persona.subquery("taken")
    # Each persona's numbers end at its advanced counter: the first of its operations takes the
    # first of them.
    seq = (
        advanced.c.last_seq
        - taken.c.taken
        + func.row_number().over(partition_by=owned.c.owned_id, order_by=owned.c.position)
    )
    chosen = {column.key: owned.c[column.key] for column in columns} | {"persona_id": owned.c.owned_id}
    rows = (
        select(*(chosen[column.key] if column.key != "seq" else seq for column in _OPERATIONS.columns))
        .select_from(owned)
        .join(advanced, advanced.c.persona_id == owned.c.owned_id)
        .join(taken, taken.c.owned_id == owned.c.owned_id)
    )
    statement = (
        insert(_OPERATIONS)
        .from_select(list(_OPERATION_COLUMNS), rows)
        .returning(_OPERATIONS.c.id, _OPERATIONS.c.seq)
    )
    return Precompiled(statement)


def _record_one() -> Precompiled:
    """WITH advanced AS (upsert the persona's counter by one RETURNING it) INSERT the operation
    with that number: PostgreSQL only (a data-modifying WITH). The counter's row lock serialises
    acceptance per persona exactly as `_advance_counters` does. No owner check: `_record_owned`
    does that."""
    one: ColumnElement[int] = literal_column("1", Integer)
    persona_id = bindparam("op_persona_id", type_=_COUNTERS.c.persona_id.type)
    numbered = select(persona_id, one)
    advanced = _advanced(POSTGRESQL.upsert(_COUNTERS).from_select(["persona_id", "last_seq"], numbered)).cte(
        "advanced"
    )
    from_counter = {"seq": advanced.c.last_seq, "persona_id": advanced.c.persona_id}
    values = [
        from_counter.get(column.key, bindparam(f"op_{column.key}", type_=column.type))
        for column in _OPERATIONS.columns
    ]
    statement = (
        insert(_OPERATIONS)
        .from_select(list(_OPERATION_COLUMNS), select(*values).select_from(advanced))
        .returning(_OPERATIONS.c.seq)
    )
    return Precompiled(statement)


_RECORD_ONE = _record_one()


def submit_many(requests: Sequence[tuple[Actor, Submission]], dispatcher: Dispatcher) -> list[Recorded]:
    """Record a group in one transaction, then enqueue what it created (one message per persona)."""
    try:
        # A group of one, or of requests that only need their persona's owner checked, writes in
        # one statement (`_record_one`, `_record_owned`): no transaction around it.
        with unit_of_work(one_statement=len(requests) == 1 or _owned_only(requests)) as session:
            results = record_many(session, requests)
    except IntegrityError:
        # A concurrent request under one of these keys committed first: one by one, each of them
        # settles its own race as `submit` does.
        results = []
        for actor, submission in requests:
            try:
                results.append(record_settled(actor, submission))
            except DomainError as exc:
                results.append(exc)
    dispatcher.enqueue_operations([r[0] for r in results if not isinstance(r, DomainError) and r[1]])
    return results
