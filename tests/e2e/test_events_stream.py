"""GET /v1/events: Server-Sent Events through the real API, relay and workers."""

from __future__ import annotations

import queue
import threading
import time

import httpx
import pytest
import sqlalchemy as sa

from greenlight.db import unit_of_work
from greenlight.models import Operation, OutboxEvent
from greenlight.notifications.service import Notifier
from tests.support.http import create_persona, new_key
from tests.support.notify import Event, SSEClient
from tests.support.processes import Process, wait_until
from tests.support.webhooks import edit, promote


@pytest.fixture(autouse=True)
def _notifications(notifications_worker: Process) -> None:
    return None


def _until(stream: SSEClient, predicate: object, timeout: float = 15) -> list[Event]:
    """Events read until one satisfies the predicate (included)."""
    assert callable(predicate)
    seen: list[Event] = []
    deadline = time.monotonic() + timeout
    while True:
        event = stream.next(timeout=max(0.1, deadline - time.monotonic()))
        seen.append(event)
        if predicate(event):
            return seen


def test_a_connected_client_learns_of_a_promotion_within_a_second(
    api_url: str, client: httpx.Client, auth: dict[str, str]
) -> None:
    persona = create_persona(client, auth)
    stream = SSEClient(api_url, auth, {"persona_id": persona["id"], "type": "version.promoted"})
    try:
        assert stream.status == 200
        promoted = promote(client, auth, persona["id"])
        committed = time.time()  # the promote answers once its transaction has committed
        event = stream.next(timeout=5)
        latency = event.received_at - committed
        assert latency < 1.0, latency
        assert event.type == "version.promoted" and int(event.id) > 0
        assert event.data["type"] == "version.promoted" and event.data["persona_id"] == persona["id"]
        assert event.data["persona_seq"] == 2 and event.data["user_id"] == persona["user_id"]
        assert event.data["data"]["version_id"] == promoted["current_production_version_id"]
        assert set(event.data) == {"id", "type", "created_at", "user_id", "persona_id", "persona_seq", "data"}
        edit(client, auth, persona["id"], "filtered out")  # draft.updated: not this stream's type
        promote(client, auth, persona["id"])  # version.promoted, then version.archived (filtered out)
        again = stream.next(timeout=5)
        assert (again.type, again.data["persona_seq"]) == ("version.promoted", 4)
        assert int(again.id) > int(event.id)
        with pytest.raises(queue.Empty):
            stream.next(timeout=1.0)
    finally:
        stream.close()


def test_reconnecting_with_last_event_id_misses_nothing(
    api_url: str, client: httpx.Client, auth: dict[str, str]
) -> None:
    stream = SSEClient(api_url, auth)
    persona = create_persona(client, auth)
    edit(client, auth, persona["id"], "one")
    try:
        first = _until(stream, lambda e: e.data["persona_seq"] == 2)
    finally:
        stream.close()
    # Disconnected: more changes happen.
    edit(client, auth, persona["id"], "two")
    promote(client, auth, persona["id"])
    promote(client, auth, persona["id"])
    last = first[-1].id
    resumed = SSEClient(api_url, {**auth, "Last-Event-ID": last})
    try:
        rest = _until(resumed, lambda e: e.data["persona_seq"] == 6)
    finally:
        resumed.close()
    events = [e for e in first + rest if e.data["persona_id"] == persona["id"]]
    assert [e.data["persona_seq"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert [e.type for e in events] == [
        "persona.created",
        "draft.updated",
        "draft.updated",
        "version.promoted",
        "version.promoted",
        "version.archived",
    ]
    ids = [int(e.id) for e in first + rest]
    assert ids == sorted(set(ids))  # increasing, no duplicates across the reconnect

    replay = SSEClient(api_url, auth, {"last_event_id": "0", "persona_id": persona["id"]})
    try:  # the query parameter works like the header, for clients that cannot set headers
        assert [e.data["persona_seq"] for e in _until(replay, lambda e: e.data["persona_seq"] == 6)] == [
            1,
            2,
            3,
            4,
            5,
            6,
        ]
    finally:
        replay.close()


def test_a_stream_carries_only_the_callers_events(
    api_url: str, client: httpx.Client, auth: dict[str, str]
) -> None:
    other = {"authorization": new_key()}
    theirs = create_persona(client, auth)
    stream = SSEClient(api_url, other)
    try:
        promote(client, auth, theirs["id"])  # someone else's promotion, relayed first...
        mine = create_persona(client, other)
        promote(client, other, mine["id"])
        seen = _until(stream, lambda e: e.type == "version.promoted")
        assert {e.data["persona_id"] for e in seen} == {mine["id"]}  # ...never shown
    finally:
        stream.close()
    foreign = client.get("/v1/events", params={"persona_id": theirs["id"]}, headers=other)
    assert foreign.status_code == 404 and foreign.json()["errors"][0]["error"] == "NOT_FOUND"
    bad = client.get("/v1/events", headers={**other, "Last-Event-ID": "abc"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["error"] == "INVALID_LAST_EVENT_ID"
    assert client.get("/v1/events").status_code == 401


def test_stream_positions_are_gapless_and_follow_each_personas_order(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    """Four in-process relays race the notification worker's: positions stay unique, gapless and,
    per persona, in sequence order (what makes Last-Event-ID resumption exact)."""
    personas = [create_persona(client, auth) for _ in range(3)]
    stop = threading.Event()
    errors: list[BaseException] = []

    def relay_loop() -> None:
        notifier = Notifier()
        while not stop.is_set():
            try:
                notifier.relay()
            except BaseException as exc:
                errors.append(exc)
                return

    relays = [threading.Thread(target=relay_loop) for _ in range(4)]
    for thread in relays:
        thread.start()
    try:
        async_auth = {**auth, "Prefer": "respond-async"}
        for i in range(30):
            persona_id = personas[i % 3]["id"]
            if i % 4 == 3:
                response = client.post(f"/v1/personas/{persona_id}/versions/promote", headers=async_auth)
            else:
                response = client.patch(
                    f"/v1/personas/{persona_id}/draft",
                    json={"personality_prompt": f"{i}"},
                    headers=async_auth,
                )
            assert response.status_code == 202, response.text

        def settled() -> bool:
            with unit_of_work() as session:
                busy = session.scalar(
                    sa.select(sa.func.count()).where(
                        Operation.persona_id.in_([p["id"] for p in personas]),
                        Operation.status.in_(("queued", "running")),
                    )
                )
                unrelayed = session.scalar(sa.select(sa.func.count()).where(OutboxEvent.relayed_at.is_(None)))
            return busy == 0 and unrelayed == 0

        wait_until(settled, timeout=60, interval=0.1)
    finally:
        stop.set()
        for thread in relays:
            thread.join(30)
    assert errors == []
    with unit_of_work() as session:
        rows = session.execute(
            sa.select(OutboxEvent.global_seq, OutboxEvent.persona_id, OutboxEvent.persona_seq).order_by(
                OutboxEvent.global_seq
            )
        ).all()
    assert [row.global_seq for row in rows] == list(range(1, len(rows) + 1))
    by_persona: dict[str, list[int]] = {}
    for row in rows:
        by_persona.setdefault(row.persona_id, []).append(row.persona_seq)
    for seqs in by_persona.values():
        assert seqs == list(range(1, len(seqs) + 1))
    assert sum(len(by_persona[p["id"]]) for p in personas) >= 3 + 30
