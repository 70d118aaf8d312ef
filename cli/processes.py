"""The command lines of Greenlight's long-running processes, in one place.

`greenlight api|worker|beat` exec these; `greenlight run` starts them as children; the
compose file runs the `greenlight` commands. Built as argument lists: the command line starts
them as programs, it never imports the web server or Celery.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from greenlight import queues
from greenlight.settings import get_settings


def queue_option(names: Iterable[queues.Queue]) -> str:
    """Celery's ``-Q`` value for these queues."""
    return ",".join(queue.value for queue in names)


ALL_QUEUES = queue_option(queues.Queue)
ENGINE_QUEUES = queue_option(queues.ENGINE_QUEUES)
NOTIFICATION_QUEUES = queue_option(queues.NOTIFICATION_QUEUES)


def bin_path(name: str) -> str:
    """A console script of this environment (next to the running interpreter)."""
    return str(Path(sys.executable).with_name(name))


def api_command(workers: int | None = None, host: str | None = None, port: int | None = None) -> list[str]:
    """gunicorn with uvicorn workers (settings and the reasons in api/gunicorn_conf.py)."""
    settings = get_settings()
    bind = f"{host or settings.api_host}:{port or settings.api_port}"
    return [
        bin_path("gunicorn"), "--config", "python:api.gunicorn_conf",
        "--workers", str(workers or settings.api_workers), "--bind", bind, "api.main:app",
    ]  # fmt: skip


def worker_command(
    queues: str = ENGINE_QUEUES,
    concurrency: int | None = None,
    name: str = "worker@%h",
    loglevel: str | None = None,
) -> list[str]:
    settings = get_settings()
    return [
        bin_path("celery"), "-A", "workers.app", "worker", "--loglevel", loglevel or settings.log_level,
        "--concurrency", str(concurrency or settings.worker_concurrency), "-Q", queues, "-n", name,
    ]  # fmt: skip


def beat_command(schedule: str, loglevel: str | None = None) -> list[str]:
    return [
        bin_path("celery"), "-A", "workers.app", "beat", "--loglevel", loglevel or get_settings().log_level,
        "--schedule", schedule,
    ]  # fmt: skip
