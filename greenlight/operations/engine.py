"""The drain: apply a persona's pending operations in sequence order under its lock.

A message names one operation, but whoever holds the persona's lock applies every
pending operation of that persona in order, so the order of application is the order
of acceptance whichever worker received which message, and a redelivered message
finds nothing left to do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy import case, func, literal, select, update
from sqlalchemy.exc import DataError, IntegrityError

from greenlight import logs
from greenlight.clock import utcnow
from greenlight.db import unit_of_work
from greenlight.dispatch import Dispatcher, NullDispatcher
from greenlight.errors import DomainError, FencingError, Unprocessable
from greenlight.locking import PersonaLock
from greenlight.models import Operation, OperationStatus, Persona
from greenlight.models.operations import PENDING_STATUSES
from greenlight.operations.apply import (
    apply_in_transaction,
    apply_run_in_transaction,
    fail_in_transaction,
    lock_operations,
)
from greenlight.operations.kinds import batch_handler_for
from greenlight.personas.production import ProductionCache, load_production
from greenlight.redis_client import get_redis, operations_done_channel
from greenlight.settings import Settings, get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claimed:
    operation_id: str
    attempts: int
    kind: str = ""


class Engine:
    def __init__(
        self,
        client: redis.Redis | None = None,
        settings: Settings | None = None,
        dispatcher: Dispatcher | None = None,
    ):
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
        logs.bind(persona_id=persona_id)
        applied = 0
        while True:
            lock = PersonaLock(self.redis, persona_id, self.settings.lock_ttl_seconds)
            if not lock.try_acquire():
                # The holder re-checks for pending work after releasing, so nothing is stranded.
                return applied
            try:
                applied += self._drain_locked(persona_id, lock)
            except FencingError as exc:
                log.warning("drain of persona %s stopped: %s", persona_id, exc)
            finally:
                lock.release()
            if not self.has_pending(persona_id):
                return applied

    def has_pending(self, persona_id: str) -> bool:
        with unit_of_work() as session:
            return (
                session.scalar(
                    select(Operation.id)
                    .where(Operation.persona_id == persona_id, Operation.status.in_(PENDING_STATUSES))
                    .limit(1)
                )
                is not None
            )

    def _drain_locked(self, persona_id: str, lock: PersonaLock) -> int:
        token: int | None = None  # the fencing token, read once under the lock (with the first claim)
        applied = 0
        while True:
            batch, revision = self._claim(persona_id, read_revision=token is None)
            if not batch:
                return applied
            if token is None:
                token = revision
            size = max(1, self.settings.apply_batch_size)
            for start in range(0, len(batch), size):
                group = batch[start : start + size]
                lock.keep_alive()
                token = self._apply_group(group, token)
                for claimed in group:  # one line per operation, findable by its id
                    with logs.log_context(operation_id=claimed.operation_id):
                        log.info("operation settled")
                self._announce([claimed.operation_id for claimed in group])
                # Committed: its outbox events can go out now (coalesced; beat relays anyway).
                self.dispatcher.enqueue_relay()
                applied += len(group)
            if len(batch) < self.settings.drain_batch_size:
                # Nothing else was pending when this batch was claimed. Whatever was accepted since is
                # found by the check that follows the lock's release: no empty claim needed.
                return applied

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
                .where(Operation.persona_id == persona_id, Operation.status.in_(PENDING_STATUSES))
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
        head = Claimed(rows[0].id, rows[0].attempts + 1, rows[0].kind)
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
        """Apply the operations in order in one transaction; returns the persona's new revision.

        A run of one kind that has a batch handler (promotions) is applied in one go."""
        changed: Persona | None = None
        fresh = None
        operation_ids = [claimed.operation_id for claimed in group]
        kinds = {claimed.kind for claimed in group}
        batch = batch_handler_for(group[0].kind) if len(kinds) == 1 else None
        with unit_of_work() as session:
            if batch is not None:
                applied = apply_run_in_transaction(session, operation_ids, token, batch)
                token, changed = applied.revision, applied.persona
            else:
                if len(operation_ids) > 1:
                    lock_operations(session, operation_ids)
                for operation_id in operation_ids:
                    applied = apply_in_transaction(session, operation_id, token)
                    token = applied.revision
                    if applied.production_changed and applied.persona is not None:
                        changed = applied.persona
            if changed is not None:
                session.flush()
                fresh = load_production(session, changed)
                # Before commit, so no reader can cache the old production after it.
                self.production.invalidate(changed.id, token)
        if fresh is not None and changed is not None:
            revision, etag, body = fresh
            self.production.fill(changed.id, revision, etag, body)
        return token

    def _announce(self, operation_ids: list[str]) -> None:
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                for operation_id in operation_ids:
                    pipe.publish(operations_done_channel(), operation_id)
                pipe.execute()
        except redis.RedisError:
            log.warning("could not announce operations %s; waiters fall back to polling", operation_ids)
