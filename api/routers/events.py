"""The live event stream: Server-Sent Events of the caller's outbox events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from api.deps import Reader, in_transaction
from api.event_hub import EventHub
from api.responses import EVENT_STREAM, STREAM_REFUSALS, error_responses
from greenlight.notifications.stream import make_filter, parse_position, stream_head

router = APIRouter(prefix="/v1/events", tags=["events"])

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# An event id, or blank for "from now on" (greenlight/notifications/stream.py parse_position).
RESUME_FROM = {"pattern": r"^\s*([0-9]{1,18})?\s*$"}


@router.get(
    "",
    summary="Live events (Server-Sent Events); resume with Last-Event-ID",
    response_class=StreamingResponse,
    responses=EVENT_STREAM | error_responses(400, 401, 404, 422, 500, extra=STREAM_REFUSALS),
)
async def stream_events(
    request: Request,
    principal: Reader,
    persona_id: Annotated[
        list[str] | None,
        Query(description="Only these personas (repeatable); one that is not yours is a 404"),
    ] = None,
    type: Annotated[
        list[str] | None,
        Query(description="Only these types: exact, `prefix.*`, repeatable or comma-separated"),
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID", description="Resume after this event id", json_schema_extra=RESUME_FROM
        ),
    ] = None,
    last_event_id_query: Annotated[
        str | None,
        Query(
            alias="last_event_id",
            description="Same as the header, for clients that cannot set it",
            json_schema_extra=RESUME_FROM,
        ),
    ] = None,
) -> StreamingResponse:
    after = parse_position(last_event_id if last_event_id is not None else last_event_id_query)
    stream = await in_transaction(make_filter, principal.workspace_id, persona_id, type)
    if after is None:  # no resume point: events from now on
        after = await in_transaction(stream_head)
    hub: EventHub = request.app.state.event_hub
    return StreamingResponse(
        hub.stream(request, stream, after), media_type="text/event-stream", headers=SSE_HEADERS
    )
