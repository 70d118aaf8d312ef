"""The console's review queue: the workspace's open promotion requests, with Approve and Reject
(a comment each) for reviewers, Withdraw for whoever asked, and who approved so far."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.console.routes import Short, Text, _idempotency_key, persona_url, render
from api.console.sessions import CheckedForm, ConsoleUser, CurrentUser, flash
from api.deps import in_transaction
from api.submitting import submit_decision
from greenlight.errors import DomainError, NotFound
from greenlight.kinds.promotion_votes import PROMOTION_APPROVE, PROMOTION_REJECT, PROMOTION_WITHDRAW, Decision
from greenlight.models import Persona, PersonaVersion
from greenlight.models.reviews import RequestStatus
from greenlight.operations.kind import OperationKind
from greenlight.personas.listing import user_names
from greenlight.reviews.views import list_requests, request_view

router = APIRouter(prefix="/console", include_in_schema=False)

KINDS: dict[str, OperationKind[Decision, Any]] = {
    "approve": PROMOTION_APPROVE,
    "reject": PROMOTION_REJECT,
    "withdraw": PROMOTION_WITHDRAW,
}


def review_queue(session: Session, workspace_id: str) -> dict[str, Any]:
    """The open requests, newest first, each with its persona, what production runs now, and names."""
    found = list_requests(session, workspace_id, status=RequestStatus.OPEN.value, limit=100)
    views = [request_view(session, request) for request in found]
    ids = [v["requested_by"] for v in views] + [vote["user_id"] for v in views for vote in v["votes"]]
    names = user_names(session, ids)
    items = []
    for view in views:
        persona = session.get(Persona, view["persona_id"])
        production = (
            session.get(PersonaVersion, persona.current_production_version_id)
            if persona is not None and persona.current_production_version_id
            else None
        )
        items.append(
            {
                **view,
                "persona_name": persona.name if persona is not None else view["persona_id"],
                "production_number": production.version_number if production is not None else None,
                "requested_by_name": names.get(view["requested_by"], view["requested_by"]),
                "voters": [
                    {**vote, "name": names.get(vote["user_id"], vote["user_id"])} for vote in view["votes"]
                ],
            }
        )
    return {"items": items}


@router.get("/reviews")
async def reviews(request: Request, user: CurrentUser) -> Response:
    context = await in_transaction(review_queue, user.principal.workspace_id)
    return await render(
        request,
        "reviews.html",
        {
            **context,
            "title": "Reviews",
            "persona_url": persona_url,
            "me": user.user_id,
            "nonce": uuid.uuid4().hex,
        },
    )


async def _decided(user: ConsoleUser, request_id: str, action: str, comment: str, nonce: str) -> str:
    kind = KINDS[action]
    decision = Decision(promotion_request_id=request_id, comment=comment.strip() or None)
    op = await submit_decision(user.principal, request_id, kind, decision, _idempotency_key(nonce, action))
    return persona_url(op.persona_id, "versions", op=op.id)


@router.post("/reviews/{request_id}/{action}")
async def decide(
    request: Request,
    request_id: str,
    action: str,
    user: CurrentUser,
    form: CheckedForm,
    comment: Text = "",
    nonce: Short = "",
) -> Response:
    if action not in KINDS:
        raise NotFound("No such action", {"action": action})
    try:
        target = await _decided(user, request_id, action, comment, nonce)
    except DomainError as exc:
        if isinstance(exc, NotFound) or exc.kind in ("forbidden", "unauthorized"):
            raise  # its page (404, 403, 401), as for any other request
        await run_in_threadpool(flash, request, "error", exc.message)
        return RedirectResponse("/console/reviews", status_code=303)
    return RedirectResponse(target, status_code=303)
