"""Look up real recorded explanation chains for the per-rule tests."""

from __future__ import annotations

import functools

from escapelint.analyze.evidence import Evidence
from escapelint.analyze.findings import PackageEvidence
from escapelint.analyze.source import SourceLocator
from escapelint.read.assembler import read_build_output

from ..conftest import FIXTURES, RECORDED, read_lines

CATEGORIES = FIXTURES / "modules" / "categories"


@functools.lru_cache(maxsize=None)
def _packages(version: str, name: str):
    packages, _ = read_build_output(read_lines(RECORDED / f"go{version}" / name))
    return [PackageEvidence(p, SourceLocator(CATEGORIES)) for p in packages]


def evidence_at(version: str, site: str, expr: str | None = None, name: str = "categories.m2.txt") -> Evidence:
    """The evidence of the heap event at `site` ("./file.go:LINE") in a recorded fixture."""
    file, line = site.rsplit(":", 1)
    for context in _packages(version, name):
        for index, event in enumerate(context.output.events):
            at = event.position
            if at.file == file and at.line == int(line) and event.kind.value in ("escape", "moved"):
                if expr is None or event.expr == expr:
                    return context.evidence(index)[0]
    raise LookupError(f"no heap event at {site} ({expr}) in go{version}/{name}")
