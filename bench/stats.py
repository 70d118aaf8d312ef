"""Figures (repeated samples) and ratios between them."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class Figure:
    """One measured quantity, one sample per repetition."""

    key: str
    label: str
    unit: str
    samples: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.samples.append(value)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def low(self) -> float:
        return min(self.samples)

    @property
    def high(self) -> float:
        return max(self.samples)


@dataclass(frozen=True)
class Target:
    op: str  # ">=" or "<="
    bound: float

    def met(self, value: float) -> bool:
        return value >= self.bound if self.op == ">=" else value <= self.bound

    def __str__(self) -> str:
        return f"{self.op} {self.bound:g}"


@dataclass(frozen=True)
class Ratio:
    name: str
    description: str
    value: float
    target: Target | None

    @classmethod
    def paired(
        cls, name: str, description: str, subject: Figure, reference: Figure, target: Target | None
    ) -> Ratio:
        """The median of per-repetition ratios: each repetition ran subject and reference side by
        side, so a slower moment of the machine cancels out."""
        pairs = [s / r for s, r in zip(subject.samples, reference.samples, strict=False) if r > 0]
        value = statistics.median(pairs) if pairs else float("nan")
        return cls(name, description, value, target)
