"""Every test that README.md and docs/guarantees.md name as proof exists under that name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?")


@pytest.mark.parametrize("document", ["README.md", "docs/guarantees.md"])
def test_named_tests_exist(document: str) -> None:
    text = (ROOT / document).read_text()
    missing = []
    for match in REFERENCE.finditer(text):
        path, name = ROOT / match.group(1), match.group(2)
        if not path.is_file() or (name and f"def {name}(" not in path.read_text()):
            missing.append(match.group(0).lstrip("`"))
    assert missing == []
    assert REFERENCE.search(text)
