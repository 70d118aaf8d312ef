"""The caller's workspace, its members and its API keys: synchronous writes (no engine operation),
each in one transaction, with Idempotency-Key like every mutating endpoint."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.deps import Admin, IdempotencyKey, Reader, in_transaction
from api.idempotent import idempotent_change
from api.outcomes import envelope
from api.responses import COMMON_ERRORS, error_responses
from api.workspace_schemas import (
    KeyCreate,
    KeyEnvelope,
    KeyListEnvelope,
    MemberAdd,
    MemberEnvelope,
    MemberListEnvelope,
    MemberUpdate,
    NewKeyEnvelope,
    RemovedMemberEnvelope,
    WorkspaceEnvelope,
)
from greenlight import audit, members
from greenlight.audit import Actor, AuditAction, AuditDetail
from greenlight.clock import isoformat
from greenlight.keys import Principal

router = APIRouter(prefix="/v1", tags=["workspace"])

ADD_ERRORS = error_responses(400, 401, 409, 422, 500, extra={409: ("already_a_member",)})
MEMBER_ERRORS = error_responses(400, 401, 404, 409, 422, 500, extra={409: ("last_admin",)})
KEY_ERRORS = error_responses(400, 401, 404, 422, 500, extra={422: ("role_too_wide",)})
REVOKE_ERRORS = error_responses(400, 401, 404, 422, 500)


def _member(view: members.MemberView) -> dict[str, Any]:
    return {
        "user_id": view.user_id,
        "name": view.user_name,
        "role": view.role,
        "created_at": isoformat(view.created_at),
    }


def _key(view: members.KeyView) -> dict[str, Any]:
    return {
        **asdict(view),
        "created_at": isoformat(view.created_at),
        "revoked_at": isoformat(view.revoked_at),
    }


def _whoami(session: Session, principal: Principal) -> dict[str, Any]:
    workspace = members.workspace_of(session, principal)
    return {
        "workspace": {"id": workspace.id, "name": workspace.name},
        "user": {"id": principal.user_id, "name": principal.user_name},
        "role": principal.role.value,
        "key": {"id": principal.key_id, "role": principal.key_role.value if principal.key_role else None},
    }


@router.get(
    "/workspace",
    operation_id="getWorkspace",
    summary="Your workspace, user, role and key",
    response_model=WorkspaceEnvelope,
    responses=COMMON_ERRORS,
)
async def get_workspace(principal: Reader) -> Response:
    return envelope(await in_transaction(_whoami, principal))


def _list_members(session: Session, workspace_id: str) -> list[dict[str, Any]]:
    return [_member(view) for view in members.list_members(session, workspace_id)]


def _add(session: Session, principal: Principal, actor: Actor, body: MemberAdd) -> dict[str, Any]:
    added = members.add_member(session, principal.workspace_id, body.user, body.role)
    detail = AuditDetail(role=str(added.role))
    audit.record(session, actor, AuditAction.MEMBER_ADDED, "member", added.user_id, detail=detail)
    return _member(added)


def _change(
    session: Session, principal: Principal, actor: Actor, user_id: str, body: MemberUpdate
) -> dict[str, Any]:
    changed = members.change_role(session, principal.workspace_id, user_id, body.role)
    detail = AuditDetail(role=str(changed.role))
    audit.record(session, actor, AuditAction.MEMBER_ROLE_CHANGED, "member", user_id, detail=detail)
    return _member(changed)


def _remove(session: Session, principal: Principal, actor: Actor, user_id: str) -> dict[str, Any]:
    members.remove_member(session, principal.workspace_id, user_id)
    audit.record(session, actor, AuditAction.MEMBER_REMOVED, "member", user_id)
    return {"user_id": user_id, "removed": True}


@router.get(
    "/members",
    operation_id="listMembers",
    summary="The workspace's members and their roles",
    response_model=MemberListEnvelope,
    responses=COMMON_ERRORS,
)
async def list_members(principal: Reader) -> Response:
    return envelope(await in_transaction(_list_members, principal.workspace_id))


@router.post(
    "/members",
    operation_id="addMember",
    status_code=201,
    summary="Add a user (by name, created if new, or by id) to the workspace with a role",
    response_model=MemberEnvelope,
    responses=ADD_ERRORS,
)
async def add_member(
    request: Request, body: MemberAdd, principal: Admin, idempotency_key: IdempotencyKey = None
) -> Response:
    sent = body.model_dump(mode="json")
    return await idempotent_change(
        request, principal, idempotency_key, sent, 201, _add, Actor.of(principal), body
    )


@router.patch(
    "/members/{user_id}",
    operation_id="changeMemberRole",
    summary="Give a member another role (409 LAST_ADMIN for the workspace's last admin)",
    response_model=MemberEnvelope,
    responses=MEMBER_ERRORS,
)
async def change_member_role(
    request: Request,
    user_id: str,
    body: MemberUpdate,
    principal: Admin,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    sent = body.model_dump(mode="json")
    return await idempotent_change(
        request, principal, idempotency_key, sent, 200, _change, Actor.of(principal), user_id, body
    )


@router.delete(
    "/members/{user_id}",
    operation_id="removeMember",
    summary="Remove a member and revoke every key they hold here (409 LAST_ADMIN for the last admin)",
    response_model=RemovedMemberEnvelope,
    responses=MEMBER_ERRORS,
)
async def remove_member(
    request: Request, user_id: str, principal: Admin, idempotency_key: IdempotencyKey = None
) -> Response:
    return await idempotent_change(
        request, principal, idempotency_key, None, 200, _remove, Actor.of(principal), user_id
    )


def _create_key(session: Session, principal: Principal, actor: Actor, body: KeyCreate) -> dict[str, Any]:
    user_id = body.user_id or principal.user_id
    created = members.create_member_key(session, principal.workspace_id, user_id, body.name, body.role)
    detail = AuditDetail(role=str(created.key.role)) if created.key.role else None
    audit.record(session, actor, AuditAction.KEY_CREATED, "key", created.key.id, detail=detail)
    return {**_key(created.key), "api_key": created.raw}


def _list_keys(session: Session, workspace_id: str) -> list[dict[str, Any]]:
    return [_key(view) for view in members.list_workspace_keys(session, workspace_id)]


def _revoke(session: Session, principal: Principal, actor: Actor, key_id: str) -> dict[str, Any]:
    revoked = members.revoke_workspace_key(session, principal.workspace_id, key_id)
    audit.record(session, actor, AuditAction.KEY_REVOKED, "key", key_id)
    return _key(revoked)


@router.post(
    "/keys",
    operation_id="createKey",
    status_code=201,
    summary="Create an API key for a member (shown only now), with their role or a narrower one",
    response_model=NewKeyEnvelope,
    responses=KEY_ERRORS,
)
async def create_key(
    request: Request, body: KeyCreate, principal: Admin, idempotency_key: IdempotencyKey = None
) -> Response:
    sent = body.model_dump(mode="json")
    return await idempotent_change(
        request, principal, idempotency_key, sent, 201, _create_key, Actor.of(principal), body
    )


@router.get(
    "/keys",
    operation_id="listKeys",
    summary="The workspace's API keys (never the keys themselves)",
    response_model=KeyListEnvelope,
    responses=COMMON_ERRORS,
)
async def list_keys(principal: Admin) -> Response:
    return envelope(await in_transaction(_list_keys, principal.workspace_id))


@router.delete(
    "/keys/{key_id}",
    operation_id="revokeKey",
    summary="Revoke an API key, at once in every API process",
    response_model=KeyEnvelope,
    responses=REVOKE_ERRORS,
)
async def revoke_key(
    request: Request, key_id: str, principal: Admin, idempotency_key: IdempotencyKey = None
) -> Response:
    return await idempotent_change(
        request, principal, idempotency_key, None, 200, _revoke, Actor.of(principal), key_id
    )
