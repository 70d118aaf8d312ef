"""Schemathesis hooks for tests/e2e/test_fuzz.py (loaded through SCHEMATHESIS_HOOKS).

A well-formed Idempotency-Key the fuzzer generates is made unique to its case: generators repeat
short values ("0"), and the same key with another body is a 422 by the IETF draft (state, not a
refusal of the data), which would hide the endpoint behind it. Replays are the subject of
tests/e2e/test_idempotency.py; malformed keys are sent as generated.

Webhook URLs the fuzzer generates point at a closed loopback port: no lookup of a generated host
name and no delivery can leave the machine, and the endpoint is still created (or refused) on the
rest of its body.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit, urlunsplit

import schemathesis
from schemathesis import Case, HookContext

LOOPBACK = "127.0.0.1:9"  # the discard port: nothing listens there
WELL_FORMED_KEY = re.compile(r"[^\x00-\x1f\x7f]{1,200}")


def _on_loopback(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=LOOPBACK))


def _unique_key(case: Case) -> None:
    for name, value in (case.headers or {}).items():
        if name.lower() == "idempotency-key" and isinstance(value, str) and WELL_FORMED_KEY.fullmatch(value):
            case.headers = {**(case.headers or {}), name: f"{value}-{uuid.uuid4().hex}"}
            return


@schemathesis.hook
def map_case(context: HookContext, case: Case) -> Case:
    _unique_key(case)
    if case.path.startswith("/v1/webhooks") and isinstance(case.body, dict):
        url = case.body.get("url")
        if isinstance(url, str):
            case.body = {**case.body, "url": _on_loopback(url)}
    return case
