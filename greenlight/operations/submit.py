"""Accepting operations: validate the key, take the next per-persona sequence, record, enqueue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from greenlight.clock import new_id
from greenlight.db import unit_of_work
from greenlight.dispatch import Dispatcher
from greenlight.errors import IdempotencyKeyReused
from greenlight.idempotency import fingerprint, validate_key
from greenlight.models import Operation, OperationCounter
from greenlight.operations.apply import apply_in_transaction


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


def _next_seq(session: Session, persona_id: str) -> int:
    # The upsert's row lock serialises acceptance per persona: sequence order is commit order.
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(OperationCounter)
        .values(persona_id=persona_id, last_seq=1)
        .on_conflict_do_update(
            index_elements=[OperationCounter.persona_id],
            set_={"last_seq": OperationCounter.last_seq + 1},
        )
        .returning(OperationCounter.last_seq)
    )
    return int(session.execute(stmt).scalar_one())


def _existing(session: Session, user_id: str, key: str, request_hash: str) -> Operation | None:
    op = session.scalar(
        select(Operation).where(Operation.user_id == user_id, Operation.idempotency_key == key)
    )
    if op is not None and op.request_hash != request_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request",
            {"idempotency_key": key, "operation_id": op.id},
        )
    return op


def record(session: Session, user_id: str, submission: Submission) -> tuple[Operation, bool]:
    """The operation for this request: the earlier one under the same key, or a new one."""
    key = validate_key(submission.idempotency_key)
    identity = submission.identity if submission.identity is not None else submission.payload
    request_hash = fingerprint(submission.kind, submission.persona_id, identity)
    if key is not None:
        existing = _existing(session, user_id, key, request_hash)
        if existing is not None:
            return existing, False
    persona_id = submission.persona_id or new_id()
    op = Operation(
        user_id=user_id,
        persona_id=persona_id,
        seq=_next_seq(session, persona_id),
        kind=submission.kind,
        payload=submission.payload,
        request_hash=request_hash,
        idempotency_key=key,
    )
    session.add(op)
    session.flush()
    return op, True


# Runs first in the recording transaction, e.g. "the caller owns this persona": raising stops it.
Check = Callable[[Session], None]


def _with_key_race_retry(
    user_id: str, submission: Submission, inline: bool, check: Check | None = None
) -> tuple[Operation, bool]:
    for _ in range(3):
        try:
            with unit_of_work() as session:
                if check is not None:
                    check(session)
                op, created = record(session, user_id, submission)
                if created and inline:
                    apply_in_transaction(session, op.id, expected_revision=0)  # a new persona
                return op, created
        except IntegrityError:
            # A concurrent request with the same key committed first: answer with its operation.
            if submission.idempotency_key is None:
                raise
    raise RuntimeError("idempotency key race did not settle")  # pragma: no cover


def submit(
    user_id: str, submission: Submission, dispatcher: Dispatcher, check: Check | None = None
) -> Operation:
    """Record the operation durably, then enqueue it; a lost message is found by the sweeper.

    ``check`` runs in the same transaction, before anything is recorded (one transaction, not two).
    """
    op, created = _with_key_race_retry(user_id, submission, inline=False, check=check)
    if created:
        dispatcher.enqueue_operation(op.id, op.kind)
    return op


def submit_inline(user_id: str, submission: Submission) -> Operation:
    """Record and apply in one transaction: for operations that create their persona, which
    nobody else can address yet, so no lock or queue is needed."""
    op, _ = _with_key_race_retry(user_id, submission, inline=True)
    return op
