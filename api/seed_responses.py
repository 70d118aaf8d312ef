"""Response models of the endpoints whose shapes other documents define, for the OpenAPI
documentation: Retell's publish (seed 004) and the persona drafts (seed 002) answer in their own
bodies, not in the `/v1` envelope. api/responses.py holds the rest.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.responses import (
    ERROR_STATUSES,
    OperationObject,
    ResponseDocs,
    headers_for,
    with_key_refusals,
)


class RetellError(BaseModel):
    """Retell's error body (seed 004)."""

    status: Literal["error"]
    message: str


class RetellPublished(BaseModel):
    """The published version, with the agent's id."""

    model_config = ConfigDict(extra="allow")

    agent_id: str
    version_number: int
    version_type: str


RETELL_MESSAGES = {
    400: "Invalid request format, please check API reference.",
    401: "API key is missing or invalid.",
    403: "Your role (viewer) does not allow this: it needs the 'publish' permission.",
    404: "The requested resource was not found.",
    409: "Production moved since you read it; nothing was changed",
    422: "Version 3 is archived, only a draft can be published (unarchive it first)",
    429: "Too many failed authentication attempts from your address. Try again in 42 seconds.",
    500: "An unexpected server error occurred.",
}


def retell_error_responses(*statuses: int) -> ResponseDocs:
    return {
        status: {
            "model": RetellError,
            "description": ERROR_STATUSES[status][0],
            "content": {
                "application/json": {"example": {"status": "error", "message": RETELL_MESSAGES[status]}}
            },
            **headers_for(status),
        }
        for status in with_key_refusals(statuses)
    }


class DraftError(BaseModel):
    """Errors of the draft API keep its `success` and `message`."""

    success: Literal[False]
    message: str
    error: str
    details: dict[str, Any]


class PatchPersonaDraftApiResponse(BaseModel):
    success: bool
    draft_id: str
    idempotency_key: str = Field(description="The draft entry's id: ack a soft proposal with it")
    message: str
    form_state: dict[str, Any] = Field(description="Complete form state after the patch")


class DraftFormStateResponse(BaseModel):
    success: bool
    draft_id: str
    form_state: dict[str, Any]


class FlagCatalogueResponse(BaseModel):
    success: bool
    flags: list[dict[str, str]]


def draft_error_responses(*statuses: int) -> ResponseDocs:
    return {
        status: {"model": DraftError, "description": ERROR_STATUSES[status][0], **headers_for(status)}
        for status in with_key_refusals(statuses)
    }


# A 202 outside /v1: the operation itself, not wrapped in the envelope.
ACCEPTED_PLAIN: ResponseDocs = {
    202: {
        "model": OperationObject,
        "description": "Accepted (`Prefer: respond-async`): the operation (already finished when it "
        "made a new draft)",
    }
}
