"""Imports go one way: cli -> daemon/lanes/runner -> pipeline -> tasks -> extract -> engines -> media -> config/errors.

Every import in edge/ (at the top of a module or inside a function alike) is
checked against the layer of the module it names; only imports under
`if TYPE_CHECKING:` (type hints) are exempt. A deliberate back-import fails,
for example this line in edge/extract/layout.py:

    from ..daemon import Daemon          # extract (3) must not import daemon (6)

and so does a function-level one in edge/config.py:

    def parse_config(...):
        from .engines.base import engine_class   # config (0) must not import engines (2)

The test below also runs the checker on such a module to prove it would fail.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import ROOT

PACKAGE = ROOT / "edge"

# The lower the number, the lower the layer; a module may import its own layer and those below.
LAYERS: dict[str, int] = {
    "edge": 0, "edge.errors": 0, "edge.config": 0, "edge.job": 0, "edge.hashing": 0, "edge.logs": 0,
    "edge.sidecar": 0, "edge.gpu": 0,
    "edge.media": 1,
    "edge.engines": 2,
    "edge.extract": 3,
    "edge.tasks": 4,
    "edge.pipeline": 5, "edge.routing": 5, "edge.review": 5, "edge.configure": 5,
    "edge.daemon": 6, "edge.lanes": 6, "edge.runner": 6, "edge.oneshot": 6, "edge.service": 6, "edge.metrics": 6,
    "edge.ledger": 6, "edge.watch": 6, "edge.eval": 6,
    "edge.cli": 7, "edge.__main__": 7, "edge.webreview": 7,
}


def layer_of(module: str) -> int:
    """The layer of the longest known prefix of a dotted module name."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in LAYERS:
            return LAYERS[prefix]
    raise AssertionError(f"{module}: no layer assigned; add it to LAYERS")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(path: Path, source: str | None = None) -> list[tuple[str, int]]:
    """(module, line) for every edge import of a file, except those under `if TYPE_CHECKING:`."""
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
    type_only = {id(node) for guard in ast.walk(tree) if isinstance(guard, ast.If) and _is_type_checking(guard.test)
                 for statement in guard.body for node in ast.walk(statement)}
    found = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom):
            base = _absolute(package, node.level, node.module)
            names = [base] if node.module or not node.level else [f"{base}.{alias.name}" for alias in node.names]
            found += [(name, node.lineno) for name in names if name.split(".")[0] == "edge"]
        elif isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names if alias.name.split(".")[0] == "edge"]
    return found


def _absolute(package: str, level: int, module: str | None) -> str:
    if not level:
        return module or ""
    base = package.split(".")[: len(package.split(".")) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def back_imports(path: Path, source: str | None = None) -> list[str]:
    own = layer_of(module_name(path))
    return [f"{path.relative_to(ROOT)}:{line}: {module_name(path)} (layer {own}) imports {target} "
            f"(layer {layer_of(target)})" for target, line in imported(path, source) if layer_of(target) > own]


def test_no_module_imports_a_layer_above_its_own():
    problems = [problem for path in sorted(PACKAGE.rglob("*.py")) for problem in back_imports(path)]
    assert not problems, "imports against the layers:\n" + "\n".join(problems)


def test_the_checker_catches_a_deliberate_back_import():
    layout = PACKAGE / "extract" / "layout.py"
    planted = layout.read_text(encoding="utf-8") + "\n\ndef _oops():\n    from ..daemon import Daemon\n"
    [problem] = back_imports(layout, planted)
    assert "edge.extract.layout (layer 3) imports edge.daemon (layer 6)" in problem
    typed = layout.read_text(encoding="utf-8") + "\nif TYPE_CHECKING:\n    from ..pipeline import Pipeline\n"
    assert back_imports(layout, typed) == []  # type hints only: allowed


def test_every_module_has_a_layer():
    for path in PACKAGE.rglob("*.py"):
        layer_of(module_name(path))
