"""The reader's fuzz campaign: mutations of recorded real compiler output, and the properties they must keep.

Shared by tests/test_fuzz_reader.py (a fixed, bounded run in CI: the "ci" profile) and
scripts/fuzz_reader.py (a longer run, `--examples N`). Every input starts as real `go build
-gcflags=-m=2` output recorded under fixtures/recorded/ and is then damaged the way files get damaged:
lines cut short, characters inserted or deleted, bytes that are not UTF-8, NUL, CR/LF mixes, lines up
to 64 KiB, lines duplicated, dropped and moved.

The properties, each a plain function of the input bytes so that both runners (and a regression test
of a single input) call the same code:

- `check_accounting`: reading never raises, and every line has exactly one role, where lines are what
  the reader is given by escapelint.read.input: universal newlines ("\\n", "\\r\\n", a lone "\\r"), not
  `str.splitlines`, which also splits at "\\x0b", "\\x1c", "\\x85", "\\u2028" and more.
- `check_stdin_same_as_file`: `escapelint report - --format json` on standard input gives the report
  `escapelint report FILE --format json` gives (but for the input's name).
- `check_jobs_agree`: `--jobs 2`, with the input cut at every package header (as tests/test_parallel.py
  forces it), gives the report `--jobs 1` gives, byte for byte.
- `check_every_format`: every report format is written from what the reader made of the input, and
  the machine-readable ones parse (the reader's output, however odd, is the later stages' input).
"""

from __future__ import annotations

import contextlib
import functools
import io
import itertools
import json
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
RECORDED = ROOT / "fixtures" / "recorded"

#: CI: a fixed set of examples (derandomized), bounded, no example database written into the tree.
settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: The longest line a mutation makes.
LONG_LINE = 64 << 10


# --- the recorded lines --------------------------------------------------------------------------


@functools.cache
def recorded_inputs() -> tuple[tuple[bytes, ...], ...]:
    """Every recorded fixture as its lines (bytes, line ends kept), in a fixed order."""
    files = sorted(RECORDED.glob("go*/*.txt"))
    assert files, f"no recorded compiler output under {RECORDED}"
    return tuple(tuple(path.read_bytes().splitlines(keepends=True)) for path in files)


@functools.cache
def recorded_packages() -> tuple[tuple[bytes, ...], ...]:
    """The recorded output cut into packages: runs of lines that start at a "# import/path" header."""
    packages = []
    for lines in recorded_inputs():
        starts = [i for i, line in enumerate(lines) if line.startswith(b"# ")] + [len(lines)]
        packages.extend(lines[a:b] for a, b in itertools.pairwise(starts) if b - a > 1)
    return tuple(packages)


# --- mutations -----------------------------------------------------------------------------------

#: Fragments worth inserting: line ends, NUL, bytes that are not UTF-8 (a lone continuation byte, a
#: cut sequence, an encoded surrogate, an overlong form), separators only `str.splitlines` knows, and
#: the punctuation and words the grammar keys on.
FRAGMENTS = (
    b"\x00", b"\r", b"\n", b"\r\n", b"\n\r", b"\xff", b"\xfe", b"\x80", b"\xc3", b"\xe2\x80", b"\xed\xa0\x80",
    b"\xc0\xaf", b"\xf0\x9f\x98", "\u00e9".encode(), "\u2028".encode(), b"\x0b", b"\x0c", b"\x1c", b"\x1e",
    "\x85".encode(), b"\t", b" ", b"  ", b"    ", b":", b": ", b":1: ", b":12:3: ", b"#", b"# ", b"(", b")", b"&",
    b"*", b"[", b"]", b"{", b"}", b"~r0", b"...", b" at ", b"from ", b"flow: ", b" = ", b" escapes to heap",
    b"moved to heap: ", b"leaking param: ", b" does not escape", b"<unknown line number>", b"./", b"C:\\",
    b"(spill)", b"level=", b"derefs=", b"-1", b"999999999999999999999",
)

insertions = st.one_of(st.sampled_from(FRAGMENTS), st.binary(min_size=1, max_size=6))
line_ends = st.sampled_from([b"\n", b"\r\n", b"\r", b"", b"\n\r", b"\r\r\n"])

Lines = list[bytes]
Draw = Callable


def _body(line: bytes) -> tuple[bytes, bytes]:
    body = line.rstrip(b"\r\n")
    return body, line[len(body) :]


