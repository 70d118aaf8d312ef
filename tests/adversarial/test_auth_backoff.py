"""Back-off on failed authentication (issue #26, item 6), through real HTTP and real Redis.

The API processes here run with small limits and a short window; every other test's API has generous
ones (tests/conftest.py). Each test sends from its own loopback addresses (127.0.9.x, bound on this
machine) and its own key prefixes, so the tests do not see each other's failures, and the module
removes its windows from Redis when it ends.
"""

from __future__ import annotations

import itertools
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from cli.embedded import free_port, redis_server_binary
from greenlight.auth_throttle import limiter_key_prefix
from greenlight.db import unit_of_work
from greenlight.keys import KEY_PREFIX, hash_key
from greenlight.models import ApiKey
from greenlight.settings import get_settings
from greenlight.workspaces import get_or_create_user, own_workspace
from tests.support.http import new_key
from tests.support.processes import Process, start_api
from tests.support.tenants import PUBLIC_ROUTES, api_routes, error_of

PER_ADDRESS = 5
PER_PREFIX = 3
WINDOW = 4  # seconds
THROTTLE_ENV = {
    "GREENLIGHT_AUTH_FAILURES_PER_ADDRESS": f"{PER_ADDRESS} per {WINDOW} seconds",
    "GREENLIGHT_AUTH_FAILURES_PER_PREFIX": f"{PER_PREFIX} per {WINDOW} seconds",
}
PROBE = "/v1/webhooks"  # a route that takes a key: the caller's webhook endpoints
_hosts = itertools.count(2)


def new_address() -> str:
    """A loopback address of its own (Linux answers the whole 127.0.0.0/8 on lo)."""
    return f"127.0.9.{next(_hosts)}"


def client(base: str, address: str) -> httpx.Client:
    """A client whose connections come from ``address``: the API sees it as the caller's address."""
    return httpx.Client(base_url=base, transport=httpx.HTTPTransport(local_address=address), timeout=30)


def new_prefix() -> str:
    return KEY_PREFIX + secrets.token_hex(4)[:7]


def bad_key(prefix: str | None = None) -> str:
    return (prefix or new_prefix()) + secrets.token_urlsafe(30)


def valid_key_with_prefix(prefix: str) -> str:
    """A real key that begins with ``prefix`` (as a guesser who knows a key's prefix would aim)."""
    raw = prefix + secrets.token_urlsafe(30)
    with unit_of_work() as session:
        user = get_or_create_user(session, f"owner-{secrets.token_hex(4)}")
        workspace = own_workspace(session, user)
        session.add(
            ApiKey(user_id=user.id, workspace_id=workspace.id, prefix=raw[:10], key_hash=hash_key(raw))
        )
    return raw


def as_key(key: str) -> dict[str, str]:
    return {"authorization": key}


def assert_throttled(response: httpx.Response, limited_by: str) -> int:
    """A 429 in the endpoint's own error shape, with Retry-After; returns the seconds."""
    assert response.status_code == 429, (response.request.url, response.status_code, response.text)
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= WINDOW, retry_after
    error = error_of(response)
    if error["error"] is not None:  # Retell's shape has a message only
        assert error["error"] == "TOO_MANY_FAILED_ATTEMPTS", response.text
        assert error["details"] == {"retry_after_seconds": retry_after, "limited_by": limited_by}
    assert "Too many failed authentication attempts" in error["message"]
    return retry_after


def auth_counters(base: str) -> dict[tuple[str, str, str], float]:
    """The auth counters /metrics reports: (name, where, reason) -> value."""
    response = httpx.get(f"{base}/metrics", timeout=10)
    assert response.status_code == 200
    return {
        (sample.name, sample.labels["where"], sample.labels["reason"]): sample.value
        for family in text_string_to_metric_families(response.text)
        if family.name.startswith("greenlight_auth_")
        for sample in family.samples
        if sample.name.endswith("_total")
    }


def clear_windows(url: str) -> None:
    client = redis.Redis.from_url(url)
    for name in client.scan_iter(match=f"{limiter_key_prefix()}:*", count=1000):
        client.delete(name)


@pytest.fixture(scope="module")
def throttled_api(services: dict[str, str]) -> Iterator[str]:
    clear_windows(services["redis_url"])
    api, base = start_api(env=THROTTLE_ENV, name="api-throttled")
    yield base
    api.stop()
    clear_windows(services["redis_url"])  # no window left behind for the rest of the suite


def _fill(path: str) -> str:
    return re.sub(r"\{(number|a|b)\}", "1", re.sub(r"\{\w+_id\}", "a1b2c3", path))


