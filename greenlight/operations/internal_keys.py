"""Idempotency keys the service makes itself, one format each (a client's keys never take these
shapes' meaning: they are scoped by user like any other key)."""

from __future__ import annotations


def schedule_key(schedule_id: str) -> str:
    """The operation a due schedule submits: one, however often the beat job finds it."""
    return f"schedule:{schedule_id}"


def retry_key(operation_id: str) -> str:
    """An operator's retry of a failed operation: retrying it twice gives the same new operation."""
    return f"retry:{operation_id}"


def ack_key(entry_id: str, accept: bool, force: bool) -> str:
    """Concurrent identical acks of a proposal become one operation: one effect, one answer."""
    return f"greenlight-ack:{entry_id}:{accept}:{force}"
