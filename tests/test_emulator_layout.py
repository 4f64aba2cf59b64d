"""The emulator's layout: it imports nothing from the runtime, its modules import one another without circles
(type-only imports included), and the environment's state machine lives in one class."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lambda_runtime.emulator.environment import Environment

PACKAGE = Path(__file__).parent.parent / "lambda_runtime" / "emulator"


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at run time or for types only."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_the_emulator_imports_nothing_from_the_runtime() -> None:
    for path in PACKAGE.glob("*.py"):
        runtime = {m for m in imports(path) if m.startswith("lambda_runtime") and not m.startswith("lambda_runtime.")}
        runtime |= {m for m in imports(path) if m.startswith("lambda_runtime.") and ".emulator" not in m}
        assert not runtime, f"{path.name} imports {sorted(runtime)}"


def test_no_import_circles_between_emulator_modules() -> None:
    graph = {
        path.stem: {m.rsplit(".", 1)[1] for m in imports(path) if m.startswith("lambda_runtime.emulator.")}
        for path in PACKAGE.glob("*.py")
    }
    done: set[str] = set()

    def visit(module: str, trail: tuple[str, ...]) -> None:
        assert module not in trail, f"import circle: {' -> '.join((*trail, module))}"
        if module in done:
            return
        for imported in graph.get(module, ()):
            visit(imported, (*trail, module))
        done.add(module)

    for module in graph:
        visit(module, ())


def test_only_the_pool_talks_to_the_life_cycle() -> None:
    # The life cycle (starting, reclaiming, failing runtimes) has one client: the APIs ask the pool, never past it.
    users = {path.name for path in PACKAGE.glob("*.py") if "lambda_runtime.emulator.lifecycle" in imports(path)}
    assert users == {"pool.py", "lmi_pool.py"}  # the Managed Instances pool is a pool too
    for path in PACKAGE.glob("*.py"):
        assert ".lifecycle." not in path.read_text().replace("self._lifecycle.", ""), path.name


def test_only_the_environment_moves_its_state() -> None:
    for path in PACKAGE.glob("*.py"):
        if path.name == "environment.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else []
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Attribute) and name.attr in ("state", "current"):
                        assert isinstance(name.value, ast.Name) and name.value.id not in ("env", "self"), (
                            f"{path.name}:{node.lineno} assigns an environment's {name.attr}"
                        )


def test_illegal_moves_are_refused() -> None:
    env = Environment(0, lambda env, line: None, lambda env, code, state: None)
    with pytest.raises(AssertionError, match="illegal move stopped -> resetting"):
        env.reset()
