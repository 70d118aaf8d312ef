"""`greenlight webhooks`: a hook until the webhooks feature lands.

When a ``webhook_deliveries`` table exists, `deliveries` lists its newest rows with
whichever of the usual columns it has; until then it says webhooks are not available.
"""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import MetaData, Table, inspect, select

from cli.output import table
from greenlight.db import get_engine
from greenlight.metrics import WEBHOOK_DELIVERIES_TABLE, WEBHOOK_OUTCOME_COLUMNS

COLUMNS = (
    "id",
    "endpoint_id",
    "event_id",
    *WEBHOOK_OUTCOME_COLUMNS,
    "attempt",
    "attempts",
    "response_status",
    "created_at",
)


@click.group()
def webhooks() -> None:
    """Inspect webhook deliveries."""


@webhooks.command("deliveries")
@click.option(
    "--limit", type=click.IntRange(1, 10_000), default=20, show_default=True, help="At most this many."
)
def deliveries(limit: int) -> None:
    """List the newest webhook deliveries."""
    engine = get_engine()
    if not inspect(engine).has_table(WEBHOOK_DELIVERIES_TABLE):
        raise click.ClickException(
            "webhooks are not available in this deployment (no webhook_deliveries table)"
        )
    deliveries_table = Table(WEBHOOK_DELIVERIES_TABLE, MetaData(), autoload_with=engine)
    shown = [name for name in COLUMNS if name in deliveries_table.c]
    query = select(*(deliveries_table.c[name] for name in shown)).limit(limit)
    if "created_at" in deliveries_table.c:
        query = query.order_by(deliveries_table.c.created_at.desc())
    with engine.connect() as connection:
        rows: list[list[Any]] = [list(row) for row in connection.execute(query)]
    if not rows:
        click.echo("no deliveries", err=True)
        return
    click.echo(table([name.upper() for name in shown], rows))
