"""A lean HTTP/1.1 keep-alive client for the bursts, on asyncio streams.

httpx cost the 2-core machine about a millisecond of CPU per request, a fifth of what a promotion
costs end to end, so a burst measured the client as much as the servers (the requests-per-second
figures use wrk for the same reason). This one writes prepared requests and reads each response by
its Content-Length; it is only ever pointed at this machine's own servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any
from urllib.parse import urlsplit


def prepare(method: str, base: str, path: str, headers: dict[str, str], body: Any) -> bytes:
    """The bytes of one request, built once per path."""
    host = urlsplit(base).netloc
    payload = b"" if body is None else json.dumps(body).encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(payload)}"]
    if body is not None:
        lines.append("Content-Type: application/json")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


class Connection:
    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        if parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
            raise SystemExit(f"load is only sent to this machine, not {base}")
        self._host, self._port = parts.hostname, parts.port or 80
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        return self._reader, self._writer

    async def request(self, data: bytes) -> int:
        """Send one prepared request; its status (the body is read and dropped)."""
        reused = self._reader is not None
        try:
            return await self._exchange(data)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            partial = exc.partial if isinstance(exc, asyncio.IncompleteReadError) else b""
            if not reused or partial:
                raise
            # The server closed a connection that sat idle past its keep-alive before it read this
            # request (nothing came back): send it again on a new one, as any HTTP client does.
            await self.close()
            return await self._exchange(data)

    async def _exchange(self, data: bytes) -> int:
        reader, writer = await self._open()
        writer.write(data)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, close = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                close = value.strip().lower() == b"close"
            elif name == b"transfer-encoding":
                raise SystemExit("rawhttp reads Content-Length bodies only")
        if length:
            await reader.readexactly(length)
        if close:
            await self.close()
        return status

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):  # the server went first
                await self._writer.wait_closed()
        self._reader = self._writer = None
