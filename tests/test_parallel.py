"""Reading with several processes gives the same reports, byte for byte, as reading with one.

Inputs are real compiler output: the recorded fixtures of every toolchain run together, and a fresh
`go build -gcflags=all=-m=2 encoding/json` (67 packages). Variants with other line ends, undecodable
bytes and stray "#" lines are derived from the recorded text by the transformations written below
(hand-made input, on purpose: the malformed cases the planner must not cut at).
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from escapelint.workflows import parallel
from escapelint.workflows.report import report, report_json

from .conftest import recorded_files, toolchain_or_skip

pytestmark = pytest.mark.skipif(not parallel.can_fork(), reason="parallel reading needs fork()")


@pytest.fixture
def small_windows(monkeypatch, tmp_path):
    """Read even small inputs in parallel, and cut them at every package header. The fragments go
    under tmp_path: a parallel run also removes stale fragment directories where it puts its own,
    and a test must not do that in the machine's temporary directory."""
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(parallel, "MIN_WINDOW_BYTES", 1)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))


def _all_recorded() -> bytes:
    return b"".join(path.read_bytes() for path in recorded_files("*.m2.txt"))


def _json(source: Path, out: Path, jobs: int) -> tuple[bytes, object]:
    stats = report_json(str(source), str(out), jobs=jobs)
    return out.read_bytes(), stats


def _assert_same_json(source: Path, tmp_path: Path, *, expect_windows: int = 2) -> None:
    plan = parallel.parallel_plan(str(source), 2)
    assert plan is not None and len(plan.windows) >= expect_windows, "the parallel path was not taken"
    one, one_stats = _json(source, tmp_path / "one.json", jobs=1)
    two, two_stats = _json(source, tmp_path / "two.json", jobs=2)
    assert two == one
    assert two_stats == one_stats
    assert two_stats.balanced()


def test_recorded_output_of_every_toolchain(tmp_path, small_windows):
    source = tmp_path / "all.txt"
    source.write_bytes(_all_recorded())
    _assert_same_json(source, tmp_path, expect_windows=20)


# Transformations of the recorded text into inputs a planner could misread.
VARIANTS = {
    "crlf": lambda data: data.replace(b"\n", b"\r\n"),
    # Old Mac line ends: no "\n" at all, so there is nowhere to cut and one process reads it.
    "lone-cr": lambda data: data.replace(b"\n", b"\r"),
    # CRLF and LF mixed, and a lone CR inside a header line (the reader splits it there).
    "mixed": lambda data: data.replace(b"\n# ", b"\r\n# ", 5).replace(b"\n# ", b"\n#\r ", 1),
    "undecodable": lambda data: data.replace(b"escapes to heap", b"escapes \xff\xfe to heap", 50),
    "preamble": lambda data: b"go: downloading nothing\n\n" + data,
    "stray-hashes": lambda data: data.replace(b"\n# ", b"\n#not a header\n# not a package header either: x\n# ", 3),
    "no-final-newline": lambda data: data.rstrip(b"\n"),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_hostile_variants_read_the_same(tmp_path, small_windows, variant):
    source = tmp_path / f"{variant}.txt"
    source.write_bytes(VARIANTS[variant](_all_recorded()))
    plan = parallel.parallel_plan(str(source), 2)
    one, one_stats = _json(source, tmp_path / "one.json", jobs=1)
    two, two_stats = _json(source, tmp_path / "two.json", jobs=2)
    assert two == one
    assert two_stats == one_stats
    if variant == "lone-cr":
        assert plan is None
    else:
        assert plan is not None and len(plan.windows) > 10


def test_every_format_the_same(tmp_path, small_windows):
    source = tmp_path / "all.txt"
    source.write_bytes(_all_recorded())
    outputs = {}
    for jobs in (1, 2):
        out = tmp_path / f"jobs{jobs}"
        targets = [("json", out / "report.json"), ("md", out / "md"), ("html", out / "html"), ("sarif", out / "r.sarif")]
        out.mkdir()
        report(str(source), targets, jobs=jobs)
        outputs[jobs] = {
            path.relative_to(out).as_posix(): path.read_bytes() for path in sorted(out.rglob("*")) if path.is_file()
        }
    assert len(outputs[1]) > 10
    assert outputs[2].keys() == outputs[1].keys()
    for name in outputs[1]:
        one, two = _untimed(outputs[1][name]), _untimed(outputs[2][name])
        at = next((i for i, (a, b) in enumerate(zip(one, two)) if a != b), min(len(one), len(two)))
        assert two == one, (name, one[at - 300 : at + 80], two[at - 300 : at + 80])


def _untimed(page: bytes) -> bytes:
    """The page without the moment it was written (the two runs are a moment apart)."""
    page = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|\+00:00)", b"<when>", page)
    return re.sub(rb"\d{4}-\d\d-\d\d \d\d:\d\d UTC", b"<when>", page)


