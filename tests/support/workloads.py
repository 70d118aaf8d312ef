"""Building workloads for fault tests straight through the domain (no API in the way)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

import sqlalchemy as sa

from greenlight import kinds
from greenlight.db import unit_of_work
from greenlight.dispatch import Dispatcher
from greenlight.keys import create_key
from greenlight.locking import PersonaLock
from greenlight.models import Operation
from greenlight.operations.engine import submit_inline
from greenlight.operations.submit import Submission, submit
from greenlight.redis_client import get_redis
from tests.support.actors import Acting
from tests.support.processes import wait_until


def make_user() -> Acting:
    """A newcomer acting in their own workspace."""
    with unit_of_work() as session:
        key, _ = create_key(session, f"reliability-{uuid.uuid4().hex[:8]}")
        return Acting(workspace_id=key.workspace_id, user_id=key.user_id)


def make_persona(user: Acting) -> str:
    op = submit_inline(kinds.REGISTRY, user, Submission(kinds.PERSONA_CREATE.name, {"name": "Under fire"}))
    return op.persona_id


def abandon_drain(persona_id: str) -> None:
    """What a worker that died mid-drain leaves behind: the persona's lock, soon expired, and the
    mark that it never let go."""
    lock = PersonaLock(get_redis(), persona_id, ttl_seconds=0.05)
    assert lock.try_acquire()
    time.sleep(0.1)


def edits_and_promotions(user: Acting, persona_id: str, count: int, dispatcher: Dispatcher) -> list[str]:
    """Alternate two edits and one promotion, like a team iterating on a persona."""
    ids = []
    for i in range(count):
        if i % 3 == 2:
            submission = Submission(kinds.PERSONA_PROMOTE.name, {"notes": f"promote {i}"}, persona_id)
        else:
            submission = Submission(
                kinds.DRAFT_UPDATE.name, {"changes": {"personality_prompt": f"edit {i}"}}, persona_id
            )
        ids.append(submit(user, submission, dispatcher).id)
    return ids


def count_done(operation_ids: Iterable[str]) -> int:
    ids = list(operation_ids)
    with unit_of_work() as session:
        return int(
            session.scalar(
                sa.select(sa.func.count()).where(
                    Operation.id.in_(ids), Operation.status.in_(("succeeded", "failed"))
                )
            )
            or 0
        )


def wait_all_done(operation_ids: list[str], timeout: float = 90) -> None:
    unique = set(operation_ids)  # an identical ack answers with the operation already queued
    wait_until(lambda: count_done(unique) == len(unique), timeout=timeout, interval=0.2)
