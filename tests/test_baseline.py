"""The baseline file (escapelint.workflows.baseline): its document, reading it back, and refusing what is not one.

How write_baseline puts the bytes on disk is not tested here beyond its refuse/replace rule (and that what it
writes reads back): the document and read_baseline are.
"""

from __future__ import annotations

import json

import pytest

from escapelint.report.output import OutputError
from escapelint.workflows.baseline import (
    SCHEMA,
    Baseline,
    BaselineError,
    baseline_document,
    read_baseline,
    write_baseline,
)

from .conftest import analysed

COMMAND = "go build -gcflags=-m=2 ./..."
ROW_KEYS = ["fingerprint", "package", "function", "category", "kind", "expr", "file", "line"]


def heap_findings(version="1.27.3", module="example"):
    return list(analysed(version, module).build_result().heap_findings())


def store(path, document) -> None:
    path.write_text(json.dumps(document), encoding="utf-8")


# --- the document --------------------------------------------------------------------------------


def test_the_document_holds_every_finding_once_with_its_site():
    findings = heap_findings()
    document = baseline_document(findings, "go1.27.3", COMMAND)
    assert list(document) == ["schema", "go_version", "command", "findings"]
    assert (document["schema"], document["go_version"], document["command"]) == (SCHEMA, "go1.27.3", COMMAND)
    rows = document["findings"]
    assert len(rows) == len(findings) > 10
    assert all(list(row) == ROW_KEYS for row in rows)
    by_fingerprint = {row["fingerprint"]: row for row in rows}
    assert len(by_fingerprint) == len(rows)  # fingerprints are unique within a build
    for finding in findings:
        row = by_fingerprint[finding.fingerprint]
        assert row == {
            "fingerprint": finding.fingerprint,
            "package": finding.event.package,
            "function": finding.function,
            "category": finding.category,
            "kind": finding.event.kind.value,
            "expr": finding.event.expr,
            "file": finding.event.position.file,
            "line": finding.event.position.line,
        }


def test_rows_are_sorted_by_package_file_line_whatever_the_input_order():
    findings = heap_findings()
    rows = baseline_document(findings, None, COMMAND)["findings"]
    assert rows == sorted(rows, key=lambda r: (r["package"] or "", r["file"], r["line"], r["fingerprint"]))
    assert baseline_document(reversed(findings), None, COMMAND) == baseline_document(findings, None, COMMAND)


def test_the_document_is_plain_json():
    document = baseline_document(heap_findings("1.27.3", "hostile"), "go1.27.3", COMMAND)
    assert json.loads(json.dumps(document, ensure_ascii=False)) == document


def test_an_empty_build_gives_an_empty_baseline():
    assert baseline_document([], None, "") == {"schema": SCHEMA, "go_version": None, "command": "", "findings": []}


# --- reading ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.19", "1.24.11", "1.27.3"])
@pytest.mark.parametrize("module", ["categories", "example", "hostile"])
def test_round_trip_every_finding_is_known(tmp_path, version, module):
    findings = heap_findings(version, module)
    path = tmp_path / "baseline.json"
    store(path, baseline_document(findings, f"go{version}", COMMAND))
    baseline = read_baseline(path)
    assert baseline == Baseline(frozenset(f.fingerprint for f in findings), f"go{version}", path)
    assert all(finding in baseline for finding in findings)


def test_a_finding_outside_the_baseline_is_not_in_it(tmp_path):
    findings = heap_findings()
    path = tmp_path / "baseline.json"
    store(path, baseline_document(findings[1:], "go1.27.3", COMMAND))
    baseline = read_baseline(path)
    assert findings[0] not in baseline and all(f in baseline for f in findings[1:])


def test_only_fingerprints_matter_not_positions(tmp_path):
    """Moved code keeps its fingerprint: the stored positions are for people."""
    findings = heap_findings()
    document = baseline_document(findings, "go1.27.3", COMMAND)
    for row in document["findings"]:
        row.update(line=row["line"] + 100, file="moved.go", expr="changed")
    path = tmp_path / "baseline.json"
    store(path, document)
    assert all(finding in read_baseline(path) for finding in findings)


def test_a_minimal_baseline_is_enough(tmp_path):
    path = tmp_path / "b.json"
    store(path, {"schema": SCHEMA, "findings": [{"fingerprint": "abc"}]})
    assert read_baseline(path) == Baseline(frozenset({"abc"}), None, path)


