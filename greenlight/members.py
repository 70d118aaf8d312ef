"""A workspace's members and their keys, changed by its admins: plain synchronous writes, each in the
caller's transaction (not engine operations: nothing here touches a persona).

Every change that narrows what a key may do (a member removed or demoted, a key revoked) bumps the
key epoch before and after its commit (greenlight/keys.py), so every API process drops the
principals it remembered and the change applies at once everywhere. A workspace always keeps one
admin: removing or demoting the last is refused (409 ``LAST_ADMIN``); the workspace's row lock
serialises two admins demoting each other at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from greenlight.access import Role
from greenlight.clock import utcnow
from greenlight.errors import Conflict, NotFound
from greenlight.keys import Principal, bump_key_epoch, issue_key
from greenlight.models import ApiKey, User, Workspace, WorkspaceMember
from greenlight.workspaces import ensure_member, get_or_create_user, membership


@dataclass(frozen=True)
class MemberView:
    user_id: str
    user_name: str
    role: str
    created_at: datetime


@dataclass(frozen=True)
class KeyView:
    id: str
    name: str | None
    prefix: str
    user_id: str
    user_name: str
    role: str | None
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewKey:
    key: KeyView
    raw: str  # answered once, never stored


def workspace_of(session: Session, principal: Principal) -> Workspace:
    workspace = session.get(Workspace, principal.workspace_id)
    assert workspace is not None  # the key's membership was just checked
    return workspace


def _lock(session: Session, workspace_id: str) -> None:
    """Serialise membership changes of one workspace (the last-admin rule reads, then writes): a
    write to its row, the first of the transaction, so it waits on PostgreSQL (the row lock) and
    on SQLite (the one writer) alike, and what follows reads after the other change committed."""
    session.execute(update(Workspace).where(Workspace.id == workspace_id).values(name=Workspace.name))


def list_members(session: Session, workspace_id: str) -> list[MemberView]:
    rows = session.execute(
        select(WorkspaceMember, User)
        .join(User, User.id == WorkspaceMember.user_id)
        .where(WorkspaceMember.workspace_id == workspace_id)
        .order_by(WorkspaceMember.created_at, User.name)
    ).all()
    return [MemberView(user.id, user.name, member.role, member.created_at) for member, user in rows]


def _user_named_or_id(session: Session, user: str) -> User:
    """``user`` is an existing user's id, or a user name (the user is created if new)."""
    found = session.get(User, user)
    return found if found is not None else get_or_create_user(session, user)


def add_member(session: Session, workspace_id: str, user: str, role: Role) -> MemberView:
    _lock(session, workspace_id)
    target = _user_named_or_id(session, user)
    if membership(session, workspace_id, target.id) is not None:
        raise Conflict(
            "This user is already a member of the workspace",
            {"user_id": target.id},
            code="ALREADY_A_MEMBER",
        )
    member = ensure_member(session, workspace_id, target.id, role)
    return MemberView(target.id, target.name, member.role, member.created_at)


def _member(session: Session, workspace_id: str, user_id: str) -> WorkspaceMember:
    member = membership(session, workspace_id, user_id, for_update=True)
    if member is None:
        raise NotFound("Member not found", {"user_id": user_id})
    return member


def _keep_an_admin(session: Session, member: WorkspaceMember) -> None:
    if member.role != Role.ADMIN.value:
        return
    admins = session.scalar(
        select(func.count())
        .select_from(WorkspaceMember)
        .where(WorkspaceMember.workspace_id == member.workspace_id, WorkspaceMember.role == Role.ADMIN.value)
    )
    if (admins or 0) <= 1:
        raise Conflict(
            "A workspace keeps at least one admin: make another member admin first",
            {"user_id": member.user_id},
            code="LAST_ADMIN",
        )


def _keys_changed(session: Session) -> None:
    """Every process forgets the principals it remembered, once this transaction has committed."""
    bump_key_epoch()
    event.listen(session, "after_commit", lambda _session: bump_key_epoch(), once=True)


def change_role(session: Session, workspace_id: str, user_id: str, role: Role) -> MemberView:
    _lock(session, workspace_id)
    member = _member(session, workspace_id, user_id)
    if role != Role.ADMIN:
        _keep_an_admin(session, member)
    member.role = role.value
    _keys_changed(session)
    user = session.get(User, user_id)
    assert user is not None
    return MemberView(user.id, user.name, member.role, member.created_at)


def remove_member(session: Session, workspace_id: str, user_id: str) -> None:
    """The member leaves, and every key they hold in the workspace is revoked with them."""
    _lock(session, workspace_id)
    member = _member(session, workspace_id, user_id)
    _keep_an_admin(session, member)
    session.execute(
        update(ApiKey)
        .where(ApiKey.workspace_id == workspace_id, ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    session.delete(member)
    _keys_changed(session)


def _key_view(key: ApiKey, user: User) -> KeyView:
    return KeyView(key.id, key.name, key.prefix, user.id, user.name, key.role, key.created_at, key.revoked_at)


def create_member_key(
    session: Session, workspace_id: str, user_id: str, name: str, role: Role | None
) -> NewKey:
    """A key for a member (422 ``ROLE_TOO_WIDE`` for a role wider than theirs)."""
    member = _member(session, workspace_id, user_id)
    key, raw = issue_key(session, member, role, name)
    user = session.get(User, user_id)
    assert user is not None
    return NewKey(_key_view(key, user), raw)


def list_workspace_keys(session: Session, workspace_id: str) -> list[KeyView]:
    rows = session.execute(
        select(ApiKey, User)
        .join(User, User.id == ApiKey.user_id)
        .where(ApiKey.workspace_id == workspace_id)
        .order_by(ApiKey.created_at, ApiKey.id)
    ).all()
    return [_key_view(key, user) for key, user in rows]


def revoke_workspace_key(session: Session, workspace_id: str, key_id: str) -> KeyView:
    """Revoked at once in every API process; another workspace's key is a 404 like a missing one."""
    row = session.execute(
        select(ApiKey, User)
        .join(User, User.id == ApiKey.user_id)
        .where(ApiKey.id == key_id, ApiKey.workspace_id == workspace_id)
        .with_for_update(of=ApiKey)
    ).first()
    if row is None:
        raise NotFound("API key not found", {"key_id": key_id})
    key, user = row
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        _keys_changed(session)
    return _key_view(key, user)
