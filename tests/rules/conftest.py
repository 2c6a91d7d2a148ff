"""Look up real recorded explanation chains for the per-rule tests."""

from __future__ import annotations

import functools

from escapelint.analyze.evidence import Evidence
from escapelint.analyze.findings import PackageEvidence
from escapelint.analyze.leaks import LeakSummaries
from escapelint.analyze.source import SourceLocator
from escapelint.read.assembler import read_build_output

from ..conftest import FIXTURES, RECORDED, read_lines

CATEGORIES = FIXTURES / "modules" / "categories"


@functools.lru_cache(maxsize=None)
def _packages(version: str, name: str, with_source: bool = True, module: str = "categories"):
    packages, _ = read_build_output(read_lines(RECORDED / f"go{version}" / name))
    leaks = LeakSummaries()
    contexts = []
    for p in packages:
        leaks.add_output(p)
        contexts.append(PackageEvidence(p, SourceLocator(FIXTURES / "modules" / module) if with_source else None, leaks))
    return contexts


def evidence_at(
    version: str,
    site: str,
    expr: str | None = None,
    name: str = "categories.m2.txt",
    with_source: bool = True,
    module: str = "categories",
) -> Evidence:
    """The evidence of the heap event at `site` ("./file.go:LINE") in a recorded fixture.

    With `with_source=False` the rules get no package source, as when `--source-root` is wrong.
    """
    file, line = site.rsplit(":", 1)
    for context in _packages(version, name, with_source, module):
        for index, event in enumerate(context.output.events):
            at = event.position
            if at.file == file and at.line == int(line) and event.kind.value in ("escape", "moved"):
                if expr is None or event.expr == expr:
                    return context.evidence(index)[0]
    raise LookupError(f"no heap event at {site} ({expr}) in go{version}/{name}")


def deciding_step(claim) -> tuple[str, str, str] | None:
    """The step that decided a claim as (expr, reason, position), as the compiler printed them."""
    step = claim.step
    return None if step is None else (step.expr, step.reason, str(step.at))
