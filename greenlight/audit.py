"""The audit log: who changed what in a workspace, when, with which key and request, and how it ended.

Recorded in one place, here, always in the transaction that makes the change (or, for an
operation, the one that records its terminal state), so a change and its audit row commit
together or not at all:

- every operation, once, when it succeeds or fails (``operation_settled``, called by the engine);
- every other change where it is made, through ``record`` (webhook changes, key revocations, and
  whatever else a workspace's admins change: members, roles, policies).

An actor is a member and the id of the key they used (never the key), with the request's
``X-Request-ID``; an actor without a user is the system or an operator at the command line.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict

from sqlalchemy import Select, select, tuple_
from sqlalchemy.orm import Session

from greenlight import logs
from greenlight.clock import isoformat, utcnow
from greenlight.errors import DomainError
from greenlight.models import AuditEvent, AuditOutcome, Operation
from greenlight.paging import decode_cursor, encode_cursor

if TYPE_CHECKING:
    from greenlight.keys import Principal

MAX_PAGE = 200
# Operation errors that mean the change could not be applied, rather than that it was refused.
_FAILURES = frozenset({"TOO_MANY_ATTEMPTS", "REJECTED_BY_DATABASE"})


class AuditAction(enum.StrEnum):
    """Changes that are not operations (an operation's action is its kind, e.g. ``persona.promote``)."""

    WEBHOOK_CREATED = "webhook.created"
    WEBHOOK_UPDATED = "webhook.updated"
    WEBHOOK_DELETED = "webhook.deleted"
    WEBHOOK_SECRET_ROTATED = "webhook.secret_rotated"
    WEBHOOK_REDELIVERED = "webhook.redelivered"
    KEY_CREATED = "key.created"
    KEY_REVOKED = "key.revoked"
    MEMBER_ADDED = "member.added"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    MEMBER_REMOVED = "member.removed"


class AuditDetail(TypedDict, total=False):
    """What else is worth knowing about a change; small, and never a secret or a key."""

    error: str  # the error code of a failed or refused operation
    production_version: int  # production's version number after the change
    draft_version: int  # the draft's version number after the change
    version: int  # the version the change was about (unarchive)
    schedule_id: str
    delivery_id: str
    fields: list[str]  # the fields a change set (names only, never values)
    role: str  # a member's or a key's role after the change


@dataclass(frozen=True)
class Actor:
    """Who makes a change, in which workspace (see the module's docstring)."""

    workspace_id: str
    user_id: str | None
    key_id: str | None = None
    request_id: str | None = None

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        """The caller, with the id of the request being served (bound in the log context)."""
        return cls(principal.workspace_id, principal.user_id, principal.key_id, current_request_id())


def current_request_id() -> str | None:
    return logs.current_context().get("request_id")


def record(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str,
    *,
    persona_id: str | None = None,
    operation_id: str | None = None,
    outcome: AuditOutcome = AuditOutcome.SUCCEEDED,
    detail: AuditDetail | None = None,
) -> AuditEvent:
    """Record one change in the caller's transaction (it commits, or not, with the change)."""
    event = AuditEvent(
        workspace_id=actor.workspace_id,
        occurred_at=utcnow(),
        actor_user_id=actor.user_id,
        key_id=actor.key_id,
        request_id=actor.request_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        persona_id=persona_id,
        operation_id=operation_id,
        outcome=outcome.value,
        detail=dict(detail or {}),
    )
    session.add(event)
    return event


def operation_workspace(op: Operation) -> str:
    """The workspace an operation belongs to."""
    return op.workspace_id


def operation_settled(
    session: Session, op: Operation, result: Mapping[str, Any] | None, error: DomainError | None = None
) -> AuditEvent:
    """The one audit row of an operation, as it reaches its terminal state (`error`: it failed)."""
    actor = Actor(operation_workspace(op), op.user_id, op.key_id, op.request_id)
    if error is None:
        outcome, detail = AuditOutcome.SUCCEEDED, _result_detail(result or {})
        schedule_id = (op.payload or {}).get("schedule_id")  # a due scheduled promotion's
        if isinstance(schedule_id, str):
            detail.setdefault("schedule_id", schedule_id)
    else:
        failed = error.code in _FAILURES
        outcome = AuditOutcome.FAILED if failed else AuditOutcome.REFUSED
        detail = AuditDetail(error=error.code)
    return record(
        session,
        actor,
        op.kind,
        "persona",
        op.persona_id,
        persona_id=op.persona_id,
        operation_id=op.id,
        outcome=outcome,
        detail=detail,
    )


def _version_number(version: Any) -> int | None:
    number = version.get("version_number") if isinstance(version, Mapping) else None
    return number if isinstance(number, int) else None


def _result_detail(result: Mapping[str, Any]) -> AuditDetail:
    """Version numbers and the schedule from an operation's result (kinds store these shapes:
    greenlight/kinds/results.py)."""
    detail = AuditDetail()
    persona = result.get("persona")
    if isinstance(persona, Mapping):
        production = _version_number(persona.get("current_production_version"))
        draft = _version_number(persona.get("current_draft_version"))
        if production is not None:
            detail["production_version"] = production
        if draft is not None:
            detail["draft_version"] = draft
    version = _version_number(result.get("version"))
    if version is not None:
        detail["version"] = version
    schedule = result.get("schedule")
    if isinstance(schedule, Mapping) and isinstance(schedule.get("id"), str):
        detail["schedule_id"] = schedule["id"]
    return detail


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditQuery:
    actor: str | None = None  # a user id
    persona_id: str | None = None
    action: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    limit: int = 50
    cursor: str | None = None


def _filtered(workspace_id: str, query: AuditQuery) -> Select[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.workspace_id == workspace_id)
    if query.actor is not None:
        stmt = stmt.where(AuditEvent.actor_user_id == query.actor)
    if query.persona_id is not None:
        stmt = stmt.where(AuditEvent.persona_id == query.persona_id)
    if query.action is not None:
        stmt = stmt.where(AuditEvent.action == query.action)
    if query.since is not None:
        stmt = stmt.where(AuditEvent.occurred_at >= query.since)
    if query.until is not None:
        stmt = stmt.where(AuditEvent.occurred_at < query.until)
    return stmt


def list_events(
    session: Session, workspace_id: str, query: AuditQuery
) -> tuple[list[AuditEvent], str | None]:
    """One page of the workspace's audit log, newest first, and the next page's cursor (None at the
    end). Keyset paging on (occurred_at, id): every page costs what the first does."""
    limit = max(1, min(query.limit, MAX_PAGE))
    stmt = _filtered(workspace_id, query)
    if query.cursor:
        at, event_id = decode_cursor(query.cursor)
        stmt = stmt.where(tuple_(AuditEvent.occurred_at, AuditEvent.id) < tuple_(at, event_id))
    order = (AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    rows = list(session.scalars(stmt.order_by(*order).limit(limit + 1)))
    last = rows[limit - 1] if len(rows) > limit else None
    next_cursor = encode_cursor(last.occurred_at, last.id) if last is not None else None
    return rows[:limit], next_cursor


def event_to_dict(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "workspace_id": event.workspace_id,
        "occurred_at": isoformat(event.occurred_at),
        "actor_user_id": event.actor_user_id,
        "key_id": event.key_id,
        "request_id": event.request_id,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "persona_id": event.persona_id,
        "operation_id": event.operation_id,
        "outcome": event.outcome,
        "detail": dict(event.detail or {}),
    }
