"""The lines of a file, whole (open_build_output) or a window of it (WindowLines), are the lines of
the text wrapper with universal newlines kept (`newline=""`), whichever way they are split.

A file without a CR is split by the faster translating mode, which gives the same lines only because
there is nothing to translate: these tests hold the two to each other on hand-made bytes (not compiler
output: CRs, CRLFs, bad UTF-8 and sequences cut by a line end, where a difference would show).
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escapelint.read import input as build_input
from escapelint.read.input import WindowLines, carriage_return_in, open_build_output, ready_for_lines, starts_like_json

CI = settings.get_profile("ci")

#: Pieces of hand-made input: text, line ends of every kind, and bytes that are not UTF-8 on their
#: own (a lead byte without its continuation, a lone continuation, an overlong form, a surrogate).
_PIECES = [b"x.go:1:2: y", b"# p", b"\n", b"\r\n", b"\r", b"\xc3", b"\xa9", b"\xe2\x82", b"\xac", b"\xff",
           b"\xed\xa0\x80", b"\xc0\x80", b"\xf0\x9f\x98\x80", b"  flow: ", b" "]  # fmt: skip

_bytes = st.lists(st.sampled_from(_PIECES), max_size=40).map(b"".join)


def _expected(data: bytes) -> list[str]:
    """The lines as the text wrapper keeps them, a few bytes at a time (sequences cut between reads)."""
    return list(io.TextIOWrapper(io.BufferedReader(io.BytesIO(data), 3), encoding="utf-8", errors="replace", newline=""))


def _carriage_return_in(path: Path, start: int, end: int) -> bool:
    with path.open("rb", buffering=0) as handle:
        return carriage_return_in(handle.fileno(), start, end)


def _written(data: bytes, directory: str) -> Path:
    path = Path(directory) / "out.txt"
    path.write_bytes(data)
    return path


@settings(CI, max_examples=300)
@given(_bytes, st.data())
def test_a_window_has_the_lines_of_its_bytes(data, draw):
    start = draw.draw(st.integers(0, len(data)))
    end = draw.draw(st.integers(start, len(data)))
    with tempfile.TemporaryDirectory() as directory:
        path = _written(data, directory)
        assert _carriage_return_in(path, start, end) == (b"\r" in data[start:end])
        with WindowLines(path, start, end) as lines:
            assert list(lines) == _expected(data[start:end])


@settings(CI, max_examples=300)
@given(_bytes)
def test_a_whole_file_has_the_lines_of_its_bytes(data):
    with tempfile.TemporaryDirectory() as directory:
        path = _written(data, directory)
        with open_build_output(str(path)) as handle:
            starts_like_json(handle)  # what `report` does first with every input
            assert list(ready_for_lines(handle)) == _expected(data)


def test_a_cr_past_the_first_piece_of_the_search_is_found(tmp_path, monkeypatch):
    monkeypatch.setattr(build_input, "_CR_SEARCH_PIECE", 4096)  # read from an offset, a piece at a time
    data = b"a\n" * 10_000 + b"b\rc\n" + b"d\n" * 10
    path = tmp_path / "out.txt"
    path.write_bytes(data)
    assert _carriage_return_in(path, 0, len(data))
    assert _carriage_return_in(path, 7001, len(data))
    assert not _carriage_return_in(path, 0, 20_000)
    assert not _carriage_return_in(path, 20_004, len(data))
    assert not _carriage_return_in(path, 20_004, 1 << 30)  # past the end: what is there
    with WindowLines(path, 19_000, len(data)) as lines:
        assert list(lines) == _expected(data[19_000:])
    with open_build_output(str(path)) as handle:
        assert list(ready_for_lines(handle))[10_000:10_002] == ["b\r", "c\n"]


def test_a_window_of_a_file_truncated_while_it_is_searched_is_an_error_not_a_crash(tmp_path, monkeypatch):
    """`go build ... > out.txt` again truncates out.txt first. The CR search reads the window, a piece at
    a time, where a mapped page past the new end would kill the process with SIGBUS; the window's
    reader then says what happened."""
    data = b"x.go:1:2: y escapes to heap\n" * 1_000
    path = tmp_path / "out.txt"
    path.write_bytes(data)
    snapshot = build_input.file_snapshot(path)
    monkeypatch.setattr(build_input, "_CR_SEARCH_PIECE", 4096)
    real_pread = os.pread

    def pread_then_truncate(descriptor, size, offset):
        piece = real_pread(descriptor, size, offset)
        os.truncate(path, 0)
        return piece

    monkeypatch.setattr(os, "pread", pread_then_truncate)
    with pytest.raises(build_input.InputError, match="changed while it was read"):
        with WindowLines(path, 0, len(data), snapshot) as lines:
            list(lines)
