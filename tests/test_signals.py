"""SIGTERM, kill -9 and concurrent runs: what a run that does not end normally leaves, and what the
next run finds.

The runs are real `python -m escapelint report` processes over a big input: the recorded fixtures
of every toolchain, concatenated past the size at which the input is read by worker processes.
Each test runs its child in a session of its own, so that every process the child forked can be
found in /proc by its session id, also after the child is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from escapelint.report.output import (
    MARKER,
    OutputRefusedError,
    ReportDirectory,
    open_report_output,
)
from escapelint.workflows import parallel
from escapelint.workflows.report import report, report_json

from .conftest import recorded_files

LOCK = ".escapelint-report.lock"  # beside the marker

pytestmark = pytest.mark.skipif(
    not parallel.can_fork() or not Path("/proc/self/stat").exists(), reason="needs fork() and /proc (Linux)"
)


def _recorded() -> bytes:
    return b"".join(path.read_bytes() for path in recorded_files("*.m2.txt"))


def _big_input(tmp_path: Path) -> Path:
    """The recorded builds many times over: past MIN_PARALLEL_BYTES, so that workers read it."""
    source = tmp_path / "big.txt"
    recorded = _recorded()
    with source.open("wb") as out:
        for _ in range(parallel.MIN_PARALLEL_BYTES // len(recorded) + 2):
            out.write(recorded)
    return source


def _small_input(tmp_path: Path) -> Path:
    source = tmp_path / "small.txt"
    source.write_bytes(_recorded())
    return source


def _default_signals() -> None:
    # A child of a background shell inherits SIGINT ignored; give the run the defaults a terminal gives.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _start(
    args: list[str], tmp_path: Path, scratch: Path, program: tuple[str, ...] | list[str] = ("-m", "escapelint")
) -> subprocess.Popen:
    env = dict(os.environ, TMPDIR=str(scratch))
    with (tmp_path / "stderr.txt").open("w", encoding="utf-8") as err:  # a file: nobody reads a pipe meanwhile
        return subprocess.Popen(
            [sys.executable, *program, *args],
            start_new_session=True,
            stderr=err,
            env=env,
            cwd=tmp_path,
            preexec_fn=_default_signals,
        )


def _wait_for(condition, child: subprocess.Popen, what: str, timeout: float = 60) -> bool:
    """Wait until `condition()`; False if the child ended first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if child.poll() is not None:
            return False
        assert time.monotonic() < deadline, f"{what} within {timeout} s"
        time.sleep(0.01)
    return True


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # state, ppid, pgrp, session, ...


