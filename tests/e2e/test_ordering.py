"""Operations on one persona apply in acceptance order, whichever worker takes which message."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import httpx
import sqlalchemy as sa

from greenlight.db import unit_of_work
from greenlight.models import Operation, OutboxEvent, PersonaVersion, Promotion
from tests.support.http import create_persona
from tests.support.processes import wait_until


def test_fifty_interleaved_edits_and_promotions(
    api_url: str, client: httpx.Client, auth: dict[str, str]
) -> None:
    persona = create_persona(client, auth)
    base = f"{api_url}/v1/personas/{persona['id']}"
    async_auth = {**auth, "Prefer": "respond-async"}

    def send(i: int) -> None:
        with httpx.Client(timeout=60) as http:
            if i % 3 == 2:
                response = http.post(f"{base}/versions/promote", headers=async_auth)
            else:
                response = http.patch(
                    f"{base}/draft", json={"personality_prompt": f"edit {i}"}, headers=async_auth
                )
            assert response.status_code == 202, response.text

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(send, range(50)))

    def all_done() -> bool:
        with unit_of_work() as session:
            return not session.scalar(
                sa.select(sa.func.count()).where(
                    Operation.persona_id == persona["id"], Operation.status.in_(("queued", "running"))
                )
            )

    wait_until(all_done, timeout=60)
    with unit_of_work() as session:
        ops = session.scalars(
            sa.select(Operation).where(Operation.persona_id == persona["id"]).order_by(Operation.seq)
        ).all()
        events = session.scalars(
            sa.select(OutboxEvent)
            .where(OutboxEvent.persona_id == persona["id"])
            .order_by(OutboxEvent.persona_seq)
        ).all()
        versions = session.scalars(
            sa.select(PersonaVersion)
            .where(PersonaVersion.persona_id == persona["id"])
            .order_by(PersonaVersion.version_number)
        ).all()
        history = session.scalars(
            sa.select(Promotion)
            .where(Promotion.persona_id == persona["id"])
            .order_by(Promotion.version_number)
        ).all()

    assert [op.seq for op in ops] == list(range(1, 52))
    assert all(op.status == "succeeded" for op in ops)
    # Application order (the per-persona event sequence) equals acceptance order (seq).
    seq_of = {op.id: op.seq for op in ops}
    applied = [seq_of[e.operation_id] for e in events if e.type in ("draft.updated", "version.promoted")]
    assert applied == sorted(applied) and len(applied) == 50

    # Each promotion published exactly the draft as the edits accepted before it left it.
    last_edit = "You are a helpful assistant"
    expected_published = []
    for op in ops[1:]:
        if op.kind == "draft.update":
            last_edit = op.payload["changes"]["personality_prompt"]
        else:
            expected_published.append(last_edit)
    published = [v.personality_prompt for v in versions if v.status != "draft"]
    assert published == expected_published

    # Version numbers gapless; one production; history a single chain.
    assert [v.version_number for v in versions] == list(range(1, len(versions) + 1))
    assert [v.status for v in versions].count("published") == 1
    assert history[0].previous_version_id is None
    for before, after in itertools.pairwise(history):
        assert after.previous_version_id == before.version_id
