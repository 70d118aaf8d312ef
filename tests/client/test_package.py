"""The client package stands alone: it needs nothing of the server, and its README's example runs."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.support.http import new_key
from tests.support.processes import Process

PACKAGE = Path(__file__).resolve().parents[2] / "clients" / "python"
SERVER_PACKAGES = ("fastapi", "sqlalchemy", "celery", "redis", "greenlight", "api", "workers", "cli")


def test_it_depends_on_httpx_and_pydantic_only() -> None:
    project = tomllib.loads((PACKAGE / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=!~ \[]", dep, maxsplit=1)[0] for dep in project["dependencies"]}
    assert names == {"httpx", "pydantic"}
    assert (PACKAGE / "greenlight_client" / "py.typed").is_file()


def test_importing_it_loads_nothing_of_the_server() -> None:
    script = (
        "import sys, greenlight_client, greenlight_client.webhooks\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({SERVER_PACKAGES!r})))"
    )
    # Run from the package's own directory so the repository root is not on the path.
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PACKAGE, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_readme_quick_start_runs(api_url: str, worker: Process) -> None:
    readme = (PACKAGE / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1]
    code = re.search(r"```python\n(.*?)```", quick_start, re.S)
    assert code is not None
    source = code.group(1).replace("http://127.0.0.1:8000", api_url).replace("gl_...", new_key())
    exec(compile(source, "README.md", "exec"), {})
