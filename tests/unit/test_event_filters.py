"""Which event types a webhook endpoint (or a stream) subscribes to."""

from __future__ import annotations

import pytest

from greenlight.errors import Unprocessable
from greenlight.notifications.events import MAX_EVENT_TYPES, normalize_types, type_matches


def test_null_or_a_star_means_every_type_present_and_future() -> None:
    assert normalize_types(None) is None
    assert normalize_types(["version.promoted", "*"]) is None
    assert type_matches(None, "any.type.at.all")


def test_types_are_deduplicated_and_sorted() -> None:
    assert normalize_types(["version.*", "draft.updated", "version.*"]) == ["draft.updated", "version.*"]


@pytest.mark.parametrize(
    "types",
    [[], ["Version.Promoted"], ["version."], ["version.**"], ["*.promoted"], ["a" * 65], ["x"] * 51],
)
def test_malformed_filters_are_refused(types: list[str]) -> None:
    assert len(["x"] * 51) > MAX_EVENT_TYPES
    with pytest.raises(Unprocessable) as refused:
        normalize_types(types)
    assert refused.value.code == "INVALID_EVENT_TYPES"


@pytest.mark.parametrize(
    ("patterns", "event_type", "matches"),
    [
        (["version.promoted"], "version.promoted", True),
        (["version.promoted"], "version.published", False),
        (["version.*"], "version.archived", True),
        (["version.*"], "versions.archived", False),
        (["version.*"], "version", False),
        (["draft.*", "operation.failed"], "operation.failed", True),
    ],
)
def test_exact_types_and_prefixes_match(patterns: list[str], event_type: str, matches: bool) -> None:
    assert type_matches(patterns, event_type) is matches
