"""Console sign-in: server-side sessions in Redis and per-session CSRF tokens.

The browser holds only a random session id, in an HttpOnly, SameSite=Strict cookie scoped to
``/console``; Redis holds, under a hash of that id, who signed in (the user and the id of the key
they signed in with, never the key) and the session's CSRF token. Every request re-checks that
the key has not been revoked since. Signing out deletes the session.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from greenlight.clock import isoformat, utcnow
from greenlight.db import unit_of_work
from greenlight.errors import DomainError, Unauthorized
from greenlight.keys import Principal, principal_of_key
from greenlight.redis_client import get_redis, key
from greenlight.settings import get_settings

SESSION_COOKIE = "greenlight_console"
LOGIN_COOKIE = "greenlight_console_login"
COOKIE_PATH = "/console"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
FLASH_SECONDS = 300
LOGIN_COOKIE_SECONDS = 3600


class CsrfRejected(DomainError):
    kind = "forbidden"
    code = "CSRF_REJECTED"


@dataclass(frozen=True)
class ConsoleUser:
    user_id: str
    user_name: str
    key_id: str
    csrf: str
    signed_in_at: str
    # Not stored: read from the key at every request, so a revoked key or a changed role applies at once.
    principal: Principal

    def stored(self) -> dict[str, str]:
        return {name: value for name, value in asdict(self).items() if name != "principal"}


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _session_key(session_id: str) -> str:
    return key("console", "session", _digest(session_id))


def _flash_key(session_id: str) -> str:
    return key("console", "flash", _digest(session_id))


def _lifetime_seconds() -> int:
    return max(60, int(get_settings().console_session_hours * 3600))


def start_session(principal: Principal) -> tuple[str, ConsoleUser]:
    """A new session (a new id at every sign-in: no fixation) and its CSRF token."""
    session_id = secrets.token_urlsafe(32)
    user = ConsoleUser(
        user_id=principal.user_id,
        user_name=principal.user_name,
        key_id=principal.key_id,
        csrf=secrets.token_urlsafe(32),
        signed_in_at=isoformat(utcnow()) or "",
        principal=principal,
    )
    get_redis().set(_session_key(session_id), json.dumps(user.stored()), ex=_lifetime_seconds())
    return session_id, user


def end_session(session_id: str | None) -> None:
    if session_id:
        get_redis().delete(_session_key(session_id), _flash_key(session_id))


def _resolve(session_id: str | None) -> ConsoleUser:
    """The signed-in user, or 401 (the console sends the browser to sign in)."""
    if not session_id or len(session_id) > 200:
        raise Unauthorized("Sign in to use the console.")
    raw = get_redis().get(_session_key(session_id))
    if raw is None:
        raise Unauthorized("Your console session ended; sign in again.")
    stored = json.loads(raw)
    with unit_of_work() as session:
        principal = principal_of_key(session, stored["key_id"])  # revoked since: signed out
    return ConsoleUser(**stored, principal=principal)


async def console_user(request: Request) -> ConsoleUser:
    user = await run_in_threadpool(_resolve, request.cookies.get(SESSION_COOKIE))
    request.state.console_user = user  # error pages show who is signed in
    return user


CurrentUser = Annotated[ConsoleUser, Depends(console_user)]


def tokens_match(sent: Any, expected: str) -> bool:
    return isinstance(sent, str) and bool(sent) and hmac.compare_digest(sent.encode(), expected.encode())


async def checked_form(request: Request, user: CurrentUser) -> FormData:
    """Every console POST: the session's CSRF token in the form (or the X-CSRF-Token header)."""
    form = await request.form()
    sent = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    if not tokens_match(sent, user.csrf):
        raise CsrfRejected(
            "The form was refused: it did not carry this session's security token. "
            "Reload the page and try again."
        )
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def flash(request: Request, kind: str, text: str) -> None:
    """A message for the next page this session renders."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        client = get_redis()
        flash_key = _flash_key(session_id)
        client.rpush(flash_key, json.dumps({"kind": kind, "text": text}))
        client.expire(flash_key, FLASH_SECONDS)


def take_flashes(request: Request) -> list[dict[str, str]]:
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return []
    client = get_redis()
    flash_key = _flash_key(session_id)
    pipe = client.pipeline()
    pipe.lrange(flash_key, 0, -1)
    pipe.delete(flash_key)
    raw, _ = pipe.execute()
    return [json.loads(item) for item in raw]


def _set_cookie(response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=get_settings().console_cookie_secure,
    )


def set_session_cookie(response: Response, session_id: str) -> None:
    _set_cookie(response, SESSION_COOKIE, session_id, _lifetime_seconds())


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=get_settings().console_cookie_secure,
    )


def login_token(request: Request) -> tuple[str, bool]:
    """The sign-in form's CSRF token (double-submit: cookie and hidden field); True if new."""
    current = request.cookies.get(LOGIN_COOKIE)
    if current and 20 <= len(current) <= 100:
        return current, False
    return secrets.token_urlsafe(32), True


def set_login_cookie(response: Response, token: str) -> None:
    _set_cookie(response, LOGIN_COOKIE, token, LOGIN_COOKIE_SECONDS)