def test_a_missing_baseline_says_how_to_make_one(tmp_path):
    path = tmp_path / "none.json"
    with pytest.raises(BaselineError, match=f"^{path}: no baseline; create one with `escapelint baseline`$"):
        read_baseline(path)


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b"not json", b'{"schema": "escapelint.workflows.baseline/1", "findings": [', b"\xff\xfe{}"],
    ids=["empty", "truncated", "text", "cut-short", "not-utf8"],
)
def test_unreadable_content_is_a_baseline_error(tmp_path, content):
    path = tmp_path / "b.json"
    path.write_bytes(content)
    with pytest.raises(BaselineError, match=f"^{path}: not a readable baseline: "):
        read_baseline(path)


def test_a_directory_is_a_baseline_error(tmp_path):
    with pytest.raises(BaselineError, match="not a readable baseline"):
        read_baseline(tmp_path)


@pytest.mark.parametrize(
    "document",
    [
        [],
        "baseline",
        3,
        None,
        {},
        {"schema": "escapelint.report/1", "findings": []},  # a JSON report is no baseline
        {"schema": "escapelint.workflows.baseline/2", "findings": []},
        {"findings": [{"fingerprint": "abc"}]},
    ],
    ids=["list", "string", "number", "null", "empty", "report", "newer", "no-schema"],
)
def test_a_document_that_is_not_a_baseline_is_refused(tmp_path, document):
    path = tmp_path / "b.json"
    store(path, document)
    with pytest.raises(BaselineError, match=f"^{path}: not an escapelint baseline \\(schema {SCHEMA!r} expected\\)$"):
        read_baseline(path)


@pytest.mark.parametrize(
    "findings",
    [None, 3, "abc", {"abc": 1}, [{"file": "a.go"}], ["abc"], [{"fingerprint": ["a"]}], [None]],
    ids=["null", "number", "string", "object", "no-fingerprint", "string-rows", "unhashable", "null-row"],
)
def test_a_malformed_findings_list_is_refused(tmp_path, findings):
    path = tmp_path / "b.json"
    store(path, {"schema": SCHEMA, "findings": findings})
    with pytest.raises(BaselineError, match=f"^{path}: malformed findings list$"):
        read_baseline(path)


def test_no_findings_key_is_malformed(tmp_path):
    path = tmp_path / "b.json"
    store(path, {"schema": SCHEMA})
    with pytest.raises(BaselineError, match="malformed findings list"):
        read_baseline(path)


# --- write_baseline: what it may replace ---------------------------------------------------------


def test_write_creates_a_baseline_that_reads_back(tmp_path):
    findings = heap_findings()
    path = tmp_path / "baseline.json"
    write_baseline(path, baseline_document(findings, "go1.27.3", COMMAND), overwrite=False)
    assert read_baseline(path).fingerprints == {f.fingerprint for f in findings}


def test_write_replaces_an_existing_baseline_without_being_told(tmp_path):
    path = tmp_path / "baseline.json"
    store(path, baseline_document([], "go1.26.6", COMMAND))
    findings = heap_findings()
    write_baseline(path, baseline_document(findings, "go1.27.3", COMMAND), overwrite=False)
    baseline = read_baseline(path)
    assert baseline.go_version == "go1.27.3" and len(baseline.fingerprints) == len(findings)


@pytest.mark.parametrize(
    "existing",
    [b'{"schema": "escapelint.report/1"}', b"[1, 2]", b"not json", b"", b"\xff"],
    ids=["a-report", "a-list", "text", "empty", "not-utf8"],
)
def test_write_refuses_to_replace_what_is_not_a_baseline(tmp_path, existing):
    path = tmp_path / "notes.json"
    path.write_bytes(existing)
    # Refused by the output layer that writes every file (an OutputError: exit 2 in the CLI).
    with pytest.raises(OutputError, match=f"^{path} exists and is not an escapelint baseline; pass --force"):
        write_baseline(path, baseline_document([], None, COMMAND), overwrite=False)
    assert path.read_bytes() == existing


def test_write_replaces_anything_when_told(tmp_path):
    path = tmp_path / "notes.json"
    path.write_bytes(b"precious notes")
    write_baseline(path, baseline_document(heap_findings(), None, COMMAND), overwrite=True)
    assert read_baseline(path).fingerprints
