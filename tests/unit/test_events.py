"""The event catalogue: one payload per type, the JSON consumers get, and README's list."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from greenlight.events import (
    PAYLOADS,
    DraftUpdated,
    EventType,
    OperationFailed,
    PromotionScheduled,
    VersionArchived,
    VersionPromoted,
)
from greenlight.models import Persona, PersonaVersion
from greenlight.outbox import event_rows

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| `([a-z_.]+)` \| .+ \| ((?:`[a-z_]+`(?:, )?)+) \|$")


def _readme_events() -> dict[str, list[str]]:
    rows = (ROW.match(line) for line in README.read_text().splitlines())
    return {row.group(1): re.findall(r"`([a-z_]+)`", row.group(2)) for row in rows if row}


def test_every_type_has_one_payload() -> None:
    assert set(PAYLOADS) == set(EventType)
    assert all(payload.event_type == event_type for event_type, payload in PAYLOADS.items())


def test_readme_lists_every_type_with_its_fields() -> None:
    documented = _readme_events()
    assert list(documented) == [event_type.value for event_type in EventType]
    for event_type, payload in PAYLOADS.items():
        assert documented[event_type.value] == list(payload.model_fields), event_type


def test_draft_updated_carries_both_shapes_it_had() -> None:
    # PATCH /v1/personas/{id}/draft wrote the first, POST /persona/draft the second.
    fields = set(DraftUpdated.model_fields)
    assert {"version_id", "version", "operation_id"} <= fields
    assert {"entry_id", "draft_id", "actor", "fields", "operation_id"} <= fields


def test_rows_take_their_type_from_the_payload_and_number_the_persona_sequence() -> None:
    persona = Persona(id="p1", workspace_id="w1", user_id="u1", last_event_seq=4)
    failed = OperationFailed(operation_id="o1", kind="persona.promote", error="NOT_FOUND", message="gone")
    archived = VersionArchived(version_id="v1", version=1, operation_id="o2")
    rows = event_rows(persona, [(failed, "o1"), (archived, "o2")])
    assert [(row["persona_seq"], row["type"], row["operation_id"]) for row in rows] == [
        (5, "operation.failed", "o1"),
        (6, "version.archived", "o2"),
    ]
    assert rows[0]["data"] == {
        "operation_id": "o1",
        "kind": "persona.promote",
        "error": "NOT_FOUND",
        "message": "gone",
    }
    assert persona.last_event_seq == 6


def test_data_is_plain_json_with_instants_as_the_api_writes_them() -> None:
    run_at = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    scheduled = PromotionScheduled(schedule_id="s1", kind="persona.promote", run_at=run_at, operation_id=None)
    assert scheduled.data() == {
        "schedule_id": "s1",
        "kind": "persona.promote",
        "run_at": "2026-01-02T03:04:05.678Z",
        "operation_id": None,
    }
    draft = PersonaVersion(id="d1", version_number=3)
    updated = DraftUpdated.of(draft, None, "u1", ["personality_prompt"], "o1")
    assert updated.data() == {
        "entry_id": None,
        "draft_id": "d1",
        "actor": "u1",
        "fields": ["personality_prompt"],
        "operation_id": "o1",
        "version_id": "d1",
        "version": 3,
    }
    promoted = VersionPromoted(
        version_id="v2",
        version=2,
        previous_version_id=None,
        previous_version=None,
        promoted_by="u1",
        notes=None,
        operation_id="o3",
        proposal_id=None,
    )
    assert promoted.data()["previous_version"] is None and promoted.data()["version"] == 2
