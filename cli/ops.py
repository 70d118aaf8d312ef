"""`greenlight ops`: find operations, look at one, retry a failed or stuck one."""

from __future__ import annotations

import json
from typing import Any

import click

from cli.output import table, timestamp, wait_with_progress
from greenlight.db import unit_of_work
from greenlight.dispatch import Dispatcher
from greenlight.models import Operation, OperationStatus
from greenlight.operations import admin
from greenlight.operations.query import is_terminal, operation_to_dict


@click.group()
def ops() -> None:
    """Inspect and retry operations (every user's: this is an operator tool)."""


@ops.command("list")
@click.option(
    "--status", type=click.Choice(admin.STATUS_FILTERS), help="Only this status (pending: queued or running)."
)
@click.option("--persona", "persona_id", help="Only this persona's operations.")
@click.option("--kind", help="Only this kind, e.g. persona.promote.")
@click.option(
    "--limit", type=click.IntRange(1, 10_000), default=20, show_default=True, help="At most this many."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of a table.")
def list_ops(status: str | None, persona_id: str | None, kind: str | None, limit: int, as_json: bool) -> None:
    """List operations, newest first."""
    filters = admin.OperationFilter(status=status, persona_id=persona_id, kind=kind, limit=limit)
    with unit_of_work() as session:
        found = admin.list_operations(session, filters)
    if as_json:
        for op in found:
            click.echo(json.dumps(operation_to_dict(op)))
        return
    if not found:
        click.echo("no operations match", err=True)
        return
    rows = [
        [
            op.id,
            op.kind,
            op.status,
            op.persona_id,
            op.seq,
            op.attempts,
            timestamp(op.created_at),
            _error_code(op),
        ]
        for op in found
    ]
    click.echo(table(["ID", "KIND", "STATUS", "PERSONA", "SEQ", "TRIES", "CREATED", "ERROR"], rows))


@ops.command("show")
@click.argument("operation_id")
@click.option("--json", "as_json", is_flag=True, help="The operation as JSON.")
def show(operation_id: str, as_json: bool) -> None:
    """Show one operation (its id, or a unique prefix of 8 characters or more)."""
    with unit_of_work() as session:
        op = admin.find_operation(session, operation_id)
        body: dict[str, Any] = {**operation_to_dict(op), "user_id": op.user_id, "payload": op.payload}
    if as_json:
        click.echo(json.dumps(body, indent=2))
        return
    for name in ("id", "kind", "status", "persona_id", "user_id", "seq", "attempts", "idempotency_key"):
        click.echo(f"{name + ':':<17}{body[name] if body[name] is not None else '-'}")
    for name in ("created_at", "started_at", "finished_at"):
        click.echo(f"{name + ':':<17}{body[name] or '-'}")
    click.echo(f"{'payload:':<17}{json.dumps(op.payload)}")
    if body["error"]:
        error = body["error"]
        click.echo(f"{'error:':<17}{error['error']}: {error['message']} {json.dumps(error['details'])}")
    if body["result"] is not None:
        click.echo(f"{'result:':<17}{_summary(body['result'])}")


@ops.command("retry")
@click.argument("operation_id")
@click.option("--wait/--no-wait", default=False, help="Wait for the outcome, showing progress.")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds to wait with --wait.")
def retry(operation_id: str, wait: bool, timeout: float) -> None:
    """Retry a failed operation, or re-enqueue a stuck (queued or running) one.

    \b
    failed:            a NEW operation with the same kind and payload is appended to the
                       persona's sequence (the failure stays in the history); retrying the
                       same failed operation again returns that same new operation.
    queued / running:  the operation is sent to the workers again; it applies once, in order.
    succeeded:         refused.
    """
    outcome = admin.retry(operation_id, _dispatcher())
    original, op = outcome.original, outcome.operation
    if outcome.action == "resubmitted":
        click.echo(f"{original.id} had failed ({_error_code(original)}); retried as {op.id} (seq {op.seq})")
    elif outcome.action == "already_retried":
        click.echo(f"{original.id} was already retried as {op.id}, which is {op.status}")
    else:
        click.echo(f"{original.id} is {original.status}; sent to the workers again")
    if not wait:
        return
    final = _wait(op.id, timeout)
    if final.status == OperationStatus.SUCCEEDED.value:
        click.echo(f"{final.id} succeeded")
    elif final.status == OperationStatus.FAILED.value:
        raise click.ClickException(
            f"{final.id} failed: {_error_code(final)}: {(final.error or {}).get('message')}"
        )
    else:
        raise click.ClickException(f"{final.id} is still {final.status} after {timeout:g}s")


def _wait(operation_id: str, timeout: float) -> Operation:
    latest: list[Operation] = []

    def poll() -> tuple[bool, str]:
        op = admin.reload(operation_id)
        latest[:] = [op]
        return is_terminal(op), op.status

    wait_with_progress(f"operation {operation_id}", poll, timeout)
    return latest[-1]


def _dispatcher() -> Dispatcher:
    # The command line is a shell like api/: it hands work to the Celery workers through the
    # domain's Dispatcher port, loaded here so that importing `greenlight` never loads Celery.
    from greenlight.redis_client import get_redis

    get_redis().ping()  # fail now, with one line, rather than report a send that did not happen
    from workers.dispatch import CeleryDispatcher

    return CeleryDispatcher()


def _error_code(op: Operation) -> str:
    return str((op.error or {}).get("error") or "")


def _summary(result: dict[str, Any]) -> str:
    persona = result.get("persona")
    if isinstance(persona, dict):
        production = persona.get("current_production_version") or {}
        draft = persona.get("current_draft_version") or {}
        return (
            f"persona {persona.get('id')}: production v{production.get('version_number', '-')}, "
            f"draft v{draft.get('version_number', '-')}"
        )
    return json.dumps(result)[:200]