def test_bad_keys_from_one_address_are_refused_with_429_on_every_route(throttled_api: str) -> None:
    attacker, bystander = new_address(), new_address()
    checked = new_key()
    with client(throttled_api, attacker) as http:
        assert http.get(PROBE, headers=as_key(checked)).status_code == 200  # the process now knows it
        for _ in range(PER_ADDRESS):
            assert http.get(PROBE, headers=as_key(bad_key())).status_code == 401
        # Refused before the key is checked, on every route that takes a key, in each family's shape.
        for method, path in sorted(api_routes() - PUBLIC_ROUTES):
            assert_throttled(http.request(method, _fill(path), headers=as_key(bad_key())), "address")
        # A valid key from that address is refused as well (as GitHub does): no guess is ever confirmed.
        assert_throttled(http.get(PROBE, headers=as_key(new_key())), "address")
        assert_throttled(http.get(PROBE, headers=as_key(checked)), "address")  # even one it knows
        assert http.get("/healthz").status_code == 200  # what takes no key is not throttled
    with client(throttled_api, bystander) as http:
        assert http.get(PROBE, headers=as_key(bad_key())).status_code == 401
        assert http.get(PROBE, headers=as_key(new_key())).status_code == 200


def test_guesses_at_one_prefix_are_refused_from_every_address_but_a_checked_key_still_works(
    throttled_api: str,
) -> None:
    prefix = new_prefix()
    in_use, unused = valid_key_with_prefix(prefix), valid_key_with_prefix(prefix)
    with client(throttled_api, new_address()) as owner:  # this API process now knows the key
        assert owner.get(PROBE, headers=as_key(in_use)).status_code == 200
    for _ in range(PER_PREFIX):  # one guess per address: the address limit never trips
        with client(throttled_api, new_address()) as guesser:
            assert guesser.get(PROBE, headers=as_key(bad_key(prefix))).status_code == 401
    with client(throttled_api, new_address()) as http:
        assert_throttled(http.get(PROBE, headers=as_key(bad_key(prefix))), "prefix")
        assert_throttled(http.get(PROBE, headers=as_key(f"Bearer {bad_key(prefix)}")), "prefix")
        # A valid key this process has not checked yet waits like any other attempt on the prefix...
        assert_throttled(http.get(PROBE, headers=as_key(unused)), "prefix")
        # ...but the key it checked a moment ago is not locked out by someone else's failures.
        assert http.get(PROBE, headers=as_key(in_use)).status_code == 200
        # Other prefixes are not affected.
        assert http.get(PROBE, headers=as_key(bad_key())).status_code == 401


def test_attempts_are_allowed_again_once_the_window_has_passed(throttled_api: str) -> None:
    with client(throttled_api, new_address()) as http:
        for _ in range(PER_ADDRESS):
            assert http.get(PROBE, headers=as_key(bad_key())).status_code == 401
        retry_after = assert_throttled(http.get(PROBE, headers=as_key(bad_key())), "address")
        key = new_key()
        assert_throttled(http.get(PROBE, headers=as_key(key)), "address")
        time.sleep(retry_after + 0.3)
        assert http.get(PROBE, headers=as_key(key)).status_code == 200
        assert http.get(PROBE, headers=as_key(bad_key())).status_code == 401


def _login_token(http: httpx.Client) -> str:
    page = http.get("/console/login")
    assert page.status_code == 200
    match = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def _sign_in(http: httpx.Client, token: str, key: str) -> httpx.Response:
    return http.post("/console/login", data={"api_key": key, "login_token": token})


def test_the_console_sign_in_is_throttled_too(throttled_api: str) -> None:
    key = new_key()
    with client(throttled_api, new_address()) as http:
        token = _login_token(http)
        for _ in range(PER_ADDRESS):
            wrong = _sign_in(http, token, bad_key())
            assert wrong.status_code == 200 and "That API key is not valid" in wrong.text
        refused = _sign_in(http, token, bad_key())
        assert refused.status_code == 429
        retry_after = int(refused.headers["Retry-After"])
        assert 1 <= retry_after <= WINDOW
        assert 'data-error-code="TOO_MANY_FAILED_ATTEMPTS"' in refused.text
        message = f"Too many failed sign-in attempts from your network. Wait {retry_after} seconds"
        assert message in refused.text
        assert 'name="api_key"' in refused.text  # the form is still there, to try again later
        # Not even a valid key signs in from there now, and the API refuses that address too.
        valid = _sign_in(http, token, key)
        assert valid.status_code == 429 and "greenlight_console_session" not in valid.headers.get(
            "set-cookie", ""
        )
        assert_throttled(http.get(PROBE, headers=as_key(key)), "address")
    with client(throttled_api, new_address()) as http:
        signed_in = _sign_in(http, _login_token(http), key)
        assert signed_in.status_code == 303, signed_in.text


