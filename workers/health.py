"""Is any worker alive? A Celery broadcast ping, bounded, for the API's /readyz."""

from __future__ import annotations

from typing import Any

from greenlight.readiness import CheckFailed
from workers.app import app


def ping_workers(timeout: float) -> dict[str, Any]:
    """The first worker to answer a ping; raises when none answers within ``timeout``."""
    with app.connection_for_write(connect_timeout=timeout) as connection:
        # One quick connection attempt: an unreachable broker fails now, not after Celery's retries.
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
        replies = app.control.ping(timeout=timeout, limit=1, connection=connection) or []
    names = sorted(name for reply in replies for name in reply)
    if not names:
        raise CheckFailed(f"no worker answered a ping within {timeout:g}s")
    return {"workers": names}
