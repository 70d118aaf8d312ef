"""Fencing refuses a stale worker's write; the sweeper recovers a message the broker lost."""

from __future__ import annotations

import time

import httpx
import pytest
import sqlalchemy as sa

from greenlight import kinds
from greenlight.db import unit_of_work
from greenlight.dispatch import NullDispatcher
from greenlight.errors import FencingError
from greenlight.locking import PersonaLock
from greenlight.models import Operation, Persona, PersonaVersion
from greenlight.operations.engine import Claimed, Engine
from greenlight.operations.submit import Submission, submit
from greenlight.redis_client import get_redis
from greenlight.settings import get_settings
from tests.support.actors import Acting, own
from tests.support.http import create_persona, wait_operation
from tests.support.workloads import abandon_drain
from workers.dispatch import CeleryDispatcher


def _user_id(client: httpx.Client, auth: dict[str, str], persona_id: str) -> Acting:
    """Its creator, acting in their own workspace."""
    return own(str(client.get(f"/v1/personas/{persona_id}", headers=auth).json()["data"]["user_id"]))


def test_worker_with_expired_lock_cannot_commit(client: httpx.Client, auth: dict[str, str]) -> None:
    persona = create_persona(client, auth)
    user_id = _user_id(client, auth, persona["id"])
    engine = Engine(kinds.REGISTRY)

    # Worker A takes the lock with a short lease and reads its fencing token...
    stale = PersonaLock(get_redis(), persona["id"], ttl_seconds=0.2)
    assert stale.try_acquire()
    token = engine.read_revision(persona["id"])
    time.sleep(0.3)  # ...then pauses past its lease.

    # Meanwhile the persona moves on under another worker.
    moved = submit(user_id, Submission(kinds.PERSONA_PROMOTE.name, {}, persona["id"]), NullDispatcher())
    engine.drain(persona["id"])
    assert wait_operation(client, auth, moved.id)["status"] == "succeeded"

    # A wakes up and tries to apply the next operation with its stale token: refused.
    pending = submit(
        user_id, Submission(kinds.PERSONA_PROMOTE.name, {"notes": "late"}, persona["id"]), NullDispatcher()
    )
    with pytest.raises(FencingError):
        engine.apply_one(Claimed(pending.id, 1), token)
    stale.release()  # releasing an expired lock is handled, not crashed on

    with unit_of_work() as session:
        assert session.get(Operation, pending.id).status in ("queued", "running")  # type: ignore[union-attr]
    engine.drain(persona["id"])
    with unit_of_work() as session:
        assert session.get(Operation, pending.id).status == "succeeded"  # type: ignore[union-attr]
        published = session.scalar(
            sa.select(sa.func.count()).where(
                PersonaVersion.persona_id == persona["id"], PersonaVersion.status == "published"
            )
        )
        revision = session.scalar(sa.select(Persona.revision).where(Persona.id == persona["id"]))
    assert published == 1
    assert revision == 3  # create, promote, promote: each applied once


def test_lost_message_is_recovered_by_the_sweeper(client: httpx.Client, auth: dict[str, str]) -> None:
    persona = create_persona(client, auth)
    user_id = _user_id(client, auth, persona["id"])
    # Recorded durably but never sent to the broker, as if Redis lost the message.
    op = submit(user_id, Submission(kinds.PERSONA_PROMOTE.name, {}, persona["id"]), NullDispatcher())
    time.sleep(0.5)
    with unit_of_work() as session:
        assert session.get(Operation, op.id).status == "queued"  # type: ignore[union-attr]
    finished = wait_operation(client, auth, op.id)
    assert finished["status"] == "succeeded"
    assert finished["result"]["persona"]["current_production_version"]["version_number"] == 2


