"""version.unarchive: an archived version becomes a draft again (before a rollback)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from greenlight.events import EventType
from greenlight.kinds.promotions import version_check
from greenlight.kinds.results import VersionResult
from greenlight.models import Operation
from greenlight.operations.context import ApplyContext
from greenlight.operations.kind import OperationKind, Outcome
from greenlight.personas import promotion
from greenlight.personas.serialize import persona_to_dict, version_to_dict


class UnarchiveVersion(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: int


def apply(ctx: ApplyContext, payload: UnarchiveVersion) -> VersionResult:
    persona = ctx.require_persona()
    op = ctx.operation
    version = promotion.unarchive_version(ctx.session, persona, payload.version, op.user_id, op.id)
    ctx.session.flush()
    return {"persona": persona_to_dict(ctx.session, persona), "version": version_to_dict(version)}


def succeeded(session: Session, op: Operation, payload: UnarchiveVersion) -> Outcome:
    return "Unarchived", f"Version {payload.version} is a draft again: promote it to roll back to it.", None


VERSION_UNARCHIVE = OperationKind(
    name="version.unarchive",
    payload=UnarchiveVersion,
    result=VersionResult,
    apply=apply,
    check=lambda payload: version_check(payload.version),
    emits=(EventType.VERSION_UNARCHIVED,),
    title=lambda payload: f"Unarchive of version {payload.version}",
    succeeded=succeeded,
)
