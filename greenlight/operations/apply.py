"""Applying one operation inside one transaction, fenced by the persona's revision."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from greenlight.clock import utcnow
from greenlight.db import keep_loaded
from greenlight.errors import DomainError, FencingError, NotFound
from greenlight.models import Operation, OperationStatus, Persona
from greenlight.models.operations import PENDING_STATUSES
from greenlight.operations.context import ApplyContext
from greenlight.operations.kinds import handler_for
from greenlight.outbox import emit


def _load(session: Session, operation_id: str, expected_revision: int) -> tuple[Operation, Persona | None]:
    op = session.get(Operation, operation_id, with_for_update=True)
    if op is None or op.status not in PENDING_STATUSES:
        # Someone else applied it while we believed we held the lock.
        raise FencingError(f"operation {operation_id} is no longer pending")
    persona = session.get(Persona, op.persona_id, with_for_update=True)
    if (persona.revision if persona else 0) != expected_revision:
        raise FencingError(f"persona {op.persona_id} moved past revision {expected_revision}")
    if persona is not None and persona.user_id != op.user_id:
        raise NotFound("Persona not found", {"persona_id": op.persona_id})
    return op, persona


def _bump_revision(session: Session, persona_id: str, expected_revision: int) -> int:
    """Compare-and-bump: the write that a stale worker cannot make."""
    session.flush()
    result = session.execute(
        update(Persona)
        .where(Persona.id == persona_id, Persona.revision == expected_revision)
        .values(revision=expected_revision + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise FencingError(f"persona {persona_id} moved past revision {expected_revision}")
    return expected_revision + 1


def _finish(op: Operation, status: OperationStatus) -> None:
    now = utcnow()
    op.status = status.value
    op.finished_at = now
    op.updated_at = now
    op.started_at = op.started_at or now


@dataclass(frozen=True)
class Applied:
    revision: int
    persona: Persona | None
    production_changed: bool


def apply_in_transaction(session: Session, operation_id: str, expected_revision: int) -> Applied:
    """Run the operation's handler; the caller commits.

    A DomainError propagates with nothing flushed that matters: the caller rolls back
    and records the failure with ``fail_in_transaction``.
    """
    keep_loaded(session)
    op, persona = _load(session, operation_id, expected_revision)
    ctx = ApplyContext(session=session, operation=op, persona=persona)
    op.result = handler_for(op.kind)(ctx)
    _finish(op, OperationStatus.SUCCEEDED)
    if ctx.persona is None:
        return Applied(expected_revision, None, False)
    revision = _bump_revision(session, ctx.persona.id, expected_revision)
    return Applied(revision, ctx.persona, ctx.production_changed)


def fail_in_transaction(
    session: Session, operation_id: str, expected_revision: int, error: DomainError
) -> int:
    op, persona = _load(session, operation_id, expected_revision)
    op.error = error.as_dict()
    _finish(op, OperationStatus.FAILED)
    if persona is None:
        return expected_revision
    emit(
        session,
        persona,
        "operation.failed",
        {"operation_id": op.id, "kind": op.kind, "error": error.code, "message": error.message},
        op.id,
    )
    return _bump_revision(session, persona.id, expected_revision)
