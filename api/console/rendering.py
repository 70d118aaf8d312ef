"""Rendering console pages: the Jinja2 environment, security headers and the error page."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.console.sessions import clear_session_cookie

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# Everything the pages load comes from the console itself: no inline script or style, no frames.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

TITLES = {
    400: "That request was not valid",
    403: "Refused",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    422: "That request was not valid",
    500: "Something went wrong",
}


def when(value: datetime | str | None) -> str:
    """A timestamp as people read it: 2025-09-23 15:55 UTC."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso(value: datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


@lru_cache(maxsize=32)
def static_url(name: str) -> str:
    """The URL of a static file with a content hash, so a new build is never served stale."""
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
    return f"/console/static/{name}?v={digest}"


templates = Jinja2Templates(directory=TEMPLATES)
templates.env.filters["when"] = when
templates.env.filters["iso"] = iso
templates.env.globals["static_url"] = static_url
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True


def page(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    user = getattr(request.state, "console_user", None)
    # What the signed-in member may do: the pages show only the buttons their role can use.
    may = {str(permission) for permission in user.principal.permissions} if user else set()
    full = {
        "user": user,
        "csrf_token": user.csrf if user else "",
        "flashes": [],
        "may": may,
        **(context or {}),
    }
    return templates.TemplateResponse(
        request, name, full, status_code=status_code, headers={**SECURITY_HEADERS, **(headers or {})}
    )


def login_redirect(request: Request) -> RedirectResponse:
    target = "/console/login"
    if (
        request.method == "GET"
        and request.url.path.startswith("/console/")
        and not request.url.path.endswith("/events")
    ):
        target += "?next=" + quote(request.url.path, safe="/")
    response = RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
    clear_session_cookie(response)
    return response


def error_page(request: Request, status: int, code: str, message: str, details: dict[str, Any]) -> Response:
    """The console's rendering of every error (api/errors.py routes /console errors here)."""
    if status == 401:
        return login_redirect(request)
    if status == 404:
        message = "There is nothing here, or it belongs to another account."
    elif status == 422 and code == "VALIDATION_ERROR":
        problems = [
            f"{'.'.join(str(p) for p in err.get('loc', [])[1:]) or 'request'}: {err.get('msg')}"
            for err in details.get("errors", [])
        ]
        message = "The form was not valid: " + "; ".join(problems) if problems else message
    context = {"title": TITLES.get(status, "Error"), "status": status, "code": code, "message": message}
    return page(request, "error.html", context, status_code=status)
