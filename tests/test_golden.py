"""Gold files: the JSON report of every recorded fixture, exactly.

Regenerate after an intended change with:  python -m pytest tests/test_golden.py --regen-golden
and review the diff of tests/golden/ like any other change.
"""

from __future__ import annotations

import io
import json

import pytest

from escapelint import __version__
from escapelint.report.json import write_json_report

from .conftest import GOLDEN, RECORDED, analysed_file, fixture_id, recorded_files


def render(path) -> str:
    out = io.StringIO()
    # Analysed with the recorded module's sources, which answer what only source can (globals, named results, ...).
    build = analysed_file(path)
    write_json_report(iter(build.packages), build.stats, out, path.relative_to(RECORDED).as_posix())
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