def test_failures_and_refusals_are_counted_in_the_metrics(throttled_api: str) -> None:
    before = auth_counters(throttled_api)
    with client(throttled_api, new_address()) as http:
        assert http.get(PROBE).status_code == 401  # no key: counted, not limited
        for _ in range(PER_ADDRESS):
            assert http.get(PROBE, headers=as_key(bad_key())).status_code == 401
        for _ in range(2):
            assert http.get(PROBE, headers=as_key(bad_key())).status_code == 429
    with client(throttled_api, new_address()) as http:
        assert _sign_in(http, _login_token(http), bad_key()).status_code == 200
    after = auth_counters(throttled_api)
    changes = {name: after[name] - before.get(name, 0.0) for name in after if after[name] != before.get(name)}
    assert changes == {
        ("greenlight_auth_failures_total", "api", "invalid"): PER_ADDRESS,
        ("greenlight_auth_failures_total", "api", "missing"): 1,
        ("greenlight_auth_failures_total", "console", "invalid"): 1,
        ("greenlight_auth_throttled_total", "api", "address"): 2,
    }


def test_two_api_processes_share_the_counts(throttled_api: str) -> None:
    second, other_base = start_api(env=THROTTLE_ENV, name="api-throttled-2")
    try:
        address = new_address()
        with client(throttled_api, address) as one, client(other_base, address) as two:
            for attempt in range(PER_ADDRESS):  # the failures alternate between the processes
                http = one if attempt % 2 == 0 else two
                assert http.get(PROBE, headers=as_key(bad_key())).status_code == 401
            assert_throttled(one.get(PROBE, headers=as_key(bad_key())), "address")
            assert_throttled(two.get(PROBE, headers=as_key(bad_key())), "address")
        prefix = new_prefix()
        for attempt in range(PER_PREFIX):
            with client(throttled_api if attempt % 2 else other_base, new_address()) as http:
                assert http.get(PROBE, headers=as_key(bad_key(prefix))).status_code == 401
        for base in (throttled_api, other_base):
            with client(base, new_address()) as http:
                assert_throttled(http.get(PROBE, headers=as_key(bad_key(prefix))), "prefix")
    finally:
        second.stop()


def test_every_authenticated_route_documents_the_429(throttled_api: str) -> None:
    schema: dict[str, Any] = httpx.get(f"{throttled_api}/openapi.json", timeout=10).json()
    checked = 0
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if not operation.get("security"):
                continue
            checked += 1
            where = f"{method.upper()} {path}"
            documented = operation["responses"]
            assert "401" in documented and "429" in documented, where
            assert documented["429"]["headers"]["Retry-After"]["schema"] == {"type": "integer"}, where
            assert (
                documented["429"]["content"]["application/json"]["schema"]
                == (documented["401"]["content"]["application/json"]["schema"])
            ), where  # the family's own error shape
    assert checked == len(api_routes() - PUBLIC_ROUTES)


# --- the Redis the service is given: a password in its URL, and Redis going away ----------------


@pytest.fixture
def redis_with_password(services: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A redis-server of its own (the embedded binary) that requires a password."""
    port, password = free_port(), secrets.token_urlsafe(12)
    args = [
        redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--requirepass", password,
    ]  # fmt: skip
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline and server.poll() is None, "redis-server did not start"
            time.sleep(0.05)
    yield server, url
    if server.poll() is None:
        server.kill()
    server.wait(timeout=10)


def _api_on(url: str, name: str) -> tuple[Process, str]:
    return start_api(env={**THROTTLE_ENV, "GREENLIGHT_REDIS_URL": url}, name=name)


def test_the_throttle_uses_a_redis_url_with_a_password(
    redis_with_password: tuple[subprocess.Popen[bytes], str],
) -> None:
    _, url = redis_with_password
    api, base = _api_on(url, "api-throttled-password")
    try:
        with client(base, new_address()) as http:
            for _ in range(PER_ADDRESS):
                assert http.get(PROBE, headers=as_key(bad_key())).status_code == 401
            assert_throttled(http.get(PROBE, headers=as_key(bad_key())), "address")
        windows = list(redis.Redis.from_url(url).scan_iter(match=f"{limiter_key_prefix()}:*"))
        assert windows, "the windows are kept in the service's Redis"
    finally:
        api.stop()
    assert get_settings().require_redis_url() != url  # the suite's own Redis was not touched


def test_without_redis_authentication_still_works_and_the_throttle_lets_attempts_through(
    redis_with_password: tuple[subprocess.Popen[bytes], str],
) -> None:
    server, url = redis_with_password
    api, base = _api_on(url, "api-throttled-no-redis")
    try:
        with client(base, new_address()) as http:  # the throttle is on while Redis answers
            for _ in range(PER_ADDRESS):
                http.get(PROBE, headers=as_key(bad_key()))
            assert_throttled(http.get(PROBE, headers=as_key(bad_key())), "address")
        server.kill()
        server.wait(timeout=10)
        key = new_key()
        with client(base, new_address()) as http:
            for _ in range(PER_ADDRESS * 2):  # fail open: never a 429, never a 500
                assert http.get(PROBE, headers=as_key(bad_key())).status_code == 401
            assert http.get(PROBE, headers=as_key(key)).status_code == 200
    finally:
        api.stop()
    assert "auth throttle: Redis did not answer" in api.log_path.read_text(errors="replace")
