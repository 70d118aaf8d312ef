"""Request bodies: validation and limits. Responses are built by the domain's serializers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Self

from pydantic import BeforeValidator, ConfigDict, Field, field_validator, model_validator

from api.inputs import IsoDatetime, RequestBody, to_utc

ShortText = Annotated[str, Field(max_length=200)]
LongText = Annotated[str, Field(max_length=100_000)]
Id = Annotated[str, Field(min_length=1, max_length=200)]
# Version numbers are stored as 32-bit integers.
MAX_VERSION_NUMBER = 2**31 - 1


class Strict(RequestBody):
    model_config = ConfigDict(extra="forbid")

    # May be left out, but not sent as null: the columns behind them hold no null.
    NOT_NULL: ClassVar[frozenset[str]] = frozenset({"name", "tags", "kb_ids", "default_tools"})

    @model_validator(mode="after")
    def _not_null(self) -> Self:
        nulls = sorted(name for name in self.model_fields_set & self.NOT_NULL if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        return self


class VersionContent(Strict):
    """The fields of a version that a draft edit may set."""

    orchestration_prompt: LongText | None = None
    personality_prompt: LongText | None = None
    pathway_conditions: Any = None
    kb_ids: Annotated[list[Id], Field(max_length=200)] | None = None
    call_config: dict[str, Any] | None = None
    default_tools: Annotated[list[Any], Field(max_length=200)] | None = None
    version_description: Annotated[str, Field(max_length=2000)] | None = None


class PersonaFields(Strict):
    role: ShortText | None = None
    description: Annotated[str, Field(max_length=10_000)] | None = None
    tags: Annotated[list[ShortText], Field(max_length=100)] | None = None
    image_url: Annotated[str, Field(max_length=2048)] | None = None


class PersonaCreate(PersonaFields, VersionContent):
    """Create a persona with its first draft."""

    name: Annotated[str, Field(min_length=1, max_length=200)]


class DraftUpdate(VersionContent):
    """Edit the current draft; only the fields sent change. A persona's name and metadata may change too."""

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    role: ShortText | None = None
    description: Annotated[str, Field(max_length=10_000)] | None = None
    tags: Annotated[list[ShortText], Field(max_length=100)] | None = None
    image_url: Annotated[str, Field(max_length=2048)] | None = None


Notes = Annotated[str, Field(max_length=2000)]


class PromotionOptions(Strict):
    notes: Notes | None = None
    expected_production_version_id: Annotated[str, Field(max_length=100)] | None = Field(
        default=None, description="Compare-and-swap: fail with 409 if production is no longer this version."
    )
    scheduled_at: IsoDatetime | None = Field(
        default=None, description="Take effect at this time (ISO 8601 with a timezone) instead of now."
    )

    @field_validator("scheduled_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("scheduled_at needs a timezone, e.g. 2026-01-01T12:00:00Z")
        return None if value is None else to_utc(value)


class PromoteRequest(PromotionOptions):
    """Optional body of Bland's promote: notes for the history, compare-and-swap, scheduling."""


class PublishRequest(PromotionOptions):
    """Publish a draft version in place."""


def _whole_number(value: Any) -> Any:
    """JSON has one kind of number: 2.0 is the integer 2, as JSON Schema's ``integer`` says (true
    and "2" are still refused)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class RetellPublishRequest(RequestBody):
    """Retell's PublishAgentVersionRequest."""

    version: Annotated[int, Field(strict=True, ge=0, le=MAX_VERSION_NUMBER), BeforeValidator(_whole_number)]
    version_description: Annotated[str, Field(max_length=2000)] | None = None


def promotion_payload(notes: str | None, expected: str | None, **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"notes": notes, **extra}
    if expected is not None and expected.strip() != "*":
        payload["expected_production_version_id"] = expected.strip().strip('"')
    return {key: value for key, value in payload.items() if value is not None}
