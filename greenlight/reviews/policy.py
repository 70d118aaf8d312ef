"""A persona's review policy: how many approvals a change to production needs."""

from __future__ import annotations

from dataclasses import dataclass

from greenlight.models import Persona

MAX_APPROVALS = 5


@dataclass(frozen=True)
class Policy:
    required_approvals: int = 0
    allow_self_approval: bool = False

    @property
    def gates(self) -> bool:
        """Whether a promotion must wait for approvals (0, the default, applies at once as always)."""
        return self.required_approvals > 0


def policy_of(persona: Persona) -> Policy:
    return Policy(persona.required_approvals, persona.allow_self_approval)


def set_policy(persona: Persona, policy: Policy) -> None:
    persona.required_approvals = policy.required_approvals
    persona.allow_self_approval = policy.allow_self_approval
