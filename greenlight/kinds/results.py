"""The results operation kinds store (an operation's `result`). The nested snapshots are the ones
the serializers (greenlight/personas/serialize.py, greenlight/schedules.py, drafts' `answer`)
already produce, kept as dicts for now."""

from __future__ import annotations

from typing import Any, TypedDict


class PersonaResult(TypedDict):
    persona: dict[str, Any]


class VersionResult(TypedDict):
    persona: dict[str, Any]
    version: dict[str, Any]


class ScheduleResult(TypedDict):
    schedule: dict[str, Any]


class DraftResult(TypedDict):
    draft: dict[str, Any]
