"""The ``greenlight`` command line."""

from __future__ import annotations

import click

from greenlight import keys as keys_service
from greenlight.db import unit_of_work


@click.group()
def main() -> None:
    """Greenlight: review, promote and roll back versioned AI-agent personas."""


@main.command()
def migrate() -> None:
    """Apply database migrations up to the newest."""
    from greenlight.migrate import upgrade

    upgrade()
    click.echo("database is up to date")


@main.group()
def keys() -> None:
    """Manage API keys."""


@keys.command("create")
@click.option("--user", "user_name", required=True, help="User the key belongs to (created if new).")
def keys_create(user_name: str) -> None:
    """Create an API key; it is printed once and only its hash is stored."""
    with unit_of_work() as session:
        key, raw = keys_service.create_key(session, user_name)
        key_id = key.id
    click.echo(raw)
    click.echo(f"key id {key_id} for user {user_name}", err=True)


@main.command()
def run() -> None:
    """Run the whole service locally: Redis (embedded unless set), API, worker, beat and Flower."""
    from greenlight.embedded import run_stack

    run_stack()


@main.command()
@click.option("--address", default="127.0.0.1", show_default=True, help="Interface Flower listens on.")
def flower(address: str) -> None:
    """Run Flower with basic auth (a password is generated and printed when none is set)."""
    import os

    from greenlight.embedded import flower_command

    command, password_note = flower_command(address)
    if password_note:
        click.echo(password_note, err=True)
    os.execvp(command[0], command)
