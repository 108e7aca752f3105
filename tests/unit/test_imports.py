"""The import graph of lab/: no module imports itself back, through any chain of imports.

Every `import` counts, also one inside a function (it is a cycle all the same, only delayed), except those
under `if TYPE_CHECKING:`, which Python never runs (an annotation naming a caller's class). An import of
`lab.x.y` is an edge to that module, not to the package `lab.x` it lives in (as import-linter counts them).
The layering is checked by import-linter's contracts in pyproject.toml (`lint-imports`, run by `make test`).
"""

from __future__ import annotations

import ast
from pathlib import Path

LAB = Path(__file__).resolve().parents[2] / "lab"


def module_name(path: Path) -> str:
    parts = path.relative_to(LAB.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in LAB.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(), str(path))
        typing_only = {id(inner) for block in ast.walk(tree) if _is_type_checking(block)
                       for statement in block.body for inner in ast.walk(statement)}  # not its `else:`
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package, one level up per extra dot
                    anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # `from lab.x import y` imports the module lab.x.y when there is one, else a name of lab.x
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            else:
                continue
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def _is_type_checking(node: ast.AST) -> bool:
    """`if TYPE_CHECKING:` (or `typing.TYPE_CHECKING`)."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None (depth-first search, colouring modules on the current path)."""
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return path[path.index(module):] + [module]
        if module in done:
            return None
        path.append(module)
        for imported in sorted(graph[module]):
            if found := visit(imported):
                return found
        path.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        if found := visit(module):
            return found
    return None


def test_lab_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_one():
    """A test that cannot fail is a bug: the finder must see a cycle where there is one."""
    graph = {"lab.a": {"lab.b"}, "lab.b": {"lab.c"}, "lab.c": {"lab.a"}, "lab.d": set()}
    assert find_cycle(graph) == ["lab.a", "lab.b", "lab.c", "lab.a"]
    assert find_cycle({"lab.a": {"lab.b"}, "lab.b": set()}) is None


def test_the_graph_sees_imports_inside_functions_and_submodules():
    graph = import_graph()
    assert "lab.faults.dnssec" in graph["lab.faults"], "from lab.faults import dnssec: the submodule"
    assert "lab.errors" in graph["lab.cli"]
    assert graph["lab.commands.fault"] >= {"lab.faults"}, "imported inside a function"
    assert "lab.run.execute" not in graph["lab.run.perform"], "only for the type checker"
