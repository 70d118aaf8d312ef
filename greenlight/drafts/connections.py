"""A version's resource connections: reading, writing, copying, and the hydrated form state."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, delete, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from greenlight.clock import new_id
from greenlight.drafts import catalogue
from greenlight.drafts.resources import FLAGS, LIST_SLOTS, SINGLE_SLOTS, SLOTS, ResolvedChanges
from greenlight.errors import Unprocessable
from greenlight.models import PersonaVersion, Resource, VersionResource

# Slot -> [(resource_id, active)] in order.
SlotState = dict[str, list[tuple[str, bool]]]


def read_slots(session: Session, version_id: str) -> SlotState:
    """The version's connections, read once per transaction (every write goes through this module,
    which keeps the transaction's copy current)."""
    known: dict[str, SlotState] = session.info.setdefault("slots", {})
    if version_id not in known:
        rows = session.execute(
            select(VersionResource.slot, VersionResource.resource_id, VersionResource.active)
            .where(VersionResource.version_id == version_id)
            .order_by(VersionResource.slot, VersionResource.position)
        )
        known[version_id] = _slot_state(rows)
    return {slot: list(items) for slot, items in known[version_id].items()}  # the caller's to change


def _slot_state(rows: Iterable[Any]) -> SlotState:
    """(slot, resource_id, active) rows, in slot and position order, as a version's connections."""
    state: SlotState = {slot: [] for slot in SLOTS}
    for slot, resource_id, active in rows:
        state.setdefault(slot, []).append((resource_id, bool(active)))
    return state


def load_versions(session: Session, version_ids: list[str], slots_of: str) -> None:
    """Bring the versions this session does not hold yet into it, and read the connections of
    `slots_of` (one of them) for ``read_slots``, in one query."""
    known: dict[str, SlotState] = session.info.setdefault("slots", {})
    missing = [i for i in version_ids if session.identity_map.get(identity_key(PersonaVersion, i)) is None]
    if slots_of not in known and slots_of not in missing:
        missing.append(slots_of)
    if not missing:
        return
    rows = session.execute(
        select(PersonaVersion, VersionResource.slot, VersionResource.resource_id, VersionResource.active)
        .outerjoin(
            VersionResource,
            and_(VersionResource.version_id == PersonaVersion.id, PersonaVersion.id == slots_of),
        )
        .where(PersonaVersion.id.in_(missing))
        .order_by(VersionResource.slot, VersionResource.position)
    )
    known.setdefault(slots_of, _slot_state(row[1:] for row in rows if row[1] is not None))


def remember_slots(session: Session, version_id: str, state: SlotState) -> None:
    """What the version's connections now are in this transaction (just written)."""
    known: dict[str, SlotState] = session.info.setdefault("slots", {})
    known[version_id] = {slot: list(items) for slot, items in state.items()}


def remember_no_links(session: Session, version_id: str) -> None:
    """The version has no connections (known without reading them)."""
    remember_slots(session, version_id, _slot_state(()))


def link_rows(version_ids: list[str], state: SlotState) -> list[dict[str, Any]]:
    """The rows that give new versions (nothing connected yet) these connections."""
    return [
        {
            "id": new_id(),
            "version_id": version_id,
            "slot": slot,
            "resource_id": rid,
            "position": i,
            "active": active,
        }
        for version_id in version_ids
        for slot, items in state.items()
        for i, (rid, active) in enumerate(items)
    ]


def _write(session: Session, version_id: str, state: SlotState, *, fresh: bool = False) -> None:
    if not fresh:  # a version made a moment ago has no connections to replace
        session.execute(delete(VersionResource).where(VersionResource.version_id == version_id))
    session.add_all(
        VersionResource(version_id=version_id, slot=slot, resource_id=rid, position=i, active=active)
        for slot, items in state.items()
        for i, (rid, active) in enumerate(items)
    )
    session.flush()
    remember_slots(session, version_id, state)


def copy_connections(session: Session, source_id: str, target_id: str) -> None:
    """A new version made from another carries its connections: they are part of its content."""
    state = read_slots(session, source_id)
    if any(state.values()):
        _write(session, target_id, state, fresh=True)


