"""Group commit for accepted requests: one transaction and one round of enqueueing for all the
requests that arrived while the previous group was being recorded.

Each request hands its submission to this process's recorder thread and awaits the outcome; the
thread records whatever is waiting in one transaction (``submit_many``), so under load a commit and
the broker round trips are shared by many requests, and at rest a request is recorded at once (no
timer: a group is simply what queued up meanwhile, woken once per turn of the event loop). Order of
arrival is order of acceptance.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter, deque
from dataclasses import dataclass

from greenlight.db import get_engine
from greenlight.dialects import capabilities_of
from greenlight.dispatch import Dispatcher
from greenlight.errors import DomainError
from greenlight.models import Operation
from greenlight.operations.submit import Submission, submit_many
from greenlight.tenancy import Actor

log = logging.getLogger(__name__)

MAX_GROUP = 64


@dataclass
class _Waiting:
    actor: Actor
    submission: Submission
    future: asyncio.Future[Operation]
    loop: asyncio.AbstractEventLoop


class GroupCommit:
    def __init__(
        self, dispatcher: Dispatcher, max_group: int = MAX_GROUP, recorders: int | None = None
    ) -> None:
        self._dispatcher = dispatcher
        self._max_group = max_group
        self._recorders = recorders
        # Arrivals, appended by the event loop without a lock (a deque's append is atomic); the
        # recorders move them, in order, to `_waiting` (theirs, under `_ready`).
        self._arrived: deque[_Waiting] = deque()
        self._waiting: list[_Waiting] = []
        self._ready = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._wake_pending: set[asyncio.AbstractEventLoop] = set()
        # What the groups being recorded hold (personas, idempotency keys): see `_take`.
        self._busy: Counter[tuple[str, ...]] = Counter()

    async def submit(self, actor: Actor, submission: Submission) -> Operation:
        """Record (then enqueue) this submission with whatever else is waiting; its operation."""
        loop = asyncio.get_running_loop()
        waiting = _Waiting(actor, submission, loop.create_future(), loop)
        self._arrived.append(waiting)  # no lock: the recorders hold theirs while they pick a group
        if loop not in self._wake_pending:
            self._wake_pending.add(loop)
            loop.call_soon(self._wake, loop)
        return await waiting.future

    def _recorder_count(self) -> int:
        """Two groups in flight on PostgreSQL: while one waits for its commit, the next is written (one
        recorder left the process idle for most of each group's round trips). One on SQLite: it has a
        single writer, and a deferred transaction that meets another's write fails instead of waiting."""
        if self._recorders is None:
            self._recorders = 2 if capabilities_of(get_engine()).concurrent_writers else 1
        return self._recorders

    def _start_recorders(self) -> None:
        self._threads = [thread for thread in self._threads if thread.is_alive()]
        while len(self._threads) < self._recorder_count():
            thread = threading.Thread(target=self._run, name="greenlight-group-commit", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _wake(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wake a recorder once per turn of the event loop, not once per request: the requests
        this turn read join one group (woken by the first, it took groups of one or two while the
        rest were still being read)."""
        with self._ready:
            self._wake_pending.discard(loop)
            if len(self._threads) < self._recorder_count() or not all(t.is_alive() for t in self._threads):
                self._start_recorders()
            self._ready.notify()

    def _take(self) -> list[_Waiting]:
        """The next group, in order of arrival, leaving behind whatever touches a group still being
        recorded: its personas (so each persona's operations are still accepted in order of arrival,
        one group at a time) and its idempotency keys (so two groups never wait on each other's key)."""
        arrived = self._arrived
        while arrived:
            self._waiting.append(arrived.popleft())
        group: list[_Waiting] = []
        rest: list[_Waiting] = []
        for waiting in self._waiting:
            if len(group) < self._max_group and not any(c in self._busy for c in _claims(waiting)):
                group.append(waiting)
            else:
                rest.append(waiting)
        self._waiting = rest
        for waiting in group:
            self._busy.update(_claims(waiting))
        return group

    def _run(self) -> None:
        while True:
            with self._ready:
                group = self._take()
                while not group:
                    self._ready.wait()
                    group = self._take()
            try:
                self._record(group)
            finally:
                with self._ready:
                    for waiting in group:
                        self._busy.subtract(_claims(waiting))
                    self._busy = +self._busy  # drop the zeros
                    if self._waiting or self._arrived:  # what waited for this group may go now
                        self._ready.notify()

    def _record(self, group: list[_Waiting]) -> None:
        outcomes: list[Operation | BaseException]
        try:
            recorded = submit_many([(w.actor, w.submission) for w in group], self._dispatcher)
            outcomes = [r if isinstance(r, DomainError) else r[0] for r in recorded]
        except Exception as exc:  # the database is away: every request of the group fails alike
            outcomes = [exc] * len(group)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Operation], object]]] = {}
        for waiting, outcome in zip(group, outcomes, strict=True):
            by_loop.setdefault(waiting.loop, []).append((waiting.future, outcome))
        for loop, settled in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, settled)
            except RuntimeError:  # that event loop is closed: nobody waits any more
                log.debug("group commit outcome for a closed event loop dropped")


def _claims(waiting: _Waiting) -> list[tuple[str, ...]]:
    submission = waiting.submission
    claims: list[tuple[str, ...]] = []
    if submission.persona_id is not None:
        claims.append(("persona", submission.persona_id))
    if submission.idempotency_key is not None:
        claims.append(("key", waiting.actor.workspace_id, submission.idempotency_key))
    return claims


def _settle(settled: list[tuple[asyncio.Future[Operation], object]]) -> None:
    for future, outcome in settled:
        if future.done():  # the request was cancelled (client gone); its operation stands
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            assert isinstance(outcome, Operation)
            future.set_result(outcome)