def test_json_to_a_stream_without_a_file(tmp_path, small_windows, monkeypatch):
    """Standard output that is no file (a StringIO here): fragments are copied through the text layer."""
    source = tmp_path / "all.txt"
    source.write_bytes(_all_recorded())
    expected, _ = _json(source, tmp_path / "one.json", jobs=1)
    captured = io.StringIO()
    monkeypatch.setattr("sys.stdout", captured)
    report_json(str(source), None, jobs=2)
    assert captured.getvalue().encode("utf-8") == expected


def test_small_inputs_stdin_and_one_job_read_in_one_process(tmp_path):
    source = tmp_path / "all.txt"
    source.write_bytes(_all_recorded())
    assert parallel.parallel_plan(str(source), 2) is None  # far below MIN_PARALLEL_BYTES
    assert parallel.parallel_plan("-", 2) is None
    assert parallel.parallel_plan(str(source), 1) is None
    assert parallel.parallel_plan(str(tmp_path / "missing.txt"), 2) is None


def test_windows_start_at_package_headers(tmp_path, small_windows):
    data = _all_recorded()
    source = tmp_path / "all.txt"
    source.write_bytes(data)
    windows = parallel.plan_windows(source)
    assert windows[0].start == 0 and windows[-1].end == len(data)
    assert all(a.end == b.start for a, b in zip(windows, windows[1:]))
    headers = [i + 1 for i in range(len(data)) if data.startswith(b"\n# ", i)]
    assert [w.start for w in windows[1:]] == [h for h in headers if h > 0]


@pytest.mark.parametrize("piece", [1, 2, 3, 7, 4096])
def test_line_ends_counted_as_the_reader_counts_them(tmp_path, monkeypatch, piece):
    data = b"a\r\nb\rc\n\r\r\n\n\xff\r" * 5 + b"\r" + b"\n# x\r\n" + b"tail"
    source = tmp_path / "lines.txt"
    source.write_bytes(data)
    monkeypatch.setattr(parallel, "COUNT_PIECE", piece)
    # Window starts: the file's start and the starts of lines after a "\n".
    starts = [0, *(i for i in range(1, len(data)) if data[i - 1 : i] == b"\n")]
    for start in starts:
        for end in starts:
            if end >= start:
                with io.TextIOWrapper(
                    io.BytesIO(data[start:end]), encoding="utf-8", errors="replace", newline=""
                ) as text:
                    assert parallel.count_line_ends(source, start, end) == len(text.readlines()), (start, end)


