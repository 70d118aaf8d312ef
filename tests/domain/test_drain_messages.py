"""A drain message names several personas (one per group commit): each is drained in turn, and a busy
one gets a share, then a message of its own, so it never holds up the personas behind it."""

from __future__ import annotations

import sqlalchemy as sa

from greenlight import kinds
from greenlight.db import unit_of_work
from greenlight.dispatch import NullDispatcher
from greenlight.models import Operation
from greenlight.operations.submit import Submission, submit
from greenlight.settings import get_settings
from tests.support.processes import Process
from tests.support.workloads import make_persona, make_user, wait_all_done
from workers.catalogue import DRAIN_PERSONAS
from workers.dispatch import CeleryDispatcher
from workers.tasks import SHARE_GROUPS


def _finished(persona_id: str) -> list[float]:
    with unit_of_work() as session:
        rows = session.scalars(
            sa.select(Operation.finished_at).where(Operation.persona_id == persona_id).order_by(Operation.seq)
        ).all()
    return [row.timestamp() for row in rows[1:] if row is not None]  # the first created the persona


def test_a_busy_persona_does_not_hold_up_the_next_in_its_message(worker: Process) -> None:
    user = make_user()
    busy, quiet = make_persona(user), make_persona(user)
    share = SHARE_GROUPS * get_settings().apply_batch_size
    # Recorded without messages, then one message names both, the busy one first.
    ids = [
        submit(user, Submission(kinds.PERSONA_PROMOTE.name, {}, busy), NullDispatcher()).id
        for _ in range(share + 30)
    ]
    ids.append(submit(user, Submission(kinds.PERSONA_PROMOTE.name, {}, quiet), NullDispatcher()).id)
    CeleryDispatcher().app.send_task(
        DRAIN_PERSONAS.name, args=[busy, quiet], queue=DRAIN_PERSONAS.queue.value
    )
    wait_all_done(ids, timeout=60)

    busy_done, (quiet_done,) = _finished(busy), _finished(quiet)
    assert len(busy_done) == share + 30
    # The quiet persona was drained after the busy one's share, before the rest of it.
    assert busy_done[share - 1] <= quiet_done <= busy_done[share]
