"""The `greenlight` command line against the real database, Redis and workers."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from typing import Any

import click
import httpx
import sqlalchemy as sa
from click.testing import CliRunner, Result

from cli.embedded import free_port
from cli.main import main
from greenlight import kinds
from greenlight.db import get_engine, unit_of_work
from greenlight.dispatch import NullDispatcher
from greenlight.models import Operation
from greenlight.operations.engine import Engine
from greenlight.operations.submit import Submission, submit
from greenlight.settings import get_settings
from tests.support.actors import own
from tests.support.http import create_persona, wait_operation
from tests.support.processes import BIN
from tests.support.workloads import abandon_drain
from workers.dispatch import CeleryDispatcher


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), prog_name="greenlight", catch_exceptions=False)


def _commands(
    group: click.Group, prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], click.Command]]:
    found: list[tuple[tuple[str, ...], click.Command]] = [(prefix, group)]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
        else:
            found.append(((*prefix, name), command))
    return found


def test_every_command_explains_itself() -> None:
    commands = _commands(main)
    assert {("ops", "retry"), ("keys", "revoke"), ("webhooks", "deliveries"), ("worker",), ("beat",)} <= {
        path for path, _ in commands
    }
    for path, command in commands:
        result = invoke(*path, "--help")
        assert result.exit_code == 0, path
        assert result.output.startswith(f"Usage: greenlight {' '.join(path)}".rstrip())
        assert command.help, path
        assert " ".join(command.help.split("\n\n")[0].split()) in " ".join(result.output.split()), path


def test_keys_create_list_revoke(client: httpx.Client) -> None:
    user = f"cli-{uuid.uuid4().hex[:8]}"
    created = invoke("keys", "create", "--user", user)
    assert created.exit_code == 0
    key = created.stdout.strip()
    assert key.startswith("gl_")
    assert client.get("/v1/personas/none", headers={"authorization": key}).status_code == 404  # a valid key

    listed = invoke("keys", "list", "--user", user)
    assert key[:10] in listed.stdout and key not in listed.stdout
    assert user in listed.stdout and len(listed.stdout.strip().splitlines()) == 2  # header and one key

    revoked = invoke("keys", "revoke", key[:10] + "…")
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/v1/personas/none", headers={"authorization": key}).status_code == 401
    assert (
        invoke("keys", "list", "--user", user).stdout.splitlines()[1].split()[-1].endswith("Z")
    )  # revoked at

    missing = invoke("keys", "revoke", "gl_nothing")
    assert missing.exit_code == 1
    assert missing.output.strip() == "Error: No such API key"


def _refused_operation(persona: dict[str, str]) -> Operation:
    """An operation the workers refuse: a kind no handler knows."""
    op = submit(
        own(persona["user_id"]), Submission("test.unknown_kind", {}, persona["id"]), CeleryDispatcher()
    )
    return op


def test_ops_list_filters_and_show(client: httpx.Client, auth: dict[str, str]) -> None:
    persona = create_persona(client, auth)
    edit = client.patch(f"/v1/personas/{persona['id']}/draft", json={"role": "guide"}, headers=auth)
    refused = _refused_operation(persona)
    wait_operation(client, auth, edit.json()["data"]["id"])
    wait_operation(client, auth, refused.id)

    table = invoke("ops", "list", "--persona", persona["id"])
    assert table.exit_code == 0
    lines = table.stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["ID", "KIND", "STATUS"] and len(lines) == 4
    assert [line.split()[1] for line in lines[1:]] == ["test.unknown_kind", "draft.update", "persona.create"]

    edits = invoke("ops", "list", "--persona", persona["id"], "--kind", "draft.update", "--json")
    assert [json.loads(line)["id"] for line in edits.stdout.splitlines()] == [edit.json()["data"]["id"]]
    failed = invoke("ops", "list", "--persona", persona["id"], "--status", "failed", "--json")
    assert [json.loads(line)["id"] for line in failed.stdout.splitlines()] == [refused.id]
    assert invoke("ops", "list", "--persona", persona["id"], "--status", "pending").stdout == ""

    shown = invoke("ops", "show", refused.id[:13])
    assert shown.exit_code == 0
    assert f"id:              {refused.id}" in shown.stdout
    assert "status:          failed" in shown.stdout and "UNPROCESSABLE" in shown.stdout
    as_json = json.loads(invoke("ops", "show", refused.id, "--json").stdout)
    assert as_json["error"]["error"] == "UNPROCESSABLE" and as_json["payload"] == {}

    missing = invoke("ops", "show", "00000000-not-an-operation")
    assert missing.exit_code == 1
    assert missing.output.strip() == "Error: No operation 00000000-not-an-operation"


def _given_up_promotion(persona: dict[str, str]) -> Operation:
    """A promotion whose message kept killing workers: given up with TOO_MANY_ATTEMPTS."""
    op = submit(
        own(persona["user_id"]), Submission(kinds.PERSONA_PROMOTE.name, {}, persona["id"]), NullDispatcher()
    )
    with unit_of_work() as session:
        session.execute(
            sa.update(Operation).where(Operation.id == op.id).values(attempts=get_settings().max_attempts)
        )
    abandon_drain(persona["id"])  # and the last of those workers died mid-drain, like the others
    Engine(kinds.REGISTRY).drain(persona["id"])
    with unit_of_work() as session:
        given_up = session.get(Operation, op.id)
    assert given_up is not None and given_up.status == "failed"
    assert (given_up.error or {})["error"] == "TOO_MANY_ATTEMPTS"
    return given_up


def test_retry_of_a_failed_operation_appends_a_new_one(client: httpx.Client, auth: dict[str, str]) -> None:
    persona = create_persona(client, auth)
    failed = _given_up_promotion(persona)

    result = invoke("ops", "retry", failed.id[:12], "--wait", "--timeout", "30")
    assert result.exit_code == 0, result.output
    assert f"{failed.id} had failed (TOO_MANY_ATTEMPTS); retried as " in result.stdout
    new_id = result.stdout.split("retried as ")[1].split()[0]
    assert f"{new_id} succeeded" in result.stdout
    assert f"operation {new_id}: succeeded" in result.stderr  # the progress display
    with unit_of_work() as session:
        new = session.get(Operation, new_id)
        old = session.get(Operation, failed.id)
    assert new is not None and old is not None
    assert (new.kind, new.payload, new.persona_id, new.status) == (
        "persona.promote",
        {},
        persona["id"],
        "succeeded",
    )
    assert new.seq > old.seq and old.status == "failed"  # the failure stays in the history
    production = client.get(f"/v1/personas/{persona['id']}", headers=auth).json()["data"]
    assert production["current_production_version"]["version_number"] == 2

    again = invoke("ops", "retry", failed.id)
    assert again.exit_code == 0
    assert f"already retried as {new_id}, which is succeeded" in again.stdout
    done = invoke("ops", "retry", new_id)
    assert done.exit_code == 1
    assert done.output.strip() == f"Error: Operation {new_id} succeeded; there is nothing to retry"


def test_retry_that_fails_again_exits_non_zero(client: httpx.Client, auth: dict[str, str]) -> None:
    persona = create_persona(client, auth)
    refused = _refused_operation(persona)
    wait_operation(client, auth, refused.id)
    result = invoke("ops", "retry", refused.id, "--wait", "--timeout", "30")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("Error: ")
    assert "failed: UNPROCESSABLE: Unknown operation kind" in result.output


def test_retry_re_enqueues_a_stuck_operation(client: httpx.Client, auth: dict[str, str]) -> None:
    persona = create_persona(client, auth)
    # Accepted, but its message never reached the broker.
    started = time.monotonic()
    stuck = submit(
        own(persona["user_id"]), Submission(kinds.PERSONA_PROMOTE.name, {}, persona["id"]), NullDispatcher()
    )
    result = invoke("ops", "retry", stuck.id, "--wait", "--timeout", "30")
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert f"{stuck.id} is queued; sent to the workers again" in result.stdout
    assert f"{stuck.id} succeeded" in result.stdout
    # Sooner than the sweeper may re-send it (once older than GREENLIGHT_SWEEP_AFTER_SECONDS: 3 s in tests).
    assert elapsed < get_settings().sweep_after_seconds


def test_webhooks_deliveries_until_the_feature_lands(services: dict[str, str]) -> None:
    result = invoke("webhooks", "deliveries")
    if sa.inspect(get_engine()).has_table("webhook_deliveries"):
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 1
        assert result.output.strip() == (
            "Error: webhooks are not available in this deployment (no webhook_deliveries table)"
        )


def test_migrate_is_a_no_op_when_current(services: dict[str, str]) -> None:
    result = invoke("migrate")
    assert result.exit_code == 0 and "database is up to date" in result.stdout


def test_expected_failures_are_one_line_without_a_traceback(tmp_path: object) -> None:
    cases = {
        f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none": "Error: cannot use the database: ",
        f"sqlite:///{tmp_path}/empty.db": "run `greenlight migrate`",
    }
    for url, expected in cases.items():
        run = subprocess.run(
            [str(BIN / "greenlight"), "ops", "list"],
            env={**os.environ, "GREENLIGHT_DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 1, run.stderr
        assert run.stdout == ""
        assert len(run.stderr.strip().splitlines()) == 1 and expected in run.stderr, run.stderr


def _whoami(client: httpx.Client, key: str) -> dict[str, Any]:
    response = client.get("/v1/workspace", headers={"authorization": key})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def test_keys_create_puts_a_newcomer_in_their_own_workspace_or_in_a_named_one(client: httpx.Client) -> None:
    newcomer = f"cli-{uuid.uuid4().hex[:8]}"
    own_key = invoke("keys", "create", "--user", newcomer).stdout.strip()
    me = _whoami(client, own_key)
    assert me["workspace"] == {"id": me["user"]["id"], "name": newcomer} and me["role"] == "admin"

    team, lead, dev = (
        f"team-{uuid.uuid4().hex[:8]}",
        f"lead-{uuid.uuid4().hex[:6]}",
        f"dev-{uuid.uuid4().hex[:6]}",
    )
    lead_key = invoke("keys", "create", "--user", lead, "--workspace", team).stdout.strip()
    as_lead = _whoami(client, lead_key)
    assert as_lead["workspace"]["name"] == team and as_lead["role"] == "admin"  # it created the workspace
    joined = invoke("keys", "create", "--user", dev, "--workspace", team, "--role", "editor")
    assert joined.exit_code == 0, joined.output
    as_dev = _whoami(client, joined.stdout.strip())
    assert as_dev["workspace"] == as_lead["workspace"] and as_dev["role"] == "editor"
    assert as_dev["key"]["role"] is None
    # A member already: --role narrows the key, never widens it.
    narrow = _whoami(
        client,
        invoke("keys", "create", "--user", dev, "--workspace", team, "--role", "viewer").stdout.strip(),
    )
    assert narrow["role"] == "editor" and narrow["key"]["role"] == "viewer"
    wide = invoke("keys", "create", "--user", dev, "--workspace", team, "--role", "admin")
    assert wide.exit_code == 1 and "wider" in wide.output

    # The two members share the workspace's personas; the newcomer's own workspace sees none of them.
    persona = create_persona(client, {"authorization": joined.stdout.strip()})
    assert client.get(f"/v1/personas/{persona['id']}", headers={"authorization": lead_key}).status_code == 200
    assert client.get(f"/v1/personas/{persona['id']}", headers={"authorization": own_key}).status_code == 404
    listed = invoke("keys", "list", "--workspace", team).stdout
    assert len(listed.strip().splitlines()) == 4 and "viewer" in listed  # header and three keys
