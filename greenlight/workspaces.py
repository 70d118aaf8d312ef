"""Workspaces, the tenant, and their membership: who belongs to which workspace, with which role.

A user's *own* workspace has the user's id (every user from before workspaces got one, migration
0009); a user can be a member of other workspaces too. Members with their keys are changed in
``greenlight/members.py``; this module only finds and creates.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from greenlight.access import Role
from greenlight.models import User, Workspace, WorkspaceMember
from greenlight.upsert import insert_missing


def get_or_create_user(session: Session, name: str) -> User:
    """The user of this name, created if new, even by two callers at once (greenlight/upsert.py)."""
    insert_missing(session, User, {"name": name}, ("name",))
    user = session.scalar(select(User).where(User.name == name))
    assert user is not None  # inserted above, or by the transaction the insert waited for
    return user


def _free_name(session: Session, name: str, workspace_id: str) -> str:
    taken = session.scalar(select(Workspace.id).where(Workspace.name == name))
    return name if taken in (None, workspace_id) else f"{name} ({workspace_id[:8]})"


def own_workspace(session: Session, user: User) -> Workspace:
    """The user's own workspace (its id is the user's), created with the user as its admin if the
    user has none yet: what a newcomer's first key is for."""
    insert_missing(
        session,
        Workspace,
        {"id": user.id, "name": _free_name(session, user.name, user.id)},
        ("id",),
    )
    workspace = session.get(Workspace, user.id)
    assert workspace is not None
    ensure_member(session, workspace.id, user.id, Role.ADMIN)
    return workspace


def workspace_named(session: Session, name: str) -> tuple[Workspace, bool]:
    """The workspace of this name, created if new; whether this call created it."""
    created = insert_missing(session, Workspace, {"name": name}, ("name",))
    workspace = session.scalar(select(Workspace).where(Workspace.name == name))
    assert workspace is not None
    return workspace, created


def ensure_member(session: Session, workspace_id: str, user_id: str, role: Role) -> WorkspaceMember:
    """The user's membership of the workspace; made with ``role`` if the user was not a member."""
    insert_missing(
        session,
        WorkspaceMember,
        {"workspace_id": workspace_id, "user_id": user_id, "role": role.value},
        ("workspace_id", "user_id"),
    )
    member = membership(session, workspace_id, user_id)
    assert member is not None
    return member


def membership(
    session: Session, workspace_id: str, user_id: str, *, for_update: bool = False
) -> WorkspaceMember | None:
    query = select(WorkspaceMember).where(
        WorkspaceMember.workspace_id == workspace_id, WorkspaceMember.user_id == user_id
    )
    if for_update:
        query = query.with_for_update()
    return session.scalar(query)