def _flag_types(session: Session, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.execute(select(Resource.id, Resource.meta).where(Resource.id.in_(ids))).all()
    return {rid: str(meta["type"]) for rid, meta in rows if meta}


def apply_changes(session: Session, draft: PersonaVersion, changes: ResolvedChanges) -> SlotState:
    """Write the patch's slots into the draft; returns the new state."""
    state = planned_state(session, draft, changes)
    _write(session, draft.id, state)
    return state


def planned_state(session: Session, draft: PersonaVersion, changes: ResolvedChanges) -> SlotState:
    """The draft's connections as the patch would leave them; writes nothing (previews use it too)."""
    state = read_slots(session, draft.id)
    for slot, ids in changes.slots.items():
        previous = dict(state.get(slot, []))
        state[slot] = [(rid, previous.get(rid, True)) for rid in ids]
    if changes.flag_merge:
        types = _flag_types(session, [rid for rid, _ in state[FLAGS]] + changes.flag_merge)
        merged_types = {types.get(rid) for rid in changes.flag_merge}
        kept = [(rid, active) for rid, active in state[FLAGS] if types.get(rid) not in merged_types]
        state[FLAGS] = kept + [(rid, True) for rid in changes.flag_merge]
    if changes.pending_ids is not None:
        connected = {rid for items in state.values() for rid, _ in items}
        missing = [rid for rid in changes.pending_ids if rid not in connected]
        if missing:
            raise Unprocessable(
                f"pending_ids: {missing[0]} is not connected to the draft",
                {
                    "errors": [
                        {"field": "pending_ids", "id": rid, "problem": "not connected"} for rid in missing
                    ]
                },
                code="INVALID_RESOURCE",
            )
        pending = set(changes.pending_ids)
        state = {slot: [(rid, rid not in pending) for rid, _ in items] for slot, items in state.items()}
    return state


def snapshot(state: SlotState, fields: list[str]) -> dict[str, Any]:
    """The values of some fields, comparable later to tell whether someone else changed them."""
    out: dict[str, Any] = {}
    for name in fields:
        if name == "pending_ids":
            out[name] = sorted(rid for items in state.values() for rid, active in items if not active)
        else:
            out[name] = [[rid, active] for rid, active in state.get(name, [])]
    return out


def hydrate(session: Session, version: PersonaVersion, state: SlotState | None = None) -> dict[str, Any]:
    """The complete form state: ids and values for every slot, lists, pending ones (of ``state``
    when given, e.g. a planned one, else of the version's stored connections)."""
    if state is None:
        state = read_slots(session, version.id)
    ids = [rid for items in state.values() for rid, _ in items]
    resources = (
        {r.id: r for r in session.scalars(select(Resource).where(Resource.id.in_(ids)))} if ids else {}
    )

    def item(rid: str, active: bool) -> dict[str, Any]:
        resource = resources.get(rid)
        out: dict[str, Any] = {"id": rid, "value": resource.value if resource else None, "active": active}
        if resource is not None and resource.meta:
            out = {
                "id": rid,
                "type": resource.meta["type"],
                "value": resource.meta["value"],
                "active": active,
            }
        return out

    form: dict[str, Any] = {
        "draft_id": version.id,
        "persona_id": version.persona_id,
        "version_number": version.version_number,
        "status": version.status,
    }
    for single in SINGLE_SLOTS:
        entries = state.get(single.slot, [])
        form[single.slot] = item(*entries[0]) if entries else None
        form[single.id_field] = entries[0][0] if entries else None
    for many in LIST_SLOTS:
        entries = state.get(many.slot, [])
        form[many.slot] = [item(rid, active) for rid, active in entries]
        form[many.id_field] = [rid for rid, _ in entries]
    flags = [item(rid, active) for rid, active in state.get(FLAGS, [])]
    form["flags"] = flags
    form["flag_ids"] = [flag["id"] for flag in flags]
    persona_active = [f for f in flags if f.get("type") == catalogue.PERSONA_ACTIVE]
    form["active"] = persona_active[0]["value"] == "true" if persona_active else None
    form["pending_ids"] = sorted(rid for items in state.values() for rid, active in items if not active)
    return form
