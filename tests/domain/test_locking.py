"""The persona lock's two signals (contended, interrupted), and the drain that relies on them: with no
sweeper running, every operation accepted while a drain held the lock is still applied."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from greenlight.locking import PersonaLock
from greenlight.redis_client import get_redis
from tests.support.processes import Process, start_worker
from tests.support.workloads import edits_and_promotions, make_persona, make_user, wait_all_done
from workers.dispatch import CeleryDispatcher


def _lock(persona_id: str, ttl: float = 5.0) -> PersonaLock:
    return PersonaLock(get_redis(), persona_id, ttl_seconds=ttl)


def test_the_holder_learns_it_was_contended_as_it_lets_go(services: dict[str, str]) -> None:
    persona = f"lock-test-{time.monotonic_ns()}"
    holder = _lock(persona)
    assert holder.try_acquire() and not holder.interrupted
    assert holder.release() is False  # nobody came: no need to look for work left behind

    assert holder.try_acquire()
    assert not _lock(persona).try_acquire()  # busy: this one gives up and says so
    assert holder.release() is True
    assert _lock(persona).try_acquire()  # free again; the flag was consumed with the release


def test_a_holder_that_never_let_go_leaves_its_mark(services: dict[str, str]) -> None:
    persona = f"lock-test-{time.monotonic_ns()}"
    dead = _lock(persona, ttl=0.05)
    assert dead.try_acquire()
    time.sleep(0.1)  # its process died: the lease runs out, nobody releases
    after = _lock(persona)
    assert after.try_acquire() and after.interrupted
    assert after.release() is False
    clean = _lock(persona)
    assert clean.try_acquire() and not clean.interrupted  # a release clears the mark
    assert dead.release() is True  # expired long ago: not ours, so it reports "look for work"
    clean.release()


def test_no_operation_waits_for_the_sweeper(own_workers: list[Process]) -> None:
    """Four writers, three personas, two worker children, no beat: drain messages keep finding the
    lock busy, and the holders must pick up what those messages gave up on."""
    own_workers.append(start_worker(concurrency=2))
    user = make_user()
    personas = [make_persona(user) for _ in range(3)]
    dispatcher = CeleryDispatcher()

    def write(i: int) -> list[str]:
        return edits_and_promotions(user, personas[i % len(personas)], 60, dispatcher)

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = [op_id for batch in pool.map(write, range(4)) for op_id in batch]
    wait_all_done(ids, timeout=30)  # the sweeper would take 15 s a round, and it is not running
