"""A tiny HTTP/1.1 proxy on 127.0.0.1 in front of the real API, whose policy can drop or fake answers.

It reads each request the client sends on a kept-alive connection, and by its policy either relays it
to the API and relays the answer, relays it and then closes the client's connection without a word
(the server committed, the client never learns it), or answers something itself (a 503, a 429).
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    answer: bytes = b""  # what the API answered (the raw response), when it was asked


FORWARD: Literal["forward"] = "forward"
DROP: Literal["drop"] = "drop"  # forward, wait for the API's answer, then close without relaying it
Action = Literal["forward", "drop"] | bytes  # bytes: answer this raw response instead of the API
Policy = Callable[[Seen, int], Action]


def raw_response(status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _read_head(stream: socket.socket, buffer: bytearray) -> bytes | None:
    while b"\r\n\r\n" not in buffer:
        chunk = stream.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    buffer[:] = rest
    return head


def _read_exact(stream: socket.socket, buffer: bytearray, length: int) -> bytes:
    while len(buffer) < length:
        chunk = stream.recv(65536)
        if not chunk:
            raise ConnectionError("closed mid-body")
        buffer += chunk
    body = bytes(buffer[:length])
    del buffer[:length]
    return body


def _headers(head: bytes) -> tuple[str, dict[str, str]]:
    first, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return first, headers


def read_message(stream: socket.socket, buffer: bytearray) -> tuple[str, dict[str, str], bytes] | None:
    """One request or response with a Content-Length body (all the API's JSON answers have one)."""
    head = _read_head(stream, buffer)
    if head is None:
        return None
    first, headers = _headers(head)
    assert "chunked" not in headers.get("transfer-encoding", ""), "the proxy relays only sized bodies"
    body = _read_exact(stream, buffer, int(headers.get("content-length", "0")))
    return first, headers, head + b"\r\n\r\n" + body


@dataclass
class Proxy:
    upstream: tuple[str, int]
    policy: Policy
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def relay(self, client: socket.socket) -> None:
        inbound = bytearray()
        with socket.create_connection(self.upstream) as api:
            outbound = bytearray()
            while (request := read_message(client, inbound)) is not None:
                first, headers, raw = request
                method, path, _ = first.split(" ", 2)
                seen = Seen(method, path, headers, raw.partition(b"\r\n\r\n")[2])
                with self.lock:
                    index = len(self.seen)
                    self.seen.append(seen)
                action = self.policy(seen, index)
                if isinstance(action, bytes):
                    client.sendall(action)
                    continue
                api.sendall(raw)
                answer = read_message(api, outbound)
                assert answer is not None, "the API closed the connection"
                seen.answer = answer[2]
                if action == DROP:
                    return  # the API has answered (and committed); the client hears nothing
                client.sendall(seen.answer)


@contextmanager
def proxy(api_url: str, policy: Policy) -> Iterator[Proxy]:
    parts = urlsplit(api_url)
    state = Proxy((parts.hostname or "127.0.0.1", parts.port or 80), policy)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            with suppress(ConnectionError, OSError):
                state.relay(self.request)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
