"""Turning an operation into a response: wait if asked, then success, failure or 202."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from api.deps import in_transaction
from api.errors import ErrorStyle, style_for
from api.waiter import OperationWaiter
from greenlight import logs
from greenlight.errors import error_from_dict
from greenlight.keys import Principal
from greenlight.models import Operation, OperationStatus
from greenlight.operations.query import get_operation, is_finished, operation_to_dict

log = logging.getLogger(__name__)


def accepted(request: Request, op: Operation) -> JSONResponse:
    body = operation_to_dict(op)
    # The scope's path is the URL's path: building the URL object cost more than the rest here.
    if style_for(request.scope["path"]) is ErrorStyle.ENVELOPE:
        body = {"data": body, "errors": None}
    return JSONResponse(body, status_code=202, headers={"Location": f"/v1/operations/{op.id}"})


async def respond(
    request: Request,
    principal: Principal,
    op: Operation,
    wait: float,
    on_success: Callable[[dict[str, Any]], Response],
    waiter: OperationWaiter,
) -> Response:
    logs.bind(operation_id=op.id, persona_id=op.persona_id)
    # DEBUG: the access line already carries the operation and persona ids bound above.
    log.debug(
        "operation %s %s", op.kind, op.status, extra={"kind": op.kind, "status": op.status, "wait": wait}
    )
    if wait <= 0:
        # Asked not to wait: the 202 with the operation, whatever its progress, so a replay after
        # the outcome answers as the first request was answered (with the operation as it is now).
        return accepted(request, op)

    async def load() -> Operation:
        return await in_transaction(get_operation, principal.workspace_id, op.id)

    op = await waiter.wait(op.id, wait, load)
    if is_finished(op):
        return outcome(op, on_success)
    return accepted(request, op)  # still pending, or awaiting approval: the operation says which


def outcome(op: Operation, on_success: Callable[[dict[str, Any]], Response]) -> Response:
    """A finished operation's answer: its success, or its refusal raised as the domain error."""
    if op.status == OperationStatus.FAILED.value:
        raise error_from_dict(op.error or {})
    return on_success(op.result or {})


def envelope(data: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"data": data, "errors": None}, status_code=status_code, headers=headers)
