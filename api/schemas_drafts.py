"""Request body of seed 002's POST /persona/draft (PatchPersonaDraftApiRequest)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import ConfigDict, Field

from api.inputs import RequestBody

# Generous transport limits; the domain applies each field's own limit and names the field.
Text = Annotated[str, Field(max_length=200_000)]
Ref = Annotated[str, Field(min_length=1, max_length=100)]
Texts = Annotated[list[Text], Field(max_length=100)]
Refs = Annotated[list[Ref], Field(max_length=100)]


class PatchPersonaDraftApiRequest(RequestBody):
    model_config = ConfigDict(extra="forbid")

    draft_id: Ref | None = Field(
        None, description="Existing draft UUID to patch (omit to create a new draft)"
    )
    name: Text | None = Field(None, description="Display name text (creates new name resource)")
    name_id: Ref | None = Field(None, description="UUID of an existing name resource to select")
    description: Text | None = Field(None, description="Description text (creates new description resource)")
    description_id: Ref | None = Field(None, description="UUID of an existing description resource to select")
    color: Text | None = Field(
        None, description="Hex color code (creates new resource if color_id not provided)"
    )
    color_id: Ref | None = Field(None, description="UUID of a color resource to select")
    icon: Text | None = Field(None, description="Resolved SVG markup for the icon")
    icon_id: Ref | None = Field(None, description="UUID of an icon resource to select")
    instructions: Text | None = Field(
        None, description="Instruction template text (creates new instruction resource)"
    )
    instructions_id: Ref | None = Field(
        None, description="UUID of an existing instruction resource to select"
    )
    flag_ids: Refs | None = Field(None, description="Selected flag option UUIDs — canonical")
    active: bool | None = Field(None, description="persona_active flag state; resolved to a flag_ids entry")
    examples: Texts | None = Field(None, description="Example texts (creates new example resources)")
    example_ids: Refs | None = Field(None, description="Existing example resource UUIDs to select")
    department_ids: Refs | None = Field(None, description="Department UUIDs to associate")
    departments: Texts | None = Field(None, description="Department names (resolved to UUIDs server-side)")
    parameter_field_ids: Refs | None = Field(None, description="Parameter field UUIDs to associate")
    parameter_fields: Texts | None = Field(None, description="Parameter field names (resolved server-side)")
    voice_ids: Refs | None = Field(None, description="Voice resource UUIDs to associate")
    voices: Texts | None = Field(None, description="Voice values (resolved to UUIDs server-side)")
    pending_ids: Refs | None = Field(None, description="Resource IDs to keep as pending (active=false)")
    idempotency_key: Ref | None = Field(
        None, description="Operation key for ack — promotes or rejects a dormant draft"
    )
    soft: bool | None = Field(None, description="Stage the draft dormant (active=False) — propose")
    accept: bool | None = Field(
        None, description="Accept (promote) or reject dormant state, with idempotency_key"
    )
    reason: Annotated[str, Field(max_length=2000)] | None = Field(
        None, description="Why, recorded with an ack"
    )
    force: bool | None = Field(None, description="Accept a stale proposal anyway (ack only)")

    ACK_FIELDS: ClassVar[frozenset[str]] = frozenset({"idempotency_key", "accept", "reason", "force"})

    def change_fields(self) -> dict[str, object]:
        """The patch itself: every field sent except the ack's and the routing ones."""
        return {
            k: v
            for k, v in self.model_dump(exclude_none=True).items()
            if k not in self.ACK_FIELDS and k not in ("draft_id", "soft")
        }
