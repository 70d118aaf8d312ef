"""Reading operations: the durable record behind every 202."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.deps import Reader, in_transaction
from api.outcomes import envelope
from api.responses import READ_ERRORS, OperationEnvelope
from greenlight.operations.query import get_operation, operation_to_dict

router = APIRouter(prefix="/v1/operations", tags=["operations"])


def _read(session: Session, workspace_id: str, operation_id: str) -> dict[str, object]:
    return operation_to_dict(get_operation(session, workspace_id, operation_id))


@router.get(
    "/{operation_id}",
    summary="Read an operation's status, result or error",
    response_model=OperationEnvelope,
    responses=READ_ERRORS,
)
async def read_operation(operation_id: str, principal: Reader) -> Response:
    return envelope(await in_transaction(_read, principal.workspace_id, operation_id))
