"""The drain: apply a persona's pending operations in sequence order under its lock.

A message names one operation, but whoever holds the persona's lock applies every
pending operation of that persona in order, so the order of application is the order
of acceptance whichever worker received which message, and a redelivered message
finds nothing left to do.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from sqlalchemy import bindparam, case, func, literal, select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from greenlight import logs
from greenlight.clock import utcnow
from greenlight.db import after_commit, unit_of_work
from greenlight.dispatch import Dispatcher, NullDispatcher
from greenlight.errors import DomainError, FencingError, Unprocessable
from greenlight.locking import PersonaLock
from greenlight.models import Operation, OperationStatus, Persona
from greenlight.models.operations import PENDING_STATUSES, pending_of
from greenlight.operations.apply import (
    Claimed,
    apply_in_transaction,
    apply_run_in_transaction,
    claim_in_transaction,
    fail_in_transaction,
    lock_operations,
)
from greenlight.operations.registry import Registry
from greenlight.operations.submit import Submission, record_settled
from greenlight.personas.production import ProductionCache, load_production
from greenlight.redis_client import get_redis, operations_done_channel
from greenlight.settings import Settings, get_settings
from greenlight.tenancy import Actor

log = logging.getLogger(__name__)


_ANY_PENDING = select(Operation.id).where(pending_of(bindparam("persona_id"))).limit(1)


class _OneByOne(Exception):
    """A group that must be applied one operation at a time (one of them was tried too often)."""


class Engine:
    def __init__(
        self,
        registry: Registry,
        client: redis.Redis | None = None,
        settings: Settings | None = None,
        dispatcher: Dispatcher | None = None,
    ):
        self.registry = registry
        self.redis = client or get_redis()
        self.settings = settings or get_settings()
        self.production = ProductionCache(self.redis)
        self.dispatcher: Dispatcher = dispatcher or NullDispatcher()

    def run(self, operation_id: str) -> int:
        """Entry point for a message: drain the persona this operation belongs to."""
        with unit_of_work() as session:
            row = session.execute(
                select(Operation.persona_id, Operation.status).where(Operation.id == operation_id)
            ).first()
        if row is None or row.status not in PENDING_STATUSES:
            return 0
        return self.drain(row.persona_id)

    def drain(self, persona_id: str) -> int:
        """Apply every pending operation of the persona (and whatever arrives meanwhile)."""
        return self.drain_some(persona_id)[0]

    def drain_some(
        self, persona_id: str, max_groups: int | None = None, clear_drain_request: bool = False
    ) -> tuple[int, bool]:
        """Like ``drain``, but stop after `max_groups` full groups, so that personas waiting behind
        this one in the same message are not held up by a busy one: (applied, whether it stopped
        before the persona's queue was empty). `clear_drain_request`: the persona's "drain requested"
        flag is cleared as the lock is first tried, before anything pending is read."""
        logs.bind(persona_id=persona_id)
        applied = 0
        while True:
            lock = PersonaLock(self.redis, persona_id, self.settings.lock_ttl_seconds)
            taken = lock.try_acquire(clear_drain_request)
            clear_drain_request = False
            if not taken:
                # The holder learns it was contended as it lets go and looks for work then.
                return applied, False
            stopped = contended = cut_short = False
            try:
                done, cut_short = self._drain_locked(persona_id, lock, max_groups)
                applied += done
            except FencingError as exc:
                log.warning("drain of persona %s stopped: %s", persona_id, exc)
                stopped = True
            finally:
                contended = lock.release()
            if cut_short:
                return applied, True
            # Finished and uncontended: every operation accepted since our last read has a message
            # of its own, still to come, that will find the lock free.
            if not (stopped or contended) or not self.has_pending(persona_id):
                return applied, False

    def has_pending(self, persona_id: str) -> bool:
        with unit_of_work() as session:
            return session.scalar(_ANY_PENDING, {"persona_id": persona_id}) is not None

    def _drain_locked(self, persona_id: str, lock: PersonaLock, max_groups: int | None) -> tuple[int, bool]:
        """(applied, whether `max_groups` full groups were applied with more perhaps pending)."""
        applied = 0
        if lock.interrupted:
            # The last drain of this persona never let go of its lock: its process may have died on
            # the operation now at the head. Count an attempt on it, committed, before trying again.
            applied, full = self._drain_counting(persona_id, lock)
            if not full:
                return applied, False
        size = max(1, self.settings.apply_batch_size)
        groups = 0
        while True:
            lock.keep_alive()
            group = self._claim_and_apply(persona_id, size)
            self._settled(group)
            applied += len(group)
            if len(group) < size:
                # Nothing else was pending. Whatever was accepted since has a message of its own,
                # or its message found the lock busy and the check after the release finds it.
                return applied, False
            groups += 1
            if max_groups is not None and groups >= max_groups:
                return applied, True

    def _claim_and_apply(self, persona_id: str, size: int) -> list[Claimed]:
        """Read, lock and apply the persona's next group in one transaction (the row locks and the
        revision's compare-and-bump keep it exact whatever else runs). If one of them is refused,
        the group rolls back, nothing of it written, and is applied one by one."""
        group: list[Claimed] = []
        token = 0
        try:
            with unit_of_work() as session:
                group, token = claim_in_transaction(session, persona_id, size)
                if not group:
                    return []
                if any(claimed.attempts > self.settings.max_attempts for claimed in group):
                    raise _OneByOne
                self._apply_in(session, group, token)
        except (DomainError, IntegrityError, DataError, _OneByOne):
            if not group:
                raise
            for claimed in group:
                token = self.apply_one(claimed, token)
        return group

    def _drain_counting(self, persona_id: str, lock: PersonaLock) -> tuple[int, bool]:
        """One batch claimed with an attempt counted on its head and committed, then applied:
        whether the batch was full (more may be pending)."""
        batch, token = self._claim(persona_id, read_revision=True)
        size = max(1, self.settings.apply_batch_size)
        for start in range(0, len(batch), size):
            group = batch[start : start + size]
            lock.keep_alive()
            token = self._apply_group(group, token)
            self._settled(group)
        return len(batch), len(batch) >= self.settings.drain_batch_size

    def _settled(self, group: list[Claimed]) -> None:
        if not group:
            return
        for claimed in group:  # one line per operation, findable by its id
            with logs.log_context(operation_id=claimed.operation_id):
                log.info("operation settled")
        self._announce([claimed.operation_id for claimed in group])
        # Committed: its outbox events can go out now (coalesced; beat relays anyway).
        self.dispatcher.enqueue_relay()

    @staticmethod
    def read_revision(persona_id: str) -> int:
        with unit_of_work() as session:
            revision = session.scalar(select(Persona.revision).where(Persona.id == persona_id))
        return int(revision or 0)

    def _claim(self, persona_id: str, *, read_revision: bool) -> tuple[list[Claimed], int]:
        """Mark the next batch running and count an attempt on its head.

        A worker killed mid-operation restarts at that operation, so counting the head
        is enough to stop a poison message from looping forever.
        """
        columns: list[Any] = [Operation.id, Operation.attempts, Operation.kind]
        if read_revision:  # the fencing token, in the same statement as the batch
            token = select(Persona.revision).where(Persona.id == persona_id).scalar_subquery()
            columns.append(token.label("revision"))
        with unit_of_work() as session:
            rows = session.execute(
                select(*columns)
                .where(pending_of(persona_id))
                .order_by(Operation.seq)
                .limit(self.settings.drain_batch_size)
            ).all()
            if not rows:
                return [], 0
            revision = int(rows[0].revision or 0) if read_revision else 0
            now = literal(utcnow(), type_=Operation.__table__.c.started_at.type)
            ids = [row.id for row in rows]
            # One statement: mark the batch running (keeping the first start of one resumed after a
            # crash) and count an attempt on its head.
            session.execute(
                update(Operation)
                .where(Operation.id.in_(ids), Operation.status.in_(PENDING_STATUSES))
                .values(
                    status=OperationStatus.RUNNING.value,
                    started_at=func.coalesce(Operation.started_at, now),
                    updated_at=now,
                    attempts=Operation.attempts + case((Operation.id == ids[0], 1), else_=0),
                )
            )
        head = Claimed(rows[0].id, rows[0].attempts + 1, rows[0].kind)  # counted just now
        return [head, *(Claimed(row.id, 0, row.kind) for row in rows[1:])], revision

    def _apply_group(self, group: list[Claimed], token: int) -> int:
        """Apply consecutive operations in one transaction: one commit and one cache update for
        the group. If any of them is refused, the group rolls back and they are applied one by
        one, so each refusal is recorded on its own operation and the others still apply."""
        if len(group) > 1 and all(c.attempts <= self.settings.max_attempts for c in group):
            try:
                return self._commit_applied(group, token)
            except (DomainError, IntegrityError, DataError):
                pass
        for claimed in group:
            token = self.apply_one(claimed, token)
        return token

    def apply_one(self, claimed: Claimed, token: int) -> int:
        if claimed.attempts > self.settings.max_attempts:
            error: DomainError = Unprocessable(
                "The operation was interrupted too many times and was given up",
                {"attempts": claimed.attempts - 1},
                code="TOO_MANY_ATTEMPTS",
            )
        else:
            try:
                return self._commit_applied([claimed], token)
            except DomainError as exc:
                error = exc
            except (IntegrityError, DataError) as exc:
                # Deterministic: retrying would block the persona's queue until TOO_MANY_ATTEMPTS.
                # If a stale worker caused it, the fenced failure below refuses to record it.
                log.exception("operation %s refused by the database", claimed.operation_id)
                error = Unprocessable(
                    "The database refused the change",
                    {"reason": type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__},
                    code="REJECTED_BY_DATABASE",
                )
        with unit_of_work() as session:
            return fail_in_transaction(session, claimed.operation_id, token, error)

    def _commit_applied(self, group: list[Claimed], token: int) -> int:
        """Apply the operations in order in one transaction; returns the persona's new revision."""
        with unit_of_work() as session:
            return self._apply_in(session, group, token)

    def _apply_in(self, session: Session, group: list[Claimed], token: int) -> int:
        """Apply the group in the caller's transaction: the new revision (the production cache is
        refilled once it has committed). A run of one kind that has a batch handler (promotions) is
        applied in one go."""
        changed: Persona | None = None
        operation_ids = [claimed.operation_id for claimed in group]
        kinds = {claimed.kind for claimed in group}
        # A run of one is applied as one (through the review gate, where a persona has one).
        run = self.registry.run_handler(group[0].kind) if len(kinds) == 1 and len(group) > 1 else None
        if run is not None:
            applied = apply_run_in_transaction(session, operation_ids, token, run)
            token, changed = applied.revision, applied.persona
        else:
            if len(operation_ids) > 1:
                lock_operations(session, operation_ids)
            for operation_id in operation_ids:
                applied = apply_in_transaction(session, self.registry, operation_id, token)
                token = applied.revision
                if applied.production_changed and applied.persona is not None:
                    changed = applied.persona
        if changed is None:
            return token
        session.flush()
        fresh = load_production(session, changed)
        # Before commit, so no reader can cache the old production after it.
        self.production.invalidate(changed.id, token)
        persona_id = changed.id

        if fresh is not None:
            revision, etag, body = fresh
            after_commit(session, lambda: self.production.fill(persona_id, revision, etag, body))
        return token

    def _announce(self, operation_ids: list[str]) -> None:
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                for operation_id in operation_ids:
                    pipe.publish(operations_done_channel(), operation_id)
                pipe.execute()
        except redis.RedisError:
            log.warning("could not announce operations %s; waiters fall back to polling", operation_ids)


def submit_inline(registry: Registry, actor: Actor, submission: Submission) -> Operation:
    """Accept and apply in one transaction: for operations that create their persona, which
    nobody else can address yet, so no lock or queue is needed."""

    def apply_now(session: Session, op: Operation) -> Operation:
        apply_in_transaction(session, registry, op.id, expected_revision=0)  # a new persona
        # The row the apply loaded and finished (with its result), not the one recorded.
        applied = session.get(Operation, op.id)
        assert applied is not None
        return applied

    return record_settled(actor, submission, apply_now)[0]
