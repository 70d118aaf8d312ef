"""Schemathesis hooks for tests/test_fuzz.py (loaded by the schemathesis.toml next to it).

Webhook URLs the fuzzer generates point at a closed loopback port: no lookup of a generated host
name and no delivery can leave the machine, and the endpoint is still created (or refused) on the
rest of its body.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import schemathesis
from schemathesis import Case, HookContext

LOOPBACK = "127.0.0.1:9"  # the discard port: nothing listens there


def _on_loopback(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=LOOPBACK))


@schemathesis.hook
def map_case(context: HookContext, case: Case) -> Case:
    if case.path.startswith("/v1/webhooks") and isinstance(case.body, dict):
        url = case.body.get("url")
        if isinstance(url, str):
            case.body = {**case.body, "url": _on_loopback(url)}
    return case
