"""output: one file replaced whole or not at all, written through links, devices and pipes; one error family."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from escapelint.report.formats import FormatTargetError, write_reports
from escapelint.report.output import (
    STDOUT,
    OutputError,
    OutputExistsError,
    OutputRefusedError,
    Ownership,
    ReportFile,
    file_key,
    open_report_output,
)
from escapelint.workflows.baseline import SCHEMA, check_baseline_target, write_baseline

from .conftest import RECORDED
from .reporting import render_fixture

EXAMPLE = RECORDED / "go1.27.3" / "example.m2.txt"


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


class FifoReader:
    """Reads a named pipe in a thread, as `cat fifo` would: a writer's open blocks until it is there."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = path
        self.text = ""
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with self.path.open(encoding="utf-8") as pipe:
            self.text = pipe.read()

    def join(self) -> str:
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()
        return self.text


def test_the_error_family():
    assert issubclass(OutputRefusedError, OutputError)
    assert issubclass(OutputExistsError, OutputRefusedError)
    assert issubclass(FormatTargetError, OutputError) and issubclass(FormatTargetError, ValueError)


# --- one file, replaced whole --------------------------------------------------------------------------


def test_an_existing_file_is_replaced_without_being_asked_twice(tmp_path):
    target = tmp_path / "r.json"
    target.write_text("old")
    target.chmod(0o640)
    with open_report_output(target) as out:
        out.write("new")
        assert target.read_text() == "old"  # not in place until complete
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert names(tmp_path) == ["r.json"]


@pytest.mark.parametrize("failure", [OSError("disk full (simulated)"), KeyboardInterrupt()])
def test_a_failed_or_interrupted_write_leaves_the_previous_file(tmp_path, failure):
    target = tmp_path / "r.sarif"
    target.write_text("previous")
    with pytest.raises(type(failure)):
        with open_report_output(target) as out:
            out.write("half of a new rep")
            raise failure
    assert target.read_text() == "previous"
    assert names(tmp_path) == ["r.sarif"]


def test_a_new_file_gets_its_parent_directories(tmp_path):
    with open_report_output(tmp_path / "a" / "b" / "r.txt") as out:
        out.write("x")
    assert (tmp_path / "a" / "b" / "r.txt").read_text() == "x"


def test_a_symlink_is_written_through_and_kept(tmp_path):
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "r.json"
    real.write_text("old")
    link = tmp_path / "r.json"
    link.symlink_to(real)
    with pytest.raises(RuntimeError):
        with open_report_output(link) as out:
            out.write("half")
            raise RuntimeError
    assert real.read_text() == "old"  # replaced whole there too
    with open_report_output(link) as out:
        out.write("new")
    assert link.is_symlink() and real.read_text() == "new"
    assert names(tmp_path / "real") == ["r.json"]


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "r.json"
    link.symlink_to(tmp_path / "made.json")
    with open_report_output(link) as out:
        out.write("x")
    assert link.is_symlink() and (tmp_path / "made.json").read_text() == "x"


def test_a_pipe_is_written_through(tmp_path):
    """What `--output /dev/null` or `--output >(gzip)` needs: a target that cannot be renamed over."""
    reader = FifoReader(tmp_path / "pipe")
    with open_report_output(tmp_path / "pipe") as out:
        out.write("through the pipe")
    assert reader.join() == "through the pipe"
    assert stat.S_ISFIFO((tmp_path / "pipe").stat().st_mode)
    assert names(tmp_path) == ["pipe"]


def test_a_symlink_to_a_pipe_is_written_through(tmp_path):
    reader = FifoReader(tmp_path / "pipe")
    (tmp_path / "null").symlink_to(tmp_path / "pipe")
    with open_report_output(tmp_path / "null") as out:
        out.write("x")
    assert reader.join() == "x"


def test_standard_output(capsys):
    with open_report_output(STDOUT) as out:
        out.write("to stdout")
    with open_report_output(None) as out:
        out.write("!")
    assert capsys.readouterr().out == "to stdout!"


