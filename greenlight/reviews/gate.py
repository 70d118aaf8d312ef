"""The gate every path to production passes when its turn comes in the persona's order.

A kind that changes production declares which version it would put there (``promotes``). When
the persona's policy wants approvals, the operation is parked behind a promotion request pinned
to that version's content and to the production it would replace, instead of being applied.
"""

from __future__ import annotations

from greenlight.clock import utcnow
from greenlight.errors import DomainError
from greenlight.models import OperationStatus, PromotionRequest
from greenlight.operations.context import ApplyContext
from greenlight.operations.registry import AnyKind
from greenlight.reviews.policy import Policy, policy_of
from greenlight.reviews.requests import open_request, pin_of


class ReviewRequired(DomainError):
    """Raised by a run of promotions when their persona reviews promotions: the engine then applies
    them one at a time, each through the gate. Never answered to anyone."""

    code = "REVIEW_REQUIRED"


def hold(ctx: ApplyContext, kind: AnyKind) -> PromotionRequest | None:
    """Park the operation behind a new promotion request if its persona's policy wants approvals
    and its kind would change production; None: apply it now, as always."""
    persona, op = ctx.persona, ctx.operation
    if persona is None or kind.promotes is None:
        return None
    policy = policy_of(persona)
    if op.review_required and not policy.gates:  # its requester may not promote: one approval at least
        policy = Policy(1, policy.allow_self_approval)
    if not policy.gates:
        return None
    version = kind.promotes(ctx, kind.parse(ctx.operation.payload))
    if version is None:  # nothing to promote: the kind refuses it when applied, as without review
        return None
    op = ctx.operation
    request = open_request(
        ctx.session, persona, op, pin_of(ctx.session, persona, version), policy_of(persona)
    )
    op.status = OperationStatus.AWAITING_APPROVAL.value
    op.started_at = op.started_at or utcnow()
    op.attempts = max(op.attempts, 1)
    op.promotion_request_id = request.id
    return request
