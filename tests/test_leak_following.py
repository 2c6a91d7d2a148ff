"""Values passed to callees, followed into the callees' leak explanations (escapelint issue 10 §3).

fixtures/modules/leaks is recorded on every toolchain; its labels (tests/test_rules_accuracy.py) hold
the categories, these cases the reasons, the deciding steps and the callees followed.
"""

from __future__ import annotations

import json

import pytest

from escapelint.analyze.findings import analyze
from escapelint.analyze.leaks import LeakSummaries
from escapelint.read.assembler import read_build_output
from escapelint.read.leak_scan import scan_leak_explanations
from escapelint.workflows.report import report_json
from scripts.toolchains import VERSIONS

from .conftest import analysed, fixture_id, read_lines, recorded_files

#: (line of follow.go, category, the callees followed in order, the deciding step as (expr, reason, position))
FOLLOWED = [
    (19, "global-assignment", ["keep"], ("gPtr = p", "assign", "./follow.go:15:7")),
    (29, "channel-send", ["send"], ("gCh <- p", "send", "./follow.go:25:6")),
    (39, "indirect-store", ["put"], ("b.P = p", "assign", "./follow.go:35:6")),
    (49, "global-assignment", ["relay", "keep"], ("gPtr = p", "assign", "./follow.go:15:7")),
    (83, "global-assignment", ["Keeper.Keep"], ("gPtr = p", "assign", "./follow.go:79:7")),
    (88, "global-assignment", ["store.Keep"], ("kept = p", "assign", "store/store.go:11:7")),
]

#: (line of follow.go, category, the start of its reason): callees not followed, saying which.
NOT_FOLLOWED = [
    (54, "global-assignment", "appended to package-level variable `gList`: `append(gList, &x)` (call parameter)"),
    (59, "leaking-call", "passed to the builtin `panic`, whose argument always escapes: `panic(&x)`"),
    (66, "leaking-call", "passed to `s.Sink`, an interface method or a function value"),
    (71, "leaking-call", "passed to `f`, an interface method or a function value"),
]


def _finding(version: str, line: int):
    build = analysed(version, "leaks")
    (finding,) = [
        f for f in build.findings()
        if f.event.position.file == "./follow.go" and f.event.position.line == line and f.event.kind.value == "moved"
    ]  # fmt: skip
    return finding


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("line,category,callees,step", FOLLOWED)
def test_a_value_is_followed_into_its_callees(version, line, category, callees, step):
    finding = _finding(version, line)
    assert finding.category == category
    assert [f.callee for f in finding.followed] == callees
    assert (finding.step.expr, finding.step.reason, str(finding.step.at)) == step
    assert finding.reason.startswith(f"passed to `{callees[0]}` (`")
    for call in finding.followed:
        assert call.explanation.sink == "{heap}" and call.explanation.subject == call.parameter == "p"
        assert call.call.reason == "call parameter"
    assert finding.followed[-1].package == (
        "example.com/escapelint/leaks/store" if line == 88 else "example.com/escapelint/leaks"
    )


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("line,category,reason", NOT_FOLLOWED)
def test_callees_that_cannot_be_followed_say_why(version, line, category, reason):
    finding = _finding(version, line)
    assert (finding.category, finding.followed) == (category, ())
    assert finding.reason.startswith(reason)


def test_without_the_build_wide_table_other_packages_are_not_followed():
    packages, _ = read_build_output(read_lines(recorded_files("leaks.m2.txt")[-1]))
    build = analysed("1.27.3", "leaks")
    findings = [f for p in packages for f in analyze(p, build.sources).findings]
    (other,) = [f for f in findings if f.event.position.file == "./follow.go" and f.event.position.line == 88]
    assert other.category == "leaking-call" and other.followed == ()
    assert "a function of another package whose leak this input does not explain" in other.reason


def test_the_json_report_shows_the_callees_chain(tmp_path):
    out = tmp_path / "r.json"
    source = recorded_files("leaks.m2.txt")[-1]
    report_json(str(source), str(out), source_root=analysed("1.27.3", "leaks").module)
    document = json.loads(out.read_text(encoding="utf-8"))
    events = [e for p in document["packages"] for e in p["events"]]
    (relay,) = [e for e in events if e["file"] == "./follow.go" and e["line"] == 49 and e["kind"] == "moved"]
    assert [(f["callee"], f["parameter"], f["call"]["reason"]) for f in relay["followed"]] == [
        ("relay", "p", "call parameter"),
        ("keep", "p", "call parameter"),
    ]
    assert relay["followed"][-1]["explanation"]["flows"][-1]["steps"][-1]["expr"] == "gPtr = p"
    assert not [e for e in events if "followed" in e and e["category"] is None]


def _without_lines(explanations):
    return [(e.position, e.subject, e.function, e.sink, e.derefs, e.flows, e.truncated) for e in explanations]


