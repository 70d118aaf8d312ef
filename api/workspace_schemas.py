"""Bodies of the workspace, members and keys endpoints: requests and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import BaseModel, Field

from api.responses import envelope_of
from api.schemas import Strict
from greenlight.access import Role

UserRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        description="A user name (the user is created if new) or an existing user's id.",
    ),
]
KeyName = Annotated[str, Field(min_length=1, max_length=200, description="What the key is for.")]


class MemberAdd(Strict):
    """Add a user to the workspace with a role."""

    NOT_NULL: ClassVar[frozenset[str]] = frozenset()

    user: UserRef
    role: Role


class MemberUpdate(Strict):
    """Give a member another role (the last admin cannot be demoted)."""

    NOT_NULL: ClassVar[frozenset[str]] = frozenset()

    role: Role


class KeyCreate(Strict):
    """A key for a member of the workspace (the caller, by default), with the member's role or a
    narrower one."""

    NOT_NULL: ClassVar[frozenset[str]] = frozenset({"user_id", "role"})

    name: KeyName
    user_id: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    role: Role | None = None


class Named(BaseModel):
    id: str
    name: str


class KeyRole(BaseModel):
    id: str
    role: Role | None = Field(
        description="The key's own role, narrower than its member's; null: the member's."
    )


class WorkspaceObject(BaseModel):
    """Who is calling: the workspace, the member, the member's role and the key's."""

    workspace: Named
    user: Named
    role: Role
    key: KeyRole


class MemberObject(BaseModel):
    user_id: str
    name: str
    role: Role
    created_at: datetime


class RemovedMember(BaseModel):
    user_id: str
    removed: bool = Field(description="Always true: the member and every key they held here are gone.")


class KeyObject(BaseModel):
    """A key as listed: never the key itself, nor its hash."""

    id: str
    name: str | None
    prefix: str = Field(description="The key's first characters, to recognise it by.")
    user_id: str
    user_name: str
    role: Role | None
    created_at: datetime
    revoked_at: datetime | None


class NewKeyObject(KeyObject):
    api_key: str | None = Field(
        description="The key itself: answered once, never again (a retry with the same Idempotency-Key "
        "answers null)."
    )


WorkspaceEnvelope = envelope_of("Workspace", WorkspaceObject, "The caller's workspace, user, role and key.")
MemberEnvelope = envelope_of("Member", MemberObject, "A member of the workspace.")
MemberListEnvelope = envelope_of("MemberList", list[MemberObject], "The workspace's members.")
RemovedMemberEnvelope = envelope_of("RemovedMember", RemovedMember, "The member was removed.")
KeyEnvelope = envelope_of("Key", KeyObject, "An API key of the workspace.")
NewKeyEnvelope = envelope_of("NewKey", NewKeyObject, "A new API key, shown only now.")
KeyListEnvelope = envelope_of("KeyList", list[KeyObject], "The workspace's API keys, revoked ones too.")
