"""The table, the ratio lines, and bench/RESULTS.md."""

from __future__ import annotations

import math
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from bench.context import Context
from bench.stats import Figure, Ratio, Target

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


# name, meaning, subject figure, reference figure, target
RATIOS: list[tuple[str, str, str, str, Target | None]] = [
    ("e2e_vs_celery_noop", "promotions/s (100 personas) / no-op tasks/s", "e2e_spread", "noop",
     Target(">=", 0.5)),
    ("e2e_hot_persona_vs_celery_noop", "promotions/s (1 persona) / no-op tasks/s", "e2e_hot", "noop",
     Target(">=", 1.0)),
    ("vs_naive", "promotions/s (100 personas) / naive task+lock promotions/s", "e2e_spread", "naive",
     Target(">=", 1.0)),
    ("accept_vs_plain_post", "accept req/s / trivial POST req/s", "accept", "plain_post", Target(">=", 0.3)),
    ("latency_p50_vs_celery_roundtrip", "accept->applied p50 / no-op send->run p50", "lat_p50", "noop_p50",
     Target("<=", 3.0)),
    ("latency_p99_vs_celery_roundtrip", "accept->applied p99 / no-op send->run p99", "lat_p99", "noop_p99",
     None),
    ("latency_p50_at_half_burst_vs_celery_roundtrip", "the same p50s at half the burst rate (past the knee)",
     "lat_p50_burst", "noop_p50_burst", None),
    ("read_vs_plain_get", "GET production req/s / trivial GET req/s", "read", "plain_get", Target(">=", 0.7)),
    ("promote_100k_vs_10_versions", "time per promotion, big / 10 versions", "promote_big", "promote_small",
     Target("<=", 1.2)),
    ("history_1m_vs_1k_rows", "history first+deep page, big / 1k rows", "hist_big", "hist_small",
     Target("<=", 1.5)),
]  # fmt: skip


def ratios(ctx: Context) -> list[Ratio]:
    f = ctx.figures
    return [
        Ratio.paired(name, meaning, f[subject], f[reference], target)
        for name, meaning, subject, reference, target in RATIOS
        if subject in f and reference in f and f[subject].samples and f[reference].samples
    ]


def _num(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


def _figure_row(figure: Figure) -> str:
    spread = f"{_num(figure.low)}-{_num(figure.high)}"
    return f"| {figure.label} | {_num(figure.median)} | {spread} | {figure.unit} | {len(figure.samples)} |"


def table(ctx: Context, found: list[Ratio]) -> str:
    lines = ["| figure | median | min-max | unit | reps |", "|---|---:|---:|---|---:|"]
    lines += [_figure_row(figure) for figure in ctx.figures.values()]
    lines += ["", "| ratio | value | target | met | meaning |", "|---|---:|---|---|---|"]
    for ratio in found:
        target = str(ratio.target) if ratio.target else "—"
        met = ("yes" if ratio.target.met(ratio.value) else "no") if ratio.target else "—"
        lines.append(f"| {ratio.name} | {_num(ratio.value)} | {target} | {met} | {ratio.description} |")
    return "\n".join(lines)


def ratio_lines(found: list[Ratio]) -> str:
    return "\n".join(f"ratio {ratio.name} {_num(ratio.value)}" for ratio in found)


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"nproc {os.cpu_count()}, {model}, Python {platform.python_version()}"


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=False).stdout.strip()

    sha = git("rev-parse", "HEAD") or "unknown"
    # The results file itself does not count: an earlier run of the same session appended to it.
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)bench/RESULTS.md")
    dirty = " (uncommitted changes)" if changed else ""
    return sha + dirty


def header(ctx: Context, backend: str, settings: str) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = f"{ctx.load_at_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    return "\n".join(
        [
            f"- date: {now}",
            f"- profile: {ctx.profile.name}",
            f"- machine: {machine()}; 1-minute load average {load} (other work on the machine included)",
            f"- commit: {commit()}",
            f"- backend: {backend}",
            f"- settings: {settings}",
        ]
    )


def record(ctx: Context, backend_kind: str, head: str, body: str, lines: str) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    notes = "".join(f"- note: {note}\n" for note in ctx.notes)
    entry = (
        f"\n## {now} · {backend_kind} · {ctx.profile.name}\n\n{head}\n{notes}\n{body}\n\n```\n{lines}\n```\n"
    )
    if not RESULTS.exists():
        RESULTS.write_text(
            "# Bench results\n\nAppended by `python -m bench --record` (see bench/README.md).\n"
        )
    with RESULTS.open("a") as out:
        out.write(entry)
