"""Every operation kind, registered once: one module each, one line each here.

The engine, the workers, the API and the CLI are given `REGISTRY`; greenlight/operations/ never
imports this package.
"""

from __future__ import annotations

from greenlight.kinds.draft_ack import DRAFT_ACK
from greenlight.kinds.draft_create import DRAFT_CREATE
from greenlight.kinds.draft_patch import DRAFT_PATCH
from greenlight.kinds.draft_update import DRAFT_UPDATE
from greenlight.kinds.persona_create import PERSONA_CREATE
from greenlight.kinds.persona_promote import PERSONA_PROMOTE
from greenlight.kinds.promotion_cancel import PROMOTION_CANCEL
from greenlight.kinds.promotion_schedule import PROMOTION_SCHEDULE
from greenlight.kinds.promotion_votes import PROMOTION_APPROVE, PROMOTION_REJECT, PROMOTION_WITHDRAW
from greenlight.kinds.review_policy_set import REVIEW_POLICY_SET
from greenlight.kinds.version_publish import VERSION_PUBLISH
from greenlight.kinds.version_unarchive import VERSION_UNARCHIVE
from greenlight.operations.registry import Registry

REGISTRY = Registry(
    [
        PERSONA_CREATE,
        DRAFT_UPDATE,
        PERSONA_PROMOTE,
        VERSION_PUBLISH,
        VERSION_UNARCHIVE,
        PROMOTION_SCHEDULE,
        PROMOTION_CANCEL,
        DRAFT_CREATE,
        DRAFT_PATCH,
        DRAFT_ACK,
        REVIEW_POLICY_SET,
        PROMOTION_APPROVE,
        PROMOTION_REJECT,
        PROMOTION_WITHDRAW,
    ]
)

__all__ = [
    "DRAFT_ACK",
    "DRAFT_CREATE",
    "DRAFT_PATCH",
    "DRAFT_UPDATE",
    "PERSONA_CREATE",
    "PERSONA_PROMOTE",
    "PROMOTION_APPROVE",
    "PROMOTION_CANCEL",
    "PROMOTION_REJECT",
    "PROMOTION_SCHEDULE",
    "PROMOTION_WITHDRAW",
    "REGISTRY",
    "REVIEW_POLICY_SET",
    "VERSION_PUBLISH",
    "VERSION_UNARCHIVE",
]