@pytest.mark.parametrize("path", recorded_files("*.m2.txt"), ids=fixture_id)
def test_the_leak_scan_finds_what_reading_the_whole_file_finds(path):
    """Worker processes get the table from leak_scan; one process fills it as it reads: the same table."""
    streamed = LeakSummaries()
    packages, _ = read_build_output(read_lines(path))
    for package in packages:
        streamed.add_output(package)
    scanned = LeakSummaries()
    for package_path, text in scan_leak_explanations(path):
        scanned.add_text(package_path, text)
    assert len(scanned) == len(streamed)
    for package in packages:
        if package.path is None:
            continue
        mine, theirs = scanned.before(package.path, 10**9), streamed.before(package.path, 10**9)
        assert mine.order == theirs.order
        assert _without_lines(mine.explanations) == _without_lines(theirs.explanations)


@pytest.mark.parametrize("piece", [1, 7, 4096, 8192, 1 << 20])
def test_the_file_scan_finds_what_the_text_scan_finds_across_its_pieces(piece, monkeypatch):
    # The scan of a file reads it a piece at a time (a 330 MiB input is never held whole), cut at line
    # ends: the pieces' seams must not lose or split a block, nor a package header.
    from escapelint.read import leak_scan

    paths = recorded_files("leaks.m2.txt") + recorded_files("categories.m2.txt")
    expected = [list(leak_scan.scan_leak_text(path.read_bytes())) for path in paths]  # each in one piece
    assert all(any(text for _, text in found) for found in expected)
    monkeypatch.setattr(leak_scan, "_READ_PIECE", piece)
    assert [list(leak_scan.scan_leak_explanations(path)) for path in paths] == expected


@pytest.mark.parametrize("piece", [1, 8, 4096])
def test_the_scan_finds_package_headers_where_the_reader_does(piece, monkeypatch, tmp_path):
    # Hand-made, deliberately odd input (no compiler prints "#" in these places): the scan finds a
    # header line by its "#" alone, and must take exactly the lines that start with "# " for one.
    from escapelint.read import leak_scan

    monkeypatch.setattr(leak_scan, "_READ_PIECE", piece)
    text = (
        "# example.com/a\n"
        "x.go:1:2: #notaheader\n"
        "#example.com/not\n"
        " # example.com/not\n"
        "\n"
        "# example.com/b\n"
        "##\n"
        "# example.com/c\n"
        "#"
    )
    path = tmp_path / "build.txt"
    path.write_text(text, newline="")
    packages, _ = read_build_output(read_lines(path))
    read = [p.path for p in packages if p.path is not None]
    assert read == ["example.com/a", "example.com/b", "example.com/c"]
    scanned = list(leak_scan.scan_leak_headers(path))
    assert [package for _, package, _ in scanned] == read
    assert [offset for offset, _, _ in scanned] == [text.index(f"# {p}\n") for p in read]
    assert [package for package, _ in leak_scan.scan_leak_text(text.encode())] == read


def test_the_table_of_a_file_leaves_the_texts_in_it_and_notices_a_change(tmp_path):
    # The parent's table holds spans, not texts (every byte it holds counts again in each worker):
    # a text is read when a value is followed into its package, and must be what the scan found.
    from escapelint.read import leak_scan
    from escapelint.read.input import InputError

    recording = recorded_files("leaks.m2.txt")[-1]
    path = tmp_path / "build.txt"
    path.write_bytes(recording.read_bytes())
    expected = list(leak_scan.scan_leak_text(path.read_bytes()))
    scanned = list(leak_scan.scan_leak_headers(path))
    assert [(package, text.read()) for _, package, text in scanned] == expected
    assert [text.identity for _, _, text in scanned] == [leak_scan.text_identity(t) for _, t in expected]
    changed = next(text for _, _, text in scanned if text.spans)
    start, _ = changed.spans[0]
    with path.open("r+b") as handle:  # one byte of a leak explanation, size and all else unchanged
        handle.seek(start)
        first = handle.read(1)
        handle.seek(start)
        handle.write(b"X" if first != b"X" else b"Y")
    with pytest.raises(InputError, match="changed while it was read"):
        changed.read()


def test_a_spooled_pipe_block_on_disk_is_scanned_from_the_file_with_the_same_result(monkeypatch, tmp_path):
    # audit spools each package block of the go build pipe; one bigger than SPOOL_IN_MEMORY is on disk
    # and scanned from there, never read whole (go/types alone is 270 MB of the standard library's output).
    import tempfile

    from escapelint.read.leak_scan import scan_leak_text
    from escapelint.workflows import audit

    monkeypatch.setattr(audit, "SPOOL_IN_MEMORY", 1024)
    data = recorded_files("leaks.m2.txt")[-1].read_bytes()
    with tempfile.SpooledTemporaryFile(1024, dir=tmp_path) as spool:
        spool.write(data)
        assert spool._rolled
        assert list(audit._scan_spool(spool)) == list(scan_leak_text(data))
