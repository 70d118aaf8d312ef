"""The Celery application: broker settings for at-least-once delivery with no loss."""

from __future__ import annotations

import sys
from typing import Any

from celery import Celery
from celery.signals import setup_logging, task_postrun, task_prerun, worker_process_init
from kombu import Queue as KombuQueue

from greenlight import logs
from greenlight.db import dispose_engine, retry_instead_of_pre_ping
from greenlight.queues import Queue
from greenlight.settings import get_settings
from workers.broker import TRANSPORT
from workers.catalogue import beat_schedule, task_routes


def make_celery(broker_url: str | None = None) -> Celery:
    settings = get_settings()
    broker = broker_url or settings.redis_url or "redis://127.0.0.1:6379/0"
    app = Celery("greenlight", broker=broker, include=["workers.tasks"])
    app.conf.update(
        # Kombu's Redis transport with one command client per channel (see workers/broker.py).
        broker_transport=TRANSPORT if broker.startswith(("redis://", "rediss://")) else None,
        # A message is acknowledged only after its task ran; a killed child puts it back.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        result_backend=None,
        task_default_queue=Queue.OPERATIONS.value,
        task_queues=[KombuQueue(queue.value) for queue in Queue],
        task_routes=task_routes(),
        broker_transport_options={"visibility_timeout": settings.broker_visibility_timeout_seconds},
        broker_connection_retry_on_startup=True,
        worker_send_task_events=True,
        task_send_sent_event=True,
        worker_hijack_root_logger=False,
        beat_schedule=beat_schedule(settings),
    )
    return app


app = make_celery()


@worker_process_init.connect
def _reset_connections_after_fork(**_: Any) -> None:
    # A forked child must not share its parent's database sockets.
    dispose_engine()
    # Its tasks retry on database errors (workers/tasks.py): no ping before every transaction.
    retry_instead_of_pre_ping()


@setup_logging.connect
def _json_logs(loglevel: int | str | None = None, **_: Any) -> None:
    # Connecting here stops Celery from installing its own handlers: every line is JSON.
    logs.configure_logging("beat" if "beat" in sys.argv else "worker", loglevel)


@task_prerun.connect
def _open_task_log_context(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    # Tasks bind the ids they work on (operation_id, persona_id) into this context.
    logs.replace_context(task_id=task_id, task=task.name if task is not None else None)


@task_postrun.connect
def _close_task_log_context(**_: Any) -> None:
    logs.clear_context()
