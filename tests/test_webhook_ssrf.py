"""The SSRF guard with GREENLIGHT_WEBHOOK_ALLOW_PRIVATE off: refused at registration (422) and at
send time, before any connection; the test env turns it on, so these call the domain directly."""

from __future__ import annotations

import threading
import time

import pytest

from api.errors import status_for
from greenlight.errors import Unprocessable
from greenlight.notifications.ssrf import validate_webhook_url
from greenlight.notifications.transport import post
from tests.notify_support import Request, receiver

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
    for url in ("https://93.184.215.14/hook", "http://[2606:4700::1111]:8443/x", "http://8.8.8.8/"):
        assert validate_webhook_url(url, allow_private=False) == url
    assert validate_webhook_url("http://127.0.0.1:9/hook", allow_private=True) == "http://127.0.0.1:9/hook"


def test_send_time_guard_refuses_before_connecting() -> None:
    """A URL registered while allowed (or whose DNS changed) is checked again on every attempt."""
    with receiver() as hook:
        for url in (hook.url, hook.url.replace("127.0.0.1", "localhost")):
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
