"""The runtime's layers, and its import graph read from the source (AST), not from running it.

`LAYERS` is the one statement of the architecture: a module imports only from its own layer's places or from the
layers below. tests/test_architecture.py enforces it; `python -m tests.architecture` writes the diagram of
docs/architecture.md from it and from the imports the code really has (the test checks that the page is current).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "lambda_runtime"
PAGE = ROOT / "docs" / "architecture.md"

# Top of the import order first. Each layer is a set of places: a folder of the package ("web") or a module at its
# root ("main"); places of one layer do not import each other.
# Places listed before they exist (the test kit, say) are skipped until they do.
LAYERS: list[tuple[str, set[str]]] = [
    ("tools over the runtime and the emulator: the test kit, the `lambda-runtime` command", {"testing", "command"}),
    ("`python -m lambda_runtime`", {"__main__"}),
    ("the composition root: reads like a table of contents of the layers below", {"main"}),
    ("--help and --version", {"usage"}),
    ("the process's shape and its end | web apps as handlers", {"serve", "web"}),
    ("before the first event and after the last", {"lifecycle"}),
    ("one event, from /next to the posted response", {"invocation"}),
    ("deferred jobs", {"jobs"}),
    ("hand-off: deferred work sent to Lambda's own async queue", {"handoff"}),
    ("the Runtime and Extensions APIs on the wire | where logs go", {"api", "logs"}),
    ("settings, the environment, threads", {"config", "environ", "threads"}),
    ("the error hierarchy", {"errors"}),
]
# The local emulator: a program of its own that imports nothing of the runtime; only the tools import it.
SEPARATE = {"emulator"}
TOOLS = LAYERS[0][1]
# The package root re-exports the public names (lazily); only the composition root may import it.
PACKAGE_ROOT = "lambda_runtime"
MAY_IMPORT_PACKAGE_ROOT = {"main", "__main__", "usage", *TOOLS}


def modules() -> Iterator[tuple[str, Path]]:
    """Every module of the package: (dotted name, file)."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def imports(path: Path, name: str) -> set[str]:
    """The runtime modules `path` imports, anywhere in it (function-level and TYPE_CHECKING imports too)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against this module's package
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            # `from lambda_runtime.jobs import job`: the submodule, when it is one
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {m for m in found if m == PACKAGE_ROOT or m.startswith(PACKAGE_ROOT + ".")}


def graph() -> dict[str, set[str]]:
    """Module -> the modules of the package it imports (names that are not modules are dropped)."""
    known = {name for name, _ in modules()}
    return {name: {m for m in imports(path, name) if m in known and m != name} for name, path in modules()}


def place(module: str) -> str:
    """The folder or root module a module belongs to: lambda_runtime.api.client -> "api"."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else PACKAGE_ROOT


def layer_of(place_name: str) -> int | None:
    for index, (_, places) in enumerate(LAYERS):
        if place_name in places:
            return index
    return None


def place_graph(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """Place -> the other places it imports."""
    result: dict[str, set[str]] = {}
    for module, targets in edges.items():
        here = place(module)
        result.setdefault(here, set()).update(place(t) for t in targets if place(t) != here)
    return result


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def exists(place_name: str) -> bool:
    return (PACKAGE / place_name).is_dir() or (PACKAGE / f"{place_name}.py").is_file()


def diagram() -> str:
    """The layers as they are in the code: each place, and the places below it that it really imports."""
    places = place_graph(graph())
    lines = []
    present = [(q, {p for p in ps if exists(p)}) for q, ps in LAYERS]
    for number, (question, members) in enumerate([(q, ps) for q, ps in present if ps], start=1):
        names = sorted(members, key=lambda p: (not (PACKAGE / p).is_dir(), p))
        shown = [f"{p}/" if (PACKAGE / p).is_dir() else f"{p}.py" for p in names]
        lines.append(f"{number}. {'  '.join(shown)}  -- {question}")
        for member, label in zip(names, shown, strict=True):
            below = sorted(places.get(member, set()) - {PACKAGE_ROOT}, key=lambda p: (layer_of(p) or 0, p))
            if below:
                targets = ", ".join(f"{p}/" if (PACKAGE / p).is_dir() else p for p in below if p not in SEPARATE)
                targets += ", emulator/" if SEPARATE & set(below) else ""
                lines.append(f"     {label:<14} imports {targets}")
    lines.append(f"   {'  '.join(f'{p}/' for p in sorted(SEPARATE))}  -- the local emulator: imports no runtime module")
    return "\n".join(lines)


BEGIN = "<!-- layers: generated by `python -m tests.architecture` -->"
END = "<!-- end of layers -->"


def page_with_diagram(text: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n\n```text\n{diagram()}\n```\n\n{END}{tail}"


if __name__ == "__main__":
    PAGE.write_text(page_with_diagram(PAGE.read_text()))
    print(f"wrote the layers of {PAGE.relative_to(ROOT)}")
