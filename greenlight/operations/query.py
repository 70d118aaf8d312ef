"""Reading operations back, scoped to their workspace."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenlight.clock import isoformat
from greenlight.errors import NotFound
from greenlight.models import Operation, OperationStatus
from greenlight.models.operations import PENDING_STATUSES
from greenlight.tenancy import owned_by


def get_operation(session: Session, workspace_id: str, operation_id: str) -> Operation:
    op = session.scalar(
        select(Operation).where(Operation.id == operation_id, owned_by(Operation, workspace_id))
    )
    if op is None:
        raise NotFound("Operation not found", {"operation_id": operation_id})
    return op


def is_terminal(op: Operation) -> bool:
    """Nothing more will happen to it without someone acting: finished, or awaiting approval."""
    return op.status not in PENDING_STATUSES


def is_finished(op: Operation) -> bool:
    return op.status in (OperationStatus.SUCCEEDED.value, OperationStatus.FAILED.value)


def operation_to_dict(op: Operation) -> dict[str, Any]:
    error = None
    if op.error is not None:
        error = {key: op.error.get(key) for key in ("error", "message", "details")}
    return {
        "id": op.id,
        "kind": op.kind,
        "status": op.status,
        "persona_id": op.persona_id,
        "seq": op.seq,
        "attempts": op.attempts,
        "idempotency_key": op.idempotency_key,
        "created_at": isoformat(op.created_at),
        "updated_at": isoformat(op.updated_at),
        "started_at": isoformat(op.started_at),
        "finished_at": isoformat(op.finished_at),
        "result": op.result,
        "error": error,
        "promotion_request_id": op.promotion_request_id,
    }
