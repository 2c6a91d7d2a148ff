"""analyze.source.read_go_file: the one reader of Go source (source facts, report lines, suppressions, git)."""

from __future__ import annotations

from escapelint.analyze.source import SourceLocator, read_go_file


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
