"""The domain's modules import each other without a circle, deferred imports included (a deferred
import only hides one), and the engine never imports the kinds it is given."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "greenlight"


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imported(node: ast.AST) -> list[str]:
    """The domain modules an import statement loads (itself, not its parent packages)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name in MODULES]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        names = [f"{node.module}.{alias.name}" for alias in node.names]
        submodules = [name for name in names if name in MODULES]
        if submodules:  # `from greenlight import schedules`
            return submodules
        return [node.module] if node.module in MODULES else []
    return []


def _type_checking_only(tree: ast.Module) -> set[ast.AST]:
    guarded: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            guarded.update(child for statement in node.body for child in ast.walk(statement))
    return guarded


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        skipped = _type_checking_only(tree)
        graph[name] = {
            target for node in ast.walk(tree) if node not in skipped for target in _imported(node)
        } - {name}
    return graph


def _circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as the path that closes it, if there is any."""
    done: set[str] = set()
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done:
            return None
        path.append(name)
        for target in sorted(graph[name]):
            found = visit(target)
            if found is not None:
                return found
        path.pop()
        done.add(name)
        return None

    for name in sorted(graph):
        found = visit(name)
        if found is not None:
            return found
    return None


def test_the_domain_has_no_import_circle() -> None:
    circle = _circle(_graph())
    assert circle is None, " -> ".join(circle or [])


def test_a_circle_would_be_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _circle(graph) == ["a", "b", "c", "a"]


def test_the_engine_is_given_its_kinds_never_imports_them() -> None:
    graph = _graph()
    engine = [name for name in graph if name.startswith(f"{PACKAGE}.operations")]
    assert engine
    for name in engine:
        assert not any(target.startswith(f"{PACKAGE}.kinds") for target in graph[name]), name
