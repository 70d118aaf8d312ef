"""Driving the web console in a real browser: Debian's headless Chromium under Playwright."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect, sync_playwright

from tests.support.processes import ARTIFACTS

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ARTIFACTS / "screenshots"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 20_000


def launch_browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Console:
    """One browser context (its own cookies) on the console, recording console errors and requests."""

    base: str
    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, browser: Browser, base: str) -> Console:
        context = browser.new_context(viewport=LAPTOP, base_url=base)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        console = cls(base, context, page)
        page.on("console", console._on_console)
        page.on("pageerror", lambda exc: console.errors.append(f"page error: {exc}"))
        page.on("request", console._on_request)
        return console

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def _on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def close(self) -> None:
        self.context.close()

    def goto(self, path: str) -> Any:
        return self.page.goto(path)

    def sign_in(self, key: str) -> None:
        self.goto("/console/login")
        self.page.get_by_label("API key").fill(key)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(re.compile(r"/console/personas"))

    def open_persona(self, persona_id: str, tab: str = "") -> None:
        self.goto(f"/console/personas/{persona_id}{'/' + tab if tab else ''}")

    def operation(self) -> Any:
        return self.page.locator("#operation")

    def wait_outcome(self, text: str) -> None:
        expect(self.operation()).to_contain_text(text, timeout=TIMEOUT_MS)
        expect(self.operation()).to_have_attribute("data-terminal", "true")
        self.wait_settled()

    def wait_settled(self) -> None:
        """The page shows the operation's outcome with its sections re-rendered after it landed
        (or rendered after it, when it finished first). Each operation is a new page."""
        expect(self.page.locator("body[data-settled]")).to_have_count(1, timeout=TIMEOUT_MS)

    def promote(self, version: int, notes: str = "") -> None:
        """Open the confirm dialog of a version's Promote button, write notes, confirm."""
        self.page.locator(f'[data-promote="{version}"]').first.click()
        dialog = self.page.get_by_role("dialog")
        expect(dialog).to_be_visible()
        notes_field = dialog.get_by_label("Promotion notes")
        expect(notes_field).to_be_focused()
        if notes:
            notes_field.fill(notes)
        dialog.get_by_role("button", name=f"Promote v{version}").click()
        self.page.wait_for_url(re.compile(r"[?&]op="))

    def screenshot(self, name: str) -> None:
        """The page as a laptop and a phone show it, under tests/artifacts/screenshots/."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for label, size in (("laptop", LAPTOP), ("phone", PHONE)):
            self.page.set_viewport_size(size)
            self.page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
        self.page.set_viewport_size(LAPTOP)
