"""The domain package knows nothing of HTTP, Celery or how processes are started."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import greenlight

FORBIDDEN = ("fastapi", "starlette", "celery", "kombu", "api", "workers", "cli")
DOMAIN = Path(greenlight.__file__).parent

_PROBE = """
import importlib, json, pkgutil, sys
import greenlight
names = [m.name for m in pkgutil.walk_packages(greenlight.__path__, "greenlight.")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"modules": names, "loaded": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def test_importing_every_domain_module_loads_no_web_celery_or_outer_package() -> None:
    # A fresh interpreter: this test process has already imported the other packages.
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    assert len(report["modules"]) > 20  # the walk found the package
    assert set(FORBIDDEN).isdisjoint(report["loaded"]), set(FORBIDDEN) & set(report["loaded"])


def test_no_domain_module_names_an_outer_module_path() -> None:
    # Such as "api.main:app" or "workers.app" handed to a program to start.
    pattern = re.compile(r"\b(api|workers|cli)\.[a-z_]+")
    found = [
        f"{path.relative_to(DOMAIN)}: {match.group(0)}"
        for path in sorted(DOMAIN.rglob("*.py"))
        for match in pattern.finditer(path.read_text())
    ]
    assert found == []
