"""SARIF output against the official schema, from the copy kept under tests/schemas/: never skipped."""

from __future__ import annotations

import json

import pytest

from .conftest import ROOT, SARIF_SCHEMA, fixture_id, recorded_files
from .reporting import render_fixture

#: Where the copy comes from (tests/schemas/README.md), beside the repository when it is checked out there.
SHARED_SCHEMA = ROOT.parent / "shared" / "schemas" / SARIF_SCHEMA.name


def test_the_schema_copy_is_there_and_is_the_sarif_2_1_0_schema():
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    assert schema["$schema"].startswith("http://json-schema.org/")
    assert "2.1.0" in schema["id"] and schema["title"].startswith("Static Analysis Results Format")


@pytest.mark.skipif(not SHARED_SCHEMA.is_file(), reason=f"no shared schema at {SHARED_SCHEMA} to compare the copy with")
def test_the_copy_equals_the_shared_schema():
    assert SARIF_SCHEMA.read_bytes() == SHARED_SCHEMA.read_bytes()


def test_the_validator_rejects_what_is_not_sarif(sarif_validator):
    assert list(sarif_validator.iter_errors({"version": "2.1.0", "runs": [{}]}))  # a run needs its tool
    assert list(sarif_validator.iter_errors({"version": "1.0", "runs": []}))


@pytest.mark.parametrize("recording", recorded_files("*.m2.txt"), ids=fixture_id)
def test_every_recorded_build_gives_valid_sarif(recording, tmp_path, sarif_validator):
    render_fixture(recording, [("sarif", tmp_path / "x.sarif")])
    document = json.loads((tmp_path / "x.sarif").read_text(encoding="utf-8"))
    errors = sorted(sarif_validator.iter_errors(document), key=lambda e: list(e.path))
    assert errors == [], "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
    assert document["runs"][0]["results"] or recording.name.startswith("broken")
