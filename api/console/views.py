"""What each console page shows: read through the domain services, shaped for the templates.

Every function here runs inside one unit of work (``api.deps.in_transaction``) and only reads;
changes go through the same operation submissions as the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from greenlight.drafts import service as drafts
from greenlight.drafts.connections import hydrate
from greenlight.drafts.preview import preview
from greenlight.drafts.resources import LIST_SLOTS, SINGLE_SLOTS
from greenlight.errors import NotFound
from greenlight.kinds import REGISTRY
from greenlight.models import EntryStatus, Operation, Persona, PersonaVersion
from greenlight.models.personas import CONTENT_FIELDS
from greenlight.operations.query import get_operation, is_terminal
from greenlight.personas import history
from greenlight.personas.diff import diff_versions
from greenlight.personas.line_diff import Comparison, as_text, compare_texts
from greenlight.personas.listing import list_personas, promoters, user_names
from greenlight.personas.service import get_owned_persona, get_version, list_versions
from greenlight.reviews.views import reviews_of

LABELS = {
    "orchestration_prompt": "Orchestration prompt",
    "personality_prompt": "Personality prompt",
    "pathway_conditions": "Pathway conditions",
    "kb_ids": "Knowledge bases",
    "call_config": "Call configuration",
    "default_tools": "Default tools",
    "version_description": "Version description",
    "parameter_fields": "Parameter fields",
    "pending_ids": "Pending resources",
    "flags": "Flags",
}
SLOT_FIELDS = (*(s.slot for s in SINGLE_SLOTS), *(s.slot for s in LIST_SLOTS), "flags")
PROPOSALS_SHOWN = 20


def label(field: str) -> str:
    return LABELS.get(field, field.replace("_", " ").capitalize())


# --- values as cells: text lines or items, marked removed/added when two are compared ---------


def _is_item(value: Any) -> bool:
    return isinstance(value, dict) and "id" in value and "value" in value


def _item_text(item: dict[str, Any]) -> str:
    value = item.get("value")
    text = str(value) if value is not None else str(item.get("id"))
    return f"{item['type']}: {text}" if item.get("type") else text


def _items(value: Any, names: dict[str, str]) -> list[dict[str, Any]] | None:
    """A slot's value as [{key, text, pending}], or None when it is not a list of resources."""
    if value is None:
        return []
    if _is_item(value):
        value = [value]
    if isinstance(value, list) and all(_is_item(v) for v in value):
        return [
            {
                "key": (v["id"], bool(v.get("active", True))),
                "text": _item_text(v),
                "pending": not v.get("active", True),
            }
            for v in value
        ]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [{"key": (v, True), "text": names.get(v, v), "pending": False} for v in value]
    return None


def _items_cell(
    items: list[dict[str, Any]], other: list[dict[str, Any]] | None, mark: str, single: bool
) -> dict[str, Any]:
    if not items:
        return {"kind": "empty"}
    keys = {item["key"] for item in other} if other is not None else None
    return {
        "kind": "items",
        "single": single,  # one resource (a name, a colour): no bullet
        "items": [
            {
                "text": item["text"],
                "pending": item["pending"],
                "mark": mark if keys is not None and item["key"] not in keys else "",
            }
            for item in items
        ],
    }


def _lines_cell(lines: list[dict[str, str]]) -> dict[str, Any]:
    return {"kind": "lines", "lines": lines} if lines else {"kind": "empty"}


def cell(value: Any, names: dict[str, str] | None = None) -> dict[str, Any]:
    """One value on its own."""
    items = _items(value, names or {})
    if items is not None:
        return _items_cell(items, None, "", _is_item(value))
    return _lines_cell([{"text": line, "mark": ""} for line in as_text(value).splitlines()])


