"""Who acts, for tests that call the domain directly (greenlight/tenancy.py ``Actor``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Acting:
    workspace_id: str
    user_id: str


def own(user_id: str) -> Acting:
    """A user acting in their own workspace, whose id is theirs (a newcomer's first key's)."""
    return Acting(workspace_id=user_id, user_id=user_id)
