"""Is any worker alive? A Celery broadcast ping, bounded, for the API's /readyz."""

from __future__ import annotations

from typing import Any

from greenlight.readiness import CheckFailed
from workers.app import app


class _Answered(Exception):
    """Raised from the reply callback: one worker answered, stop waiting for the rest."""

    def __init__(self, reply: dict[str, Any]) -> None:
        super().__init__()
        self.reply = reply


def _stop_at_first_reply(reply: dict[str, Any]) -> None:
    raise _Answered(reply)


def ping_workers(timeout: float) -> dict[str, Any]:
    """The first worker to answer a ping; raises when none answers within ``timeout``.

    Not ``ping(limit=1)``: kombu counts *messages* against the limit, and a reply queue is
    per thread, so a late answer to an earlier ping (from a second worker) would use up the
    limit and the check would report no worker at all. Replies to other pings are skipped;
    the first answer to this one ends the wait.
    """
    mailbox = app.control.mailbox  # type: ignore[attr-defined]  # set in Control.__init__, absent from the stubs
    try:
        with app.connection_for_write(connect_timeout=timeout) as connection:
            # One quick connection attempt: an unreachable broker fails now, not after Celery's retries.
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
            app.control.ping(timeout=timeout, connection=connection, callback=_stop_at_first_reply)
    except _Answered as answered:
        return {"workers": sorted(answered.reply)}
    finally:
        # kombu keeps other pings' late answers forever; nothing in the API ever claims them.
        mailbox.unclaimed.clear()
    raise CheckFailed(f"no worker answered a ping within {timeout:g}s")
