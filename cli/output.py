"""Plain-text output for operators: aligned tables, timestamps, a wait display."""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import click

from greenlight.clock import isoformat


def timestamp(value: datetime | None) -> str:
    return isoformat(value) or ""


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(str(h)), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def wait_with_progress(
    label: str, poll: Callable[[], tuple[bool, str]], timeout: float, interval: float = 0.2
) -> bool:
    """Poll until ``poll()`` says done, showing its status on stderr: a spinner with the
    elapsed time on a terminal, one line per status change otherwise. False on timeout."""
    tty = sys.stderr.isatty()
    spinner = itertools.cycle("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
    started = time.monotonic()
    last = None
    while True:
        done, status = poll()
        elapsed = time.monotonic() - started
        if tty:
            mark = "✓" if done else next(spinner)
            click.echo(f"\r{mark} {label}: {status} ({elapsed:.1f}s)\033[K", nl=done, err=True)
        elif status != last:
            click.echo(f"{label}: {status} ({elapsed:.1f}s)", err=True)
        last = status
        if done:
            return True
        if elapsed >= timeout:
            if tty:
                click.echo(err=True)
            return False
        time.sleep(interval)
