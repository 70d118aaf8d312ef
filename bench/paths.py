"""Where the time of one promotion goes, step by step, in one process: `python -m bench.paths`.

CPU time (process_time, so other work on the machine barely moves it) and SQL statements per
accepted request and per applied operation, split into the steps the API and the engine take.
No HTTP and no Celery: what is left is the domain's own cost (the bench's ratios show the rest).
Runs on the same backends as the bench (a scratch database, its own Redis key prefix).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import event

from bench.stack import Backend, make_workdir, remove_workdir

T = TypeVar("T")


class Steps:
    """CPU seconds and SQL statements per named step."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self.sql: dict[str, int] = {}
        self.statements = 0

    def reset(self) -> None:
        self.cpu.clear()
        self.sql.clear()

    def count(self, *_: Any) -> None:
        self.statements += 1

    def run(self, name: str, work: Callable[..., T], *args: Any) -> T:
        began, statements = time.process_time(), self.statements
        try:
            return work(*args)
        finally:
            self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - began
            self.sql[name] = self.sql.get(name, 0) + self.statements - statements

    def report(self, title: str, n: int) -> str:
        lines = [f"{title} (per item, {n} items)", f"  {'step':50s} {'cpu ms':>8s} {'SQL':>5s}"]
        for name, cpu in self.cpu.items():
            lines.append(f"  {name:50s} {1000 * cpu / n:8.2f} {self.sql[name] / n:5.1f}")
        return "\n".join(lines)


def measure(count: int, profile: str | None) -> None:
    from bench import seed
    from greenlight import kinds, migrate
    from greenlight.db import get_engine, unit_of_work
    from greenlight.keys import Principal, authenticate
    from greenlight.locking import PersonaLock
    from greenlight.operations.engine import Engine
    from greenlight.operations.submit import Submission, submit_many
    from workers.dispatch import CeleryDispatcher

    migrate.upgrade()
    user = seed.make_user("paths")
    personas = seed.make_personas(user, 100, "paths")
    dispatcher = CeleryDispatcher()
    accept, drain = Steps(), Steps()
    for steps in (accept, drain):
        event.listen(get_engine(), "before_cursor_execute", steps.count)

    def authenticated() -> Principal:
        with unit_of_work() as session:
            return authenticate(session, user.key)

    def accept_one(i: int) -> str:
        persona = personas[i % len(personas)]
        principal = accept.run("authenticate (own transaction)", authenticated)
        submission = Submission(kind=kinds.PERSONA_PROMOTE.name, payload={}, persona_id=persona)
        # A group of one (the API records whatever arrived together in one transaction).
        recorded = accept.run(
            "check owner + record + enqueue (one transaction)",
            submit_many,
            [(principal, submission)],
            dispatcher,
        )
        outcome = recorded[0]
        assert not isinstance(outcome, Exception), outcome
        return outcome[0].id

    engine = Engine(kinds.REGISTRY, dispatcher=dispatcher)
    # Time the engine's own steps by wrapping them on this instance.
    for name in ("_claim_and_apply", "_announce", "has_pending"):
        original = getattr(engine, name)
        setattr(engine, name, lambda *a, _o=original, _n=name, **k: drain.run(_n, lambda: _o(*a, **k)))
    original_relay = dispatcher.enqueue_relay
    dispatcher.enqueue_relay = lambda: drain.run("relay nudge", original_relay)  # type: ignore[method-assign]
    acquire, release = PersonaLock.try_acquire, PersonaLock.release
    PersonaLock.try_acquire = lambda self, *a: drain.run("lock acquire", acquire, self, *a)  # type: ignore[method-assign]
    PersonaLock.release = lambda self: drain.run("lock release", release, self)  # type: ignore[method-assign]

    warm = [accept_one(i) for i in range(100)]
    for operation_id in warm:
        engine.run(operation_id)
    accept.reset()
    drain.reset()

    profiler = cProfile.Profile() if profile else None
    if profiler and profile == "accept":
        profiler.enable()
    ids = [accept_one(i) for i in range(count)]
    if profiler:
        profiler.disable()
        if profile == "drain":
            profiler.enable()
    for operation_id in ids:
        drain.run("engine.run (whole task body)", engine.run, operation_id)
    if profiler:
        profiler.disable()
    print(accept.report("ACCEPT: POST promote without HTTP", count))
    print(drain.report("DRAIN: one message per operation, load spread over 100 personas", count))
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
        print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.paths", description=__doc__)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--profile", choices=["accept", "drain"], help="also print cProfile's top functions")
    args = parser.parse_args()
    from bench.__main__ import _environment

    workdir = make_workdir()
    backend = Backend.create(workdir)
    try:
        _environment(backend, "WARNING")
        measure(args.count, args.profile)
        from greenlight.db import get_engine

        get_engine().dispose()
    finally:
        backend.close()
        remove_workdir(workdir)


if __name__ == "__main__":
    main()
