"""The bench's own Celery app: Greenlight's broker and worker settings, the bench's queues only.

`make_celery()` gives exactly the configuration the Greenlight worker runs with (acks_late,
reject_on_worker_lost, prefetch 1, JSON, events); only the queues and tasks differ, so a
worker started on this app differs from Greenlight's in nothing but what its tasks do.
"""

from __future__ import annotations

import time

from kombu import Queue

from greenlight.redis_client import get_redis, key
from workers.app import make_celery

NOOP_QUEUE = "bench.noop"
NAIVE_QUEUE = "bench.naive"
BENCH_QUEUES = f"{NOOP_QUEUE},{NAIVE_QUEUE}"
NOOP = "bench.noop"
NOOP_TIMED = "bench.noop_timed"

app = make_celery()
app.conf.update(
    include=["bench.naive"],
    task_default_queue=NOOP_QUEUE,
    task_queues=[Queue(NOOP_QUEUE), Queue(NAIVE_QUEUE)],
    task_routes={"bench.naive.*": {"queue": NAIVE_QUEUE}, "bench.*": {"queue": NOOP_QUEUE}},
    beat_schedule={},
)


def latency_key() -> str:
    return key("bench", "noop-latency")


@app.task(name=NOOP)
def noop(_operation_id: str) -> None:
    """Nothing: the floor of what one message costs (it carries an id, as Greenlight's do)."""


@app.task(name=NOOP_TIMED)
def noop_timed(sent_at: float) -> None:
    """Nothing, then record send -> run (the time is taken first, the write does not count)."""
    started = time.time()
    get_redis().rpush(latency_key(), started - sent_at)