@pytest.mark.toolchain
def test_real_build_of_many_packages(tmp_path, monkeypatch):
    """A real multi-package build, cut into windows of 64 KiB or more, reads the same."""
    toolchain = toolchain_or_skip("1.27.3")
    env = dict(toolchain.env(), GOFLAGS="", GOTOOLCHAIN="local", GOPROXY="off", GOWORK="off")
    build = subprocess.run(
        [str(toolchain.go), "build", "-gcflags=all=-m=2", "encoding/json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    source = tmp_path / "build.txt"
    source.write_bytes(build.stdout + build.stderr)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(parallel, "MIN_WINDOW_BYTES", 64 << 10)
    _assert_same_json(source, tmp_path, expect_windows=10)


def test_cli_rejects_zero_jobs(tmp_path):
    from typer.testing import CliRunner

    from escapelint.cli import app

    result = CliRunner().invoke(app, ["report", os.devnull, "--jobs", "0"])
    assert result.exit_code == 2
    assert "--jobs" in result.output


def test_a_failing_worker_fails_the_report_and_leaves_no_fragments(tmp_path, small_windows, monkeypatch):
    source = tmp_path / "all.txt"
    source.write_bytes(_all_recorded())
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    from escapelint.analyze import findings

    real_analyze = findings.analyze

    def failing_analyze(output, sources=None, leaks=None):
        if output.path == "example.com/escapelint/hostile/odd":
            raise OSError("no space left on device (simulated)")
        return real_analyze(output, sources, leaks)

    monkeypatch.setattr(findings, "analyze", failing_analyze)  # the forked workers inherit it (parallel imports it when it analyses)
    with pytest.raises(OSError, match="simulated"):
        report_json(str(source), str(tmp_path / "report.json"), jobs=2)
    assert list(scratch.iterdir()) == []


def test_a_file_rewritten_after_it_was_cut_is_an_error_without_the_cache_too(tmp_path, small_windows, monkeypatch):
    """`go build ... > out.txt` run again while a `--no-cache` report reads out.txt: the windows were
    cut from the old bytes, so the report would be made of two files' bytes; it is an error instead."""
    from escapelint.read.input import InputError

    source = tmp_path / "all.txt"
    source.write_bytes(_all_recorded())
    shorter = recorded_files("*.m2.txt")[0].read_bytes()
    real_plan_windows = parallel.plan_windows

    def cut_then_rewrite(path, *rest, **options):
        windows = real_plan_windows(path, *rest, **options)
        source.write_bytes(shorter)  # truncated and written again, shorter
        return windows

    monkeypatch.setattr(parallel, "plan_windows", cut_then_rewrite)
    with pytest.raises(InputError, match="changed while it was read"):
        report_json(str(source), str(tmp_path / "report.json"), jobs=2)
    assert not (tmp_path / "report.json").exists()


def test_a_file_truncated_while_its_leaks_are_scanned_is_an_error_not_a_crash(tmp_path, small_windows, monkeypatch):
    """The leak scan reads the file in pieces. When it mapped the file, a page cut off by `go build ...
    > out.txt` run again killed the process with SIGBUS; read, the scan sees a shorter file and the
    report fails with an input error, writing nothing."""
    from escapelint.read import leak_scan
    from escapelint.read.input import InputError

    source = tmp_path / "all.txt"
    source.write_bytes(_all_recorded())
    monkeypatch.setattr(leak_scan, "_READ_PIECE", 4096)
    real_more = leak_scan._Pieces.more

    def more_then_truncate(pieces):
        read = real_more(pieces)
        if source.stat().st_size > 8192:
            os.truncate(source, 8192)
        return read

    monkeypatch.setattr(leak_scan._Pieces, "more", more_then_truncate)
    with pytest.raises(InputError, match="changed while it was read"):
        report_json(str(source), str(tmp_path / "report.json"), jobs=2)
    assert source.stat().st_size == 8192, "the scan ran, and the file was cut under it"
    assert not (tmp_path / "report.json").exists()


def test_a_failing_worker_fails_a_cached_report_and_leaves_no_fragments_nor_partial_entries(tmp_path, small_windows, monkeypatch):
    """The same through the result cache (escapelint.workflows.cached_read): the blocks the cache does
    not hold are made by forked workers, and one of them fails."""
    from escapelint.analyze import findings
    from escapelint.workflows.cache import ResultCache

    source = tmp_path / "all.txt"
    source.write_bytes(_all_recorded())
    real_analyze = findings.analyze

    def failing_analyze(output, sources=None, leaks=None):
        if output.path == "example.com/escapelint/hostile/odd":
            raise OSError("no space left on device (simulated)")
        return real_analyze(output, sources, leaks)

    monkeypatch.setattr(findings, "analyze", failing_analyze)
    cache = ResultCache.open(tmp_path / "cache")
    with pytest.raises(OSError, match="simulated"):
        report(str(source), [("json", tmp_path / "report.json")], jobs=2, cache=cache)
    assert list((tmp_path / "tmp").iterdir()) == []
    assert not (tmp_path / "report.json").exists()
    assert [p.name for p in (tmp_path / "cache" / "tmp").iterdir() if p.name.endswith(".partial")] == []


def test_ctrl_c_stops_every_process_and_leaves_nothing_behind(tmp_path):
    """Ctrl-C goes to the whole process group; the parent alone handles it (exit 130, no tracebacks)."""
    import contextlib
    import signal
    import sys
    import time

    source = tmp_path / "big.txt"
    recorded = _all_recorded()
    with source.open("wb") as out:  # the recorded builds many times over: past MIN_PARALLEL_BYTES
        for _ in range(parallel.MIN_PARALLEL_BYTES // len(recorded) + 2):
            out.write(recorded)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch))
    args = [sys.executable, "-m", "escapelint", "report", str(source), "-o", str(tmp_path / "r.json"), "--jobs", "2"]
    log = tmp_path / "stderr.txt"  # a file, not a pipe: nobody reads a pipe while the test waits
    with log.open("w", encoding="utf-8") as err:
        # As from a terminal: a run started in the background by a shell without job control (a CI
        # script's `&`) inherits SIGINT ignored, and Python then never turns it into KeyboardInterrupt.
        child = subprocess.Popen(
            args,
            start_new_session=True,
            stderr=err,
            env=env,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    try:
        # Interrupt it once it is reading, not during its imports: a worker has opened its first
        # fragment (parallel.fragment_directory makes "escapelint-*" under TMPDIR).
        deadline = time.monotonic() + 60
        while not any(scratch.glob("escapelint-*/window-*.json")) and child.poll() is None:
            assert time.monotonic() < deadline, "the report did not start reading within 60 s"
            time.sleep(0.01)
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGINT)
        child.wait(timeout=60)
    finally:
        workers_left = _wait_for_group_to_end(child.pid, timeout=10)
        if child.poll() is None or workers_left:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    stderr = log.read_text(encoding="utf-8", errors="replace")
    if child.returncode == 0:
        pytest.skip("the report finished before the interrupt")
    assert child.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert list(scratch.iterdir()) == []
    assert not workers_left, "worker processes outlived the interrupted report"


def _wait_for_group_to_end(group: int, timeout: float) -> bool:
    """Whether processes of `group` (the test's own child's session) are still there after `timeout` s."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        if time.monotonic() > deadline:
            return True
        time.sleep(0.02)


def test_an_unreadable_large_input_is_reported_as_such(tmp_path, small_windows, monkeypatch):
    """The planner does not stand between the user and the one-process path's clear error."""
    source = tmp_path / "all.txt"
    source.write_bytes(_all_recorded())

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(parallel, "plan_windows", refuse)
    assert parallel.parallel_plan(str(source), 2) is None
