"""version.publish: a draft version itself becomes production (Retell's publish in place)."""

from __future__ import annotations

from greenlight.errors import NotFound
from greenlight.events import EventType
from greenlight.kinds.promotions import (
    PromotionOptions,
    expectation_holds,
    promoted,
    request_of,
    version_check,
)
from greenlight.kinds.results import VersionResult
from greenlight.models import PersonaVersion, VersionStatus
from greenlight.operations.context import ApplyContext
from greenlight.operations.kind import OperationKind
from greenlight.personas import promotion, service
from greenlight.personas.serialize import persona_to_dict, version_to_dict


class PublishVersion(PromotionOptions):
    version: int
    version_description: str | None = None


def apply(ctx: ApplyContext, payload: PublishVersion) -> VersionResult:
    persona = ctx.require_persona()
    record = promotion.publish_version(
        ctx.session,
        persona,
        payload.version,
        request_of(ctx.operation, payload),
        description=payload.version_description,
    )
    ctx.production_changed = True
    version = service.get_version(ctx.session, persona, record.version_number)
    return {"persona": persona_to_dict(ctx.session, persona), "version": version_to_dict(version)}


def promotes(ctx: ApplyContext, payload: PublishVersion) -> PersonaVersion | None:
    """The draft version itself, published in place."""
    persona = ctx.require_persona()
    if not expectation_holds(persona, ctx.operation, payload):
        return None
    try:
        version = service.get_version(ctx.session, persona, payload.version)
    except NotFound:
        return None
    return version if version.status == VersionStatus.DRAFT.value else None


VERSION_PUBLISH = OperationKind(
    name="version.publish",
    payload=PublishVersion,
    result=VersionResult,
    apply=apply,
    check=lambda payload: version_check(payload.version),
    promotes=promotes,
    emits=(EventType.VERSION_PUBLISHED, EventType.VERSION_ARCHIVED, EventType.PROMOTION_REQUESTED),
    schedulable=True,
    title=lambda payload: f"Promotion of version {payload.version}",
    succeeded=promoted,
)
