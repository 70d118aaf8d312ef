"""Applying one operation inside one transaction, fenced by the persona's revision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Integer, Select, and_, bindparam, func, inspect, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

from greenlight import audit
from greenlight.bulk import RowUpdate, Writes
from greenlight.clock import utcnow
from greenlight.drafts.connections import remember_no_links
from greenlight.errors import DomainError, FencingError, NotFound
from greenlight.events import OperationFailed
from greenlight.models import Operation, OperationStatus, Persona, PersonaVersion, VersionResource
from greenlight.models.base import table_of
from greenlight.models.operations import PENDING_STATUSES, pending_of
from greenlight.operations.context import ApplyContext
from greenlight.operations.registry import AnyKind, Registry
from greenlight.outbox import emit
from greenlight.reviews import gate, requests
from greenlight.reviews.policy import policy_of
from greenlight.tenancy import visible_to

T = TypeVar("T", Operation, Persona)
_Query = TypeVar("_Query", bound="Select[*tuple[Any, ...]]")


@dataclass(frozen=True)
class Claimed:
    """An operation a drain is about to apply: its attempts so far, its kind."""

    operation_id: str
    attempts: int
    kind: str = ""


def lock_operations(session: Session, operation_ids: list[str]) -> None:
    """Lock a group's operation rows in one statement (instead of one per operation)."""
    locked: set[str] = session.info.setdefault("locked", set())
    missing = [operation_id for operation_id in operation_ids if operation_id not in locked]
    if missing:
        session.scalars(select(Operation).where(Operation.id.in_(missing)).with_for_update()).all()
        locked.update(missing)


def _next_pending(query: _Query, *locked: Any) -> _Query:
    """The persona's next `size` pending operations, in sequence order, locked (with `locked`'s
    rows, when given; else every table's)."""
    return (
        query.where(pending_of(bindparam("persona_id")))
        .order_by(Operation.seq)
        .limit(bindparam("size", type_=Integer))
        .with_for_update(of=locked or None)
    )


# Built once: constructing a statement costs about as much as sending it.
_NEXT_PENDING = _next_pending(select(Operation))

# The claim also brings the persona's draft and production versions, which most operations read
# next (one round trip fewer), joined to the first row only: a run of one persona's operations
# would otherwise carry their content once per row.
_DRAFT = aliased(PersonaVersion, name="claimed_draft")
_PRODUCTION = aliased(PersonaVersion, name="claimed_production")
_EARLIER = aliased(Operation, name="earlier")
_FIRST_SEQ = (
    select(func.min(_EARLIER.seq)).where(pending_of(bindparam("persona_id"), _EARLIER)).scalar_subquery()
)
_FIRST_ROW = Operation.seq == _FIRST_SEQ
# The persona's revision in the statement's snapshot. Locking can return a newer row (a commit
# between the snapshot and the lock); the versions joined to it are then the snapshot's, perhaps
# stale, and the claim drops them.
_SNAPSHOT_REVISION = select(Persona.revision).where(Persona.id == bindparam("persona_id")).scalar_subquery()
_DRAFT_HAS_LINKS = (
    select(VersionResource.id).where(VersionResource.version_id == Persona.current_draft_version_id).exists()
)
_NEXT_PENDING_WITH_PERSONA = _next_pending(
    select(
        Operation,
        Persona,
        _DRAFT,
        _PRODUCTION,
        _SNAPSHOT_REVISION.label("snapshot_revision"),
        _DRAFT_HAS_LINKS.label("draft_has_links"),
    )
    .join(Persona, Persona.id == Operation.persona_id)
    .outerjoin(_DRAFT, and_(_DRAFT.id == Persona.current_draft_version_id, _FIRST_ROW))
    .outerjoin(_PRODUCTION, and_(_PRODUCTION.id == Persona.current_production_version_id, _FIRST_ROW)),
    Operation,
    Persona,
)


