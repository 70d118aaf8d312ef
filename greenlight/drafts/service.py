"""Composable drafts: patches, soft proposals and their acks. Runs inside an operation's transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenlight.clock import isoformat, utcnow
from greenlight.drafts import connections
from greenlight.drafts.resources import ResolvedChanges
from greenlight.errors import Conflict, NotFound
from greenlight.events import DraftAccepted, DraftExpired, DraftProposed, DraftRejected, DraftUpdated
from greenlight.models import (
    DraftEntry,
    EntryStatus,
    Operation,
    Persona,
    PersonaVersion,
    Resource,
    VersionStatus,
)
from greenlight.outbox import emit
from greenlight.personas import service as personas
from greenlight.tenancy import Actor, owned_by

UNTITLED = "Untitled persona"
DECIDED = (EntryStatus.ACCEPTED.value, EntryStatus.REJECTED.value, EntryStatus.EXPIRED.value)


def answer(entry: DraftEntry, draft: PersonaVersion, message: str, session: Session) -> dict[str, Any]:
    """PatchPersonaDraftApiResponse."""
    return {
        "success": True,
        "draft_id": draft.id,
        "idempotency_key": entry.id,
        "message": message,
        "form_state": connections.hydrate(session, draft),
    }


def target_draft(session: Session, persona: Persona, draft_id: str | None) -> PersonaVersion:
    """The named draft if it is still an editable draft of this persona, else the current one."""
    if draft_id:
        version = session.get(PersonaVersion, draft_id)
        if (
            version is not None
            and version.persona_id == persona.id
            and version.status == VersionStatus.DRAFT.value
            and version.promoted_at is None
        ):
            return version
    return personas.editable_draft(session, persona)


def _sync_persona_fields(session: Session, persona: Persona, changes: ResolvedChanges) -> None:
    # The persona's display name and description follow the draft's name and description.
    for slot in ("name", "description"):
        ids = changes.slots.get(slot)
        if ids:
            resource = session.get(Resource, ids[0])
            if resource is not None:
                setattr(persona, slot, resource.value)
    persona.updated_at = utcnow()


def _apply(session: Session, persona: Persona, draft: PersonaVersion, changes: ResolvedChanges) -> None:
    connections.apply_changes(session, draft, changes)
    draft.updated_at = utcnow()
    _sync_persona_fields(session, persona, changes)


def _updated(
    session: Session,
    persona: Persona,
    draft: PersonaVersion,
    entry: DraftEntry,
    actor: str,
    operation_id: str,
) -> None:
    event = DraftUpdated.of(draft, entry.id, actor, _fields(entry), operation_id)
    emit(session, persona, event, operation_id)


def _fields(entry: DraftEntry) -> list[str]:
    return ResolvedChanges.from_dict(entry.changes).touched()


def create(
    session: Session, actor: Actor, persona_id: str, operation_id: str, changes: ResolvedChanges
) -> tuple[Persona, PersonaVersion, DraftEntry]:
    """A new persona whose first draft carries the patch."""
    persona = personas.create_persona(session, actor, persona_id, {"name": UNTITLED}, operation_id)
    draft = personas.ensure_draft(session, persona)
    entry = _entry(session, persona, draft, operation_id, actor.user_id, changes, soft=False)
    _apply(session, persona, draft, changes)
    _updated(session, persona, draft, entry, actor.user_id, operation_id)
    return persona, draft, entry


def _entry(
    session: Session,
    persona: Persona,
    draft: PersonaVersion,
    operation_id: str,
    user_id: str,
    changes: ResolvedChanges,
    *,
    soft: bool,
    base: dict[str, Any] | None = None,
    expires_at: datetime | None = None,
) -> DraftEntry:
    entry = DraftEntry(
        workspace_id=persona.workspace_id,
        user_id=user_id,
        persona_id=persona.id,
        draft_version_id=draft.id,
        operation_id=operation_id,
        soft=soft,
        status=EntryStatus.DORMANT.value if soft else EntryStatus.APPLIED.value,
        changes=changes.as_dict(),
        base=base or {},
        expires_at=expires_at,
        created_at=utcnow(),
    )
    session.add(entry)
    session.flush()
    return entry


def patch(
    session: Session,
    persona: Persona,
    operation: Operation,
    draft_id: str | None,
    changes: ResolvedChanges,
    *,
    soft: bool,
    proposal_ttl_seconds: float,
) -> tuple[DraftEntry, PersonaVersion, str]:
    operation_id, actor = operation.id, operation.user_id
    draft = target_draft(session, persona, draft_id)
    redirected = draft_id is not None and draft.id != draft_id
    if soft:
        base = connections.snapshot(connections.read_slots(session, draft.id), changes.touched())
        expires = utcnow() + timedelta(seconds=proposal_ttl_seconds)
        entry = _entry(
            session, persona, draft, operation_id, actor, changes, soft=True, base=base, expires_at=expires
        )
        proposed = DraftProposed(
            entry_id=entry.id,
            draft_id=entry.draft_version_id,
            actor=actor,
            fields=_fields(entry),
            operation_id=operation_id,
            expires_at=expires,
        )
        emit(session, persona, proposed, operation_id)
        return entry, draft, "Proposal staged dormant; nothing changed until it is acked with accept=true"
    entry = _entry(session, persona, draft, operation_id, actor, changes, soft=False)
    _apply(session, persona, draft, changes)
    _updated(session, persona, draft, entry, actor, operation_id)
    note = f" (draft {draft_id} is no longer editable; applied to draft {draft.id})" if redirected else ""
    return entry, draft, "Draft updated" + note


def get_entry(session: Session, workspace_id: str, entry_id: str, *, for_update: bool = False) -> DraftEntry:
    query = select(DraftEntry).where(DraftEntry.id == entry_id, owned_by(DraftEntry, workspace_id))
    if for_update:
        query = query.with_for_update()
    entry = session.scalar(query)
    if entry is None:
        raise NotFound("No draft entry with that idempotency_key", {"idempotency_key": entry_id})
    return entry


def recorded_conflict(entry: DraftEntry, accept: bool) -> Conflict | None:
    """The 409 for an ack that contradicts the recorded decision, if it does."""
    wanted = EntryStatus.ACCEPTED.value if accept else EntryStatus.REJECTED.value
    if entry.status in DECIDED and entry.status != wanted:
        return Conflict(
            f"The proposal was already {entry.status}",
            {
                "idempotency_key": entry.id,
                "decision": entry.status,
                "decided_by": entry.decided_by,
                "decided_at": isoformat(entry.decided_at),
                "reason": entry.decision_reason,
            },
            code="ALREADY_DECIDED",
        )
    return None


def ack(
    session: Session,
    persona: Persona,
    actor: str,
    operation_id: str,
    entry_id: str,
    accept: bool,
    reason: str | None,
    force: bool,
) -> tuple[DraftEntry, PersonaVersion, str]:
    entry = get_entry(session, persona.workspace_id, entry_id, for_update=True)
    conflict = recorded_conflict(entry, accept)
    if conflict is not None:
        raise conflict
    if entry.status != EntryStatus.DORMANT.value:
        raise Conflict(
            "The entry is not a proposal awaiting an ack", {"status": entry.status}, code="NOT_DORMANT"
        )
    draft = target_draft(session, persona, entry.draft_version_id)
    changes = ResolvedChanges.from_dict(entry.changes)
    if accept:
        if not force:
            _refuse_if_stale(session, draft, entry, changes)
        _apply(session, persona, draft, changes)
        draft.last_proposal_id = entry.id
    entry.status = EntryStatus.ACCEPTED.value if accept else EntryStatus.REJECTED.value
    entry.decided_by, entry.decided_at, entry.decision_reason = actor, utcnow(), reason
    entry.decision_operation_id = operation_id
    entry.draft_version_id = draft.id
    decided = (DraftAccepted if accept else DraftRejected)(
        entry_id=entry.id,
        draft_id=entry.draft_version_id,
        actor=actor,
        fields=_fields(entry),
        operation_id=operation_id,
        decision=entry.status,
        reason=reason,
        forced=force and accept,
    )
    emit(session, persona, decided, operation_id)
    return entry, draft, f"Proposal {entry.status}"


def stale_fields(session: Session, draft: PersonaVersion, entry: DraftEntry) -> list[str]:
    """The fields the proposal touches that changed in the draft since it was made."""
    touched = ResolvedChanges.from_dict(entry.changes).touched()
    current = connections.snapshot(connections.read_slots(session, draft.id), touched)
    return sorted(name for name, value in entry.base.items() if current.get(name) != value)


def _refuse_if_stale(
    session: Session, draft: PersonaVersion, entry: DraftEntry, changes: ResolvedChanges
) -> None:
    moved = stale_fields(session, draft, entry)
    if moved:
        raise Conflict(
            f"The draft changed since the proposal in: {', '.join(moved)}",
            {"idempotency_key": entry.id, "fields": moved, "hint": "ack with force=true to apply anyway"},
            code="STALE_PROPOSAL",
        )


def expire(session: Session, entry_id: str) -> bool:
    """Mark one overdue dormant proposal expired; False if it was decided meanwhile."""
    entry = session.get(DraftEntry, entry_id, with_for_update=True)
    if entry is None or entry.status != EntryStatus.DORMANT.value:
        return False
    persona = session.get(Persona, entry.persona_id, with_for_update=True)
    entry.status = EntryStatus.EXPIRED.value
    entry.decided_at = utcnow()
    if persona is not None:
        # Not applied by an operation: no operation id, so it is never mistaken for one's effect.
        expired = DraftExpired(
            entry_id=entry.id,
            draft_id=entry.draft_version_id,
            actor="system",
            fields=_fields(entry),
            operation_id=None,
            decision=entry.status,
        )
        emit(session, persona, expired, None)
    return True


def overdue(session: Session, now: datetime, limit: int = 500) -> list[str]:
    return list(
        session.scalars(
            select(DraftEntry.id)
            .where(DraftEntry.status == EntryStatus.DORMANT.value, DraftEntry.expires_at < now)
            .limit(limit)
        )
    )


def entry_to_dict(entry: DraftEntry) -> dict[str, Any]:
    return {
        "idempotency_key": entry.id,
        "persona_id": entry.persona_id,
        "draft_id": entry.draft_version_id,
        "status": entry.status,
        "soft": entry.soft,
        "fields": _fields(entry),
        "changes": entry.changes,
        "base": entry.base,
        "decided_by": entry.decided_by,
        "decided_at": isoformat(entry.decided_at),
        "reason": entry.decision_reason,
        "expires_at": isoformat(entry.expires_at),
        "created_at": isoformat(entry.created_at),
        "operation_id": entry.operation_id,
    }


def list_proposals(session: Session, persona: Persona, status: str | None = None) -> list[DraftEntry]:
    query = select(DraftEntry).where(DraftEntry.persona_id == persona.id, DraftEntry.soft.is_(True))
    if status:
        query = query.where(DraftEntry.status == status)
    return list(session.scalars(query.order_by(DraftEntry.created_at.desc(), DraftEntry.id.desc())))


def owned_draft(session: Session, workspace_id: str, draft_id: str) -> PersonaVersion:
    """The workspace's version `draft_id`; another workspace's answers exactly like a missing one (no
    persona id, no other message)."""
    missing = NotFound("Draft not found", {"draft_id": draft_id})
    version = session.get(PersonaVersion, draft_id)
    if version is None:
        raise missing
    try:
        personas.get_owned_persona(session, workspace_id, version.persona_id)
    except NotFound:
        raise missing from None
    return version
