"""Request bodies: validation and limits. Responses are built by the domain's serializers."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

ShortText = Annotated[str, Field(max_length=200)]
LongText = Annotated[str, Field(max_length=100_000)]
Id = Annotated[str, Field(min_length=1, max_length=200)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


class PromoteRequest(Strict):
    """Optional body of Bland's promote: notes recorded in the promotion history."""

    notes: Annotated[str, Field(max_length=2000)] | None = None