def claim_in_transaction(session: Session, persona_id: str, size: int) -> tuple[list[Claimed], int]:
    """The persona's next `size` pending operations in sequence order, locked (with the persona's
    row) for this transaction, and the persona's revision: the token this transaction compares and
    bumps, so a transaction that read a stale view cannot commit. The persona's draft and
    production versions come into the session with them."""
    params = {"persona_id": persona_id, "size": size}
    rows = session.execute(_NEXT_PENDING_WITH_PERSONA, params).all()
    locked: set[str] = session.info.setdefault("locked", set())
    persona: Persona | None
    if rows:
        operations = [row[0] for row in rows]
        persona = rows[0][1]
        locked.add(persona_id)
        _keep_versions(session, persona, rows[0])
    else:  # nothing pending, or operations of a persona that has no row
        operations = list(session.scalars(_NEXT_PENDING, params).all())
        if not operations:
            return [], 0
        persona = None
    session.info["claimed_at"] = utcnow()
    locked.update(op.id for op in operations)
    if persona is None:
        persona = _get_locked(session, Persona, persona_id)
    claimed = [Claimed(op.id, op.attempts, op.kind) for op in operations]
    return claimed, int(persona.revision) if persona is not None else 0


def _keep_versions(session: Session, persona: Persona, first: Any) -> None:
    """Keep the claim's versions if they are as current as the locked persona row; else forget
    them, and whoever needs them reads them again."""
    versions = [version for version in first[2:4] if version is not None]
    if first.snapshot_revision != persona.revision:
        for version in versions:
            session.expunge(version)
    elif persona.current_draft_version_id and not first.draft_has_links:
        remember_no_links(session, persona.current_draft_version_id)


_OPERATIONS = table_of(Operation)


def _get_locked(session: Session, model: type[T], key: str) -> T | None:
    """The row, locked FOR UPDATE once per transaction; later lookups use the identity map."""
    locked: set[str] = session.info.setdefault("locked", set())
    if key in locked:
        found = session.get(model, key)
        if found is not None:
            return found
    found = session.get(model, key, with_for_update=True)
    if found is not None:
        locked.add(key)
    return found


def _load(
    session: Session, operation_id: str, expected_revision: int, *, to_apply: bool = True
) -> tuple[Operation, Persona | None]:
    """The operation and its persona, locked and fenced; to apply it, the persona must still be
    one its caller may change (recording its failure needs no more than the fence)."""
    op = _get_locked(session, Operation, operation_id)
    if op is None or op.status not in PENDING_STATUSES:
        # Someone else applied it while we believed we held the lock.
        raise FencingError(f"operation {operation_id} is no longer pending")
    persona = _get_locked(session, Persona, op.persona_id)
    if (persona.revision if persona else 0) != expected_revision:
        raise FencingError(f"persona {op.persona_id} moved past revision {expected_revision}")
    if to_apply and persona is not None and not visible_to(persona, op.workspace_id):
        raise NotFound("Persona not found", {"persona_id": op.persona_id})
    return op, persona


_PERSONAS = table_of(Persona)


def _pending_changes(persona: Persona) -> dict[str, Any]:
    """The persona's changed columns, taken out of the unit of work (marked as written): the
    compare-and-bump writes them, so the row is updated once."""
    state = inspect(persona)
    changes = {name: state.dict[name] for name in state.committed_state if name in _PERSONAS.c}
    for name, value in changes.items():
        set_committed_value(persona, name, value)
    return changes


def _bump_revision(
    session: Session, persona: Persona, expected_revision: int, by: int = 1, writes: Writes | None = None
) -> int:
    """Compare-and-bump (once per applied operation): the write that a stale worker cannot make.
    The persona's own changes ride in the same statement, sent with `writes` (one round trip where
    the database allows), after everything else is flushed."""
    changes = _pending_changes(persona)
    session.flush()
    writes = writes or Writes()
    values = {"revision": expected_revision + by, **changes}
    writes.after.append(RowUpdate(_PERSONAS, persona.id, values, expected={"revision": expected_revision}))
    if not writes.send(session.connection()):
        raise FencingError(f"persona {persona.id} moved past revision {expected_revision}")
    # The next operation of a group, in this same transaction, checks against the new value.
    set_committed_value(persona, "revision", expected_revision + by)
    return expected_revision + by


