"""Requests per second a server answers: with wrk when installed, else the Python client.

wrk (Debian's package) is written in C and costs the 2-core machine far less than any Python
client, so the servers, not the client, are measured. Any non-2xx answer breaks the bench.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.load import generate
from bench.stack import BenchError


@dataclass(frozen=True)
class HttpLoad:
    base: str
    paths: list[str]
    method: str = "GET"
    headers: dict[str, str] | None = None
    body: Any = None


def client_name() -> str:
    return "wrk" if shutil.which("wrk") else "httpx"


def _lua(load: HttpLoad) -> str:
    lines = [f"wrk.method = {json.dumps(load.method)}"]
    for name, value in (load.headers or {}).items():
        lines.append(f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}")
    if load.body is not None:
        lines.append('wrk.headers["Content-Type"] = "application/json"')
        lines.append(f"wrk.body = {json.dumps(json.dumps(load.body))}")
    paths = ", ".join(json.dumps(path) for path in load.paths)
    lines += [
        f"local paths = {{{paths}}}",
        "local i = 0",
        "request = function()",
        "  i = i % #paths + 1",
        "  return wrk.format(nil, paths[i])",
        "end",
    ]
    return "\n".join(lines) + "\n"


def _wrk(load: HttpLoad, seconds: int, connections: int) -> float:
    if urlsplit(load.base).hostname not in {"127.0.0.1", "localhost"}:
        raise BenchError(f"load is only sent to this machine, not {load.base}")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_lua(load))
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{max(1, seconds)}s", "--timeout", "10s",
             "-s", script.name, load.base],
            capture_output=True, text=True, timeout=seconds + 60, check=False,
        ).stdout  # fmt: skip
    finally:
        Path(script.name).unlink(missing_ok=True)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if rate is None or total is None:
        raise BenchError(f"could not read wrk's output:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = int(bad.group(1)) if bad else 0
    failed += sum(int(n) for n in errors.groups()) if errors else 0
    if failed > int(total.group(1)) // 100:
        raise BenchError(f"{failed} failed requests against {load.base}{load.paths[0]}:\n{out}")
    return float(rate.group(1))


def max_rate(load: HttpLoad, seconds: int, connections: int, env: dict[str, str]) -> float:
    """Requests per second answered with 2xx, `connections` kept busy for `seconds`."""
    if shutil.which("wrk"):
        return _wrk(load, seconds, connections)
    result = generate(
        {
            "mode": "http_max",
            "base": load.base,
            "paths": load.paths,
            "method": load.method,
            "headers": load.headers or {},
            "body": load.body,
            "seconds": seconds,
            "connections": connections,
        },
        env,
    )
    bad = sum(n for code, n in result["statuses"].items() if not 200 <= int(code) < 300)
    if bad > result["requests"] // 100:
        raise BenchError(f"{bad} failed requests against {load.base}{load.paths[0]}: {result['statuses']}")
    return float(result["rate"])
