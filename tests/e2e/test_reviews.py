"""Review policies and promotion requests, through real HTTP and real workers.

A team: an admin who sets the policy, an editor who requests promotions, two reviewers and a
publisher, each a member of one workspace with a key of their own.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from greenlight.access import Role
from tests.support.concurrency import assert_identical, burst
from tests.support.http import create_persona, member_key, new_key, wait_operation
from tests.support.processes import Process, start_api, wait_until
from tests.support.tenants import error_of


@dataclass(frozen=True)
class Team:
    admin: dict[str, str]
    editor: dict[str, str]
    reviewer: dict[str, str]
    second_reviewer: dict[str, str]
    publisher: dict[str, str]


@pytest.fixture(scope="module")
def http(api_url: str, module_worker: Process) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=60) as client:
        yield client


@pytest.fixture
def team(http: httpx.Client) -> Team:
    admin = new_key()

    def key(role: Role) -> dict[str, str]:
        return {"authorization": member_key(http, admin, role)}

    return Team(
        admin={"authorization": admin},
        editor=key(Role.EDITOR),
        reviewer=key(Role.REVIEWER),
        second_reviewer=key(Role.REVIEWER),
        publisher=key(Role.PUBLISHER),
    )


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["data"]


def _reviewed_persona(http: httpx.Client, team: Team, approvals: int, self_approval: bool = False) -> str:
    """A persona with production v1 and a draft edited since, whose promotions need ``approvals``."""
    persona = create_persona(http, team.admin)
    pid = persona["id"]
    _ok(http.post(f"/v1/personas/{pid}/versions/promote", headers=team.admin))
    edited = http.patch(f"/v1/personas/{pid}/draft", json={"personality_prompt": "v2"}, headers=team.admin)
    assert wait_operation(http, team.admin, edited.json()["data"]["id"])["status"] == "succeeded"
    policy = {"required_approvals": approvals, "allow_self_approval": self_approval}
    assert _ok(http.put(f"/v1/personas/{pid}/review-policy", json=policy, headers=team.admin)) == {
        "persona_id": pid,
        **policy,
    }
    return str(pid)


def _production(http: httpx.Client, auth: dict[str, str], pid: str) -> int | None:
    production = _ok(http.get(f"/v1/personas/{pid}", headers=auth))["current_production_version"]
    return int(production["version_number"]) if production else None


def _request_promotion(http: httpx.Client, auth: dict[str, str], pid: str) -> dict[str, Any]:
    """Promote (waiting, as Bland's promote does): the answer is the 202 awaiting approval."""
    op = _ok(http.post(f"/v1/personas/{pid}/versions/promote", headers=auth), 202)
    assert op["status"] == "awaiting_approval" and op["promotion_request_id"], op
    return dict(op)


def _approve(http: httpx.Client, auth: dict[str, str], request_id: str, **body: Any) -> httpx.Response:
    return http.post(f"/v1/promotion-requests/{request_id}/approve", json=body, headers=auth)


def test_a_promotion_waits_for_its_approvals_then_applies_once(http: httpx.Client, team: Team) -> None:
    pid = _reviewed_persona(http, team, approvals=2)
    before = _production(http, team.admin, pid)
    op = _request_promotion(http, team.editor, pid)
    request_id = op["promotion_request_id"]
    assert _production(http, team.admin, pid) == before  # nothing applied yet

    first = _ok(_approve(http, team.reviewer, request_id, comment="looks right"))
    assert (first["status"], first["approvals"], first["required_approvals"]) == ("open", 1, 2)
    assert _production(http, team.admin, pid) == before

    second = _ok(_approve(http, team.second_reviewer, request_id))
    assert (second["status"], second["approvals"]) == ("approved", 2)
    assert [vote["comment"] for vote in second["votes"]] == ["looks right", None]
    promoted = _ok(http.get(f"/v1/operations/{op['id']}", headers=team.editor))
    assert promoted["status"] == "succeeded", promoted
    # Bland's promote: the draft it pinned (v1) becomes a new production version, after v2.
    assert before == 2 and second["version"] == 1 and _production(http, team.admin, pid) == 3
    [row] = _ok(http.get(f"/v1/personas/{pid}/promotions", params={"limit": 1}, headers=team.admin))["items"]
    assert row["promotion_request_id"] == request_id and row["version"] == 3
    assert [a["comment"] for a in row["approvals"]] == ["looks right", None]
    assert row["requested_by"] != row["applied_by"]  # the editor asked; the second reviewer applied it

    listed = _ok(http.get("/v1/promotion-requests", params={"persona_id": pid}, headers=team.reviewer))
    assert [item["id"] for item in listed["items"]] == [request_id]
    assert listed["items"][0]["status"] == "approved"


def test_the_requester_may_not_approve_their_own_unless_the_policy_allows(
    http: httpx.Client, team: Team
) -> None:
    pid = _reviewed_persona(http, team, approvals=1)
    request_id = _request_promotion(http, team.publisher, pid)["promotion_request_id"]
    refused = _approve(http, team.publisher, request_id)
    assert refused.status_code == 403 and error_of(refused)["error"] == "SELF_APPROVAL_NOT_ALLOWED"
    assert _ok(http.get(f"/v1/promotion-requests/{request_id}", headers=team.admin))["votes"] == []

    allowed = _reviewed_persona(http, team, approvals=1, self_approval=True)
    own = _request_promotion(http, team.publisher, allowed)["promotion_request_id"]
    assert _ok(_approve(http, team.publisher, own))["status"] == "approved"


def test_an_edit_after_the_request_voids_it(http: httpx.Client, team: Team) -> None:
    pid = _reviewed_persona(http, team, approvals=1)
    op = _request_promotion(http, team.editor, pid)
    edited = http.patch(
        f"/v1/personas/{pid}/draft", json={"personality_prompt": "changed"}, headers=team.editor
    )
    assert wait_operation(http, team.editor, edited.json()["data"]["id"])["status"] == "succeeded"

    request = _ok(http.get(f"/v1/promotion-requests/{op['promotion_request_id']}", headers=team.reviewer))
    assert request["status"] == "stale"
    failed = _ok(http.get(f"/v1/operations/{op['id']}", headers=team.editor))
    assert failed["status"] == "failed" and failed["error"]["error"] == "STALE_REQUEST"
    late = _approve(http, team.reviewer, op["promotion_request_id"])
    assert late.status_code == 409 and error_of(late)["error"] == "STALE_REQUEST"


def test_a_rejection_and_a_withdrawal_end_the_promotion(http: httpx.Client, team: Team) -> None:
    pid = _reviewed_persona(http, team, approvals=1)
    before = _production(http, team.admin, pid)
    rejected_op = _request_promotion(http, team.editor, pid)
    reject_url = f"/v1/promotion-requests/{rejected_op['promotion_request_id']}/reject"
    rejected = _ok(http.post(reject_url, json={"reason": "tone is off"}, headers=team.reviewer))
    assert (rejected["status"], rejected["reason"]) == ("rejected", "tone is off")
    assert _ok(http.get(f"/v1/operations/{rejected_op['id']}", headers=team.editor))["error"]["error"] == (
        "PROMOTION_REJECTED"
    )

    withdrawn_op = _request_promotion(http, team.editor, pid)
    withdraw_url = f"/v1/promotion-requests/{withdrawn_op['promotion_request_id']}/withdraw"
    not_theirs = http.post(withdraw_url, headers=team.publisher)
    assert not_theirs.status_code == 403
    assert _ok(http.post(withdraw_url, headers=team.editor))["status"] == "withdrawn"
    assert _production(http, team.admin, pid) == before


def test_an_editor_requests_only_where_the_persona_reviews_promotions(http: httpx.Client, team: Team) -> None:
    unreviewed = create_persona(http, team.admin)["id"]
    refused = http.post(f"/v1/personas/{unreviewed}/versions/promote", headers=team.editor)
    assert refused.status_code == 403 and error_of(refused)["details"]["permission"] == "publish"

    pid = _reviewed_persona(http, team, approvals=1)
    op = _request_promotion(http, team.editor, pid)
    # The policy is lifted before anyone approves: the editor's promotion still waits for a reviewer.
    lifted = {"required_approvals": 0, "allow_self_approval": False}
    _ok(http.put(f"/v1/personas/{pid}/review-policy", json=lifted, headers=team.admin))
    assert _ok(http.get(f"/v1/operations/{op['id']}", headers=team.editor))["status"] == "awaiting_approval"
    assert _ok(_approve(http, team.reviewer, op["promotion_request_id"]))["status"] == "approved"
    assert _ok(http.get(f"/v1/operations/{op['id']}", headers=team.editor))["status"] == "succeeded"


def test_every_path_to_production_waits(http: httpx.Client, team: Team) -> None:
    pid = _reviewed_persona(http, team, approvals=1)
    versions = _ok(http.get(f"/v1/personas/{pid}/versions", headers=team.admin))
    draft = next(v["version_number"] for v in versions if v["status"] == "draft")
    published = _ok(http.post(f"/v1/personas/{pid}/versions/{draft}/publish", headers=team.publisher), 202)
    assert published["status"] == "awaiting_approval"
    # Retell's publish answers in its own shape: the operation, awaiting approval.
    retell = http.post(f"/publish-agent-version/{pid}", json={"version": draft}, headers=team.publisher)
    assert retell.status_code == 202 and retell.json()["status"] == "awaiting_approval", retell.text
    # A scheduled promotion, when due, waits too.
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    scheduled = http.post(
        f"/v1/personas/{pid}/versions/promote", json={"scheduled_at": soon}, headers=team.publisher
    )
    assert scheduled.status_code == 202, scheduled.text

    def three_requests() -> bool:
        page = _ok(
            http.get(
                "/v1/promotion-requests", params={"persona_id": pid, "status": "open"}, headers=team.admin
            )
        )
        return len(page["items"]) == 3

    wait_until(three_requests, timeout=30, interval=0.2)
    assert _production(http, team.admin, pid) == 2  # what was in production before


@pytest.fixture(scope="module")
def two_process_api(services: dict[str, str], module_worker: Process) -> Iterator[str]:
    """The production set-up: gunicorn with two API processes."""
    api, base = start_api(name="api-reviews", gunicorn_workers=2)
    yield base
    api.stop()


def test_concurrent_approvals_are_one_effect(http: httpx.Client, two_process_api: str, team: Team) -> None:
    pid = _reviewed_persona(http, team, approvals=2)
    request_id = _request_promotion(http, team.editor, pid)["promotion_request_id"]
    url = f"/v1/promotion-requests/{request_id}/approve"
    # One reviewer's approval sent a dozen times at once with one key, across two API processes.
    headers = {**team.reviewer, "Idempotency-Key": f"approve-{uuid.uuid4().hex}"}
    answers = burst(two_process_api, "POST", url, headers, json={}, warm_path="/v1/promotion-requests")
    first = assert_identical(answers, 200)
    assert first.body["data"]["approvals"] == 1
    # The second reviewer and the publisher race for the last approval: one promotion, once.
    versions_before = len(_ok(http.get(f"/v1/personas/{pid}/versions", headers=team.admin)))
    barrier = threading.Barrier(2)

    def approve(auth: dict[str, str]) -> int:
        with httpx.Client(base_url=two_process_api, timeout=60) as client:
            barrier.wait()
            return _approve(client, auth, request_id).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(pool.map(approve, [team.second_reviewer, team.publisher]))
    assert statuses == [200, 409], statuses  # the later one finds the request approved already
    request = _ok(http.get(f"/v1/promotion-requests/{request_id}", headers=team.admin))
    assert request["status"] == "approved" and request["approvals"] == 2
    assert len(_ok(http.get(f"/v1/personas/{pid}/versions", headers=team.admin))) == versions_before + 1
