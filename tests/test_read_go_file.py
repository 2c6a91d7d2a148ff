"""analyze.source.read_go_file: the one reader of Go source (source facts, report lines, suppressions, git)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from escapelint.analyze.source import SourceLocator, go_text, read_go_file


def test_reads_utf8_text_as_it_is(tmp_path):
    path = tmp_path / "a.go"
    path.write_text('package a\n\nvar s = "héllo, 世界"\n', encoding="utf-8")
    assert read_go_file(path) == 'package a\n\nvar s = "héllo, 世界"\n'


def test_a_byte_that_is_not_utf8_costs_one_character_not_the_file(tmp_path):
    path = tmp_path / "a.go"
    path.write_bytes(b'package a\n\nvar s = "\xff"\n')
    assert read_go_file(path) == 'package a\n\nvar s = "\ufffd"\n'


def test_what_cannot_be_read_is_none(tmp_path):
    assert read_go_file(tmp_path / "missing.go") is None
    (tmp_path / "dir.go").mkdir()
    assert read_go_file(tmp_path / "dir.go") is None


def test_an_unreadable_file_is_left_out_of_the_package_source(tmp_path):
    (tmp_path / "a.go").write_text("package a\n\nvar sink *int\n", encoding="utf-8")
    (tmp_path / "b.go").mkdir()  # named by the output, but not a file
    source = SourceLocator(tmp_path).read({"a.go", "b.go"})
    assert source.covers("a.go") and not source.covers("b.go")
    assert "sink" in source.globals_of("a.go")


@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"package a", b"\n", b"\r\n", b"\r", b"\xc3", b"\xa9", b"\xe2\x82", b"\xff", b" x"]), max_size=30).map(b"".join))
def test_the_text_of_bytes_is_what_a_text_mode_read_gives(data):
    """go_text (the cache's recorder reads a file once, for its identity and its text) against Python's
    own text mode, on hand-made bytes: CRLF, lone CRs, bad UTF-8."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "a.go"
        path.write_bytes(data)
        assert go_text(data) == path.read_text(encoding="utf-8", errors="replace") == read_go_file(path)