def _live_processes_of_session(session: int) -> list[int]:
    """The processes of `session` that are still running (zombies have ended)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[3]) == session and fields[0] != "Z":
                pids.append(int(entry.name))
    return pids


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                children.append(int(entry.name))
    return children


def _alive(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def _wait_until_gone(session: int, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := _live_processes_of_session(session)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return left


@contextlib.contextmanager
def _reaped(child: subprocess.Popen):
    """Whatever the test asserts, no process of the child's session is left running."""
    try:
        yield
    finally:
        if child.poll() is None or _live_processes_of_session(child.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def _fragments_written(scratch: Path):
    return lambda: any(scratch.glob("escapelint-*/window-*.json"))


def test_sigterm_mid_run_exits_143_and_leaves_the_previous_report(tmp_path):
    """SIGTERM, as `kill PID`, a CI runner's cancel or `timeout` sends it, to the parent alone: it used
    to kill the parent outright, leaving a `.r.json.PID-0.partial`, the fragment directory and the
    workers running."""
    source = _big_input(tmp_path)
    scratch, out = tmp_path / "scratch", tmp_path / "out"
    scratch.mkdir()
    out.mkdir()
    (out / "r.json").write_text("the previous report\n")
    child = _start(["report", str(source), "-o", str(out / "r.json"), "--jobs", "2"], tmp_path, scratch)
    with _reaped(child):
        if _wait_for(_fragments_written(scratch), child, "the report did not start reading"):
            workers = _children(child.pid)
            child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
        left = _wait_until_gone(child.pid, timeout=10)
    stderr = (tmp_path / "stderr.txt").read_text(encoding="utf-8", errors="replace")
    if child.returncode == 0:
        pytest.skip("the report finished before SIGTERM")
    assert child.returncode == 143, stderr
    assert "Traceback" not in stderr
    assert (out / "r.json").read_text() == "the previous report\n"
    assert sorted(p.name for p in out.iterdir()) == ["r.json"]  # no partial file
    assert list(scratch.iterdir()) == []  # no fragment directory
    assert workers and not any(_alive(pid) for pid in workers)
    assert not left, "processes outlived the terminated report"


#: The CLI with workers that take as long as the go/types package of the standard library does (a
#: minute): the workers sleep in their first package. Every input is read in parallel.
SLOW_WORKERS = """
import os, time
from escapelint.workflows import parallel
parent = os.getpid()
def analyze(output, sources=None):
    if os.getpid() != parent:
        time.sleep(120)
parallel.analyze = analyze
parallel.MIN_PARALLEL_BYTES, parallel.MIN_WINDOW_BYTES = 0, 1
from escapelint.cli import main
main()
"""


def test_kill_9_of_the_parent_takes_the_workers_and_the_next_run_cleans_up(tmp_path, monkeypatch):
    """kill -9 of the parent used to leave its workers reading on (for a minute on the standard
    library), and leaves the fragment directory and the partial file (nothing can remove them
    then). The workers now die with the parent; the next run removes both leftovers."""
    source = _small_input(tmp_path)
    scratch, out = tmp_path / "scratch", tmp_path / "out"
    scratch.mkdir()
    out.mkdir()
    # --no-cache: SLOW_WORKERS slows parallel.analyze, which the result cache's block reader does not call.
    args = ["report", str(source), "-o", str(out / "r.json"), "--jobs", "2", "--no-cache"]
    child = _start(args, tmp_path, scratch, program=["-c", SLOW_WORKERS])
    with _reaped(child):
        assert _wait_for(_fragments_written(scratch), child, "the report did not start reading"), (
            tmp_path / "stderr.txt"
        ).read_text()
        workers = _children(child.pid)
        assert workers
        child.kill()
        child.wait(timeout=10)
        left = _wait_until_gone(child.pid, timeout=5)
        assert not left, f"workers {left} outlived their parent by 5 s"
    fragments = list(scratch.glob(f"escapelint-fragments-{child.pid}-*"))
    partials = list(out.glob(f".r.json.{child.pid}-*.partial"))
    assert fragments and partials, "kill -9 left nothing to clean up: the test proves nothing"

    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(parallel, "MIN_WINDOW_BYTES", 1)
    report_json(str(source), str(out / "r.json"), jobs=2)
    assert list(scratch.iterdir()) == []
    assert sorted(p.name for p in out.iterdir()) == ["r.json"]


def _dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    return int(done.stdout)


def test_stale_fragment_directories_and_partial_files_are_removed_and_live_ones_kept(tmp_path, monkeypatch):
    scratch, out = tmp_path / "scratch", tmp_path / "out"
    scratch.mkdir()
    out.mkdir()
    dead, alive = _dead_pid(), os.getppid()
    stale_fragments = scratch / f"escapelint-fragments-{dead}-abc123"
    stale_fragments.mkdir()
    (stale_fragments / "window-3.json").write_text("{}")
    live_fragments = scratch / f"escapelint-fragments-{alive}-def456"
    live_fragments.mkdir()
    unrelated = scratch / f"escapelint-base-{dead}"  # not a fragment directory: never touched
    unrelated.mkdir()
    stale_partial = out / f".r.json.{dead}-0.partial"
    live_partial = out / f".r.json.{alive}-0.partial"
    other_target = out / f".other.json.{dead}-0.partial"
    for path in (stale_partial, live_partial, other_target):
        path.write_text("half a report")

    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(parallel, "MIN_WINDOW_BYTES", 1)
    report_json(str(_small_input(tmp_path)), str(out / "r.json"), jobs=2)

    assert sorted(p.name for p in scratch.iterdir()) == sorted([live_fragments.name, unrelated.name])
    assert sorted(p.name for p in out.iterdir()) == sorted(["r.json", live_partial.name, other_target.name])


def test_an_interrupt_while_the_new_file_is_moved_in_loses_neither(tmp_path, monkeypatch):
    """The old file is removed before the new one is renamed into place: a signal in between used to
    leave neither (the partial is removed as the interrupt unwinds)."""
    from escapelint.report import output

    target = tmp_path / "r.json"
    target.write_text("old\n")

    class Stop(Exception):
        pass

    def stop(signum, frame):
        raise Stop

    real_rename = os.rename

    def rename_after_a_signal(source, destination):
        os.kill(os.getpid(), signal.SIGTERM)
        real_rename(source, destination)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        monkeypatch.setattr(output.os, "rename", rename_after_a_signal)
        with pytest.raises(Stop), open_report_output(target) as out:
            out.write("new\n")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_an_html_run_stopped_by_sigterm_does_not_make_the_next_run_need_force(tmp_path):
    """A first HTML run killed by SIGTERM used to leave pages and no marker: the next run refused the
    directory as not escapelint's. Pages are staged now, and SIGTERM unwinds the run."""
    source = _big_input(tmp_path)
    scratch, report_dir = tmp_path / "scratch", tmp_path / "rep"
    scratch.mkdir()
    child = _start(["report", str(source), "-f", "html:rep", "--jobs", "2"], tmp_path, scratch)
    with _reaped(child):
        if _wait_for(lambda: any(report_dir.glob(".escapelint-staging-*/*.html")), child, "no page staged"):
            child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
    if child.returncode == 0:
        pytest.skip("the report finished before SIGTERM")
    assert child.returncode == 143, (tmp_path / "stderr.txt").read_text()
    assert list(report_dir.iterdir()) == []

    again = subprocess.run(
        [sys.executable, "-m", "escapelint", "report", str(_small_input(tmp_path)), "-f", "html:rep", "-q"],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=dict(os.environ, TMPDIR=str(scratch)),
    )
    assert again.returncode == 0, again.stderr
    assert (report_dir / MARKER).is_file() and (report_dir / "index.html").is_file()


def _marked_files(report_dir: Path) -> list[str]:
    return sorted(json.loads((report_dir / MARKER).read_text())["files"])


def _pages(report_dir: Path) -> list[str]:
    return sorted(p.name for p in report_dir.iterdir() if not p.name.startswith("."))


def test_a_second_run_into_a_report_directory_being_written_fails_at_once(tmp_path):
    """Two runs into one directory used to remove each other's staging directory and interleave their
    markers, leaving pages missing from the marker and the index. The second run now fails with exit 2."""
    report_dir = tmp_path / "rep"
    report(str(_small_input(tmp_path)), [("md", report_dir)])
    before = _marked_files(report_dir)
    holder = ReportDirectory(report_dir, overwrite=False, format_name="md")
    holder.check()
    holder.open()  # this process writes the directory now
    try:
        second = subprocess.run(
            [sys.executable, "-m", "escapelint", "report", str(_small_input(tmp_path)), "-f", "md:rep"],
            check=False,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=dict(os.environ, TMPDIR=str(tmp_path)),
        )
        assert second.returncode == 2
        assert f"another escapelint run is writing rep (pid {os.getpid()})" in second.stderr
        assert len(list(report_dir.glob(".escapelint-staging-*"))) == 1  # ours, not removed by the other
        for name in before:
            holder.write(name, "written by the run that holds the lock\n")
        holder.publish()
    finally:
        holder.close()
    assert _marked_files(report_dir) == before == _pages(report_dir)
    assert not (report_dir / LOCK).exists()


def test_the_lock_is_checked_before_the_input_is_read_and_released_after_a_failure(tmp_path):
    report_dir = tmp_path / "rep"
    holder = ReportDirectory(report_dir, overwrite=False, format_name="html")
    holder.open()
    try:
        with pytest.raises(OutputRefusedError, match=r"another escapelint run is writing .*rep \(pid \d+\)"):
            report(str(tmp_path / "no such input"), [("html", report_dir)])
    finally:
        holder.close()
    assert list(report_dir.iterdir()) == []
    failing = ReportDirectory(report_dir, overwrite=False, format_name="html")
    failing.open()
    failing.write("index.html", "half a report")
    failing.close()  # what write_reports does after a writer failed: nothing published
    report(str(_small_input(tmp_path)), [("html", report_dir)])  # not refused: the lock was released
    assert (report_dir / "index.html").is_file() and not (report_dir / LOCK).exists()


def test_a_lock_file_left_by_a_killed_run_neither_blocks_nor_disowns_the_directory(tmp_path):
    report_dir = tmp_path / "rep"
    report_dir.mkdir()
    (report_dir / LOCK).write_text(f"{_dead_pid()}\n")  # kill -9 releases the lock, the file stays
    report(str(_small_input(tmp_path)), [("html", report_dir)])
    assert (report_dir / "index.html").is_file() and not (report_dir / LOCK).exists()


@pytest.mark.slow
def test_two_real_runs_into_one_report_directory(tmp_path):
    """Two `escapelint report -f html:rep` processes at once: the second fails at once, the first
    writes a whole report (every page in the marker and the index)."""
    source = _big_input(tmp_path)
    scratch, report_dir = tmp_path / "scratch", tmp_path / "rep"
    scratch.mkdir()
    first = _start(["report", str(source), "-f", "html:rep", "--jobs", "2", "-q"], tmp_path, scratch)
    with _reaped(first):
        if not _wait_for(lambda: any(report_dir.glob(".escapelint-staging-*/*.html")), first, "no page staged"):
            pytest.skip("the first run finished before the second started")
        second = subprocess.run(
            [sys.executable, "-m", "escapelint", "report", str(_small_input(tmp_path)), "-f", "html:rep"],
            check=False,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=dict(os.environ, TMPDIR=str(scratch)),
        )
        first.wait(timeout=600)
    assert second.returncode == 2, second.stderr
    assert f"another escapelint run is writing rep (pid {first.pid})" in second.stderr
    assert first.returncode == 0, (tmp_path / "stderr.txt").read_text()
    pages = _pages(report_dir)
    assert _marked_files(report_dir) == pages
    index = (report_dir / "index.html").read_text()
    linked = [p for p in pages if p.endswith(".html") and p not in ("index.html", "categories.html")]
    assert len(linked) > 100 and all(f'href="{p}' in index for p in linked)
