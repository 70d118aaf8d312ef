"""The workspace's audit log (greenlight/audit.py): admins read who changed what, newest first."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.deps import Admin, in_transaction
from api.inputs import UtcDatetime
from api.outcomes import envelope
from api.responses import COMMON_ERRORS, envelope_of, error_responses
from greenlight import audit

router = APIRouter(prefix="/v1/audit-events", tags=["audit"])


class AuditDetailObject(BaseModel):
    """What else is known about the change (only the fields that apply are present)."""

    error: str | None = Field(default=None, description="The error code of a failed or refused operation")
    production_version: int | None = Field(default=None, description="Production's version after it")
    draft_version: int | None = Field(default=None, description="The draft's version after it")
    version: int | None = Field(default=None, description="The version it was about (unarchive)")
    schedule_id: str | None = None
    delivery_id: str | None = None
    fields: list[str] | None = Field(default=None, description="The fields it set (names only)")


class AuditEventObject(BaseModel):
    """One change in the workspace: who (member and key id, never the key), what, when, the outcome."""

    id: str
    workspace_id: str
    occurred_at: str
    actor_user_id: str | None = Field(description="The member; null for the system or an operator")
    key_id: str | None = Field(description="The id of the API key used (never the key)")
    request_id: str | None = Field(description="The request's X-Request-ID")
    action: str = Field(description="An operation kind (`persona.promote`) or a change (`webhook.created`)")
    target_type: str = Field(description="persona, webhook, key, ...")
    target_id: str
    persona_id: str | None
    operation_id: str | None = Field(description="The operation, for an operation's change")
    outcome: Literal["succeeded", "failed", "refused"] = Field(
        description="`refused`: the domain refused the change as asked (its error in `detail`); "
        "`failed`: it could not be applied (given up, or refused by the database)"
    )
    detail: AuditDetailObject


class AuditPageObject(BaseModel):
    items: list[AuditEventObject]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page; null at the end")


AuditPageEnvelope = envelope_of("AuditPage", AuditPageObject, "A page of the audit log, newest first.")


def _page(session: Session, workspace_id: str, query: audit.AuditQuery) -> dict[str, Any]:
    rows, next_cursor = audit.list_events(session, workspace_id, query)
    return {"items": [audit.event_to_dict(row) for row in rows], "next_cursor": next_cursor}


@router.get(
    "",
    operation_id="listAuditEvents",
    summary="The workspace's audit log, newest first",
    description="Every change in the caller's workspace: each operation once it succeeded or failed, "
    "and every other change (webhooks, keys) as it was made. Filters combine; paged by `cursor`.",
    response_model=AuditPageEnvelope,
    responses=COMMON_ERRORS | error_responses(400),
)
async def list_audit_events(
    principal: Admin,
    actor: Annotated[str | None, Query(max_length=100, description="Only changes by this user id")] = None,
    persona_id: Annotated[
        str | None, Query(max_length=100, description="Only changes to this persona")
    ] = None,
    action: Annotated[
        str | None, Query(max_length=64, description="Only this action, e.g. `persona.promote`")
    ] = None,
    since: Annotated[UtcDatetime | None, Query(description="Occurred at or after (ISO 8601)")] = None,
    until: Annotated[UtcDatetime | None, Query(description="Occurred before (ISO 8601)")] = None,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_PAGE)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=500, description="`next_cursor` of the page before")
    ] = None,
) -> Response:
    query = audit.AuditQuery(
        actor=actor,
        persona_id=persona_id,
        action=action,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )
    return envelope(await in_transaction(_page, principal.workspace_id, query))
