"""Real damage to real processes: the promises hold through each fault."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from cli.embedded import EmbeddedRedis
from greenlight.queues import Queue
from greenlight.redis_client import get_redis, key
from greenlight.settings import get_settings
from tests.support.invariants import check_persona
from tests.support.processes import Process, start_beat, start_worker, wait_until
from tests.support.workloads import count_done, edits_and_promotions, make_persona, make_user, wait_all_done
from workers.app import make_celery
from workers.dispatch import CeleryDispatcher

# Short leases and a quick sweeper, so recovery happens within a test's patience.
FAULT_ENV = {
    "GREENLIGHT_LOCK_TTL_SECONDS": "2",
    "GREENLIGHT_SWEEP_AFTER_SECONDS": "2",
    "GREENLIGHT_SWEEP_INTERVAL_SECONDS": "1",
}
ON_POSTGRES = get_settings().database_url.startswith("postgresql")


def _all_succeeded(persona_id: str, expected: int) -> None:
    stats = check_persona(persona_id)
    assert stats["operations"] == expected + 1  # and the create


def test_sigkill_mid_drain_completes_exactly_once(own_workers: list[Process], tmp_path: Path) -> None:
    user = make_user()
    persona = make_persona(user)
    ids = edits_and_promotions(user, persona, 150, CeleryDispatcher())
    victim = start_worker(concurrency=1, env=FAULT_ENV)
    own_workers.append(victim)
    wait_until(lambda: count_done(ids) >= 15, timeout=60, interval=0.005)
    victim.kill()  # SIGKILL, parent and child, in the middle of the drain
    assert count_done(ids) < len(ids)

    own_workers.append(start_worker(concurrency=2, env=FAULT_ENV))
    own_workers.append(start_beat(tmp_path, env=FAULT_ENV))
    wait_all_done(ids)
    _all_succeeded(persona, len(ids))


def test_redis_restart_loses_no_accepted_operation(own_workers: list[Process], tmp_path: Path) -> None:
    broker = EmbeddedRedis(workdir=str(tmp_path / "redis")).start()
    try:
        env = {**FAULT_ENV, "GREENLIGHT_REDIS_URL": broker.url}
        dispatcher = CeleryDispatcher(make_celery(broker.url))
        client = redis.Redis.from_url(broker.url)
        user = make_user()
        persona = make_persona(user)

        queued = edits_and_promotions(user, persona, 30, dispatcher)
        # One persona: its 30 operations share one drain message (coalesced per persona).
        assert client.llen(Queue.OPERATIONS.value) == 1
        broker.stop()  # no persistence: every queued message is gone
        broker.start()
        assert client.llen(Queue.OPERATIONS.value) == 0

        node, beat = start_worker(concurrency=2, env=env), start_beat(tmp_path, env=env)
        own_workers.extend([node, beat])
        wait_all_done(queued)

        # Again, with workers running: Redis goes away in the middle of the drain.
        more = edits_and_promotions(user, persona, 120, dispatcher)
        wait_until(lambda: count_done(more) >= 10, timeout=60, interval=0.005)
        broker.stop()
        time.sleep(1.0)
        broker.start()

        def done_under_supervision() -> bool:
            # kombu's Redis transport can crash the worker while it restores unacked messages on
            # a lost connection (celery/kombu#970-like): like a process supervisor, start another.
            nonlocal node, beat
            if not node.alive():
                node = start_worker(concurrency=2, env=env)
                own_workers.append(node)
            if not beat.alive():
                beat = start_beat(tmp_path, env=env)
                own_workers.append(beat)
            return count_done(set(more)) == len(set(more))

        wait_until(done_under_supervision, timeout=120, interval=0.2)
        _all_succeeded(persona, len(queued) + len(more))
    finally:
        for process in own_workers:
            process.kill()
        broker.cleanup()


@pytest.mark.skipif(not ON_POSTGRES, reason="pg_terminate_backend needs PostgreSQL (CI runs it there)")
def test_database_connection_dropped_mid_transaction(own_workers: list[Process], tmp_path: Path) -> None:
    user = make_user()
    persona = make_persona(user)
    ids = edits_and_promotions(user, persona, 200, CeleryDispatcher())
    own_workers.append(start_worker(concurrency=1, env=FAULT_ENV))
    engine = sa.create_engine(get_settings().database_url)
    terminated = 0
    try:
        for threshold in (20, 60, 100):
            wait_until(lambda t=threshold: count_done(ids) >= t, timeout=90, interval=0.005)
            with engine.connect() as conn:
                terminated += len(
                    conn.execute(
                        sa.text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                            "AND backend_type = 'client backend'"
                        )
                    ).all()
                )
    finally:
        engine.dispose()
    assert terminated > 0
    own_workers.append(start_beat(tmp_path, env=FAULT_ENV))
    wait_all_done(ids, timeout=120)
    _all_succeeded(persona, len(ids))


def _stop_while_holding_the_lock(worker: Process, persona_id: str) -> None:
    """SIGSTOP the worker at an instant it holds the persona's lock (mid-drain, the only worker
    running), so it has a write to attempt when it wakes; between two drains it would have none."""
    lock = key("lock", "persona", persona_id)
    for _ in range(500):
        worker.signal(signal.SIGSTOP)
        if get_redis().exists(lock):
            return
        worker.signal(signal.SIGCONT)
        time.sleep(0.002)
    raise AssertionError("the worker never held the persona's lock")


def test_worker_paused_past_its_lock_is_fenced(own_workers: list[Process], tmp_path: Path) -> None:
    env = {**FAULT_ENV, "GREENLIGHT_LOCK_TTL_SECONDS": "1"}
    user = make_user()
    persona = make_persona(user)
    ids = edits_and_promotions(user, persona, 300, CeleryDispatcher())
    paused = start_worker(concurrency=1, env=env)
    own_workers.append(paused)
    wait_until(lambda: count_done(ids) >= 20, timeout=60, interval=0.005)
    _stop_while_holding_the_lock(paused, persona)
    try:
        rescuer = start_worker(concurrency=1, env=env)
        own_workers.extend([rescuer, start_beat(tmp_path, env=env)])
        time.sleep(4)  # well past the paused worker's lease: the rescuer takes over
    finally:
        paused.signal(signal.SIGCONT)
    wait_all_done(ids, timeout=120)
    _all_succeeded(persona, len(ids))
    assert paused.alive(), "the paused worker crashed instead of handling its lost lock"
    logs = paused.log_path.read_text() + rescuer.log_path.read_text()
    assert "drain of persona" in logs and "stopped" in logs  # a stale write was refused


def test_duplicate_delivery_has_one_effect(own_workers: list[Process], tmp_path: Path) -> None:
    env = {**FAULT_ENV, "GREENLIGHT_BROKER_VISIBILITY_TIMEOUT_SECONDS": "1"}
    dispatcher = CeleryDispatcher()
    user = make_user()
    persona = make_persona(user)
    ids = edits_and_promotions(user, persona, 100, dispatcher)
    for operation_id in ids:  # every message delivered twice
        dispatcher.enqueue_operation(operation_id)
    own_workers.append(start_worker(concurrency=2, env=env))
    own_workers.append(start_worker(concurrency=2, env=env))
    wait_all_done(ids)
    _all_succeeded(persona, len(ids))
