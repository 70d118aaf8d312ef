"""Finding accepted operations whose message the broker lost (e.g. a Redis restart)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from greenlight.clock import utcnow
from greenlight.models import Operation
from greenlight.models.operations import PENDING_STATUSES


def stalled_heads(session: Session, older_than_seconds: float, limit: int = 1000) -> list[str]:
    """One operation id per persona whose oldest pending operation waited too long.

    Re-enqueueing is always safe: a drain of a persona with nothing pending is a no-op.
    """
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    heads = (
        select(Operation.persona_id, func.min(Operation.seq).label("seq"))
        .where(Operation.status.in_(PENDING_STATUSES), Operation.created_at < cutoff)
        .group_by(Operation.persona_id)
        .limit(limit)
        .subquery()
    )
    return list(
        session.scalars(
            select(Operation.id).where(tuple_(Operation.persona_id, Operation.seq).in_(select(heads)))
        )
    )
