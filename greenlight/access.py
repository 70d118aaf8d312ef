"""Who may do what: roles, the permissions each grants, and the one check every entry point asks.

A workspace member has one role; an API key may carry a narrower one (never a wider one). What a
caller may do is what both allow. Roles are sets of permissions, not ranks: the linear ladder
(viewer → admin) is the common case, and a role outside it (a checker that reads and posts check
results, nothing else) is one more entry here, not a special case elsewhere.
"""

from __future__ import annotations

import enum

from greenlight.errors import DomainError


class Permission(enum.StrEnum):
    READ = "read"  # every read: personas, versions, history, operations, events, webhooks
    PROPOSE = "propose"  # stage soft proposals (dormant until a reviewer acks them)
    EDIT = "edit"  # create personas and resources, edit drafts
    REVIEW = "review"  # ack proposals; approve or reject promotion requests
    PUBLISH = "publish"  # change production: promote, publish, unarchive, schedule, cancel
    ADMINISTER = "administer"  # members, keys, webhooks, review policies


class Role(enum.StrEnum):
    VIEWER = "viewer"
    PROPOSER = "proposer"
    EDITOR = "editor"
    REVIEWER = "reviewer"
    PUBLISHER = "publisher"
    ADMIN = "admin"


_VIEW = frozenset({Permission.READ})
_PROPOSE = _VIEW | {Permission.PROPOSE}
_EDIT = _PROPOSE | {Permission.EDIT}
_REVIEW = _EDIT | {Permission.REVIEW}
_PUBLISH = _REVIEW | {Permission.PUBLISH}

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: _VIEW,
    Role.PROPOSER: _PROPOSE,
    Role.EDITOR: _EDIT,
    Role.REVIEWER: _REVIEW,
    Role.PUBLISHER: _PUBLISH,
    Role.ADMIN: frozenset(Permission),
}


class Forbidden(DomainError):
    """The caller is known, but their role does not allow this (a 403); nothing changed."""

    kind = "forbidden"
    code = "FORBIDDEN"

    def __init__(self, permission: Permission, role: Role) -> None:
        super().__init__(
            f"Your role ({role}) does not allow this: it needs the '{permission}' permission.",
            {"permission": str(permission), "role": str(role)},
        )


def require(granted: frozenset[Permission], role: Role, permission: Permission) -> None:
    """Refuse with ``Forbidden`` (naming ``role``, the caller's) unless ``permission`` is granted."""
    if permission not in granted:
        raise Forbidden(permission, role)


def within(narrower: Role, wider: Role) -> bool:
    """``narrower`` grants nothing ``wider`` does not (a key's role within its member's)."""
    return PERMISSIONS[narrower] <= PERMISSIONS[wider]


def allowed(member_role: Role, key_role: Role | None) -> frozenset[Permission]:
    """What a key may do: what its member's role grants, narrowed by the key's own role if it has one.

    Checked at every request, so demoting a member narrows every key they hold at once."""
    granted = PERMISSIONS[member_role]
    return granted if key_role is None else granted & PERMISSIONS[key_role]


def roles_granting(permission: Permission) -> list[Role]:
    return [role for role in Role if permission in PERMISSIONS[role]]
