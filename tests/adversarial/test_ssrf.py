"""The SSRF guard with GREENLIGHT_WEBHOOK_ALLOW_PRIVATE off: refused at registration and on update
(422, nothing stored) and at send time, before any connection. The test env turns the switch on, so
the domain is called directly, and the HTTP tests run an API process of their own with it off.

No test here lets a delivery to a refused destination be attempted: the refusal is asserted before
any event exists, or the send-time guard is called on loopback receivers only."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from api.errors import status_for
from greenlight.errors import Unprocessable
from greenlight.notifications.ssrf import validate_webhook_url
from greenlight.notifications.transport import post
from tests.support.http import new_key
from tests.support.notify import Request, receiver
from tests.support.processes import start_api
from tests.support.tenants import error_of

REFUSED = [
    "http://127.0.0.1/hook",
    "http://127.8.9.10:8080/hook",
    "http://localhost:8080/hook",
    "http://10.0.0.1/hook",
    "http://172.16.5.4/hook",
    "http://192.168.1.20/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.100.100.200/",  # carrier-grade NAT range (Alibaba's metadata)
    "http://0.0.0.0/",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:169.254.169.254]/",
    "http://[fe80::1]/hook",
    "http://[fd00:ec2::254]/",
    "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
    # IPv4 spelled the ways inet_aton reads it: decimal, octal, hexadecimal, shortened.
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f.0x0.0x0.0x1/",
    "http://127.1/",
    "http://017700000001/",
    "http://0/",
    "http://0xa9fea9fe/",  # 169.254.169.254
    "http://240.0.0.1/",  # reserved (class E)
    "http://192.0.2.1/",  # documentation
    "http://198.18.0.1/",  # benchmarking
    # IPv4 embedded in IPv6: compatible (::/96), translated (::ffff:0:0:0/96), 6to4, Teredo.
    "http://[::7f00:1]/",
    "http://[::127.0.0.1]/",
    "http://[::a9fe:a9fe]/",  # 169.254.169.254 embedded
    "http://[::c0a8:101]/",
    "http://[::ffff:0:7f00:1]/",
    "http://[::ffff:0:a9fe:a9fe]/",
    "http://[2002:7f00:1::1]/",  # 6to4 of 127.0.0.1
    "http://[2002:a9fe:a9fe::1]/",
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo of 127.0.0.1
    "http://[64:ff9b:1::808:808]/",  # local-use NAT64
    # IPv6 outside global unicast (2000::/3), or reserved inside it.
    "http://[4000::1]/",
    "http://[3fff::1]/",  # documentation (RFC 9637)
    "http://[2001:db8::1]/",  # documentation
    "http://[2001:2::1]/",  # benchmarking
    "http://[::ffff:8.8.8.8]/",  # IPv4-mapped: only 2000::/3 is accepted for IPv6
    "http://[ff02::1]/",
    "http://[::]/",
    "http://[fe80::1%25eth0]/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_private_destinations_are_refused_at_registration(url: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        validate_webhook_url(url, allow_private=False)
    error = refused.value
    assert status_for(error) == 422
    assert error.code == "WEBHOOK_URL_NOT_ALLOWED"
    assert error.details["url"] == url and error.details["address"]
    assert "may not be sent to" in error.message


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "file:///etc/passwd", "gopher://1.2.3.4/", "http:///x"]
)
def test_only_http_and_https_urls(url: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        validate_webhook_url(url, allow_private=True)
    assert refused.value.code == "INVALID_WEBHOOK_URL"


def test_public_addresses_pass_and_the_switch_allows_private_ones() -> None:
    for url in (
        "https://93.184.215.14/hook",
        "http://[2606:4700::1111]:8443/x",
        "http://8.8.8.8/",
        "http://[2002:808:808::1]/",  # 6to4 of a public address
    ):
        assert validate_webhook_url(url, allow_private=False) == url
    assert validate_webhook_url("http://127.0.0.1:9/hook", allow_private=True) == "http://127.0.0.1:9/hook"


@pytest.fixture(scope="module")
def strict_api(services: dict[str, str]) -> Iterator[str]:
    """An API process with the guard on (the suite's shared one has it off for its receivers)."""
    api, base = start_api(env={"GREENLIGHT_WEBHOOK_ALLOW_PRIVATE": "false"}, name="api-strict-ssrf")
    yield base
    api.stop()


def test_refused_at_registration_and_on_update_through_the_api(strict_api: str, api_url: str) -> None:
    auth = {"authorization": new_key()}
    with httpx.Client(base_url=strict_api, timeout=30) as strict, httpx.Client(base_url=api_url) as relaxed:
        # Registered where loopback is allowed, on a closed port, by a user with no persona: no event
        # exists for it, so nothing is ever sent.
        hook = relaxed.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=auth)
        assert hook.status_code == 201, hook.text
        hook_id = hook.json()["data"]["id"]
        for url in REFUSED:
            for response in (
                strict.post("/v1/webhooks", json={"url": url}, headers=auth),
                strict.patch(f"/v1/webhooks/{hook_id}", json={"url": url}, headers=auth),
            ):
                assert response.status_code == 422, (url, response.text)
                assert error_of(response)["error"] == "WEBHOOK_URL_NOT_ALLOWED", (url, response.text)
        listed = strict.get("/v1/webhooks", headers=auth).json()["data"]
        assert [(item["id"], item["url"]) for item in listed] == [(hook_id, "http://127.0.0.1:9/hook")]


def test_send_time_guard_refuses_before_connecting() -> None:
    """A URL registered while allowed (or whose DNS changed) is checked again on every attempt."""
    with receiver() as hook:
        spellings = ("localhost", "2130706433", "0177.0.0.1", "127.1", "0x7f000001", "[::ffff:7f00:1]")
        for url in (hook.url, *(hook.url.replace("127.0.0.1", host) for host in spellings)):
            refused = post(url, b"{}", {"webhook-id": "msg_1"}, timeout=2, allow_private=False)
            assert refused.status_code is None and refused.error and "refused" in refused.error
        assert hook.snapshot() == []
        allowed = post(hook.url.replace("127.0.0.1", "localhost"), b"{}", {}, timeout=2, allow_private=True)
        assert allowed.status_code == 200  # the same receiver, reachable: the guard made the difference
        assert hook.snapshot()[0].headers["host"].startswith("localhost:")


def test_redirects_are_not_followed_and_are_not_success() -> None:
    with receiver(lambda _r, _i: (302, {"Location": "/elsewhere"})) as hook:
        result = post(hook.url, b"{}", {}, timeout=2, allow_private=True)
        assert result.status_code == 302 and not result.succeeded
        assert len(hook.snapshot()) == 1


def test_a_slow_receiver_is_cut_off_at_the_total_timeout() -> None:
    release = threading.Event()

    def slow(_request: Request, _index: int) -> tuple[int, dict[str, str]]:
        release.wait(10)
        return 200, {}

    with receiver(slow) as hook:
        started = time.monotonic()
        result = post(hook.url, b"{}", {}, timeout=1, allow_private=True)
        elapsed = time.monotonic() - started
        release.set()
        assert result.status_code is None and result.error == "timed out after 1 s"
        assert 1.0 <= elapsed < 2.0 and len(hook.snapshot()) == 1
