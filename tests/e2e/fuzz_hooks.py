"""Schemathesis hooks for tests/e2e/test_fuzz.py (loaded through SCHEMATHESIS_HOOKS).

They give the fuzzer what no schema can say, and leave every rule a schema can say to the document:

- A well-formed Idempotency-Key the fuzzer generates is made unique to its case, at its length:
  generators repeat values ("0", 255 zeros), and the same key with another body is a 422 by the IETF
  draft (state, not a refusal of the data), which would hide the endpoint behind it. Replays are the
  subject of tests/test_idempotency.py; malformed keys are sent as generated.
- Webhook URLs the fuzzer generates point at a closed loopback port: no lookup of a generated host
  name and no delivery can leave the machine, and the endpoint is still created (or refused) on the
  rest of its body. The fuzzer's oldest webhooks are deleted as it makes new ones: a user may hold 50,
  and every phase must be able to create one (the stateful phase starts there).
- A generated ``scheduled_at`` (a valid date-time, in a case meant to be valid) is moved into the
  window a schedule accepts, which depends on the clock: from now to the horizon (a year).
- Every persona the fuzzer creates is given a history, two promotions (asynchronous, applied in
  order by the workers): a production version to read and an archived one to unarchive, which a
  random walk through the links rarely builds in its few steps.
- The fuzzer never removes, demotes or revokes itself: its own user id (in every persona's ``user_id``,
  where schemathesis finds it) and key id in a ``/v1/members/...`` or ``/v1/keys/...`` path are
  replaced by unknown ones. An admin may do that to themselves once another admin exists (the fuzzer
  makes some), and every later case would then be a 401 or 403.
- Schemathesis guesses resources from field names: ``kb_ids`` reads to it as ids of a "Kb" that
  nothing in this API creates, so it would never start its stateful scenarios at ``POST
  /v1/personas``. They are the ids of knowledge bases in the caller's voice platform, opaque to
  Greenlight: the guess is dropped from its analysis.
"""

from __future__ import annotations

import os
import random
import re
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import schemathesis
from schemathesis import Case, GenerationMode, HookContext
from schemathesis.specs.openapi.stateful import dependencies

LOOPBACK = "127.0.0.1:9"  # the discard port: nothing listens there
WELL_FORMED_KEY = re.compile(r"[^\x00-\x1f\x7f]{1,255}")
MAX_KEY = 255
# Fewer than a user may hold (50), so each phase can create its own.
KEPT_WEBHOOKS = 20
# Field-name guesses of schemathesis that name no resource of this API.
NOT_RESOURCES = frozenset({"kb_ids"})
SCHEDULED = ("/versions/promote", "/publish")

_webhooks: deque[str] = deque()
# "user id,key id" of the fuzzer's own key (set by tests/e2e/test_fuzz.py).
SELF_IDS = "GREENLIGHT_FUZZ_SELF_IDS"
_SELF = frozenset(filter(None, os.environ.get(SELF_IDS, "").split(",")))
SELF_PATHS = ("/v1/members/", "/v1/keys/")


def _on_loopback(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=LOOPBACK))


def _unique(value: str) -> str:
    suffix = uuid.uuid4().hex
    if len(value) + 1 + len(suffix) <= MAX_KEY:
        return f"{value}-{suffix}"
    return value[: len(value) - len(suffix)] + suffix  # a long key keeps its length


def _unique_key(case: Case) -> None:
    for name, value in (case.headers or {}).items():
        if name.lower() == "idempotency-key" and isinstance(value, str) and WELL_FORMED_KEY.fullmatch(value):
            case.headers = {**(case.headers or {}), name: _unique(value)}
            return


def _positive(case: Case) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode == GenerationMode.POSITIVE


def _in_schedule_window(body: dict[str, Any]) -> dict[str, Any]:
    value = body.get("scheduled_at")
    if not isinstance(value, str):
        return body
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return body
    at = datetime.now(UTC) + timedelta(days=1 + random.random() * 300)
    return {**body, "scheduled_at": at.isoformat()}


def _without_guesses(analyze: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def analyzed(schema: Any) -> Any:
        graph = analyze(schema)
        for node in graph.operations.values():
            node.inputs = [slot for slot in node.inputs if slot.parameter_name not in NOT_RESOURCES]
        return graph

    return analyzed


# Its dependency analysis runs when first needed, after the schema and its settings are loaded.
dependencies.analyze = _without_guesses(dependencies.analyze)


def _not_itself(case: Case) -> None:
    parameters = case.path_parameters or {}
    if case.path.startswith(SELF_PATHS) and any(str(value) in _SELF for value in parameters.values()):
        case.path_parameters = {
            name: str(uuid.uuid4()) if str(value) in _SELF else value for name, value in parameters.items()
        }


@schemathesis.hook
def map_case(context: HookContext, case: Case) -> Case:
    _unique_key(case)
    _not_itself(case)
    if case.path.startswith("/v1/webhooks") and isinstance(case.body, dict):
        url = case.body.get("url")
        if isinstance(url, str):
            case.body = {**case.body, "url": _on_loopback(url)}
    if case.path.endswith(SCHEDULED) and isinstance(case.body, dict) and _positive(case):
        case.body = _in_schedule_window(case.body)
    return case


def _keep_few_webhooks(base: str, auth: dict[str, str], created: str) -> None:
    _webhooks.append(created)
    if len(_webhooks) > KEPT_WEBHOOKS:
        httpx.delete(f"{base}/v1/webhooks/{_webhooks.popleft()}", headers=auth, timeout=30)


def _give_history(base: str, auth: dict[str, str], persona_id: str) -> None:
    promote = f"{base}/v1/personas/{persona_id}/versions/promote"
    for _ in range(2):  # asynchronous: waiting would cost the run more than the odd step that misses it
        httpx.post(promote, headers={**auth, "Prefer": "respond-async"}, timeout=30)


@schemathesis.hook
def after_call(context: HookContext, case: Case, response: Any) -> None:
    if case.method.upper() != "POST" or response.status_code != 201:
        return
    base = response.request.url.rsplit(case.path, 1)[0]
    auth = {"authorization": response.request.headers["authorization"]}
    if case.path == "/v1/webhooks":
        _keep_few_webhooks(base, auth, response.json()["data"]["id"])
    elif case.path == "/v1/personas":
        _give_history(base, auth, response.json()["data"]["id"])
