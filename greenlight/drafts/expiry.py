"""Expiring dormant proposals nobody acked in time, one short transaction each."""

from __future__ import annotations

from greenlight.clock import utcnow
from greenlight.db import unit_of_work
from greenlight.drafts.service import expire, overdue


def expire_overdue() -> int:
    with unit_of_work() as session:
        ids = overdue(session, utcnow())
    expired = 0
    for entry_id in ids:
        with unit_of_work() as session:
            expired += expire(session, entry_id)
    return expired