def test_a_change_the_database_refuses_fails_at_once_and_unblocks_the_queue(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    persona = create_persona(client, auth)
    user_id = _user_id(client, auth, persona["id"])
    # A payload the API would refuse (a persona name cannot be null), slipped in behind its back.
    bad = submit(
        user_id,
        Submission(kinds.DRAFT_UPDATE.name, {"changes": {"name": None}}, persona["id"]),
        CeleryDispatcher(),
    )
    after = submit(user_id, Submission(kinds.PERSONA_PROMOTE.name, {}, persona["id"]), CeleryDispatcher())
    failed = wait_operation(client, auth, bad.id)
    assert failed["status"] == "failed" and failed["attempts"] == 1
    assert failed["error"]["error"] == "REJECTED_BY_DATABASE"
    assert wait_operation(client, auth, after.id)["status"] == "succeeded"


def test_a_refusal_inside_a_group_fails_alone(client: httpx.Client, auth: dict[str, str]) -> None:
    """Operations are applied in groups per transaction; one refused in the middle rolls the group
    back and replays it one by one: the others still apply, in order, exactly once."""
    persona = create_persona(client, auth)
    user_id = _user_id(client, auth, persona["id"])
    pid = persona["id"]
    submissions = [
        Submission(kinds.DRAFT_UPDATE.name, {"changes": {"personality_prompt": "one"}}, pid),
        Submission(kinds.PERSONA_PROMOTE.name, {"notes": "first"}, pid),
        Submission(kinds.VERSION_PUBLISH.name, {"version": 99}, pid),  # no such version: refused
        Submission(kinds.DRAFT_UPDATE.name, {"changes": {"personality_prompt": "two"}}, pid),
        Submission(kinds.PERSONA_PROMOTE.name, {"notes": "second"}, pid),
    ]
    ops = [submit(user_id, sub, NullDispatcher()) for sub in submissions]
    Engine(kinds.REGISTRY).drain(pid)  # in this process, so the whole group is one drain
    statuses = [wait_operation(client, auth, op.id) for op in ops]
    assert [s["status"] for s in statuses] == ["succeeded", "succeeded", "failed", "succeeded", "succeeded"]
    assert statuses[2]["error"]["error"] == "NOT_FOUND"
    production = client.get(f"/v1/personas/{pid}/production", headers=auth).json()["data"]["version"]
    assert (production["version_number"], production["personality_prompt"]) == (3, "two")
    with unit_of_work() as session:
        revision = session.scalar(sa.select(Persona.revision).where(Persona.id == pid))
    assert revision == 1 + len(ops)


def test_only_a_drain_that_died_costs_the_head_an_attempt(client: httpx.Client, auth: dict[str, str]) -> None:
    """A healthy drain reads and applies in one transaction; after one that died (its lock's mark is
    left), the head's attempt is counted and committed first, so a poison operation is given up."""
    persona = create_persona(client, auth)
    user_id = _user_id(client, auth, persona["id"])
    limit = get_settings().max_attempts

    def promotion_tried(times: int) -> str:
        op = submit(user_id, Submission(kinds.PERSONA_PROMOTE.name, {}, persona["id"]), NullDispatcher())
        with unit_of_work() as session:
            session.execute(sa.update(Operation).where(Operation.id == op.id).values(attempts=times))
        return op.id

    poison = promotion_tried(limit)  # `limit` drains died on it...
    abandon_drain(persona["id"])  # ...and so did the last one
    Engine(kinds.REGISTRY).drain(persona["id"])
    given_up = wait_operation(client, auth, poison)
    assert (given_up["status"], given_up["error"]["error"]) == ("failed", "TOO_MANY_ATTEMPTS")
    assert given_up["attempts"] == limit + 1

    survivor = promotion_tried(limit)  # the same count, but no drain died since
    Engine(kinds.REGISTRY).drain(persona["id"])
    applied = wait_operation(client, auth, survivor)
    assert (applied["status"], applied["attempts"]) == ("succeeded", limit)

    fresh = promotion_tried(0)
    abandon_drain(persona["id"])
    Engine(kinds.REGISTRY).drain(persona["id"])
    counted = wait_operation(client, auth, fresh)
    assert (counted["status"], counted["attempts"]) == ("succeeded", 1)
