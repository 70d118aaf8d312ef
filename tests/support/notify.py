"""Real local receivers for notification tests: a threaded HTTP server and an SSE reader."""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


@dataclass
class Request:
    headers: dict[str, str]
    body: bytes
    at: float
    status: int = 0

    @property
    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


# A policy sees the request (and how many came before it) and answers (status, extra headers).
Policy = Callable[[Request, int], tuple[int, dict[str, str]]]


def always(status: int) -> Policy:
    return lambda _request, _index: (status, {})


@dataclass
class Receiver:
    """Records every request, answers with its policy; ``url`` is on 127.0.0.1."""

    policy: Policy = field(default_factory=lambda: always(200))
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def snapshot(self) -> list[Request]:
        with self.lock:
            return list(self.requests)

    def answered(self, status: int = 200) -> list[Request]:
        return [r for r in self.snapshot() if r.status == status]


@contextmanager
def receiver(policy: Policy | None = None, host: str = "127.0.0.1") -> Iterator[Receiver]:
    state = Receiver(policy=policy or always(200))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            if len(body) < length:  # the sender died mid-request: nothing was delivered
                return
            request = Request({k.lower(): v for k, v in self.headers.items()}, body, time.time())
            with state.lock:
                index = len(state.requests)
                state.requests.append(request)
            status, headers = state.policy(request, index)
            request.status = status
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()
            except OSError:
                pass  # the sender is gone (killed): nobody reads this answer

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    state.url = f"http://{host}:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Event:
    id: str
    type: str
    data: dict[str, Any]
    received_at: float


class SSEClient:
    """Reads a real /v1/events stream in a thread; events land in ``events`` (a queue)."""

    def __init__(self, base_url: str, headers: dict[str, str], params: dict[str, Any] | None = None):
        self.events: queue.Queue[Event] = queue.Queue()
        self.connected = threading.Event()
        self.status: int | None = None
        self._client = httpx.Client(base_url=base_url, timeout=httpx.Timeout(60, read=60))
        self._response: httpx.Response | None = None
        self._thread = threading.Thread(target=self._run, args=(headers, params or {}), daemon=True)
        self._thread.start()
        if not self.connected.wait(20):
            raise AssertionError("the event stream did not open")

    def _run(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        try:
            with self._client.stream("GET", "/v1/events", headers=headers, params=params) as response:
                self._response = response
                self.status = response.status_code
                fields: dict[str, str] = {}
                for line in response.iter_lines():
                    if line.startswith(": connected"):
                        self.connected.set()
                    elif line == "":
                        if "data" in fields:
                            self.events.put(
                                Event(
                                    fields.get("id", ""),
                                    fields.get("event", ""),
                                    json.loads(fields["data"]),
                                    time.time(),
                                )
                            )
                        fields = {}
                    elif not line.startswith(":"):
                        name, _, value = line.partition(":")
                        fields[name] = value.removeprefix(" ")
        except (httpx.HTTPError, RuntimeError, ValueError):
            pass
        finally:
            self.connected.set()

    def next(self, timeout: float = 10) -> Event:
        return self.events.get(timeout=timeout)

    def close(self) -> None:
        """Hang up like a client that goes away: shut the socket under the blocked reader."""
        if self._response is not None:
            stream = self._response.extensions.get("network_stream")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(10)
        assert not self._thread.is_alive(), "the event stream reader did not stop"
        self._client.close()
