"""Request bodies over GREENLIGHT_MAX_BODY_BYTES: 413 in the endpoint's shape, without reading them whole."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from greenlight.settings import get_settings
from tests.support.http import create_persona
from tests.support.tenants import error_of, footprint, settle, user_id_of

LIMIT = get_settings().max_body_bytes
CHUNK = 64 * 1024


def _endpoints(persona_id: str) -> list[tuple[str, str]]:
    return [
        ("POST", "/v1/personas"),
        ("PATCH", f"/v1/personas/{persona_id}/draft"),
        ("POST", f"/v1/personas/{persona_id}/versions/promote"),
        ("POST", f"/publish-agent-version/{persona_id}"),
        ("POST", "/persona/draft"),
    ]


def _padded(size: int) -> bytes:
    """A valid JSON body of exactly `size` bytes: a name, then whitespace."""
    head = b'{"name": "padded"}'
    return head + b" " * (size - len(head))


def _chunks(total: int) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        chunk = b" " * min(CHUNK, total - sent)
        sent += len(chunk)
        yield chunk


@pytest.fixture
def persona_id(client: httpx.Client, auth: dict[str, str]) -> str:
    return str(create_persona(client, auth)["id"])


def _assert_413(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["connection"] == "close"
    error = error_of(response)
    assert error["error"] in ("PAYLOAD_TOO_LARGE", None)  # Retell's shape carries no code
    assert str(LIMIT) in error["message"]


def test_over_the_limit_by_content_length_or_chunked_is_413(
    client: httpx.Client, api_key: str, auth: dict[str, str], persona_id: str
) -> None:
    user_id = user_id_of(api_key)
    settle(user_id)
    before = footprint(user_id)
    headers = {**auth, "content-type": "application/json", "Prefer": "respond-async"}
    for method, url in _endpoints(persona_id):
        declared = client.request(method, url, content=_padded(LIMIT + 1), headers=headers)
        _assert_413(declared)
        streamed = client.request(method, url, content=_chunks(4 * LIMIT), headers=headers)
        assert "content-length" not in streamed.request.headers  # sent chunked
        _assert_413(streamed)
    settle(user_id)
    assert footprint(user_id) == before
    # At the limit exactly, the body is read and the request served.
    at_limit = client.post("/v1/personas", content=_padded(LIMIT), headers={**headers, "Prefer": "wait=30"})
    assert at_limit.status_code == 201, at_limit.text


def _raw_request(api_url: str, head: bytes, body_chunks: Iterator[bytes]) -> bytes:
    """Send the head and the chunks on a raw socket, then read the answer; never finish the body."""
    parts = urlsplit(api_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head)
        for chunk in body_chunks:
            sock.sendall(chunk)
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)  # times out (the test fails) if the server waits for more body
            if not data:
                break
            answer += data
        return answer


def test_refused_before_the_body_is_read(api_url: str, auth: dict[str, str]) -> None:
    host = urlsplit(api_url).netloc.encode()
    key = auth["authorization"].encode()
    # Declares 10 GB and sends none of it: answered at once from the header alone.
    head = (
        b"POST /v1/personas HTTP/1.1\r\nHost: "
        + host
        + b"\r\nauthorization: "
        + key
        + b"\r\ncontent-type: application/json\r\ncontent-length: 10000000000\r\n\r\n"
    )
    answer = _raw_request(api_url, head, iter(()))
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]

    # Chunked, past the limit, and never terminated: refused once the limit is crossed.
    head = (
        b"POST /persona/draft HTTP/1.1\r\nHost: "
        + host
        + b"\r\nauthorization: "
        + key
        + b"\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    framed = (b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in _chunks(LIMIT + CHUNK))
    answer = _raw_request(api_url, head, framed)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
