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
from dataclasses import dataclass

from greenlight.dispatch import Dispatcher
from greenlight.errors import DomainError
from greenlight.models import Operation
from greenlight.operations.submit import Submission, submit_many

log = logging.getLogger(__name__)

MAX_GROUP = 64


@dataclass
class _Waiting:
    user_id: str
    submission: Submission
    future: asyncio.Future[Operation]
    loop: asyncio.AbstractEventLoop


class GroupCommit:
    def __init__(self, dispatcher: Dispatcher, max_group: int = MAX_GROUP) -> None:
        self._dispatcher = dispatcher
        self._max_group = max_group
        self._waiting: list[_Waiting] = []
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self._wake_pending: set[asyncio.AbstractEventLoop] = set()

    async def submit(self, user_id: str, submission: Submission) -> Operation:
        """Record (then enqueue) this submission with whatever else is waiting; its operation."""
        loop = asyncio.get_running_loop()
        waiting = _Waiting(user_id, submission, loop.create_future(), loop)
        with self._ready:
            self._waiting.append(waiting)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="greenlight-group-commit", daemon=True)
                self._thread.start()
            if loop not in self._wake_pending:
                self._wake_pending.add(loop)
                loop.call_soon(self._wake, loop)
        return await waiting.future

    def _wake(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wake the recorder once per turn of the event loop, not once per request: the requests
        this turn read join one group (woken by the first, it took groups of one or two while the
        rest were still being read)."""
        with self._ready:
            self._wake_pending.discard(loop)
            self._ready.notify()

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._waiting:
                    self._ready.wait()
                group = self._waiting[: self._max_group]
                del self._waiting[: self._max_group]
            self._record(group)

    def _record(self, group: list[_Waiting]) -> None:
        outcomes: list[Operation | BaseException]
        try:
            recorded = submit_many([(w.user_id, w.submission) for w in group], self._dispatcher)
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


def _settle(settled: list[tuple[asyncio.Future[Operation], object]]) -> None:
    for future, outcome in settled:
        if future.done():  # the request was cancelled (client gone); its operation stands
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            assert isinstance(outcome, Operation)
            future.set_result(outcome)
