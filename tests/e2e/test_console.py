"""The web console (/console) in a real browser, against the session's real API process and workers.

One headless Chromium for the module, one browser context (its own cookies) per console. Every
test fails if the browser logged an error. Screenshots of each main page, at laptop and phone
sizes, go to tests/artifacts/screenshots/.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import redis
import sqlalchemy as sa
from playwright.sync_api import Browser, expect

from greenlight.access import PERMISSIONS, Permission, Role
from greenlight.db import unit_of_work
from greenlight.keys import authenticate
from greenlight.models import Promotion
from greenlight.settings import get_settings
from tests.support.console import Console, launch_browser
from tests.support.http import create_persona, member_key, new_key, ok, patch, wait_operation
from tests.support.processes import Process, start_worker
from tests.support.webhooks import edit, promote


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch_browser()


@pytest.fixture
def open_console(browser: Browser, api_url: str) -> Iterator[Callable[[], Console]]:
    """Consoles for the test (each its own browser context); all closed, and free of errors, after."""
    opened: list[Console] = []

    def make() -> Console:
        console = Console.open(browser, api_url)
        opened.append(console)
        return console

    yield make
    errors = [error for console in opened for error in console.errors]
    for console in opened:
        console.close()
    assert errors == [], errors


@pytest.fixture
def console(open_console: Callable[[], Console]) -> Console:
    return open_console()


def _auth(key: str) -> dict[str, str]:
    return {"authorization": key}


def _publish(client: httpx.Client, auth: dict[str, str], persona_id: str, number: int, notes: str) -> None:
    response = client.post(
        f"/v1/personas/{persona_id}/versions/{number}/publish", json={"notes": notes}, headers=auth
    )
    assert response.status_code == 200, response.text


def _history(client: httpx.Client, auth: dict[str, str], persona_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get(f"/v1/personas/{persona_id}/promotions", headers=auth).json()[
        "data"
    ]["items"]
    return items


def test_sign_in_search_and_sign_out(console: Console, client: httpx.Client) -> None:
    user = f"console-{datetime.now(UTC).strftime('%H%M%S%f')}"
    key = new_key(user)
    auth = _auth(key)
    mine = [
        create_persona(client, auth, name=name, description=description)
        for name, description in (
            ("Support Sally", "Answers support calls for the help desk, in English and Spanish"),
            ("Sales Sam", "Qualifies inbound leads and books demos"),
            ("Billing Bo", None),
        )
    ]
    other = create_persona(client, _auth(new_key()), name="Support Stranger")

    # Unsigned: every page sends the browser to sign in.
    console.goto("/console/personas")
    expect(console.page).to_have_url(re.compile(r"/console/login"))
    console.screenshot("sign-in")
    console.page.get_by_label("API key").fill("gl_not-a-key")
    console.page.get_by_role("button", name="Sign in").click()
    expect(console.page.get_by_role("alert")).to_contain_text("not valid")

    console.sign_in(key)
    cookie = next(c for c in console.context.cookies() if c["name"] == "greenlight_console")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    assert key not in cookie["value"]
    stored = redis.Redis.from_url(get_settings().require_redis_url())
    for name in stored.scan_iter(match="*console:session:*"):
        assert key.encode() not in (stored.get(name) or b"")  # the server keeps no key either
    assert console.page.evaluate("document.cookie") == ""  # not readable by scripts

    listing = console.page.locator(".persona-list")
    for persona in mine:
        expect(listing).to_contain_text(persona["name"])
    expect(listing).not_to_contain_text(other["name"])
    expect(console.page.locator("header.topbar")).to_contain_text(user)
    console.screenshot("personas")

    console.page.get_by_label("Search personas").fill("support")
    console.page.get_by_label("Search personas").press("Enter")
    expect(console.page.locator(".persona-item")).to_have_count(1)
    expect(listing).to_contain_text("Support Sally")
    expect(listing).not_to_contain_text("Support Stranger")
    console.page.get_by_role("link", name=re.compile("Support Sally")).click()
    expect(console.page.get_by_role("heading", level=1)).to_have_text("Support Sally")

    console.page.get_by_role("button", name="Sign out").click()
    expect(console.page).to_have_url(re.compile(r"/console/login\?signed_out=1"))
    expect(console.page.get_by_role("status")).to_contain_text("signed out")
    console.goto(f"/console/personas/{mine[0]['id']}")
    expect(console.page).to_have_url(re.compile(r"/console/login"))
    # The old session id is dead on the server, not only forgotten by the browser.
    replay = httpx.get(
        f"{console.base}/console/personas",
        cookies={"greenlight_console": cookie["value"]},
        follow_redirects=False,
    )
    assert replay.status_code == 303 and "/console/login" in replay.headers["location"]


def test_promote_a_draft_with_notes_live(
    open_console: Callable[[], Console], api_url: str, own_workers: list[Process]
) -> None:
    """No worker runs until the page shows the promotion queued: its progress then arrives live."""
    key = new_key()
    auth = _auth(key)
    with httpx.Client(base_url=api_url, timeout=60) as client:
        persona = create_persona(client, auth, name="Live Lena", personality_prompt="Hello there")
    console = open_console()
    console.sign_in(key)
    console.open_persona(persona["id"])
    expect(console.page.locator("#draft-card")).to_contain_text("Hello there")
    console.screenshot("persona-versions")

    # The dialog: focus in the notes, Escape cancels and gives focus back to the button.
    opener = console.page.locator('#draft-card [data-promote="1"]')
    opener.click()
    dialog = console.page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Promotion notes")).to_be_focused()
    console.page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()

    opener.focus()
    console.page.keyboard.press("Enter")  # keyboard only
    expect(dialog.get_by_label("Promotion notes")).to_be_focused()
    console.page.keyboard.type("Improved tone for enterprise customers")
    console.screenshot("promote-dialog")
    dialog.get_by_role("button", name="Promote v1").click()
    console.page.wait_for_url(re.compile(r"[?&]op="))
    expect(console.operation()).to_contain_text("Queued")
    console.page.evaluate("window.__sameDocument = true")
    console.screenshot("operation-queued")

    own_workers.append(start_worker())
    console.wait_outcome("Version 1 is now in production.")
    expect(console.operation()).to_contain_text("Promoted")
    assert console.page.evaluate("window.__sameDocument") is True  # live: the page was not reloaded
    expect(console.page.locator("[data-production]")).to_contain_text("v1")
    expect(console.page.locator('#versions tr[data-version="1"]')).to_contain_text("Published")
    events = [url for url in console.requests if "/console/operations/" in url]
    assert len(events) == 1 and events[0].endswith("/events"), console.requests
    assert not [url for url in console.requests if "/v1/operations" in url]  # no polling
    console.screenshot("operation-succeeded")

    console.page.get_by_role("link", name="Promotion history").click()
    row = console.page.locator("tr[data-promotion]").first
    expect(row).to_contain_text("v1")
    expect(row).to_contain_text("Improved tone for enterprise customers")
    with httpx.Client(base_url=api_url, timeout=60) as client:
        [item] = _history(client, auth, persona["id"])
    assert item["notes"] == "Improved tone for enterprise customers" and item["version"] == 1


def test_a_conflicting_promotion_says_why(console: Console, client: httpx.Client) -> None:
    key = new_key()
    auth = _auth(key)
    persona = create_persona(client, auth, personality_prompt="one")
    _publish(client, auth, persona["id"], 1, "first")
    edit(client, auth, persona["id"], "two")  # draft v2
    console.sign_in(key)
    console.open_persona(persona["id"])
    expect(console.page.locator("#draft-card")).to_contain_text("v2")

    promote(client, auth, persona["id"])  # meanwhile, someone else: production moves to v3
    console.promote(2, notes="too late")
    console.wait_outcome("Production moved since you read it; nothing was changed")
    expect(console.operation()).to_contain_text("Promotion of version 2 failed")
    expect(console.operation()).to_contain_text("Production changed after this page was loaded")
    console.screenshot("operation-failed")
    assert [i["version"] for i in _history(client, auth, persona["id"])] == [3, 1]

    # Refreshed: the page now knows production is v3, so promoting v2 goes through.
    expect(console.page.locator("[data-production]")).to_contain_text("v3")
    console.promote(2)
    console.wait_outcome("Version 2 is now in production. Version 3 was archived.")


def test_unarchive_and_roll_back_from_history(console: Console, client: httpx.Client) -> None:
    key = new_key()
    auth = _auth(key)
    persona = create_persona(client, auth, personality_prompt="one")
    _publish(client, auth, persona["id"], 1, "first")
    edit(client, auth, persona["id"], "two")
    _publish(client, auth, persona["id"], 2, "second")
    console.sign_in(key)
    console.open_persona(persona["id"], "history")

    first = console.page.locator('tr[data-version="1"]')
    expect(first).to_contain_text("Archived")
    first.get_by_role("button", name="Unarchive v1").click()
    console.wait_outcome("Version 1 is a draft again")
    again = console.page.locator('tr[data-version="1"]').get_by_role("button", name="Promote v1 again…")
    expect(again).to_be_visible()
    console.promote(1, notes="roll back")
    console.wait_outcome("Version 1 is now in production. Version 2 was archived.")
    newest = console.page.locator("tr[data-promotion]").first
    expect(newest).to_contain_text("roll back")
    expect(newest.locator("td[data-label=Previous]")).to_have_text("v2")
    console.screenshot("history")

    items = _history(client, auth, persona["id"])
    assert [(i["version"], i["previous_version"], i["notes"]) for i in items] == [
        (1, 2, "roll back"),
        (2, 1, "second"),
        (1, None, "first"),
    ]
    production = client.get(f"/v1/personas/{persona['id']}/production", headers=auth).json()["data"]
    assert production["version"]["personality_prompt"] == "one"


def test_compare_two_versions_side_by_side(console: Console, client: httpx.Client) -> None:
    key = new_key()
    auth = _auth(key)
    persona = create_persona(client, auth, personality_prompt="Greet the caller.\nBe brief.")
    _publish(client, auth, persona["id"], 1, "first")
    edit(client, auth, persona["id"], "Greet the caller warmly.\nBe brief.")
    console.sign_in(key)
    console.open_persona(persona["id"])
    console.page.get_by_role("link", name="Compare with production").click()

    expect(console.page.get_by_label("From", exact=True)).to_have_value("1")
    expect(console.page.get_by_label("To", exact=True)).to_have_value("2")
    row = console.page.locator('#diff-table tr[data-field="personality_prompt"]')
    expect(row.locator(".diff-left .mark-del")).to_have_text("Removed: Greet the caller.")
    expect(row.locator(".diff-right .mark-add")).to_have_text("Added: Greet the caller warmly.")
    expect(row.locator(".diff-right .line:not(.mark-add)")).to_have_text("Be brief.")
    console.screenshot("compare")

    console.page.get_by_label("From", exact=True).select_option("2")
    console.page.get_by_role("button", name="Compare").click()
    expect(console.page.locator("#compare")).to_contain_text("v2 and v2 have the same content")


def test_proposals_accept_reject_and_a_stale_one(console: Console, client: httpx.Client) -> None:
    key = new_key()
    auth = _auth(key)
    form = ok(patch(client, auth, name="Base", examples=["Hello!"], voices=["maya"]))["form_state"]
    draft_id, persona_id = form["draft_id"], form["persona_id"]

    def propose(**fields: Any) -> str:
        key_: str = ok(patch(client, auth, draft_id=draft_id, soft=True, **fields))["idempotency_key"]
        return key_

    on_name = propose(name="Proposed name")
    on_voices = propose(voices=["maya", "rhea"])
    on_examples = propose(examples=["Good morning!"])
    ok(patch(client, auth, draft_id=draft_id, name="Edited meanwhile"))  # on_name is stale now

    console.sign_in(key)
    console.open_persona(persona_id, "proposals")
    expect(console.page.locator("article.proposal")).to_have_count(3)
    voices = console.page.locator(f'[data-proposal="{on_voices}"]')
    expect(voices.locator(".diff-right .mark-add")).to_have_text("Added: rhea")  # values, not ids
    expect(voices.locator(".diff-left")).to_contain_text("maya")
    stale = console.page.locator(f'[data-proposal="{on_name}"]')
    expect(stale.locator("[data-stale]")).to_contain_text("Name")
    expect(stale.locator(".diff-left")).to_contain_text("Edited meanwhile")
    expect(stale.locator(".diff-right")).to_contain_text("Proposed name")
    console.screenshot("proposals")

    voices.get_by_label("Reason").fill("more voices")
    voices.get_by_role("button", name="Accept", exact=True).click()
    console.wait_outcome("Proposal accepted")
    decided = console.page.locator(f'.decided-table [data-proposal="{on_voices}"]')
    expect(decided).to_contain_text("Accepted")
    expect(decided).to_contain_text("more voices")

    examples = console.page.locator(f'article[data-proposal="{on_examples}"]')
    examples.get_by_label("Reason").fill("keep the greeting")
    examples.get_by_role("button", name="Reject").click()
    console.wait_outcome("Proposal rejected")
    rejected = console.page.locator(f'.decided-table [data-proposal="{on_examples}"]')
    expect(rejected).to_contain_text("Rejected")

    stale = console.page.locator(f'article[data-proposal="{on_name}"]')
    stale.get_by_role("button", name="Accept", exact=True).click()
    console.wait_outcome("The draft changed since the proposal in: name")
    expect(console.operation()).to_contain_text("Accepting the proposal failed")
    expect(console.operation().locator('[data-op="fields"] li')).to_have_text(["Name"])
    console.screenshot("proposal-stale")

    state = client.get(f"/persona/draft/{draft_id}", headers=auth).json()["form_state"]
    assert state["name"]["value"] == "Edited meanwhile"
    assert [v["value"] for v in state["voices"]] == ["maya", "rhea"]
    assert [e["value"] for e in state["examples"]] == ["Hello!"]
    proposals = client.get(f"/v1/personas/{persona_id}/proposals", headers=auth).json()["data"]
    assert {p["idempotency_key"]: (p["status"], p["reason"]) for p in proposals} == {
        on_name: ("dormant", None),
        on_voices: ("accepted", "more voices"),
        on_examples: ("rejected", "keep the greeting"),
    }

    # "Accept anyway" applies it over the draft's change.
    console.page.locator(f'article[data-proposal="{on_name}"]').get_by_role(
        "button", name="Accept anyway"
    ).click()
    console.wait_outcome("Proposal accepted")
    state = client.get(f"/persona/draft/{draft_id}", headers=auth).json()["form_state"]
    assert state["name"]["value"] == "Proposed name"


def test_history_filters_by_user_and_date_and_pages(console: Console, client: httpx.Client) -> None:
    key = new_key()
    auth = _auth(key)
    persona = create_persona(client, auth)
    for _ in range(3):
        promote(client, auth, persona["id"])  # versions 2, 3, 4
    days = {2: datetime(2025, 1, 10, 9, tzinfo=UTC), 3: datetime(2025, 1, 20, 9, tzinfo=UTC)}
    days[4] = datetime(2025, 2, 1, 9, tzinfo=UTC)
    with unit_of_work() as session:
        for version, at in days.items():
            session.execute(
                sa.update(Promotion)
                .where(Promotion.persona_id == persona["id"], Promotion.version_number == version)
                .values(promoted_at=at)
            )
    console.sign_in(key)
    console.open_persona(persona["id"], "history")
    rows = console.page.locator("tr[data-promotion]")
    expect(rows).to_have_count(3)
    expect(rows.locator("th")).to_have_text(["v4", "v3", "v2"])  # newest first

    console.page.get_by_label("From", exact=True).fill("2025-01-15")
    console.page.get_by_label("To", exact=True).fill("2025-01-20")
    console.page.get_by_role("button", name="Apply").click()
    expect(rows.locator("th")).to_have_text(["v3"])  # "to" includes its whole day
    console.page.get_by_label("From", exact=True).fill("2025-01-21")
    console.page.get_by_label("To", exact=True).fill("")
    console.page.get_by_role("button", name="Apply").click()
    expect(rows.locator("th")).to_have_text(["v4"])

    console.page.get_by_role("link", name="Clear filters").click()
    by = console.page.get_by_label("Promoted by")
    expect(by.locator("option")).to_have_text(["Anyone", re.compile(r"user-")])
    by.select_option(index=1)
    console.page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(3)
    console.goto(f"/console/personas/{persona['id']}/history?by=someone-else")
    expect(console.page.locator("#history")).to_contain_text("No promotion matches these filters")

    console.goto(f"/console/personas/{persona['id']}/history?limit=2")
    expect(rows.locator("th")).to_have_text(["v4", "v3"])
    console.page.get_by_role("link", name="Older →").click()
    expect(rows.locator("th")).to_have_text(["v2"])
    expect(console.page.get_by_role("link", name="Older →")).to_have_count(0)
    console.page.get_by_role("link", name="← Newest").click()
    expect(rows.locator("th")).to_have_text(["v4", "v3"])


def test_another_users_persona_is_not_found(console: Console, client: httpx.Client) -> None:
    key = new_key()
    mine = create_persona(client, _auth(key), name="Mine")
    other_auth = _auth(new_key())
    theirs = create_persona(client, other_auth, name="Theirs")
    operation = client.post(
        f"/v1/personas/{theirs['id']}/versions/promote", headers={**other_auth, "Prefer": "respond-async"}
    ).json()["data"]
    console.sign_in(key)

    for tab in ("", "/compare", "/history", "/proposals"):
        response = console.goto(f"/console/personas/{theirs['id']}{tab}")
        assert response.status == 404
        expect(console.page.get_by_role("heading", level=1)).to_have_text("Not found")
        expect(console.page.locator("body")).not_to_contain_text("Theirs")
    console.screenshot("not-found")
    response = console.goto(f"/console/operations/{operation['id']}/events")
    assert response.status == 404

    console.open_persona(mine["id"])
    token = console.page.locator("input[name=csrf_token]").first.input_value()
    refused = console.page.request.post(
        f"/console/personas/{theirs['id']}/versions/1/promote", form={"csrf_token": token}
    )
    assert refused.status == 404
    # The browser logged the 404s it was shown; nothing else.
    console.errors[:] = [e for e in console.errors if "status of 404" not in e]


def test_a_post_without_the_csrf_token_is_refused(console: Console, client: httpx.Client) -> None:
    key = new_key()
    auth = _auth(key)
    persona = create_persona(client, auth)
    console.sign_in(key)
    console.open_persona(persona["id"])
    url = f"/console/personas/{persona['id']}/versions/1/promote"

    for form in ({"notes": "no token"}, {"notes": "wrong token", "csrf_token": "x" * 43}):
        refused = console.page.request.post(url, form=form, max_redirects=0)
        assert refused.status == 403, refused.status
        assert "security token" in refused.text()
    no_logout = console.page.request.post("/console/logout", form={}, max_redirects=0)
    assert no_logout.status == 403
    assert client.get(f"/v1/personas/{persona['id']}/promotions", headers=auth).json()["data"]["items"] == []

    # The same form with the page's token goes through; the session survived the refusals.
    token = console.page.locator("input[name=csrf_token]").first.input_value()
    accepted = console.page.request.post(url, form={"csrf_token": token}, max_redirects=0)
    assert accepted.status == 303 and "op=" in accepted.headers["location"]

    # A form posted from another site carries no token (and, SameSite=Strict, no cookie either).
    foreign = httpx.post(f"{console.base}{url}", data={"notes": "forged"}, follow_redirects=False)
    assert foreign.status_code == 303 and "/console/login" in foreign.headers["location"]
    console.errors[:] = [e for e in console.errors if "status of 403" not in e]


def _versions_of_every_kind(client: httpx.Client, auth: dict[str, str]) -> str:
    """A persona with a draft v1, an archived v2 and production v3 (what the Versions tab acts on)."""
    persona = create_persona(client, auth)
    promote_url = f"/v1/personas/{persona['id']}/versions/promote"
    for _ in range(2):
        assert client.post(promote_url, headers=auth).status_code == 200
    edited = client.patch(
        f"/v1/personas/{persona['id']}/draft", json={"personality_prompt": "next"}, headers=auth
    )
    assert wait_operation(client, auth, edited.json()["data"]["id"])["status"] == "succeeded"
    return str(persona["id"])


@pytest.mark.parametrize("role", [Role.VIEWER, Role.PROPOSER, Role.REVIEWER, Role.PUBLISHER])
def test_each_role_sees_only_the_buttons_it_may_use_and_the_rest_is_refused(
    open_console: Callable[[], Console], client: httpx.Client, role: Role
) -> None:
    owner = new_key()
    auth = _auth(owner)
    persona_id = _versions_of_every_kind(client, auth)
    with unit_of_work() as session:
        name = authenticate(session, owner).user_name
    console = open_console()
    console.sign_in(new_key(name, role))  # the same user, with a key of this role
    console.open_persona(persona_id)
    publishes = Permission.PUBLISH in PERMISSIONS[role]
    expect(console.page.get_by_role("button", name="Promote v1…")).to_have_count(2 if publishes else 0)
    expect(console.page.get_by_role("button", name="Unarchive v2")).to_have_count(1 if publishes else 0)
    console.screenshot(f"versions-as-{role}")

    before = client.get(f"/v1/personas/{persona_id}/versions", headers=auth).json()
    token = console.page.locator("input[name=csrf_token]").first.input_value()
    base = f"/console/personas/{persona_id}"
    posts = {
        f"{base}/versions/1/promote": Permission.PUBLISH,
        f"{base}/versions/2/unarchive": Permission.PUBLISH,
        f"{base}/proposals/{uuid.uuid4()}/reject": Permission.REVIEW,
    }
    for url, permission in posts.items():
        if permission in PERMISSIONS[role]:
            continue
        refused = console.page.request.post(url, form={"csrf_token": token}, max_redirects=0)
        assert refused.status == 403, (url, refused.status)
        assert "permission" in refused.text() and str(permission) in refused.text()
    assert client.get(f"/v1/personas/{persona_id}/versions", headers=auth).json() == before
    console.errors[:] = [e for e in console.errors if "status of 403" not in e]


def test_a_reviewer_approves_a_requested_promotion_from_the_review_queue(
    open_console: Callable[[], Console], client: httpx.Client
) -> None:
    admin = new_key()
    editor, reviewer = (_auth(member_key(client, admin, role)) for role in (Role.EDITOR, Role.REVIEWER))
    persona_id = _versions_of_every_kind(client, _auth(admin))
    policy = {"required_approvals": 1, "allow_self_approval": False}
    set_policy = client.put(f"/v1/personas/{persona_id}/review-policy", json=policy, headers=_auth(admin))
    assert set_policy.status_code == 200, set_policy.text

    asking = open_console()
    asking.sign_in(editor["authorization"])
    asking.open_persona(persona_id)
    asking.page.get_by_role("button", name="Request promotion of v1…").first.click()
    asking.page.get_by_role("dialog").get_by_role("button", name="Promote v1").click()
    asking.page.wait_for_url(re.compile(r"[?&]op="))
    expect(asking.operation()).to_contain_text("waiting for approval")
    asking.goto("/console/reviews")
    item = asking.page.locator("[data-request]")
    expect(item).to_have_count(1)
    expect(item.get_by_role("button", name="Withdraw")).to_have_count(1)
    expect(item.get_by_role("button", name="Approve")).to_have_count(0)  # not their own

    reviewing = open_console()
    reviewing.sign_in(reviewer["authorization"])
    reviewing.goto("/console/reviews")
    reviewing.page.get_by_label("Comment").fill("reads well")
    reviewing.screenshot("review-queue")
    reviewing.page.get_by_role("button", name="Approve").click()
    reviewing.page.wait_for_url(re.compile(r"[?&]op="))
    reviewing.wait_outcome("Every required approval is in")

    [request] = client.get("/v1/promotion-requests", headers=editor).json()["data"]["items"]
    assert request["status"] == "approved" and request["votes"][0]["comment"] == "reads well"
    production = client.get(f"/v1/personas/{persona_id}", headers=editor).json()["data"]
    assert production["current_production_version"]["version_number"] == 1  # v1 itself, published
