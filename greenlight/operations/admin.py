"""Operator tools over operations: list, find, retry. Any user's operations (no scoping).

Retry semantics:
- A **failed** operation was refused by the domain (or given up after too many
  interruptions); its refusal is part of the persona's history and stays. Retrying it
  submits a **new** operation with the same kind and payload, appended to the persona's
  sequence: it applies after whatever was accepted since, against the persona as it is
  then. Its idempotency key is ``retry:<failed id>``, so retrying the same failed
  operation twice gives the same new operation (one effect); to try again after the
  retry failed too, retry the retry.
- A **queued or running** operation (stuck: its message lost, its worker gone) is
  re-enqueued as it is: the drain applies it in its place in the sequence, once.
- A **succeeded** operation is never retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenlight.db import unit_of_work
from greenlight.dispatch import Dispatcher
from greenlight.errors import Conflict, InvalidRequest, NotFound
from greenlight.models import Operation, OperationStatus
from greenlight.models.operations import PENDING_STATUSES
from greenlight.operations.internal_keys import retry_key
from greenlight.operations.submit import Submission, submit

MIN_PREFIX = 8
STATUS_FILTERS = ("queued", "running", "succeeded", "failed", "pending")


@dataclass(frozen=True)
class OperationFilter:
    status: str | None = None  # one of STATUS_FILTERS; "pending" is queued or running
    persona_id: str | None = None
    kind: str | None = None
    limit: int = 20


def list_operations(session: Session, filters: OperationFilter) -> list[Operation]:
    """Newest first."""
    query = select(Operation).order_by(Operation.created_at.desc(), Operation.id).limit(filters.limit)
    if filters.status == "pending":
        query = query.where(Operation.status.in_(PENDING_STATUSES))
    elif filters.status is not None:
        query = query.where(Operation.status == filters.status)
    if filters.persona_id is not None:
        query = query.where(Operation.persona_id == filters.persona_id)
    if filters.kind is not None:
        query = query.where(Operation.kind == filters.kind)
    return list(session.scalars(query))


def find_operation(session: Session, operation_id: str) -> Operation:
    """By id, or by a unique prefix of at least MIN_PREFIX characters."""
    op = session.get(Operation, operation_id)
    if op is not None:
        return op
    if len(operation_id) >= MIN_PREFIX:
        matches = list(
            session.scalars(
                select(Operation).where(Operation.id.startswith(operation_id, autoescape=True)).limit(2)
            )
        )
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise InvalidRequest(
                f"More than one operation starts with {operation_id}", {"prefix": operation_id}
            )
    raise NotFound(f"No operation {operation_id}", {"operation_id": operation_id})


@dataclass(frozen=True)
class RetryOutcome:
    action: Literal["resubmitted", "already_retried", "reenqueued"]
    original: Operation
    # The operation to follow: the new one for a failed original, else the original.
    operation: Operation


def retry(operation_id: str, dispatcher: Dispatcher) -> RetryOutcome:
    with unit_of_work() as session:
        original = find_operation(session, operation_id)
        earlier = session.scalar(
            select(Operation).where(
                Operation.workspace_id == original.workspace_id,
                Operation.idempotency_key == retry_key(original.id),
            )
        )
    if original.status == OperationStatus.SUCCEEDED.value:
        raise Conflict(
            f"Operation {original.id} succeeded; there is nothing to retry",
            {"operation_id": original.id},
            code="OPERATION_SUCCEEDED",
        )
    if original.status in PENDING_STATUSES:
        dispatcher.enqueue_operation(original.id)
        return RetryOutcome("reenqueued", original, original)
    if earlier is not None:
        return RetryOutcome("already_retried", original, earlier)
    submission = Submission(
        kind=original.kind,
        payload=dict(original.payload),
        persona_id=original.persona_id,
        idempotency_key=retry_key(original.id),
    )
    return RetryOutcome("resubmitted", original, submit(original, submission, dispatcher))


def reload(operation_id: str) -> Operation:
    with unit_of_work() as session:
        op = session.get(Operation, operation_id)
    if op is None:
        raise NotFound(f"No operation {operation_id}", {"operation_id": operation_id})
    return op
