"""The Python client (clients/python) against the real server: API process, workers, Redis, database."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from greenlight_client import (
    APIConnectionError,
    AuthenticationError,
    Client,
    ConflictError,
    InternalServerError,
    NotFoundError,
    Operation,
    PermissionDeniedError,
    Persona,
    RateLimitError,
    ValidationError,
    Version,
    WaitTimeoutError,
    WebhookVerificationError,
)
from greenlight_client.webhooks import verify

from greenlight.access import Role
from greenlight.notifications.signing import sign
from tests.client.proxy import DROP, FORWARD, Action, Policy, Seen, proxy, raw_response
from tests.support.http import new_key
from tests.support.notify import receiver
from tests.support.processes import Process, start_worker, wait_until


@pytest.fixture
def user() -> str:
    return f"client-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def gl(api_url: str, worker: Process, user: str) -> Iterator[Client]:
    with Client(api_url, new_key(user), timeout=60) as client:
        yield client


def _persona(gl: Client, prompt: str = "You are a helpful assistant") -> Persona:
    return gl.personas.create("Blandy", personality_prompt=prompt, tags=["client"])


# --- personas and operations --------------------------------------------------------------------


def test_persona_lifecycle_end_to_end(gl: Client) -> None:
    persona = _persona(gl)
    assert persona.current_draft_version is not None and persona.current_production_version is None
    assert gl.personas.get(persona.id) == persona

    first = gl.personas.promote(persona.id, notes="first")
    assert isinstance(first, Persona) and first.current_production_version is not None
    assert first.current_production_version.personality_prompt == "You are a helpful assistant"

    edited = gl.personas.update_draft(persona.id, personality_prompt="v2 prompt")
    assert isinstance(edited, Persona) and edited.current_draft_version is not None
    assert edited.current_draft_version.personality_prompt == "v2 prompt"
    second = gl.personas.promote(
        persona.id, expected_production_version_id=first.current_production_version_id
    )
    assert second.current_production_version is not None
    assert second.current_production_version.personality_prompt == "v2 prompt"

    production = gl.personas.production(persona.id)
    assert production.version.id == second.current_production_version_id
    assert production.persona_id == persona.id and production.etag

    versions = gl.personas.versions(persona.id)
    assert [v.version_number for v in versions] == sorted(v.version_number for v in versions)
    archived = [v for v in versions if v.status == "archived"]
    assert archived and gl.personas.version(persona.id, archived[0].version_number) == archived[0]

    old, new = first.current_production_version, second.current_production_version
    diff = gl.personas.diff(persona.id, old.version_number, new.version_number)
    [change] = [c for c in diff.changes if c.field == "personality_prompt"]
    assert (change.from_, change.to) == ("You are a helpful assistant", "v2 prompt")

    # Rollback: unarchive the first production version, then publish it.
    restored = gl.personas.unarchive(persona.id, old.version_number)
    assert isinstance(restored, Version) and restored.status == "draft"
    rolled_back = gl.personas.publish(persona.id, restored.version_number, notes="rollback")
    assert rolled_back.current_production_version is not None
    assert rolled_back.current_production_version.personality_prompt == "You are a helpful assistant"
    assert gl.personas.production(persona.id).version.version_number == restored.version_number


def test_history_iterates_across_pages(gl: Client) -> None:
    persona = _persona(gl)
    for round_ in range(3):
        gl.personas.update_draft(persona.id, personality_prompt=f"round {round_}")
        gl.personas.promote(persona.id, notes=f"round {round_}")
    history = list(gl.personas.history(persona.id, page_size=1))  # three pages
    assert [p.notes for p in history] == ["round 2", "round 1", "round 0"]
    assert [p.version for p in history] == sorted((p.version for p in history), reverse=True)
    assert len({p.id for p in history}) == 3


def test_wait_false_returns_the_operation_and_operations_wait(gl: Client) -> None:
    persona = _persona(gl)
    edit = gl.personas.update_draft(persona.id, wait=False, personality_prompt="async")
    assert isinstance(edit, Operation) and edit.kind == "draft.update"
    promote = gl.personas.promote(persona.id, wait=False, idempotency_key=f"promote-{persona.id}")
    assert isinstance(promote, Operation) and promote.idempotency_key == f"promote-{persona.id}"
    assert gl.operations.get(promote.id).id == promote.id
    done = gl.operations.wait(promote, timeout=30)
    assert done.status == "succeeded" and done.seq > edit.seq
    assert gl.operations.wait(edit.id, timeout=30).status == "succeeded"
    assert gl.personas.production(persona.id).version.personality_prompt == "async"


def test_a_refused_operation_is_a_typed_error_or_a_failed_operation(gl: Client) -> None:
    persona = _persona(gl)
    promoted = gl.personas.promote(persona.id)
    assert promoted.current_production_version is not None
    number = promoted.current_production_version.version_number
    with pytest.raises(ValidationError) as refused:  # published already: only a draft can be published
        gl.personas.publish(persona.id, number)
    assert refused.value.code == "VERSION_NOT_DRAFT" and refused.value.status == 422
    assert refused.value.details["version"] == number
    failed = gl.operations.wait(gl.personas.publish(persona.id, number, wait=False), timeout=30)
    assert failed.status == "failed" and failed.error is not None
    assert failed.error.error == "VERSION_NOT_DRAFT"


def test_a_wait_that_runs_out_then_resumes_with_the_same_key(
    api_url: str, own_workers: list[Process], user: str
) -> None:
    """No worker: the server holds the answer 2 s (timeout 7 - 5), the client then polls the operation
    until its own timeout; once a worker runs, the same call with the same key gets the outcome."""
    with Client(api_url, new_key(user), timeout=7) as gl:
        persona = _persona(gl)  # made within the request: no worker needed
        key = f"release-{persona.id}"
        started = time.monotonic()
        with pytest.raises(WaitTimeoutError) as ran_out:
            gl.personas.promote(persona.id, idempotency_key=key, timeout=4)
        assert 4 <= time.monotonic() - started < 15
        assert ran_out.value.operation.status == "queued" and ran_out.value.timeout == 4
        own_workers.append(start_worker())
        promoted = gl.personas.promote(persona.id, idempotency_key=key, timeout=60)
        assert promoted.current_production_version_id is not None
        [promotion] = gl.personas.history(persona.id)
        assert promotion.operation_id == ran_out.value.operation.id


# --- typed errors ---------------------------------------------------------------------------------


def test_typed_errors(gl: Client, api_url: str, user: str) -> None:
    persona = _persona(gl)
    promoted = gl.personas.promote(persona.id)

    with pytest.raises(NotFoundError) as missing:
        gl.personas.get(str(uuid.uuid4()))
    assert missing.value.status == 404 and missing.value.code == "NOT_FOUND"
    assert missing.value.request_id and missing.value.message

    gl.personas.update_draft(persona.id, personality_prompt="next")
    with pytest.raises(ConflictError) as moved:
        gl.personas.promote(persona.id, expected_production_version_id=str(uuid.uuid4()))
    assert moved.value.status == 409
    assert gl.personas.get(persona.id).current_production_version_id == promoted.current_production_version_id

    with pytest.raises(ValidationError) as invalid:
        gl.personas.create("")
    assert invalid.value.status == 422 and invalid.value.code == "VALIDATION_ERROR"
    assert invalid.value.details["errors"]

    with (
        Client(api_url, "gl_not-a-real-key", max_retries=0) as stranger,
        pytest.raises(AuthenticationError) as bad,
    ):
        stranger.personas.get(persona.id)
    assert bad.value.status == 401

    with Client(api_url, new_key(user, role=Role.VIEWER)) as viewer:
        assert viewer.personas.get(persona.id).id == persona.id
        with pytest.raises(PermissionDeniedError) as denied:
            viewer.personas.promote(persona.id)
    assert denied.value.status == 403 and denied.value.details["permission"] == "publish"
    assert gl.personas.get(persona.id).current_production_version_id == promoted.current_production_version_id


def test_the_draft_api_error_shape_is_parsed(gl: Client) -> None:
    with pytest.raises(NotFoundError) as missing:
        gl.drafts.get(str(uuid.uuid4()))
    assert missing.value.status == 404 and missing.value.code and missing.value.message


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            {"data": None, "errors": [{"error": "NOT_FOUND", "message": "gone", "details": {"a": 1}}]},
            "NOT_FOUND",
            "gone",
        ),
        (
            {"status": "error", "message": "Version 3 is archived"},
            "VALIDATION_ERROR",
            "Version 3 is archived",
        ),
        (
            {"success": False, "message": "bad ref", "error": "UNKNOWN_ID", "details": {}},
            "UNKNOWN_ID",
            "bad ref",
        ),
    ],
)
def test_the_three_error_shapes(body: dict[str, object], code: str, message: str) -> None:
    from greenlight_client.errors import error_from_response

    response = httpx.Response(422 if code != "NOT_FOUND" else 404, json=body, headers={"x-request-id": "r1"})
    error = error_from_response(response)
    assert (error.code, error.message, error.request_id) == (code, message, "r1")
    assert isinstance(error, NotFoundError if code == "NOT_FOUND" else ValidationError)


# --- retries --------------------------------------------------------------------------------------


def _drop_first(method: str, suffix: str) -> tuple[list[int], Policy]:
    dropped: list[int] = []

    def policy(seen: Seen, index: int) -> Action:
        if seen.method == method and seen.path.endswith(suffix) and not dropped:
            dropped.append(index)
            return DROP
        return FORWARD

    return dropped, policy


def test_a_retry_after_a_lost_answer_never_doubles_a_promotion(
    api_url: str, worker: Process, user: str
) -> None:
    key = new_key(user)
    with Client(api_url, key) as direct:
        persona = _persona(direct)
    dropped, policy = _drop_first("POST", "/versions/promote")
    with proxy(api_url, policy) as relay, Client(relay.url, key) as gl:
        promoted = gl.personas.promote(persona.id, notes="once")
        posts = [s for s in relay.seen if s.method == "POST"]
    assert dropped and len(posts) == 2
    assert posts[0].answer, "the API answered the first attempt (it was dropped on the way back)"
    assert posts[0].headers["idempotency-key"] == posts[1].headers["idempotency-key"]
    with Client(api_url, key) as direct:
        history = list(direct.personas.history(persona.id))
        versions = direct.personas.versions(persona.id)
    assert [p.notes for p in history] == ["once"]
    assert [v.status for v in versions].count("published") == 1
    assert promoted.current_production_version_id == history[0].version_id


def test_a_retry_after_a_lost_answer_creates_one_persona(api_url: str, worker: Process, user: str) -> None:
    _, policy = _drop_first("POST", "/v1/personas")
    with proxy(api_url, policy) as relay, Client(relay.url, new_key(user)) as gl:
        persona = _persona(gl)
        [first, second] = [s for s in relay.seen if s.method == "POST"]
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    lost = json.loads(first.answer.partition(b"\r\n\r\n")[2])["data"]
    assert lost["id"] == persona.id  # the retry was answered with the persona the lost answer carried


def test_5xx_and_429_are_retried_honouring_retry_after(api_url: str, worker: Process, user: str) -> None:
    def policy(seen: Seen, index: int) -> Action:
        if index == 0:
            return raw_response(503)
        if index == 1:
            return raw_response(429, {"retry-after": "1"})
        return FORWARD

    with proxy(api_url, policy) as relay, Client(relay.url, new_key(user)) as gl:
        started = time.monotonic()
        persona = _persona(gl)
        elapsed = time.monotonic() - started
        keys = {s.headers["idempotency-key"] for s in relay.seen}
    assert len(relay.seen) == 3 and len(keys) == 1 and elapsed >= 1.0
    with Client(api_url, new_key(user)) as direct:
        assert direct.personas.get(persona.id).id == persona.id


def test_max_retries_bounds_the_attempts(api_url: str) -> None:
    with proxy(api_url, lambda _seen, _index: raw_response(502)) as relay:
        with Client(relay.url, "key", max_retries=2) as gl, pytest.raises(InternalServerError) as failed:
            gl.operations.get(str(uuid.uuid4()))
        assert failed.value.status == 502 and len(relay.seen) == 3
    with proxy(api_url, lambda _seen, _index: raw_response(429)) as relay:
        with Client(relay.url, "key", max_retries=0) as gl, pytest.raises(RateLimitError):
            gl.operations.get(str(uuid.uuid4()))
        assert len(relay.seen) == 1


def test_an_unreachable_server_is_a_connection_error() -> None:
    with (
        Client("http://127.0.0.1:9", "key", max_retries=1, timeout=2) as gl,
        pytest.raises(APIConnectionError),
    ):
        gl.personas.get("x")


# --- drafts (seed 002) ----------------------------------------------------------------------------


def test_drafts_patch_propose_and_ack(gl: Client) -> None:
    created = gl.drafts.patch(name="Agent", instructions="Be brief")
    assert created.success and created.draft_id
    patched = gl.drafts.patch(created.draft_id, description="A short agent")
    assert patched.draft_id == created.draft_id
    form = gl.drafts.get(created.draft_id)
    assert form.draft_id == created.draft_id and form.form_state == patched.form_state

    proposal = gl.drafts.patch(created.draft_id, soft=True, instructions="Be very brief")
    assert proposal.success and proposal.idempotency_key
    accepted = gl.drafts.ack(proposal.idempotency_key, True, reason="looks good")
    assert accepted.success and accepted.draft_id == created.draft_id
    assert gl.drafts.get(created.draft_id).form_state == accepted.form_state

    rejected = gl.drafts.patch(created.draft_id, soft=True, description="no")
    operation = gl.drafts.ack(rejected.idempotency_key, False, wait=False)
    assert isinstance(operation, Operation)
    assert gl.operations.wait(operation, timeout=30).status == "succeeded"


# --- webhooks -------------------------------------------------------------------------------------


def test_webhook_resource(gl: Client, notifications_worker: Process) -> None:
    with receiver() as hook:
        created = gl.webhooks.create(hook.url, event_types=["version.promoted"], description="ci")
        assert created.secret and created.secret.startswith("whsec_")
        assert [w.id for w in gl.webhooks.list()] == [created.id]
        assert gl.webhooks.get(created.id).secret is None

        updated = gl.webhooks.update(created.id, description="ci hooks", event_types=None)
        assert updated.description == "ci hooks" and updated.event_types is None and updated.enabled
        assert gl.webhooks.update(created.id, enabled=False).enabled is False
        gl.webhooks.update(created.id, enabled=True)

        persona = _persona(gl)
        gl.personas.promote(persona.id)

        def delivered() -> bool:  # persona.created and version.promoted, read one page at a time
            found = list(gl.webhooks.deliveries(created.id, page_size=1))
            return len(found) == 2 and all(d.status == "succeeded" for d in found)

        wait_until(delivered, timeout=30)
        deliveries = list(gl.webhooks.deliveries(created.id, page_size=1))
        assert len({d.id for d in deliveries}) == 2 and deliveries[0].event_type == "version.promoted"
        again = gl.webhooks.redeliver(created.id, deliveries[0].id)
        assert again.id == deliveries[0].id and again.status in ("pending", "sending", "succeeded")
        event_id = deliveries[0].event_id
        wait_until(lambda: sum(r.webhook_id == event_id for r in hook.answered()) == 2, timeout=30)

        rotated = gl.webhooks.rotate_secret(created.id)
        assert rotated.secret and rotated.secret != created.secret
        assert rotated.previous_secret_expires_at is not None

        assert gl.webhooks.delete(created.id).deleted
        with pytest.raises(NotFoundError):
            gl.webhooks.get(created.id)


def test_verify_a_real_delivery_and_refuse_tampering(gl: Client, notifications_worker: Process) -> None:
    with receiver() as hook:
        endpoint = gl.webhooks.create(hook.url, event_types=["version.promoted"])
        assert endpoint.secret
        persona = _persona(gl)
        promoted = gl.personas.promote(persona.id)
        wait_until(lambda: len(hook.answered()) >= 1, timeout=30)
        [request] = hook.answered()

        event = verify(endpoint.secret, request.headers, request.body)
        assert event.type == "version.promoted" and event.persona_id == persona.id
        assert event.data["version_id"] == promoted.current_production_version_id
        assert event.id == request.webhook_id

        tampered = request.body.replace(persona.id.encode(), str(uuid.uuid4()).encode())
        with pytest.raises(WebhookVerificationError):
            verify(endpoint.secret, request.headers, tampered)
        with pytest.raises(WebhookVerificationError):
            verify("whsec_" + base64.b64encode(os.urandom(32)).decode(), request.headers, request.body)
        old = int(time.time()) - 3600
        replayed = {
            **request.headers,
            "webhook-timestamp": str(old),
            "webhook-signature": sign(endpoint.secret, request.webhook_id, old, request.body),
        }
        with pytest.raises(WebhookVerificationError):
            verify(endpoint.secret, replayed, request.body)
        assert verify(endpoint.secret, replayed, request.body, now=old + 10).id == event.id

        # During a rotation each delivery carries both signatures: either secret verifies it.
        rotated = gl.webhooks.rotate_secret(endpoint.id)
        assert rotated.secret
        gl.personas.update_draft(persona.id, personality_prompt="after rotation")
        gl.personas.promote(persona.id)
        wait_until(lambda: len(hook.answered()) >= 2, timeout=30)
        latest = hook.answered()[-1]
        assert len(latest.headers["webhook-signature"].split(" ")) == 2
        assert verify(endpoint.secret, latest.headers, latest.body).id == latest.webhook_id
        assert verify(rotated.secret, latest.headers, latest.body).id == latest.webhook_id
        other = "whsec_" + base64.b64encode(os.urandom(32)).decode()
        assert verify([other, rotated.secret], latest.headers, latest.body).id == latest.webhook_id
        with pytest.raises(WebhookVerificationError):
            verify(other, latest.headers, latest.body)
