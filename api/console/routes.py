"""The console's pages and form posts. A thin shell: reads through ``views`` (the domain services),
changes through the API's own submission helpers, errors through ``api/errors.py``."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from api.console import views
from api.console.rendering import STATIC, page
from api.console.sessions import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    CheckedForm,
    ConsoleUser,
    CurrentUser,
    clear_session_cookie,
    console_user,
    end_session,
    flash,
    login_token,
    set_login_cookie,
    set_session_cookie,
    start_session,
    take_flashes,
    tokens_match,
)
from api.deps import client_address, in_transaction, remembered_principal
from api.schemas import promotion_payload
from api.submitting import submit_ack, submit_for_persona, submit_promotion
from api.waiter import OperationWaiter
from greenlight.access import Permission
from greenlight.auth_throttle import TooManyFailedAttempts, auth_throttle
from greenlight.db import unit_of_work
from greenlight.errors import DomainError, NotFound, Unauthorized
from greenlight.keys import Principal, authenticate
from greenlight.kinds.version_publish import VERSION_PUBLISH, PublishVersion
from greenlight.kinds.version_unarchive import VERSION_UNARCHIVE, UnarchiveVersion
from greenlight.models import Operation
from greenlight.operations.query import get_operation, is_terminal
from greenlight.personas import history
from greenlight.settings import get_settings

router = APIRouter(prefix="/console", include_in_schema=False)

TABS = {"versions": "", "compare": "/compare", "history": "/history", "proposals": "/proposals"}
NONCE = re.compile(r"^[0-9a-f]{32}$")
PAGE_SIZES = (10, 25, 50, 100)
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
PROGRESS_STREAM_SECONDS = 60.0  # then the browser reconnects (EventSource does so by itself)
PROGRESS_SLICE_SECONDS = 1.0

Text = Annotated[str, Form(max_length=2000)]
Short = Annotated[str, Form(max_length=200)]


def persona_url(persona_id: str, tab: str = "versions", **params: str | int | None) -> str:
    query = {name: value for name, value in params.items() if value not in (None, "")}
    url = f"/console/personas/{persona_id}{TABS.get(tab, '')}"
    return url + ("?" + urlencode(query) if query else "")


def safe_next(target: str | None) -> str | None:
    """Only a console path: never another site (an open redirect)."""
    if target and target.startswith("/console/") and "//" not in target and "\\" not in target:
        return target
    return None


def _idempotency_key(nonce: str, action: str) -> str | None:
    """Each rendered form carries a nonce: submitting it twice makes one operation."""
    return f"console:{nonce}:{action}" if NONCE.match(nonce) else None


async def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    flashes = await run_in_threadpool(take_flashes, request)
    return page(request, name, {**context, "flashes": flashes}, status_code=status_code)


# --- signing in and out ----------------------------------------------------------------------


@router.get("")
@router.get("/")
async def home() -> Response:
    return RedirectResponse("/console/personas", status_code=303)


async def _login_page(
    request: Request,
    *,
    next_url: str | None,
    error: str | None = None,
    error_code: str | None = None,
    notice: str | None = None,
    status: int,
    headers: dict[str, str] | None = None,
) -> Response:
    token, new = login_token(request)
    context = {
        "title": "Sign in",
        "login_token": token,
        "next": next_url or "",
        "error": error,
        "error_code": error_code,
        "notice": notice,
    }
    response = page(request, "login.html", context, status_code=status, headers=headers)
    if new:
        set_login_cookie(response, token)
    return response


@router.get("/login")
async def login_form(
    request: Request,
    next: Annotated[str | None, Query(max_length=500)] = None,
    signed_out: Annotated[bool, Query()] = False,
) -> Response:
    if request.cookies.get(SESSION_COOKIE) and not signed_out:
        try:
            await console_user(request)
            return RedirectResponse(safe_next(next) or "/console/personas", status_code=303)
        except Unauthorized:
            pass  # the session ended: sign in again
    notice = "You are signed out." if signed_out else None
    return await _login_page(request, next_url=safe_next(next), notice=notice, status=200)


def _sign_in(raw: str, address: str | None) -> Principal:
    def check() -> Principal:
        with unit_of_work() as session:
            return authenticate(session, raw)

    # The API's throttle: refused while the address or the key's prefix has too many recent failures.
    return auth_throttle().guard("console", address, raw, check)


@router.post("/login")
async def login(
    request: Request,
    api_key: Annotated[str, Form(max_length=500)] = "",
    login_token: Short = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    next_url = safe_next(next)
    expected = request.cookies.get(LOGIN_COOKIE)
    if not expected or not tokens_match(login_token, expected):
        error = "The sign-in form expired or was not sent from this page. Try again."
        # The form again (200, as for a wrong key): a person just tries again.
        return await _login_page(request, next_url=next_url, error=error, status=200)
    address = client_address(request)
    try:
        # A key this process checked recently signs in at once, whoever fails on its prefix.
        principal = remembered_principal(api_key, address)
        if principal is None:
            principal = await run_in_threadpool(_sign_in, api_key, address)
    except TooManyFailedAttempts as exc:
        who = "from your network" if exc.scope == "address" else "with this API key"
        error = f"Too many failed sign-in attempts {who}. Wait {exc.retry_after} seconds, then try again."
        return await _login_page(
            request,
            next_url=next_url,
            error=error,
            error_code=exc.code,
            status=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    except Unauthorized:
        error = "That API key is not valid, or it was revoked."
        return await _login_page(request, next_url=next_url, error=error, status=200)
    session_id, _ = await run_in_threadpool(start_session, principal)
    response = RedirectResponse(next_url or "/console/personas", status_code=303)
    set_session_cookie(response, session_id)
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    return response


@router.post("/logout")
async def logout(request: Request, form: CheckedForm) -> Response:
    await run_in_threadpool(end_session, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/console/login?signed_out=1", status_code=303)
    clear_session_cookie(response)
    return response


# --- pages ------------------------------------------------------------------------------------


@router.get("/personas")
async def personas(
    request: Request,
    user: CurrentUser,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    size = get_settings().console_page_size
    context = await in_transaction(views.personas_page, user.principal.workspace_id, q.strip(), page, size)
    return await render(request, "personas.html", {**context, "title": "Personas"})


async def _operation(user: ConsoleUser, persona_id: str, op: str | None) -> dict[str, Any] | None:
    """The operation the page reports on. Read before the page's sections, so that when it has
    finished they show its effect (and when it has not, the page follows it live)."""
    if not op:
        return None
    try:
        return await in_transaction(views.operation_status, user.principal.workspace_id, op, persona_id)
    except NotFound:
        return None


async def _persona_render(
    request: Request, tab: str, context: dict[str, Any], operation: dict[str, Any] | None
) -> Response:
    context = {
        **context,
        "tab": tab,
        "operation": operation,
        "nonce": uuid.uuid4().hex,
        "title": f"{context['persona']['name']} · {tab.capitalize()}",
        "persona_url": persona_url,
    }
    return await render(request, f"persona_{tab}.html", context)


OperationParam = Annotated[str | None, Query(max_length=64)]


@router.get("/personas/{persona_id}")
async def persona_versions(
    request: Request, persona_id: str, user: CurrentUser, op: OperationParam = None
) -> Response:
    operation = await _operation(user, persona_id, op)
    context = await in_transaction(views.versions_tab, user.principal.workspace_id, persona_id)
    return await _persona_render(request, "versions", context, operation)


@router.get("/personas/{persona_id}/compare")
async def persona_compare(
    request: Request,
    persona_id: str,
    user: CurrentUser,
    a: Annotated[int | None, Query(ge=1)] = None,
    b: Annotated[int | None, Query(ge=1)] = None,
    op: OperationParam = None,
) -> Response:
    operation = await _operation(user, persona_id, op)
    context = await in_transaction(views.compare_tab, user.principal.workspace_id, persona_id, a, b)
    return await _persona_render(request, "compare", context, operation)


def _day(text: str) -> date | None:
    text = text.strip()
    return date.fromisoformat(text) if text else None


@router.get("/personas/{persona_id}/history")
async def persona_history(
    request: Request,
    persona_id: str,
    user: CurrentUser,
    by: Annotated[str, Query(max_length=100)] = "",
    since: Annotated[str, Query(alias="from", max_length=20)] = "",
    until: Annotated[str, Query(alias="to", max_length=20)] = "",
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    op: OperationParam = None,
) -> Response:
    size = limit or get_settings().console_page_size
    filter_error = None
    first = last = None
    try:
        first, last = _day(since), _day(until)
    except ValueError:
        filter_error = "Dates are written YYYY-MM-DD."
    if first and last and first > last:
        filter_error, first, last = "The “from” date is after the “to” date.", None, None
    query = history.HistoryQuery(
        promoted_by=by or None,
        since=datetime.combine(first, time.min, UTC) if first else None,
        until=datetime.combine(last + timedelta(days=1), time.min, UTC) if last else None,
        limit=size,
        cursor=cursor or None,
    )
    operation = await _operation(user, persona_id, op)
    context = await in_transaction(views.history_tab, user.principal.workspace_id, persona_id, query)
    filters = {"by": by, "from": since.strip(), "to": until.strip(), "limit": limit}
    context |= {
        "filters": filters,
        "filter_error": filter_error,
        "filtered": bool(by or since.strip() or until.strip()),
        "first_page": cursor is None,
        "page_sizes": PAGE_SIZES,
        "page_size": size,
        "older_url": persona_url(persona_id, "history", **filters, cursor=context["next_cursor"])
        if context["next_cursor"]
        else None,
        "newest_url": persona_url(persona_id, "history", **filters),
    }
    return await _persona_render(request, "history", context, operation)


@router.get("/personas/{persona_id}/proposals")
async def persona_proposals(
    request: Request, persona_id: str, user: CurrentUser, op: OperationParam = None
) -> Response:
    operation = await _operation(user, persona_id, op)
    context = await in_transaction(views.proposals_tab, user.principal.workspace_id, persona_id)
    return await _persona_render(request, "proposals", context, operation)


# --- changes: the same submissions as the API --------------------------------------------------


def _tab(value: str) -> str:
    return value if value in TABS else "versions"


async def _submitted(
    request: Request, persona_id: str, tab: str, submit: Callable[[], Awaitable[Operation | dict[str, Any]]]
) -> Response:
    """Submit, then show the page with the operation's live progress. A refusal that comes before
    any operation exists (a conflict, a reused form) is shown on the page it came from."""
    try:
        outcome = await submit()
    except DomainError as exc:
        if isinstance(exc, NotFound | Unauthorized) or exc.kind == "forbidden":
            raise  # the page of the refusal, as for any other request (404, 401, 403)
        await run_in_threadpool(flash, request, "error", exc.message)
        return RedirectResponse(persona_url(persona_id, tab), status_code=303)
    if isinstance(outcome, dict):  # this very decision was recorded already
        await run_in_threadpool(flash, request, "info", "That decision was already recorded.")
        return RedirectResponse(persona_url(persona_id, tab), status_code=303)
    return RedirectResponse(persona_url(persona_id, tab, op=outcome.id), status_code=303)


@router.post("/personas/{persona_id}/versions/{number}/promote")
async def promote(
    request: Request,
    persona_id: str,
    number: int,
    user: CurrentUser,
    form: CheckedForm,
    notes: Text = "",
    expected_production: Short = "",
    nonce: Short = "",
    tab: Short = "versions",
) -> Response:
    # Who may (publish, or request where the persona reviews promotions): api/submitting.py decides.
    options = promotion_payload(notes.strip() or None, expected_production or None, version=number)
    payload = PublishVersion.model_validate(options)
    key = _idempotency_key(nonce, f"promote:{number}")

    async def submit() -> Operation:
        op, _ = await submit_promotion(user.principal, persona_id, VERSION_PUBLISH, payload, key)
        return op

    return await _submitted(request, persona_id, _tab(tab), submit)


@router.post("/personas/{persona_id}/versions/{number}/unarchive")
async def unarchive(
    request: Request,
    persona_id: str,
    number: int,
    user: CurrentUser,
    form: CheckedForm,
    nonce: Short = "",
    tab: Short = "versions",
) -> Response:
    user.principal.require(Permission.PUBLISH)
    key = _idempotency_key(nonce, f"unarchive:{number}")

    async def submit() -> Operation:
        payload = UnarchiveVersion(version=number)
        return await submit_for_persona(user.principal, persona_id, VERSION_UNARCHIVE, payload, key)

    return await _submitted(request, persona_id, _tab(tab), submit)


async def _decide(
    request: Request,
    persona_id: str,
    entry_id: str,
    user: ConsoleUser,
    accept: bool,
    reason: str,
    force: bool,
) -> Response:
    user.principal.require(Permission.REVIEW)
    await in_transaction(views.proposal_persona, user.principal.workspace_id, persona_id, entry_id)

    async def submit() -> Operation | dict[str, Any]:
        return await submit_ack(user.principal, entry_id, accept, reason.strip() or None, force)

    return await _submitted(request, persona_id, "proposals", submit)


@router.post("/personas/{persona_id}/proposals/{entry_id}/accept")
async def accept_proposal(
    request: Request,
    persona_id: str,
    entry_id: str,
    user: CurrentUser,
    form: CheckedForm,
    reason: Text = "",
    force: Short = "",
) -> Response:
    return await _decide(request, persona_id, entry_id, user, True, reason, force == "true")


@router.post("/personas/{persona_id}/proposals/{entry_id}/reject")
async def reject_proposal(
    request: Request, persona_id: str, entry_id: str, user: CurrentUser, form: CheckedForm, reason: Text = ""
) -> Response:
    return await _decide(request, persona_id, entry_id, user, False, reason, False)


# --- live progress of an operation (Server-Sent Events) ----------------------------------------


def _event(view: dict[str, Any]) -> bytes:
    return f"event: progress\ndata: {json.dumps(view, ensure_ascii=False)}\n\n".encode()


async def _progress(
    request: Request, waiter: OperationWaiter, workspace_id: str, operation_id: str, first: dict[str, Any]
) -> AsyncIterator[bytes]:
    """The operation's state now and at every change, until it finishes (then the stream ends)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PROGRESS_STREAM_SECONDS
    yield b"retry: 2000\n\n"
    yield _event(first)
    status = first["status"]
    if first["terminal"]:
        return

    async def load() -> Operation:
        return await in_transaction(get_operation, workspace_id, operation_id)

    while loop.time() < deadline and not await request.is_disconnected():
        # Wakes at once when a worker announces the outcome; otherwise re-reads after the slice.
        op = await waiter.wait(operation_id, PROGRESS_SLICE_SECONDS, load)
        if op.status != status or is_terminal(op):
            view = await in_transaction(views.operation_status, workspace_id, operation_id)
            assert view is not None
            yield _event(view)
            status = view["status"]
            if view["terminal"]:
                return


@router.get("/operations/{operation_id}/events")
async def operation_events(request: Request, operation_id: str, user: CurrentUser) -> StreamingResponse:
    first = await in_transaction(views.operation_status, user.principal.workspace_id, operation_id)
    assert first is not None
    waiter: OperationWaiter = request.app.state.waiter
    return StreamingResponse(
        _progress(request, waiter, user.principal.workspace_id, operation_id, first),
        media_type="text/event-stream",
        headers=SSE_HEADERS,
    )


def install(app: FastAPI) -> None:
    """Mount the console on the app: its pages at /console and its static files."""
    from api.console import reviews  # it builds on this module's helpers

    app.include_router(router)
    app.include_router(reviews.router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