def side_by_side(
    a: Any, b: Any, names: dict[str, str] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two values as cells, what only the left has marked "del", what only the right has "add"."""
    names = names or {}
    left_items, right_items = _items(a, names), _items(b, names)
    if left_items is not None and right_items is not None:
        single = _is_item(a) or _is_item(b)
        return (
            _items_cell(left_items, right_items, "del", single),
            _items_cell(right_items, left_items, "add", single),
        )
    return compared_cells(compare_texts(as_text(a), as_text(b)))


def compared_cells(comparison: Comparison) -> tuple[dict[str, Any], dict[str, Any]]:
    """A line comparison as two cells; one too large to compare says so, with the sizes, on both."""
    if comparison["lines"] is None:
        too_large = {"kind": "too_large", "message": (comparison["too_large"] or {}).get("message", "")}
        return too_large, too_large
    lines = comparison["lines"]
    left = [
        {"text": c["text"], "mark": "" if c["op"] == "equal" else "del"} for c in lines if c["op"] != "insert"
    ]
    right = [
        {"text": c["text"], "mark": "" if c["op"] == "equal" else "add"} for c in lines if c["op"] != "delete"
    ]
    return _lines_cell(left), _lines_cell(right)


# --- personas ----------------------------------------------------------------------------------


def personas_page(session: Session, workspace_id: str, search: str, page: int, size: int) -> dict[str, Any]:
    rows, total = list_personas(session, workspace_id, search, limit=size, offset=(page - 1) * size)
    return {
        "rows": [
            {
                "id": row.persona.id,
                "name": row.persona.name,
                "description": row.persona.description,
                "updated_at": row.persona.updated_at,
                "production": row.production_version,
                "draft": row.draft_version,
            }
            for row in rows
        ],
        "total": total,
        "page": page,
        "pages": max(1, (total + size - 1) // size),
        "search": search,
    }


def _version_row(version: PersonaVersion, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": version.id,
        "number": version.version_number,
        "status": version.status,
        "description": version.version_description,
        "promoted_by": names.get(version.promoted_by or "", version.promoted_by),
        "promoted_at": version.promoted_at,
        "created_at": version.created_at,
        "updated_at": version.updated_at,
    }


@dataclass
class PersonaPage:
    persona: Persona
    versions: list[PersonaVersion]
    context: dict[str, Any]

    def version(self, version_id: str | None) -> PersonaVersion | None:
        return next((v for v in self.versions if v.id == version_id), None) if version_id else None


def persona_page(session: Session, workspace_id: str, persona_id: str) -> PersonaPage:
    """What every tab of a persona shows: its header, versions, and the dormant proposal count."""
    persona = get_owned_persona(session, workspace_id, persona_id)
    versions = list_versions(session, persona)
    names = user_names(session, [v.promoted_by for v in versions])
    rows = [_version_row(v, names) for v in reversed(versions)]
    by_id = {row["id"]: row for row in rows}
    dormant = drafts.list_proposals(session, persona, EntryStatus.DORMANT.value)
    context = {
        "persona": {
            "id": persona.id,
            "name": persona.name,
            "description": persona.description,
            "updated_at": persona.updated_at,
            "production_version_id": persona.current_production_version_id or "",
            # Promotions wait for this many approvals (0: they apply at once).
            "required_approvals": persona.required_approvals,
        },
        "production": by_id.get(persona.current_production_version_id or ""),
        "draft": by_id.get(persona.current_draft_version_id or ""),
        "versions": rows,
        "dormant_count": len(dormant),
    }
    return PersonaPage(persona, versions, context)


def _contents(session: Session, version: PersonaVersion) -> list[dict[str, Any]]:
    """A version's non-empty fields: its content and its connected resources, hydrated."""
    form = hydrate(session, version)
    fields = [(name, getattr(version, name)) for name in CONTENT_FIELDS]
    fields += [(slot, form.get(slot)) for slot in SLOT_FIELDS]
    return [
        {"field": name, "label": label(name), "cell": cell(value)}
        for name, value in fields
        if value not in (None, "", [], {})
    ]


def versions_tab(session: Session, workspace_id: str, persona_id: str) -> dict[str, Any]:
    page = persona_page(session, workspace_id, persona_id)
    draft = page.version(page.persona.current_draft_version_id)
    return {**page.context, "draft_contents": _contents(session, draft) if draft else []}


def compare_tab(
    session: Session, workspace_id: str, persona_id: str, a: int | None, b: int | None
) -> dict[str, Any]:
    page = persona_page(session, workspace_id, persona_id)
    numbers = [v.version_number for v in page.versions]
    production = page.version(page.persona.current_production_version_id)
    draft = page.version(page.persona.current_draft_version_id)
    if a is None:
        a = production.version_number if production else (numbers[0] if numbers else None)
    if b is None:
        b = draft.version_number if draft else (numbers[-1] if numbers else None)
    context: dict[str, Any] = {**page.context, "a": a, "b": b, "diff": None}
    if a is None or b is None:
        return context
    diff = diff_versions(
        session, get_version(session, page.persona, a), get_version(session, page.persona, b)
    )
    rows = []
    for change in diff["changes"]:
        # Text fields come compared already (the API's diff and this page share that comparison).
        compared = change["lines"] is not None or change["too_large"] is not None
        left, right = compared_cells(change) if compared else side_by_side(change["from"], change["to"])
        rows.append({"field": change["field"], "label": label(change["field"]), "left": left, "right": right})
    context["diff"] = {"from": a, "to": b, "rows": rows}
    return context


def history_tab(
    session: Session, workspace_id: str, persona_id: str, query: history.HistoryQuery
) -> dict[str, Any]:
    page = persona_page(session, workspace_id, persona_id)
    rows, next_cursor = history.list_promotions(session, page.persona, query)
    reviewed = reviews_of(session, [row.operation_id for row in rows if row.operation_id])
    approvers = [a["user_id"] for review in reviewed.values() for a in review["approvals"]]
    requesters = [review["requested_by"] for review in reviewed.values()]
    names = user_names(session, [row.promoted_by for row in rows] + approvers + requesters)
    status_now = {v.id: v.status for v in page.versions}
    items = []
    for row in rows:
        item = history.promotion_to_dict(row, reviewed.get(row.operation_id or ""))
        items.append(
            {
                **item,
                "promoted_at_dt": row.promoted_at,
                "promoted_by_name": names.get(row.promoted_by, row.promoted_by),
                "requested_by_name": names.get(item["requested_by"], item["requested_by"]),
                "approver_names": [names.get(a["user_id"], a["user_id"]) for a in item["approvals"]],
                "status_now": status_now.get(row.version_id, ""),
            }
        )
    return {
        **page.context,
        "items": items,
        "next_cursor": next_cursor,
        "users": promoters(session, page.persona),
    }


def _proposal(session: Session, persona: Persona, entry: Any, names: dict[str, str]) -> dict[str, Any]:
    data = drafts.entry_to_dict(entry)
    shown = preview(session, persona, entry)
    rows = []
    for change in shown.fields:
        left, right = side_by_side(change.current, change.proposed, shown.values)
        rows.append({"field": change.field, "label": label(change.field), "left": left, "right": right})
    return {
        **data,
        "created_at_dt": entry.created_at,
        "expires_at_dt": entry.expires_at,
        "decided_at_dt": entry.decided_at,
        "decided_by_name": names.get(entry.decided_by or "", entry.decided_by),
        "field_labels": [label(name) for name in data["fields"]],
        "draft_version": shown.draft_version,
        "rows": rows,
        "stale_fields": shown.stale_fields,
        "stale_labels": [label(name) for name in shown.stale_fields],
        "problem": shown.problem,
    }


def proposals_tab(session: Session, workspace_id: str, persona_id: str) -> dict[str, Any]:
    page = persona_page(session, workspace_id, persona_id)
    entries = drafts.list_proposals(session, page.persona)
    names = user_names(session, [entry.decided_by for entry in entries])
    dormant = [e for e in entries if e.status == EntryStatus.DORMANT.value]
    decided = [e for e in entries if e.status != EntryStatus.DORMANT.value][:PROPOSALS_SHOWN]
    return {
        **page.context,
        "dormant": [_proposal(session, page.persona, e, names) for e in dormant],
        "decided": [
            {
                **drafts.entry_to_dict(e),
                "decided_at_dt": e.decided_at,
                "decided_by_name": names.get(e.decided_by or "", e.decided_by),
                "field_labels": [label(name) for name in drafts.entry_to_dict(e)["fields"]],
            }
            for e in decided
        ],
    }


# --- operations in words -----------------------------------------------------------------------

HINTS = {
    "STALE_REQUEST": "The draft or production changed after the promotion was requested, so its approvals "
    "no longer apply. Request the promotion again.",
    "PROMOTION_REJECTED": "A reviewer rejected the promotion; the reason is on the Reviews page.",
    "PRODUCTION_CHANGED": "Production changed after this page was loaded, so nothing was changed. "
    "Check the versions and promote again if you still want to.",
    "STALE_PROPOSAL": "The draft changed since the proposal was made, in the fields below. Review them: "
    "“Accept anyway” applies the proposal over those changes.",
    "VERSION_NOT_DRAFT": "Only a draft can be promoted: unarchive the version first to roll back to it.",
    "VERSION_NOT_ARCHIVED": "Only an archived version can be unarchived.",
    "NO_DRAFT_VERSION": "There is no draft to promote.",
    "ALREADY_DECIDED": "The proposal was decided already.",
    "NOT_DORMANT": "The proposal is no longer waiting for a decision.",
    "TOO_MANY_ATTEMPTS": "The workers gave up after several attempts; an operator can retry it "
    "with `greenlight ops retry`.",
}
STATUS_LABELS = {
    "queued": "Queued: waiting for a worker…",
    "running": "Running: a worker is applying it…",
    "awaiting_approval": "Waiting for approval: it applies once reviewers approve it (see Reviews).",
}


def _action(op: Operation) -> str:
    kind = REGISTRY.find(op.kind)
    return kind.describe(op) if kind is not None else op.kind


def _succeeded(session: Session, op: Operation) -> tuple[str, str, int | None]:
    kind = REGISTRY.find(op.kind)
    return kind.outcome(session, op) if kind is not None else ("Done", "Applied.", None)


def describe_operation(session: Session, op: Operation) -> dict[str, Any]:
    """An operation's progress or outcome in words, for the page and its live updates."""
    view: dict[str, Any] = {
        "id": op.id,
        "persona_id": op.persona_id,
        "status": op.status,
        "status_label": STATUS_LABELS.get(op.status, ""),
        "title": _action(op),
        "message": "",
        "hint": "",
        "fields": [],
        "production_version": None,
        "terminal": is_terminal(op),
    }
    if op.status == "succeeded":
        view["title"], view["message"], view["production_version"] = _succeeded(session, op)
    elif op.status == "awaiting_approval":
        view["title"] = f"{_action(op)} is waiting for approval"
        view["message"] = "Nothing changed in production yet. Reviewers approve or reject it under Reviews."
    elif op.status == "failed":
        error = op.error or {}
        code = str(error.get("error") or "")
        view["title"] = f"{_action(op)} failed"
        view["message"] = str(error.get("message") or "It was refused.")
        view["hint"] = HINTS.get(code, "")
        view["fields"] = [label(str(name)) for name in (error.get("details") or {}).get("fields", [])]
    return view


def operation_status(
    session: Session, workspace_id: str, operation_id: str, persona_id: str | None = None
) -> dict[str, Any] | None:
    """The user's operation in words; None when it is about another persona than the page's."""
    op = get_operation(session, workspace_id, operation_id)
    if persona_id is not None and op.persona_id != persona_id:
        return None
    return describe_operation(session, op)


def proposal_persona(session: Session, workspace_id: str, persona_id: str, entry_id: str) -> None:
    """404 unless the entry is a proposal of this persona of the user's."""
    get_owned_persona(session, workspace_id, persona_id)
    entry = drafts.get_entry(session, workspace_id, entry_id)
    if entry.persona_id != persona_id or not entry.soft:
        raise NotFound("No draft entry with that idempotency_key", {"idempotency_key": entry_id})
