"""The one line comparison (greenlight/personas/line_diff.py): pure, no services."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from greenlight.personas.line_diff import MAX_LINES, TooLarge, compare_texts, diff_lines

LINES = st.lists(st.sampled_from(["a", "b", "c", "", "  x", "é"]), max_size=40)


@settings(max_examples=300, deadline=None)
@given(LINES, LINES)
def test_a_comparison_rebuilds_both_texts(left: list[str], right: list[str]) -> None:
    compared = diff_lines("\n".join(left), "\n".join(right))
    assert not isinstance(compared, TooLarge)
    assert [c.text for c in compared if c.op != "insert"] == "\n".join(left).splitlines()
    assert [c.text for c in compared if c.op != "delete"] == "\n".join(right).splitlines()


def test_line_ends_do_not_make_a_difference() -> None:
    assert [c.op for c in diff_lines("a\r\nb", "a\nb\n")] == ["equal", "equal"]  # type: ignore[union-attr]


def test_past_the_size_budget_the_answer_names_the_sizes() -> None:
    comparison = compare_texts("x\n" * (MAX_LINES + 1), "y")
    assert comparison["lines"] is None and comparison["too_large"] is not None
    assert comparison["too_large"]["from_lines"] == MAX_LINES + 1
    assert comparison["too_large"]["to_lines"] == 1
    assert comparison["too_large"]["message"].startswith("Too large to compare: 5,001 and 1 lines")