def _started(session: Session, now: datetime) -> datetime:
    """When this transaction began applying (its claim), for operations no earlier drain started."""
    claimed_at: datetime | None = session.info.get("claimed_at")
    return claimed_at or now


def _finish(session: Session, op: Operation, status: OperationStatus) -> None:
    now = utcnow()
    op.status = status.value
    op.finished_at = now
    op.updated_at = now
    op.started_at = op.started_at or _started(session, now)
    op.attempts = max(op.attempts, 1)  # a drain that claimed it durably counted it already


@dataclass(frozen=True)
class Applied:
    revision: int
    persona: Persona | None
    production_changed: bool


def apply_in_transaction(
    session: Session, registry: Registry, operation_id: str, expected_revision: int
) -> Applied:
    """Apply the operation as its kind (looked up in `registry`) says; the caller commits.

    A DomainError propagates with nothing flushed that matters: the caller rolls back
    and records the failure with ``fail_in_transaction``.
    """
    op, persona = _load(session, operation_id, expected_revision)
    ctx = ApplyContext(session=session, operation=op, persona=persona, kinds=registry)
    kind = registry.get(op.kind)
    if gate.hold(ctx, kind) is None:  # parked behind a promotion request: audited when it settles
        op.result = kind.run(ctx)
        _finish(session, op, OperationStatus.SUCCEEDED)
        audit.operation_settled(session, op, op.result)
    if ctx.persona is None:
        return Applied(expected_revision, None, False)
    requests.void_moved(session, ctx.persona)
    revision = _bump_revision(session, ctx.persona, expected_revision)
    return Applied(revision, ctx.persona, ctx.production_changed)


def apply_run_in_transaction(
    session: Session, operation_ids: list[str], expected_revision: int, kind: AnyKind
) -> Applied:
    """Apply consecutive operations of one kind on one persona with the kind's run handler; the
    caller commits. Same checks, results and revisions as applying them one by one."""
    lock_operations(session, operation_ids)
    loaded = [_load(session, operation_id, expected_revision) for operation_id in operation_ids]
    persona = loaded[0][1]
    if persona is None or any(p is not persona for _, p in loaded):
        raise NotFound("Persona not found", {"persona_id": loaded[0][0].persona_id})
    if kind.promotes is not None and policy_of(persona).gates:
        raise gate.ReviewRequired("Each promotion of this persona passes its review gate on its own")
    operations = [op for op, _ in loaded]
    writes = Writes()
    results = kind.run_many(session, persona, operations, writes)
    now = utcnow()
    started = _started(session, now)
    for op, result in zip(operations, results, strict=True):
        # The rows are locked and loaded: the finished values are known here (as `_finish` sets).
        finished = {
            "status": OperationStatus.SUCCEEDED.value,
            "result": result,
            "finished_at": now,
            "updated_at": now,
            "started_at": op.started_at or started,
            "attempts": max(op.attempts, 1),
        }
        writes.after.append(RowUpdate(_OPERATIONS, op.id, finished))
        for name, value in finished.items():  # the row as it will be written
            set_committed_value(op, name, value)
        audit.operation_settled(session, op, result)
    requests.void_moved(session, persona)
    revision = _bump_revision(session, persona, expected_revision, by=len(operations), writes=writes)
    return Applied(revision, persona, True)


def fail_in_transaction(
    session: Session, operation_id: str, expected_revision: int, error: DomainError
) -> int:
    op, persona = _load(session, operation_id, expected_revision, to_apply=False)
    op.error = error.as_dict()
    _finish(session, op, OperationStatus.FAILED)
    audit.operation_settled(session, op, None, error)
    if persona is None:
        return expected_revision
    failed = OperationFailed(operation_id=op.id, kind=op.kind, error=error.code, message=error.message)
    emit(session, persona, failed, op.id)
    return _bump_revision(session, persona, expected_revision)
