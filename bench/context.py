"""What every measurement needs: the profile, the processes' URLs, the caller, the personas, the figures."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from bench.profile import Profile
from bench.seed import User
from bench.stack import Stack
from bench.stats import Figure


@dataclass
class Context:
    profile: Profile
    stack: Stack
    env: dict[str, str]
    user: User
    api: str = ""
    plain: str = ""
    naive: str = ""
    spread: list[str] = field(default_factory=list)  # load spread over these (100)
    hot: str = ""  # all load on this one
    accept: list[str] = field(default_factory=list)  # the accept-only benchmark's personas
    figures: dict[str, Figure] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    load_at_start: float = field(default_factory=lambda: os.getloadavg()[0])

    def figure(self, key: str, label: str, unit: str) -> Figure:
        if key not in self.figures:
            self.figures[key] = Figure(key, label, unit)
        return self.figures[key]

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": self.user.key}

    def promote_paths(self, personas: list[str]) -> list[str]:
        return [f"/v1/personas/{persona}/versions/promote" for persona in personas]

    def say(self, message: str) -> None:
        print(f"bench: [{time.monotonic() - self.started:5.1f} s] {message}", flush=True)
