"""Two texts compared line by line within a size and a time budget: the one comparison behind every
view of a difference (the API's version diff, the console's compare and proposal pages).

A text over the size budget is not compared at all: the answer says so, with the sizes. Within it,
diff-match-patch's Myers diff runs with a deadline, so no input costs more than the time budget;
past the deadline it returns a coarser (still correct) difference instead of working on. Python's
difflib is not used: its matcher is worse than quadratic on repetitive lines.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypedDict

from diff_match_patch import diff_match_patch

MAX_LINES = 5_000
MAX_CHARS = 200_000
TIME_BUDGET_SECONDS = 0.1

LineOp = Literal["equal", "delete", "insert"]
_OPS: dict[int, LineOp] = {
    diff_match_patch.DIFF_EQUAL: "equal",
    diff_match_patch.DIFF_DELETE: "delete",
    diff_match_patch.DIFF_INSERT: "insert",
}


@dataclass(frozen=True)
class DiffLine:
    op: LineOp
    text: str


@dataclass(frozen=True)
class TooLarge:
    """Why two texts were not compared: their sizes and the budget."""

    from_lines: int
    to_lines: int
    from_chars: int
    to_chars: int
    max_lines: int = MAX_LINES
    max_chars: int = MAX_CHARS

    @property
    def message(self) -> str:
        return (
            f"Too large to compare: {self.from_lines:,} and {self.to_lines:,} lines, "
            f"{self.from_chars:,} and {self.to_chars:,} characters "
            f"(the limit is {self.max_lines:,} lines and {self.max_chars:,} characters a side)"
        )


class LineChange(TypedDict):
    op: LineOp
    text: str


class Comparison(TypedDict):
    """A comparison as data: its lines, or why it was not made (the sizes, the budget, a message)."""

    lines: list[LineChange] | None
    too_large: dict[str, Any] | None


def compare_texts(a: str, b: str) -> Comparison:
    compared = diff_lines(a, b)
    if isinstance(compared, TooLarge):
        return {"lines": None, "too_large": {**asdict(compared), "message": compared.message}}
    return {"lines": [{"op": line.op, "text": line.text} for line in compared], "too_large": None}


def as_text(value: Any) -> str:
    """A value as the text its comparison shows: strings as they are, anything else as sorted JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _normalized(text: str) -> str:
    """Lines each ended by "\n" alone: a final line with no line end would not match its twin
    that has one, nor a CRLF line its LF twin."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if not text or text.endswith("\n") else text + "\n"


def diff_lines(a: str, b: str) -> list[DiffLine] | TooLarge:
    """``a`` to ``b`` as equal, deleted and inserted lines (line ends left out), or ``TooLarge``."""
    a, b = _normalized(a), _normalized(b)
    sizes = (a.count("\n"), b.count("\n"))
    if max(sizes) > MAX_LINES or max(len(a), len(b)) > MAX_CHARS:
        return TooLarge(from_lines=sizes[0], to_lines=sizes[1], from_chars=len(a), to_chars=len(b))
    engine = diff_match_patch()
    engine.Diff_Timeout = TIME_BUDGET_SECONDS
    encoded_a, encoded_b, lines = engine.diff_linesToChars(a, b)
    diffs = engine.diff_main(encoded_a, encoded_b, False)
    engine.diff_charsToLines(diffs, lines)
    return [
        DiffLine(op=_OPS[op], text=line)
        for op, chunk in diffs
        for line in chunk.split("\n")[:-1]  # every chunk is whole lines, each ending in "\n"
    ]
