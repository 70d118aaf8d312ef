"""Promotion history: newest first, filtered, keyset-paginated; and production at an instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from greenlight.clock import isoformat
from greenlight.errors import NotFound
from greenlight.models import Persona, PersonaVersion, Promotion
from greenlight.paging import decode_cursor, encode_cursor
from greenlight.reviews.views import Review

MAX_PAGE = 200


@dataclass(frozen=True)
class HistoryQuery:
    promoted_by: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    limit: int = 50
    cursor: str | None = None


def _encode_cursor(promotion: Promotion) -> str:
    return encode_cursor(promotion.promoted_at, promotion.id)


def promotion_to_dict(promotion: Promotion, review: Review | None = None) -> dict[str, Any]:
    """A history row: who requested it, who approved it (with their comments) and who applied it.
    Unreviewed, the one who promoted did all three (and nobody approved)."""
    return {
        "id": promotion.id,
        "persona_id": promotion.persona_id,
        "version_id": promotion.version_id,
        "version": promotion.version_number,
        "previous_version_id": promotion.previous_version_id,
        "previous_version": promotion.previous_version_number,
        "promoted_by": promotion.promoted_by,
        "promoted_at": isoformat(promotion.promoted_at),
        "notes": promotion.notes,
        "operation_id": promotion.operation_id,
        "proposal_id": promotion.proposal_id,
        "requested_by": review["requested_by"] if review else promotion.promoted_by,
        "approvals": review["approvals"] if review else [],
        "applied_by": (review["applied_by"] if review else None) or promotion.promoted_by,
        "promotion_request_id": review["promotion_request_id"] if review else None,
    }


def list_promotions(
    session: Session, persona: Persona, query: HistoryQuery
) -> tuple[list[Promotion], str | None]:
    """One page, newest first, and the cursor of the next page (None at the end).

    Keyset pagination on (promoted_at, id) over the (persona_id, promoted_at, id) index keeps
    every page as cheap as the first, however long the history.
    """
    limit = max(1, min(query.limit, MAX_PAGE))
    stmt = select(Promotion).where(Promotion.persona_id == persona.id)
    if query.promoted_by:
        stmt = stmt.where(Promotion.promoted_by == query.promoted_by)
    if query.since:
        stmt = stmt.where(Promotion.promoted_at >= query.since)
    if query.until:
        stmt = stmt.where(Promotion.promoted_at < query.until)
    if query.cursor:
        at, promotion_id = decode_cursor(query.cursor)
        stmt = stmt.where(tuple_(Promotion.promoted_at, Promotion.id) < tuple_(at, promotion_id))
    rows = list(
        session.scalars(stmt.order_by(Promotion.promoted_at.desc(), Promotion.id.desc()).limit(limit + 1))
    )
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def production_at(session: Session, persona: Persona, at: datetime) -> PersonaVersion:
    """The version that was in production at instant `at`: the last promotion at or before it."""
    version_id = session.scalar(
        select(Promotion.version_id)
        .where(Promotion.persona_id == persona.id, Promotion.promoted_at <= at)
        .order_by(Promotion.promoted_at.desc(), Promotion.id.desc())
        .limit(1)
    )
    version = session.get(PersonaVersion, version_id) if version_id else None
    if version is None:
        raise NotFound(
            "No version was in production at that time",
            {"persona_id": persona.id, "at": isoformat(at)},
            code="NO_PRODUCTION_VERSION",
        )
    return version
