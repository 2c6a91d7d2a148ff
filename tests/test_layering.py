"""The package layout is the data flow: no module imports from a later stage.

text → read → events → analyze (source facts, evidence) → rules → findings → report → workflows → cli.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "escapelint"

#: Stage of each module, by the longest prefix of its dotted name.
STAGES = {
    "escapelint": 0,  # __version__ only
    "escapelint.events": 0,
    "escapelint.gc_pause": 0,
    "escapelint.read": 1,
    "escapelint.analyze.source": 2,
    "escapelint.analyze.evidence": 2,
    "escapelint.analyze.leaks": 2,  # the build-wide leak table: read (leak_scan) -> findings
    "escapelint.analyze.allocation": 2,
    "escapelint.rules": 3,
    "escapelint.analyze.findings": 4,
    "escapelint.analyze.line_map": 0,
    "escapelint.analyze.compare": 4,
    "escapelint.analyze.cost": 4,
    "escapelint.report": 5,
    "escapelint.workflows": 6,
    "escapelint.terminal": 7,
    "escapelint.cli": 7,
    "escapelint.__main__": 7,
}


def stage(module: str) -> int:
    best = max((prefix for prefix in STAGES if module == prefix or module.startswith(prefix + ".")), key=len)
    return STAGES[best]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every escapelint module `path` imports, at any depth (lazy imports inside functions too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import; escapelint imports by absolute name"
            if node.module == "escapelint":
                found.update(f"escapelint.{alias.name}" for alias in node.names)
            elif node.module:
                found.add(node.module)
    return {name for name in found if name == "escapelint" or name.startswith("escapelint.")}


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_from_a_later_stage(path):
    name = module_name(path)
    later = sorted(m for m in imported_modules(path) if m != "escapelint.__version__" and stage(m) > stage(name))
    assert later == [], f"{name} (stage {stage(name)}) imports from a later stage: {later}"


def test_every_module_has_a_stage():
    for path in MODULES:
        assert stage(module_name(path)) >= 0


def test_reading_knows_nothing_of_reports_or_rules():
    for path in (PACKAGE / "read").glob("*.py"):
        for module in imported_modules(path):
            assert not module.startswith(("escapelint.report", "escapelint.rules", "escapelint.analyze")), (path, module)
