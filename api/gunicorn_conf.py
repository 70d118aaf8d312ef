"""gunicorn settings for `greenlight api`: several uvicorn worker processes, safely.

Why gunicorn and not `uvicorn --workers N`: uvicorn's multi-process mode binds its socket
without naming the TCP protocol, so asyncio never sets TCP_NODELAY on the connections it
accepts, and Nagle's algorithm holds responses (tens of milliseconds per keep-alive request:
bench/RESULTS.md, measurements behind the code). gunicorn sets TCP_NODELAY on the listening socket, which
accepted connections inherit on Linux, and it supervises its workers (a dead one is
replaced).

- No ``preload_app``: each worker imports the app after the fork and opens its own database
  pool, Redis clients and the announcement subscriber used by waiting requests.
- ``graceful_timeout`` outlasts the longest `Prefer: wait` so a restart lets them finish.
- Every worker answers /metrics and /readyz identically: both read shared state (database,
  Redis, the broker), never per-process memory.
"""

from __future__ import annotations

from typing import Any

from greenlight.settings import get_settings

_settings = get_settings()

bind = [f"{_settings.api_host}:{_settings.api_port}"]
workers = _settings.api_workers
worker_class = "uvicorn_worker.UvicornWorker"
preload_app = False
graceful_timeout = int(_settings.max_wait_seconds) + 5
timeout = 60
keepalive = 5
# The app writes one JSON access line per request (greenlight.access), without headers.
accesslog = None
loglevel = _settings.log_level.lower()
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "greenlight.logs.JsonFormatter", "component": "api"}},
    "filters": {"context": {"()": "greenlight.logs.ContextFilter"}},
    "handlers": {
        "json": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["context"],
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"level": _settings.log_level.upper(), "handlers": ["json"]},
    "loggers": {
        "gunicorn.error": {"handlers": [], "propagate": True},
        "gunicorn.access": {"handlers": [], "propagate": False},
    },
}