def _truncate(draw: Draw, lines: Lines, i: int) -> None:
    body, end = _body(lines[i])
    cut = draw(st.integers(0, len(body)))
    lines[i] = body[:cut] + (end if draw(st.booleans()) else b"")


def _insert(draw: Draw, lines: Lines, i: int) -> None:
    at = draw(st.integers(0, len(lines[i])))
    lines[i] = lines[i][:at] + draw(insertions) + lines[i][at:]


def _delete(draw: Draw, lines: Lines, i: int) -> None:
    at = draw(st.integers(0, len(lines[i])))
    size = draw(st.integers(1, 12))
    lines[i] = lines[i][:at] + lines[i][at + size :]


def _replace_byte(draw: Draw, lines: Lines, i: int) -> None:
    if lines[i]:
        at = draw(st.integers(0, len(lines[i]) - 1))
        byte = draw(st.sampled_from([b"\x00", b"\xff", b"\x80", b"\r", b"\n", b"?"]))
        lines[i] = lines[i][:at] + byte + lines[i][at + 1 :]


def _line_end(draw: Draw, lines: Lines, i: int) -> None:
    body, _ = _body(lines[i])
    lines[i] = body + draw(line_ends)


def _long_line(draw: Draw, lines: Lines, i: int) -> None:
    """The line's text repeated to a length of up to 64 KiB (a long expression, a generated file)."""
    body, end = _body(lines[i])
    body = body or b"x"
    size = draw(st.integers(1 << 10, LONG_LINE))
    lines[i] = (body * (size // len(body) + 1))[:size] + end


def _renumber(draw: Draw, lines: Lines, i: int) -> None:
    """One number of the line (a line, a column, a level, a derefs count) replaced by another."""
    numbers = [m.span() for m in re.finditer(rb"\d+", lines[i])]
    if numbers:
        a, b = draw(st.sampled_from(numbers))
        number = draw(st.sampled_from([b"0", b"1", b"00", b"-1", b"65536", b"99999999999999999999"]))
        lines[i] = lines[i][:a] + number + lines[i][b:]


def _duplicate(draw: Draw, lines: Lines, i: int) -> None:
    lines[i:i] = [lines[i]] * draw(st.integers(1, 3))


def _drop(draw: Draw, lines: Lines, i: int) -> None:
    del lines[i : i + draw(st.integers(1, 4))]


def _move(draw: Draw, lines: Lines, i: int) -> None:
    line = lines.pop(i)
    lines.insert(draw(st.integers(0, len(lines))), line)


def _swap_neighbours(draw: Draw, lines: Lines, i: int) -> None:
    if i + 1 < len(lines):
        lines[i], lines[i + 1] = lines[i + 1], lines[i]


def _splice(draw: Draw, lines: Lines, i: int) -> None:
    """A real line from another recorded build, put where it does not belong."""
    other = draw(st.sampled_from(recorded_inputs()))
    lines.insert(i, other[draw(st.integers(0, len(other) - 1))])


MUTATIONS = (
    _truncate, _insert, _insert, _delete, _replace_byte, _line_end, _long_line, _renumber, _duplicate, _drop,
    _move, _swap_neighbours, _splice,
)


def _mutate(draw: Draw, lines: Lines, max_mutations: int) -> bytes:
    for _ in range(draw(st.integers(0, max_mutations))):
        if not lines:
            break
        mutation = draw(st.sampled_from(MUTATIONS))
        mutation(draw, lines, draw(st.integers(0, len(lines) - 1)))
    if lines and draw(st.booleans()):
        lines[-1] = _body(lines[-1])[0]  # no line end after the last line
    data = b"".join(lines)
    # Longer lines are allowed to add up, not to pile up: at most a few 64 KiB lines in one input.
    assume(len(data) <= 4 * LONG_LINE)
    return data


@st.composite
def build_outputs(draw: Draw, max_lines: int = 150, max_mutations: int = 8) -> bytes:
    """A run of consecutive lines of one recorded build, mutated."""
    lines = draw(st.sampled_from(recorded_inputs()))
    start = draw(st.integers(0, len(lines) - 1))
    size = draw(st.integers(1, max_lines))
    return _mutate(draw, list(lines[start : start + size]), max_mutations)


@st.composite
def multi_package_outputs(draw: Draw, max_packages: int = 6, max_mutations: int = 8) -> bytes:
    """Several recorded packages one after the other (each from its "# import/path" line), mutated."""
    packages = draw(st.lists(st.sampled_from(recorded_packages()), min_size=2, max_size=max_packages))
    return _mutate(draw, [line for package in packages for line in package], max_mutations)


# --- the properties ------------------------------------------------------------------------------


def reader_lines(data: bytes) -> list[str]:
    """`data` as the reader gets it from a file or stdin (escapelint.read.input, tests/conftest.read_lines)."""
    with io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace", newline="") as text:
        return text.readlines()


def check_accounting(data: bytes) -> None:
    from escapelint.read.assembler import read_build_output

    lines = reader_lines(data)
    packages, stats = read_build_output(lines)
    assert stats.lines == len(lines), (stats.lines, len(lines))
    assert stats.balanced(), (stats.lines, dict(stats.roles))
    for package in packages:
        for unrecognized in package.unrecognized:
            assert 1 <= unrecognized.line <= len(lines)
        for event in package.events:
            assert 1 <= event.line <= len(lines)


def _cli_json(args: list[str], stdin: bytes | None = None) -> dict:
    from typer.testing import CliRunner

    from escapelint.cli import app

    result = CliRunner().invoke(app, args, input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, (args, result.exit_code, result.stderr)
    return json.loads(result.stdout)


def check_stdin_same_as_file(data: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="escapelint-fuzz-") as scratch:
        source = Path(scratch) / "build.txt"
        source.write_bytes(data)
        common = ["--format", "json", "--source-root", scratch, "--quiet", "--jobs", "1"]
        from_file = _cli_json(["report", str(source), *common])
        from_stdin = _cli_json(["report", "-", *common], stdin=data)
    assert from_file.pop("input") == str(source)
    assert from_stdin.pop("input") == "<stdin>"
    for warning in from_file.get("warnings", ()):  # a warning names its input
        warning["message"] = warning["message"].replace(str(source), "<stdin>")
    assert from_stdin == from_file


@contextlib.contextmanager
def windows_at_every_header() -> Iterator[None]:
    """Read even small inputs in parallel, cut at every package header (as tests/test_parallel.py does)."""
    from escapelint.workflows import parallel

    saved = parallel.MIN_PARALLEL_BYTES, parallel.MIN_WINDOW_BYTES
    parallel.MIN_PARALLEL_BYTES, parallel.MIN_WINDOW_BYTES = 0, 1
    try:
        yield
    finally:
        parallel.MIN_PARALLEL_BYTES, parallel.MIN_WINDOW_BYTES = saved


def check_jobs_agree(data: bytes) -> None:
    from escapelint.workflows import parallel
    from escapelint.workflows.report import report_json

    with tempfile.TemporaryDirectory(prefix="escapelint-fuzz-") as scratch, windows_at_every_header():
        source = Path(scratch) / "build.txt"
        source.write_bytes(data)
        plan = parallel.parallel_plan(str(source), 2)
        assume(plan is not None and len(plan.windows) >= 2)  # mutations may have broken every header but one
        outputs, stats = {}, {}
        for jobs in (1, 2):
            out = Path(scratch) / f"jobs{jobs}.json"
            stats[jobs] = report_json(str(source), str(out), source_root=Path(scratch), jobs=jobs)
            outputs[jobs] = out.read_bytes()
    assert outputs[2] == outputs[1]
    assert stats[2] == stats[1]
    assert stats[1].balanced() and stats[1].lines == len(reader_lines(data))


def check_every_format(data: bytes) -> None:
    from escapelint.report.formats import FORMATS, parse_format_targets
    from escapelint.workflows.report import report

    with tempfile.TemporaryDirectory(prefix="escapelint-fuzz-") as scratch:
        source, out = Path(scratch) / "build.txt", Path(scratch) / "out"
        source.write_bytes(data)
        out.mkdir()
        result = report(str(source), parse_format_targets(list(FORMATS), out), source_root=Path(scratch), jobs=1)
        assert result.stats.balanced()
        json.loads((out / FORMATS["json"].default_name).read_text(encoding="utf-8"))
        json.loads((out / FORMATS["sarif"].default_name).read_text(encoding="utf-8"))
        for line in (out / FORMATS["rdjsonl"].default_name).read_text(encoding="utf-8").splitlines():
            json.loads(line)
        assert (out / "html" / "index.html").is_file() and (out / "md" / "README.md").is_file()


PROPERTIES = {
    "accounting": (check_accounting, build_outputs),
    "stdin": (check_stdin_same_as_file, build_outputs),
    "jobs": (check_jobs_agree, multi_package_outputs),
    "formats": (check_every_format, multi_package_outputs),
}
