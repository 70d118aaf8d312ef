"""A mixed random workload over many personas and four worker processes, with SIGKILLs injected,
checked afterwards by the invariant checker. GREENLIGHT_RELIABILITY_OPS sets its size (CI: 200)."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from cli.processes import NOTIFICATION_QUEUES
from greenlight.db import unit_of_work
from greenlight.models import OutboxEvent
from tests.support.http import new_key
from tests.support.invariants import check_persona
from tests.support.notify import Receiver, Request, receiver
from tests.support.processes import Process, start_beat, start_worker, wait_until
from tests.support.workloads import wait_all_done

OPS = int(os.environ.get("GREENLIGHT_RELIABILITY_OPS", "200"))
PERSONAS = 20
ENV = {"GREENLIGHT_LOCK_TTL_SECONDS": "2", "GREENLIGHT_SWEEP_AFTER_SECONDS": "2"}


class Workload:
    def __init__(self, http: httpx.Client, seed: int):
        self.http = http
        self.rng = random.Random(seed)
        self.accepted: list[str] = []  # operation ids answered 202
        self.proposals: list[str] = []  # operation ids of soft proposals
        self.personas: list[dict[str, Any]] = []

    def _accept(self, response: httpx.Response) -> None:
        if response.status_code == 202:
            body = response.json()
            self.accepted.append(body["data"]["id"] if "data" in body else body["id"])
        else:  # refused at the door (e.g. an unknown version): a clear 4xx, never a 5xx
            assert response.status_code < 500, response.text

    def create_personas(self) -> None:
        for i in range(PERSONAS):
            body = {"name": f"persona {i}", "examples": ["hello"]}
            # Waited for (the client asks every change not to wait): the new draft, not its operation.
            response = self.http.post("/persona/draft", json=body, headers={"Prefer": "wait=30"})
            assert response.status_code == 200, response.text
            form = response.json()["form_state"]
            self.personas.append({"id": form["persona_id"], "draft_id": form["draft_id"]})

    def step(self, i: int) -> None:
        persona = self.rng.choice(self.personas)
        pid, action = persona["id"], self.rng.random()
        if action < 0.3:
            self._accept(
                self.http.patch(f"/v1/personas/{pid}/draft", json={"personality_prompt": f"edit {i}"})
            )
        elif action < 0.45:
            response = self.http.post(
                "/persona/draft",
                json={"draft_id": persona["draft_id"], "soft": True, "examples": [f"idea {i}"]},
            )
            self._accept(response)
            if response.status_code == 202:
                self.proposals.append(response.json()["id"])
        elif action < 0.6:
            self._ack()
        elif action < 0.75:
            self._accept(self.http.post(f"/v1/personas/{pid}/versions/promote"))
        elif action < 0.9:
            n = self.rng.randint(1, 6)
            self._accept(self.http.post(f"/v1/personas/{pid}/versions/{n}/publish"))
        else:
            n = self.rng.randint(1, 6)
            self._accept(self.http.post(f"/v1/personas/{pid}/versions/{n}/unarchive"))

    def _ack(self) -> None:
        if not self.proposals:
            return
        op = self.http.get(f"/v1/operations/{self.rng.choice(self.proposals)}").json()["data"]
        if op["status"] != "succeeded":
            return
        entry = op["result"]["draft"]["idempotency_key"]
        response = self.http.post(
            "/persona/draft", json={"idempotency_key": entry, "accept": self.rng.random() < 0.7}
        )
        if response.status_code in (200, 409):  # already decided: answered at once, nothing queued
            return
        self._accept(response)


def flaky(request: Request, index: int) -> tuple[int, dict[str, str]]:
    """A receiver that fails one request in seven: deliveries must retry, in order, and lose nothing."""
    return (500 if index % 7 == 3 else 200), {}


def test_mixed_workload_with_sigkills(api_url: str, own_workers: list[Process], tmp_path: Path) -> None:
    headers = {"authorization": new_key(), "Prefer": "respond-async"}
    nodes = [start_worker(concurrency=2, env=ENV), start_worker(concurrency=2, env=ENV)]  # 4 processes
    notifier = start_worker(concurrency=2, queues=NOTIFICATION_QUEUES, env=ENV)
    own_workers.extend([*nodes, notifier, start_beat(tmp_path, env=ENV)])
    with receiver(flaky) as hook, httpx.Client(base_url=api_url, headers=headers, timeout=60) as http:
        assert http.post("/v1/webhooks", json={"url": hook.url}).status_code == 201
        workload = Workload(http, seed=20261123)
        workload.create_personas()
        for i in range(OPS):
            workload.step(i)
            if i in (OPS // 3, 2 * OPS // 3):
                victim = nodes.pop(0)
                victim.kill()
                replacement = start_worker(concurrency=2, env=ENV)
                nodes.append(replacement)
                own_workers.append(replacement)
            if i == OPS // 2:  # the notifications worker dies too, mid-delivery
                notifier.kill()
                notifier = start_worker(concurrency=2, queues=NOTIFICATION_QUEUES, env=ENV)
                own_workers.append(notifier)
        assert len(workload.accepted) > OPS // 2
        wait_all_done(workload.accepted, timeout=180)
        totals = {"operations": 0, "events": 0, "promotions": 0}
        for persona in workload.personas:
            for key, value in check_persona(persona["id"]).items():
                totals[key] += value
        assert totals["promotions"] > 0 and totals["operations"] >= len(workload.accepted)
        check_deliveries(hook, [persona["id"] for persona in workload.personas])


def _outbox(persona_ids: list[str]) -> dict[str, tuple[str, int]]:
    with unit_of_work() as session:
        rows = session.execute(
            sa.select(OutboxEvent.id, OutboxEvent.persona_id, OutboxEvent.persona_seq).where(
                OutboxEvent.persona_id.in_(persona_ids)
            )
        ).all()
    return {row.id: (row.persona_id, row.persona_seq) for row in rows}


def check_deliveries(hook: Receiver, persona_ids: list[str]) -> None:
    """Every event delivered to the endpoint, none lost; duplicates only as retries of one id
    (same body); per persona, first successful deliveries in sequence order."""
    events = _outbox(persona_ids)
    wait_until(lambda: {r.webhook_id for r in hook.answered(200)} >= set(events), timeout=120, interval=0.2)
    requests = hook.snapshot()
    assert {r.webhook_id for r in requests} == set(events)  # nothing unknown, nothing lost
    bodies: dict[str, bytes] = {}
    for request in requests:
        assert request.payload["id"] == request.webhook_id
        assert bodies.setdefault(request.webhook_id, request.body) == request.body  # a retry, not a new event
    delivered: dict[str, list[int]] = {}
    seen: set[str] = set()
    for request in hook.answered(200):
        if request.webhook_id not in seen:
            seen.add(request.webhook_id)
            persona_id, seq = events[request.webhook_id]
            delivered.setdefault(persona_id, []).append(seq)
    for persona_id, seqs in delivered.items():
        assert seqs == sorted(seqs), f"persona {persona_id} delivered out of order"
