"""Endpoints whose work grows with what a tenant stored answer within a CPU budget, whatever the
input: comparisons of versions and proposals (the API's diff, the console's compare and proposals
pages) are never quadratic; texts past the comparison's size budget are answered as too large to
compare, with their sizes; the largest accepted bodies cost a bounded amount to take in.

The CPU is the API process's own (user + system time from /proc), so a busy machine or a slow
client does not move the figure; the budgets are far above a healthy answer and far below what the
quadratic comparison took (seconds to minutes for these inputs).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest

from greenlight.db import unit_of_work
from greenlight.models import PersonaVersion
from greenlight.personas.line_diff import MAX_LINES
from tests.support.http import new_key
from tests.support.processes import Process, start_api

CPU_BUDGET_SECONDS = 1.5
TICKS = os.sysconf("SC_CLK_TCK")

# Repetitive lines: the worst case of the matcher the console used (difflib, autojunk off).
WITHIN_BUDGET = ("a\n" * (MAX_LINES - 10), "a\nb\n" * ((MAX_LINES - 10) // 2))
PAST_BUDGET = ("a\n" * 8_000, "a\nb\n" * 4_000)


@dataclass
class Api:
    process: Process
    http: httpx.Client

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def measured(self, call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
        before = self.cpu_seconds()
        response = call()
        return response, self.cpu_seconds() - before


@pytest.fixture(scope="module")
def api(services: dict[str, str], module_worker: Process) -> Iterator[Api]:
    """An API process of this module's own (uvicorn, one process), so its CPU is only these requests."""
    process, base = start_api(name="api-cpu-budget")
    with httpx.Client(base_url=base, timeout=120) as http:
        yield Api(process, http)
    process.stop()


@contextmanager
def _signed_in(api: Api, key: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=str(api.http.base_url), timeout=120) as console:
        form = console.get("/console/login")
        token = re.search(r'name="login_token" value="([^"]+)"', form.text)
        assert token, form.text
        signed_in = console.post("/console/login", data={"api_key": key, "login_token": token.group(1)})
        assert signed_in.status_code == 303, signed_in.text
        yield console


def _persona(api: Api, auth: dict[str, str], production: str, draft: str) -> str:
    wait = {**auth, "Prefer": "wait=30"}
    created = api.http.post(
        "/v1/personas", json={"name": "Big", "personality_prompt": production}, headers=auth
    )
    assert created.status_code == 201, created.text
    persona_id = str(created.json()["data"]["id"])
    assert api.http.post(f"/v1/personas/{persona_id}/versions/promote", headers=wait).status_code == 200
    edited = api.http.patch(
        f"/v1/personas/{persona_id}/draft", json={"personality_prompt": draft}, headers=wait
    )
    assert edited.status_code == 200, edited.text
    return persona_id


@pytest.mark.parametrize("texts", [WITHIN_BUDGET, PAST_BUDGET], ids=["within-size-budget", "too-large"])
def test_version_comparisons_stay_within_the_cpu_budget(api: Api, texts: tuple[str, str]) -> None:
    key = new_key()
    auth = {"authorization": key}
    persona_id = _persona(api, auth, *texts)
    too_large = texts is PAST_BUDGET
    diff, cpu = api.measured(
        lambda: api.http.get(f"/v1/personas/{persona_id}/versions/2/diff/1", headers=auth)
    )
    assert diff.status_code == 200, diff.text
    assert cpu < CPU_BUDGET_SECONDS, cpu
    [change] = [c for c in diff.json()["data"]["changes"] if c["field"] == "personality_prompt"]
    if too_large:
        assert change["lines"] is None
        assert change["too_large"]["from_lines"] == 8_000 and change["too_large"]["to_lines"] == 8_000
        assert "Too large to compare: 8,000 and 8,000 lines" in change["too_large"]["message"]
    else:
        assert change["too_large"] is None
        kept = [line["text"] for line in change["lines"] if line["op"] != "insert"]
        added = [line["text"] for line in change["lines"] if line["op"] != "delete"]
        assert kept == texts[0].splitlines() and added == texts[1].splitlines()

    with _signed_in(api, key) as console:
        page, cpu = api.measured(lambda: console.get(f"/console/personas/{persona_id}/compare?a=2&b=1"))
        assert page.status_code == 200
        assert cpu < CPU_BUDGET_SECONDS, cpu
        assert ("Too large to compare: 8,000 and 8,000 lines" in page.text) is too_large


def test_proposal_comparisons_stay_within_the_cpu_budget(api: Api) -> None:
    key = new_key()
    auth = {"authorization": key, "Prefer": "wait=30"}
    current, proposed = WITHIN_BUDGET
    created = api.http.post("/persona/draft", json={"name": "Big", "instructions": current}, headers=auth)
    assert created.status_code == 200, created.text
    draft_id = created.json()["draft_id"]
    with unit_of_work() as session:
        draft = session.get(PersonaVersion, draft_id)
        assert draft is not None
        persona_id = draft.persona_id
    for text in (proposed, PAST_BUDGET[1]):
        staged = api.http.post(
            "/persona/draft",
            json={"draft_id": draft_id, "soft": True, "instructions": text},
            headers={**auth, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert staged.status_code == 200, staged.text
    with _signed_in(api, key) as console:
        page, cpu = api.measured(lambda: console.get(f"/console/personas/{persona_id}/proposals"))
        assert page.status_code == 200
        assert cpu < CPU_BUDGET_SECONDS, cpu
        assert page.text.count('class="mark-add"') >= 2  # both proposals shown with what they add
