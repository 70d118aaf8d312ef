"""Resolving a draft patch's fields into resource ids: select by id, or create (or reuse) by text.

Every id is checked before anything is written, so a bad id changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenlight.drafts import catalogue
from greenlight.errors import Unprocessable
from greenlight.models import Resource
from greenlight.tenancy import Actor, owned_by, usable_by
from greenlight.upsert import insert_missing


@dataclass(frozen=True)
class SingleSlot:
    slot: str
    text_field: str
    id_field: str
    kind: str
    max_length: int


@dataclass(frozen=True)
class ListSlot:
    slot: str
    text_field: str
    id_field: str
    kind: str
    max_length: int


SINGLE_SLOTS = (
    SingleSlot("name", "name", "name_id", "name", 200),
    SingleSlot("description", "description", "description_id", "description", 10_000),
    SingleSlot("color", "color", "color_id", "color", 9),
    SingleSlot("icon", "icon", "icon_id", "icon", 64 * 1024),
    SingleSlot("instructions", "instructions", "instructions_id", "instructions", 100_000),
)
LIST_SLOTS = (
    ListSlot("examples", "examples", "example_ids", "example", 10_000),
    ListSlot("departments", "departments", "department_ids", "department", 200),
    ListSlot("parameter_fields", "parameter_fields", "parameter_field_ids", "parameter_field", 200),
    ListSlot("voices", "voices", "voice_ids", "voice", 200),
)
FLAGS = "flags"
SLOTS: tuple[str, ...] = (*(s.slot for s in SINGLE_SLOTS), *(s.slot for s in LIST_SLOTS), FLAGS)
KIND_OF_SLOT = {s.slot: s.kind for s in (*SINGLE_SLOTS, *LIST_SLOTS)} | {FLAGS: catalogue.FLAG_KIND}

HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
SVG = re.compile(r"^\s*(<\?xml[^>]*>\s*)?<svg[\s>].*</svg>\s*$", re.DOTALL | re.IGNORECASE)


@dataclass
class ResolvedChanges:
    """What a patch sets: whole slots by resource id, a merge into the flags, the pending set."""

    slots: dict[str, list[str]] = field(default_factory=dict)
    flag_merge: list[str] = field(default_factory=list)
    pending_ids: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"slots": self.slots, "flag_merge": self.flag_merge, "pending_ids": self.pending_ids}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResolvedChanges:
        return cls(dict(data.get("slots", {})), list(data.get("flag_merge", [])), data.get("pending_ids"))

    def touched(self) -> list[str]:
        fields = list(self.slots)
        if self.flag_merge and FLAGS not in fields:
            fields.append(FLAGS)
        if self.pending_ids is not None:
            fields.append("pending_ids")
        return fields


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, field_name: str, value: Any, problem: str) -> None:
        label = "id" if field_name.endswith(("_id", "_ids")) else "value"
        self.items.append({"field": field_name, label: value, "problem": problem})

    def raise_if_any(self) -> None:
        if self.items:
            first = self.items[0]
            named = first.get("id", first.get("value"))
            raise Unprocessable(
                f"{first['field']}: {first['problem']} ({str(named)[:80]})",
                {"errors": self.items},
                code="INVALID_RESOURCE",
            )


def _validate_text(errors: _Errors, field_name: str, kind: str, text: str, max_length: int) -> None:
    if not text.strip():
        errors.add(field_name, text, "must not be blank")
    elif len(text) > max_length:
        errors.add(field_name, text[:40], f"longer than {max_length} characters")
    elif kind == "color" and not HEX_COLOR.match(text):
        errors.add(field_name, text, "is not a hex colour like #1a2b3c")
    elif kind == "icon" and not SVG.match(text):
        errors.add(field_name, text[:40], "is not SVG markup (<svg ...>...</svg>)")


def _lookup(session: Session, ids: set[str]) -> dict[str, Resource]:
    if not ids:
        return {}
    return {r.id: r for r in session.scalars(select(Resource).where(Resource.id.in_(ids)))}


def _check_id(
    errors: _Errors, found: dict[str, Resource], workspace_id: str, field_name: str, rid: str, kind: str
) -> None:
    resource = found.get(rid)
    # Another workspace's resource is reported exactly like a missing one.
    if resource is None or not usable_by(resource, workspace_id):
        errors.add(field_name, rid, "no such resource")
    elif resource.kind != kind:
        errors.add(field_name, rid, f"is a {resource.kind}, not a {kind}")


def get_or_create(session: Session, actor: Actor, kind: str, text: str) -> Resource:
    """Identical text of the same kind in the same workspace reuses the existing row, even when another
    request brings the same text at the same instant (greenlight/upsert.py)."""
    digest = catalogue.value_hash(text)
    insert_missing(
        session,
        Resource,
        {
            "workspace_id": actor.workspace_id,
            "user_id": actor.user_id,
            "kind": kind,
            "value": text,
            "value_hash": digest,
        },
        ("workspace_id", "kind", "value_hash"),
    )
    found = session.scalar(
        select(Resource).where(
            owned_by(Resource, actor.workspace_id), Resource.kind == kind, Resource.value_hash == digest
        )
    )
    assert found is not None  # inserted above, or by the transaction the insert waited for
    return found


def validate(session: Session, workspace_id: str, request: dict[str, Any]) -> None:
    """Raise a 422 naming every bad field, id or text; writes nothing."""
    errors = _Errors()
    wanted: set[str] = set()
    for single in SINGLE_SLOTS:
        if request.get(single.text_field) is not None:
            _validate_text(
                errors, single.text_field, single.kind, request[single.text_field], single.max_length
            )
        if request.get(single.id_field) is not None:
            wanted.add(request[single.id_field])
    for many in LIST_SLOTS:
        for text in request.get(many.text_field) or []:
            _validate_text(errors, many.text_field, many.kind, text, many.max_length)
        wanted.update(request.get(many.id_field) or [])
    wanted.update(request.get("flag_ids") or [])
    wanted.update(request.get("pending_ids") or [])
    found = _lookup(session, wanted)
    for single in SINGLE_SLOTS:
        if request.get(single.id_field) is not None:
            _check_id(errors, found, workspace_id, single.id_field, request[single.id_field], single.kind)
    for many in LIST_SLOTS:
        for rid in request.get(many.id_field) or []:
            _check_id(errors, found, workspace_id, many.id_field, rid, many.kind)
    flag_types: dict[str, str] = {}
    for rid in request.get("flag_ids") or []:
        _check_id(errors, found, workspace_id, "flag_ids", rid, catalogue.FLAG_KIND)
        meta = found[rid].meta if rid in found else None
        if meta:
            if meta["type"] in flag_types and flag_types[meta["type"]] != rid:
                errors.add("flag_ids", rid, f"selects a second value of flag {meta['type']}")
            flag_types[meta["type"]] = rid
    for rid in request.get("pending_ids") or []:
        resource = found.get(rid)
        if resource is None or not usable_by(resource, workspace_id):
            errors.add("pending_ids", rid, "no such resource")
    errors.raise_if_any()


def resolve(session: Session, actor: Actor, request: dict[str, Any]) -> ResolvedChanges:
    """Validate, then create or reuse the text resources (the workspace's, created by the actor);
    the result names everything by id."""
    validate(session, actor.workspace_id, request)
    changes = ResolvedChanges(pending_ids=request.get("pending_ids"))
    for single in SINGLE_SLOTS:
        if request.get(single.id_field) is not None:  # an id wins over text, as for color/color_id
            changes.slots[single.slot] = [request[single.id_field]]
        elif request.get(single.text_field) is not None:
            changes.slots[single.slot] = [
                get_or_create(session, actor, single.kind, request[single.text_field]).id
            ]
    for many in LIST_SLOTS:
        texts, ids = request.get(many.text_field), request.get(many.id_field)
        if texts is None and ids is None:
            continue
        resolved = [get_or_create(session, actor, many.kind, text).id for text in texts or []]
        changes.slots[many.slot] = list(dict.fromkeys([*(ids or []), *resolved]))
    active = request.get("active")
    active_id = catalogue.option_id(catalogue.PERSONA_ACTIVE, "true" if active else "false")
    if request.get("flag_ids") is not None:
        flags = list(dict.fromkeys(request["flag_ids"]))
        if active is not None:
            active_type = {catalogue.option_id(catalogue.PERSONA_ACTIVE, v) for v in ("true", "false")}
            flags = [f for f in flags if f not in active_type] + [active_id]
        changes.slots[FLAGS] = flags
    elif active is not None:
        changes.flag_merge = [active_id]
    return changes
