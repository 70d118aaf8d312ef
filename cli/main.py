"""The ``greenlight`` command line."""

from __future__ import annotations

import os
from typing import Any

import click

from cli.errors import GreenlightGroup
from cli.ops import ops
from cli.output import table, timestamp
from cli.processes import ENGINE_QUEUES
from cli.webhooks import webhooks
from greenlight import keys as keys_service
from greenlight.access import Role
from greenlight.db import unit_of_work


@click.group(cls=GreenlightGroup)
def main() -> None:
    """Greenlight: review, promote and roll back versioned AI-agent personas.

    Settings come from GREENLIGHT_* environment variables (see README).
    """


main.add_command(ops)
main.add_command(webhooks)


@main.command()
def migrate() -> None:
    """Apply database migrations up to the newest."""
    from greenlight.migrate import upgrade

    upgrade()
    click.echo("database is up to date")


@main.group()
def keys() -> None:
    """Manage API keys (only their hashes are stored)."""


@keys.command("create")
@click.option("--user", "user_name", required=True, help="User the key belongs to (created if new).")
@click.option(
    "--workspace",
    default=None,
    help="Workspace (by name) the key acts in, created if new (its creator becomes its admin); the user "
    "joins it if not a member. Default: the user's own workspace (created, the user its admin).",
)
@click.option(
    "--role",
    type=click.Choice([role.value for role in Role]),
    default=None,
    help="A narrower role for this key than its user's (e.g. proposer for an agent's key); with "
    "--workspace, the role the user joins with (default viewer).",
)
def keys_create(user_name: str, workspace: str | None, role: str | None) -> None:
    """Create an API key; it is printed once and only its hash is stored."""
    with unit_of_work() as session:
        key, raw = keys_service.create_key(session, user_name, Role(role) if role else None, workspace)
        key_id, workspace_id = key.id, key.workspace_id
    click.echo(raw)
    click.echo(f"key id {key_id} for user {user_name} in workspace {workspace or workspace_id}", err=True)


@keys.command("list")
@click.option("--user", "user_name", default=None, help="Only this user's keys.")
@click.option("--workspace", default=None, help="Only this workspace's keys (by name).")
def keys_list(user_name: str | None, workspace: str | None) -> None:
    """List keys: id, prefix, user, workspace, role, created and revoked times (never the key itself)."""
    with unit_of_work() as session:
        rows: list[list[Any]] = [
            [
                key.id,
                key.prefix + "…",
                user.name,
                found.name,
                key.role or "-",
                timestamp(key.created_at),
                timestamp(key.revoked_at) or "-",
            ]
            for key, user, found in keys_service.list_keys(session, user_name, workspace)
        ]
    if not rows:
        click.echo("no keys", err=True)
        return
    click.echo(table(["ID", "PREFIX", "USER", "WORKSPACE", "ROLE", "CREATED", "REVOKED"], rows))


@keys.command("revoke")
@click.argument("key")
def keys_revoke(key: str) -> None:
    """Revoke a key, given its id or its prefix (as `keys list` shows it, without the …).

    Requests with it are refused at once (401).
    """
    with unit_of_work() as session:
        revoked = keys_service.revoke_key(session, key.rstrip("…"))
        click.echo(f"revoked key {revoked.id} ({revoked.prefix}…) at {timestamp(revoked.revoked_at)}")


@main.command()
def run() -> None:
    """Run the whole service locally: Redis (embedded unless set), API, worker, beat and Flower."""
    from cli.embedded import run_stack

    run_stack()


@main.command()
@click.option("--workers", type=int, default=None, help="Worker processes [GREENLIGHT_API_WORKERS].")
@click.option("--host", default=None, help="Interface to listen on [GREENLIGHT_API_HOST].")
@click.option("--port", type=int, default=None, help="Port [GREENLIGHT_API_PORT].")
def api(workers: int | None, host: str | None, port: int | None) -> None:
    """Serve the API: gunicorn with uvicorn workers (see api/gunicorn_conf.py for why)."""
    from cli.processes import api_command

    _exec(api_command(workers, host, port))


@main.command()
@click.option(
    "--queues",
    "-Q",
    default=ENGINE_QUEUES,
    show_default=True,
    help="Comma-separated queues to consume (notifications run in their own workers).",
)
@click.option(
    "--concurrency", "-c", type=int, default=None, help="Prefork children [GREENLIGHT_WORKER_CONCURRENCY]."
)
@click.option(
    "--name", "-n", default="worker@%h", show_default=True, help="Node name; must be unique per host."
)
def worker(queues: str, concurrency: int | None, name: str) -> None:
    """Run a Celery worker. Run as many as you like, on as many machines as you like."""
    from cli.processes import worker_command

    _exec(worker_command(queues, concurrency, name))


@main.command()
@click.option(
    "--schedule",
    default="var/celerybeat-schedule",
    show_default=True,
    help="File where beat keeps its last run times.",
)
def beat(schedule: str) -> None:
    """Run Celery beat (the sweeper's clock). Run exactly one per deployment."""
    from cli.processes import beat_command

    os.makedirs(os.path.dirname(os.path.abspath(schedule)), mode=0o700, exist_ok=True)
    os.umask(0o077)  # the schedule file it creates is its user's alone (kept across the exec)
    _exec(beat_command(schedule))


@main.command()
@click.option("--address", default="127.0.0.1", show_default=True, help="Interface Flower listens on.")
def flower(address: str) -> None:
    """Run Flower with basic auth (a password is generated and printed when none is set)."""
    from cli.embedded import flower_child, flower_password
    from greenlight.settings import get_settings

    password, generated = flower_password()
    if generated:
        click.echo(f"Flower user {get_settings().flower_user} password {password}", err=True)
    child = flower_child(address, password)
    _exec(child.command, child.env)


def _exec(command: list[str], env: dict[str, str] | None = None) -> None:
    """Replace this process, so signals reach the server directly (e.g. docker stop)."""
    os.execvpe(command[0], command, os.environ if env is None else env)