def test_a_directory_is_refused_when_checked(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(OutputRefusedError, match="out is a directory; this format writes one file"):
        ReportFile(tmp_path / "out").check()
    with pytest.raises(OutputRefusedError, match="is a directory"):
        with open_report_output(tmp_path / "out"):
            pass


def test_a_path_under_a_file_is_refused_when_checked(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputRefusedError, match="cannot write .*r.json: .*file is not a directory"):
        ReportFile(tmp_path / "file" / "sub" / "r.json").check()
    assert (tmp_path / "file").read_text() == "x"


def test_file_key_resolves_relative_paths_and_links(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert file_key(Path("same.out")) == file_key(tmp_path / "same.out")
    assert file_key(Path("link")) == file_key(tmp_path / "real")
    assert file_key(STDOUT) != file_key(tmp_path / "-")


# --- files escapelint owns -----------------------------------------------------------------------------

NOTES = Ownership("an escapelint note", lambda path: path.read_text().startswith("note"))


def test_a_file_that_is_not_ours_is_refused_unless_overwrite(tmp_path):
    target = tmp_path / "n.txt"
    target.write_text("mine")
    with pytest.raises(OutputExistsError, match="n.txt exists and is not an escapelint note; pass --force"):
        ReportFile(target, ownership=NOTES).check()
    with pytest.raises(OutputExistsError):
        with open_report_output(target, ownership=NOTES) as out:
            out.write("note 2")
    assert target.read_text() == "mine"
    with open_report_output(target, ownership=NOTES, overwrite=True) as out:
        out.write("note 1")
    with open_report_output(target, ownership=NOTES) as out:  # ours now
        out.write("note 2")
    assert target.read_text() == "note 2"


def test_a_baseline_replaces_a_baseline_and_refuses_other_files(tmp_path):
    path = tmp_path / "b.json"
    document = {"schema": SCHEMA, "go_version": None, "command": "go build", "findings": []}
    write_baseline(path, document, overwrite=False)
    path.chmod(0o600)
    write_baseline(path, dict(document, command="again"), overwrite=False)
    assert json.loads(path.read_text())["command"] == "again"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(OutputExistsError, match="other.json exists and is not an escapelint baseline"):
        check_baseline_target(tmp_path / "other.json", overwrite=False)
    with pytest.raises(OutputExistsError):
        write_baseline(tmp_path / "other.json", document, overwrite=False)
    assert (tmp_path / "other.json").read_text() == "{}"
    write_baseline(tmp_path / "other.json", document, overwrite=True)
    assert json.loads((tmp_path / "other.json").read_text())["schema"] == SCHEMA
    assert names(tmp_path) == ["b.json", "other.json"]


# --- the stream formats use the same layer -------------------------------------------------------------


def test_a_failed_run_leaves_every_previous_report_file(tmp_path):
    from escapelint.report.facts import BuildFacts

    from .reporting import FIXED_DATE

    targets = [(name, tmp_path / f"r.{name}") for name in ("sarif", "github", "rdjsonl", "md-summary")]
    for _, path in targets:
        path.write_text("previous")

    def packages():
        yield from ()
        raise OSError("input went away (simulated)")

    with pytest.raises(OSError, match="simulated"):
        write_reports(packages(), BuildFacts("x", None, None, FIXED_DATE), lambda: None, targets)
    assert all(path.read_text() == "previous" for _, path in targets)
    assert names(tmp_path) == sorted(path.name for _, path in targets)


def test_stream_formats_replace_their_files_run_after_run(tmp_path):
    targets = [(name, tmp_path / f"r.{name}") for name in ("sarif", "github", "rdjsonl", "md-summary")]
    render_fixture(EXAMPLE, targets)
    first = {name: path.read_bytes() for name, path in targets}
    render_fixture(EXAMPLE, targets)  # no overwrite needed: the files were asked for
    assert {name: path.read_bytes() for name, path in targets} == first
    assert names(tmp_path) == sorted(path.name for _, path in targets)


def test_a_run_inside_an_exception_handler_still_puts_its_files_in_place(tmp_path):
    """The stream writers tell a failed run by an exception on its way out, not by one a caller handles."""
    target = tmp_path / "r.sarif"
    target.write_text("previous")
    try:
        raise LookupError("the caller's own, handled")
    except LookupError:
        render_fixture(EXAMPLE, [("sarif", target)])
    assert json.loads(target.read_text())["version"] == "2.1.0"


# --- report directories: staged, published only when every writer succeeded ---------------------------


def _report_files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file() and not p.is_symlink()}


@pytest.mark.parametrize("name", ["html", "md"])
def test_a_failed_run_leaves_the_previous_report_directory(tmp_path, name):
    """The stale-page cleanup used to run in a `finally`: a crash, a full disk or Ctrl-C deleted the previous
    run's pages (the index included) and left a 0-byte page. Now pages are staged and switched over at the end."""
    from escapelint.report.facts import BuildFacts

    from .reporting import FIXED_DATE

    report = tmp_path / name
    render_fixture(EXAMPLE, [(name, report)])
    previous = _report_files(report)

    def packages_then_failure():
        yield from ()
        raise KeyboardInterrupt  # Ctrl-C half-way through a run

    with pytest.raises(KeyboardInterrupt):
        write_reports(packages_then_failure(), BuildFacts("x", None, None, FIXED_DATE), lambda: None, [(name, report)])
    assert _report_files(report) == previous
    assert names(report) == sorted(previous)  # no staging directory left behind


def test_a_second_unwritable_target_leaves_the_html_report(tmp_path):
    """`-f html:prev -f sarif:ro/x.sarif`: the second target fails; the first keeps its previous pages."""
    report = tmp_path / "prev"
    render_fixture(EXAMPLE, [("html", report)])
    previous = _report_files(report)
    blocker = tmp_path / "ro"
    blocker.write_text("a file where a directory is needed")
    with pytest.raises(OutputError):
        render_fixture(EXAMPLE, [("html", report), ("sarif", blocker / "x.sarif")])
    assert _report_files(report) == previous


def test_a_symlink_in_the_report_directory_is_replaced_not_followed(tmp_path):
    report = tmp_path / "rep"
    render_fixture(EXAMPLE, [("html", report)])
    notes = tmp_path / "mynotes.txt"
    notes.write_text("my notes")
    (report / "index.html").unlink()
    (report / "index.html").symlink_to(notes)
    render_fixture(EXAMPLE, [("html", report)])
    assert notes.read_text() == "my notes"
    assert not (report / "index.html").is_symlink() and "<html" in (report / "index.html").read_text()


def test_a_symlinked_marker_does_not_make_a_directory_escapelints(tmp_path):
    """A `.escapelint-report` link to ../bashrc made a directory of user files look like escapelint's."""
    bashrc = tmp_path / "bashrc"
    bashrc.write_text("export PATH")
    users = tmp_path / "users"
    users.mkdir()
    (users / "notes.txt").write_text("mine")
    (users / ".escapelint-report").symlink_to(bashrc)
    with pytest.raises(OutputRefusedError, match="did not write"):
        render_fixture(EXAMPLE, [("html", users)])
    assert bashrc.read_text() == "export PATH" and (users / "notes.txt").read_text() == "mine"


def test_a_killed_runs_staging_directory_is_removed_by_the_next_run(tmp_path):
    report = tmp_path / "rep"
    render_fixture(EXAMPLE, [("md", report)])
    leftover = report / ".escapelint-staging-99999"  # what SIGKILL leaves
    leftover.mkdir()
    (leftover / "README.md").write_text("half a page")
    render_fixture(EXAMPLE, [("md", report)])
    assert not leftover.exists()
    assert ".escapelint-report" in names(report)


def test_a_new_report_directory_holding_only_a_staging_leftover_is_not_refused(tmp_path):
    report = tmp_path / "rep"
    (report / ".escapelint-staging-99999").mkdir(parents=True)
    render_fixture(EXAMPLE, [("html", report)])
    assert (report / "index.html").is_file()
