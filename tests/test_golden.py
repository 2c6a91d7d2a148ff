"""Gold files: the JSON report of every recorded fixture, exactly.

Regenerate after an intended change with:  python -m pytest tests/test_golden.py --regen-golden
and review the diff of tests/golden/ like any other change.
"""

from __future__ import annotations

import io
import json

import pytest

from escapelint import __version__
from escapelint.analyze.findings import analyze
from escapelint.analyze.source import SourceLocator
from escapelint.read.assembler import BuildReader
from escapelint.report.json import write_json_report

from .conftest import FIXTURES, GOLDEN, RECORDED, fixture_id, read_lines, recorded_files


def render(path) -> str:
    reader = BuildReader()
    out = io.StringIO()
    # The recorded module's sources answer the questions only source can (globals, named results, ...).
    sources = SourceLocator(FIXTURES / "modules" / path.name.split(".")[0])
    packages = (analyze(output, sources) for output in reader.packages(read_lines(path)))
    write_json_report(packages, reader.stats, out, path.relative_to(RECORDED).as_posix())
    # The generator version is the only volatile part of the document.
    return out.getvalue().replace(json.dumps(__version__), '"VERSION"', 1)


@pytest.mark.parametrize("path", recorded_files(), ids=fixture_id)
def test_json_report_matches_gold(path, request):
    gold = GOLDEN / path.parent.name / (path.stem + ".json")
    actual = render(path)
    json.loads(actual)  # always a valid document
    if request.config.getoption("--regen-golden"):
        gold.parent.mkdir(parents=True, exist_ok=True)
        gold.write_text(actual, encoding="utf-8")
        return
    assert gold.exists(), f"no gold file {gold}; run with --regen-golden"
    assert actual == gold.read_text(encoding="utf-8")
