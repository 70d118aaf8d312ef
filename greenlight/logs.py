"""JSON logs with the ids that matter (request, operation, persona) on every line.

The context is one mutable dict per request or task, held in a contextvar: the API's
middleware (or a Celery ``task_prerun`` handler) opens it, anything further down binds
ids into it, and the handler's filter copies it onto each record. Because the dict is
shared by reference, ids bound in a dependency or a thread-pool call are seen by the
access-log line written at the end of the request.

API keys are never logged: nothing logs headers, and the formatter also masks anything
shaped like a Greenlight key or a bearer token, as a last line of defence.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

_context: ContextVar[dict[str, str] | None] = ContextVar("greenlight_log_context", default=None)

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged.
_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}

_SECRETS = re.compile(r"\bgl_[A-Za-z0-9_\-]{8,}|(?i:\bbearer\s+)[^\s\"',;]+")


def open_context(**fields: str | None) -> Token[dict[str, str] | None]:
    """Start a fresh context (a request, a task); close it with ``close_context``."""
    return _context.set({key: value for key, value in fields.items() if value is not None})


def close_context(token: Token[dict[str, str] | None]) -> None:
    _context.reset(token)


def replace_context(**fields: str | None) -> None:
    """Start a fresh context with no way back: for Celery's task_prerun/task_postrun pair."""
    _context.set({key: value for key, value in fields.items() if value is not None})


def clear_context() -> None:
    _context.set(None)


def bind(**fields: str | None) -> None:
    """Add ids to the current request's or task's context; outside of one, do nothing
    (so nothing lingers in a thread's top-level context)."""
    current = _context.get()
    if current is not None:
        current.update({key: value for key, value in fields.items() if value is not None})


def current_context() -> dict[str, str]:
    return dict(_context.get() or {})


@contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """A nested context for a block: the outer ids plus these."""
    token = _context.set({**current_context(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def redact(text: str) -> str:
    # The substring test is far cheaper than the regex, and most lines hold neither marker.
    lowered = text.lower()
    if "gl_" not in lowered and "bearer" not in lowered:
        return text
    return _SECRETS.sub("[redacted]", text)


class ContextFilter(logging.Filter):
    """Copies the current context onto the record (without overwriting explicit extras)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_context.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


_second: tuple[int, str] = (-1, "")


def _timestamp(created: float) -> str:
    """ISO 8601 UTC with milliseconds; the part up to the second is formatted once per second."""
    global _second
    whole = int(created)
    if _second[0] != whole:
        _second = (whole, datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{_second[1]}.{int((created - whole) * 1000):03d}Z"


# Built once: json.dumps with any option set builds an encoder per call, a good part of a line's cost.
_ENCODER = json.JSONEncoder(default=str, ensure_ascii=False)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, component, then the context."""

    def __init__(self, component: str = "greenlight") -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "component": self.component,
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return redact(_ENCODER.encode(entry))


# Loggers that servers configure with their own handlers: send them through ours instead.
_SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "gunicorn", "gunicorn.error", "celery", "celery.app.trace")


def make_handler(component: str) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(component))
    handler.addFilter(ContextFilter())
    return handler


def configure_logging(component: str, level: str | int | None = None) -> None:
    """Send every log line of this process to stderr as JSON."""
    from greenlight.settings import get_settings

    # What a line never shows (JsonFormatter leaves out the standard attributes), so the logging
    # module need not look it up for every record: the caller's frame above all (about a sixth of
    # an access line's cost). The logging docs' own "Optimization" advice.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(make_handler(component))
    root.setLevel(level or get_settings().log_level.upper())
    for name in _SERVER_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # The API writes its own access line (greenlight.access): without query strings or headers.
    for name in ("uvicorn.access", "gunicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = False
    # Alembic announces its plugins at INFO each time /readyz compares revisions: noise.
    logging.getLogger("alembic").setLevel(logging.WARNING)
