"""Issue 15: every failure is one line on stderr and a documented exit code, never a traceback.

Each case runs `python -m escapelint` in a subprocess, as a user's shell would (closed descriptors,
`> /dev/full`, `| head -1`), and expects exit 2 (usage, input, configuration or output), one line on
stderr starting `escapelint: error:`, and no traceback. Commands that need Go get a stand-in `go`
(`fake_go`) that prints a recorded build, so these run without a toolchain. Nothing here writes
outside pytest's temporary directory, except /dev/full, which is there to be written to.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import RECORDED

EXAMPLE = RECORDED / "go1.27.3" / "example.m2.txt"

def run(*args: str, stdin=None, stdout=subprocess.PIPE, cwd=None, env=None, shell_suffix: str | None = None):
    """Run escapelint; `shell_suffix` (e.g. ">&-") is applied to it by sh, as a user's shell would."""
    argv = [sys.executable, "-m", "escapelint", *args]
    if shell_suffix is not None:
        argv = ["sh", "-c", f'exec "$@" {shell_suffix}', "sh", *argv]
    return subprocess.run(
        argv, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, cwd=cwd, env=env, check=False, timeout=300
    )


def assert_clear_error(result, code: int = 2, prefix: str = "escapelint: error:") -> str:
    stderr = result.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr, stderr
    assert result.returncode == code, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(prefix), stderr
    return lines[0]


# --- A module with a stand-in `go` ---------------------------------------------------------------

FAKE_GO = """\
#!{python}
import json, os, pathlib, sys
args = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(" ".join(args[:1]) + "\\n")
if args[:4] == ["env", "-json", "GOMOD", "GOVERSION"]:
    here = pathlib.Path.cwd()
    found = [p / "go.mod" for p in (here, *here.parents) if (p / "go.mod").is_file()]
    print(json.dumps({{"GOMOD": str(found[0] if found else os.devnull), "GOVERSION": "go1.27.3"}}))
elif args[:2] == ["env", "GOVERSION"]:
    print("go1.27.3")
elif args[:1] == ["list"]:
    print('{{"ImportPath": "example.com/escapelint/example/kv"}}')
elif args[:1] in (["build"], ["test"]):
    sys.stdout.write(open({recording!r}, encoding="utf-8").read())
else:
    sys.exit(2)
"""


@dataclass
class Place:
    """A scratch directory: `file` is a regular file (where a directory is needed, it cannot be one),
    `module` a Go module (a git repository with one commit), `go` the stand-in go, `log` what it ran."""

    tmp: Path
    file: Path
    module: Path
    go: Path
    log: Path

    def go_runs(self) -> list[str]:
        return self.log.read_text().split() if self.log.exists() else []


@pytest.fixture
def place(tmp_path) -> Place:
    file = tmp_path / "file"
    file.write_text("a regular file\n")
    module = tmp_path / "module"
    module.mkdir()
    (module / "go.mod").write_text("module example.com/escapelint/example\n\ngo 1.22\n")
    log = tmp_path / "go-runs.txt"
    go = tmp_path / "bin" / "go"
    go.parent.mkdir()
    go.write_text(FAKE_GO.format(python=sys.executable, log=str(log), recording=str(EXAMPLE)))
    go.chmod(0o755)
    return Place(tmp_path, file, module, go, log)


def git_repository(place: Place) -> None:
    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=place.module, check=True, capture_output=True,
        )  # fmt: skip

    git("init", "-q")
    git("add", "go.mod")
    git("commit", "-q", "-m", "module")


# --- The list of issue 15 -------------------------------------------------------------------------


def _report(*args: str):
    return lambda p: (["report", str(EXAMPLE), "-q", *args], {})


def _deep(p: Place) -> Path:
    path = p.tmp / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    return path


def _config(name: str, content: bytes):
    def setup(p: Place):
        (p.module / name).write_bytes(content)
        return ["baseline", "--go", str(p.go), "-C", str(p.module), "-q"], {}

    return setup


def _input_line(line: str):
    def setup(p: Place):
        source = p.tmp / "odd.txt"
        source.write_text(EXAMPLE.read_text() + line + "\n")
        return ["report", str(source), "-q", "-o", str(p.tmp / "r.json")], {}

    return setup


CASES = [
    # Unwritable targets: a path under a regular file (tests run as root: no read-only directory).
    *(
        pytest.param(_report("-f", f"{name}:{{file}}/out"), id=f"{name}-under-a-file")
        for name in ("html", "md", "sarif", "md-summary", "github", "rdjsonl", "json")
    ),
    # A path the system refuses to look at (a name too long): refused as cleanly, file or directory.
    pytest.param(lambda p: (["report", str(EXAMPLE), "-q", "-o", f"{p.tmp}/{'n' * 300}/r.json"], {}), id="json-name-too-long"),
    pytest.param(lambda p: (["report", str(EXAMPLE), "-q", "-f", f"html:{p.tmp}/{'n' * 300}/site"], {}),
                 id="html-name-too-long"),
    # A full disk, for every file format.
    pytest.param(_report("-o", "/dev/full"), id="json-o-dev-full"),
    *(
        pytest.param(_report("-f", f"{name}:/dev/full"), id=f"{name}-dev-full")
        for name in ("json", "sarif", "md-summary", "github", "rdjsonl")
    ),
    pytest.param(lambda p: (["report", str(EXAMPLE), "-q"], {"stdout": "/dev/full"}), id="stdout-dev-full"),
    pytest.param(
        lambda p: (["report", str(EXAMPLE), "-q", "-f", "md-summary"], {"stdout": "/dev/full"}),
        id="md-summary-stdout-dev-full",
    ),
    pytest.param(lambda p: (["rules", "--markdown"], {"stdout": "/dev/full"}), id="rules-stdout-dev-full"),
    pytest.param(lambda p: (["report", str(EXAMPLE), "-q"], {"shell_suffix": ">&-"}), id="stdout-closed"),
    pytest.param(lambda p: (["report", "-", "-q"], {"shell_suffix": "<&-"}), id="stdin-closed"),
    pytest.param(lambda p: (["report", "/proc/self/mem", "-q", "-o", str(p.tmp / "r.json")], {}), id="input-fails-mid-read"),
    pytest.param(lambda p: (["report", "", "-q"], {}), id="empty-input-path"),
    # Baselines.
    pytest.param(
        lambda p: (["check", "--go", str(p.go), "-C", str(p.module), "--baseline", str(_deep(p)), "-q"], {}),
        id="check-baseline-nested-100k-deep",
    ),
    pytest.param(
        lambda p: (["baseline", "--go", str(p.go), "-C", str(p.module), "-o", str(_deep(p)), "-q"], {}),
        id="baseline-o-nested-100k-deep",
    ),
    pytest.param(
        lambda p: (["baseline", "--go", str(p.go), "-C", str(p.module), "-o", str(p.tmp), "-q"], {}),
        id="baseline-o-directory",
    ),
    pytest.param(
        lambda p: (["baseline", "--go", str(p.go), "-C", str(p.module), "-o", f"{p.file}/dir/b.json", "-q"], {}),
        id="baseline-o-under-a-file",
    ),
    # Configuration.
    pytest.param(_config(".escapelint.toml", b'baseline = "caf\xe9.json"\n'), id="escapelint-toml-not-utf8"),
    pytest.param(_config("pyproject.toml", b"tool = 1\n"), id="pyproject-tool-not-a-table"),
    pytest.param(_config("pyproject.toml", b"[tool]\nescapelint = 3\n"), id="pyproject-escapelint-not-a-table"),
    pytest.param(_config(".escapelint.toml", b"a = " + b"[" * 100_000 + b"]" * 100_000 + b"\n"), id="toml-nested-deep"),
    # Directories.
    pytest.param(lambda p: (["audit", "--go", str(p.go), "-C", str(p.tmp / "missing"), "-o", str(p.tmp / "site")], {}),
                 id="audit-C-missing"),
    pytest.param(lambda p: (["audit", "--go", str(p.go), "-C", str(p.file), "-o", str(p.tmp / "site")], {}),
                 id="audit-C-a-file"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_one_line_and_exit_2(place, case):
    args, options = case(place)
    args = [a.replace("{file}", str(place.file)) for a in args]
    target = options.pop("stdout", None)
    if target is None:
        result = run(*args, cwd=place.tmp, **options)
    else:
        with open(target, "wb") as stdout:
            result = run(*args, stdout=stdout, cwd=place.tmp, **options)
    assert_clear_error(result)


def test_a_full_disk_names_the_output_and_leaves_no_partial_file(place):
    line = assert_clear_error(run("report", str(EXAMPLE), "-q", "-f", "sarif:/dev/full", "-f", "json:r.json", cwd=place.tmp))
    assert line == "escapelint: error: /dev/full: cannot write: No space left on device"
    assert sorted(p.name for p in place.tmp.iterdir()) == ["bin", "file", "module"]


def test_standard_output_full_and_closed_say_so():
    with open("/dev/full", "wb") as full:
        line = assert_clear_error(run("report", str(EXAMPLE), "-q", stdout=full))
    assert line == "escapelint: error: standard output: cannot write: No space left on device"
    line = assert_clear_error(run("report", str(EXAMPLE), "-q", shell_suffix=">&-"))
    assert line == "escapelint: error: standard output is closed; give --output FILE"
    line = assert_clear_error(run("report", "-", "-q", shell_suffix="<&-"))
    assert line == "escapelint: error: standard input is closed; give a file instead of -"


def test_an_input_failing_mid_read_is_named(place):
    line = assert_clear_error(run("report", "/proc/self/mem", "-q", "-o", str(place.tmp / "r.json")))
    assert line == "escapelint: error: /proc/self/mem: cannot read: Input/output error"
    assert not (place.tmp / "r.json").exists()


def test_an_empty_input_path_is_not_a_directory():
    line = assert_clear_error(run("report", "", "-q"))
    assert "is a directory" not in line


def test_audit_C_missing_blames_the_directory_before_looking_for_go(place):
    missing = place.tmp / "missing"
    line = assert_clear_error(run("audit", "--go", str(place.go), "-C", str(missing), cwd=place.tmp))
    assert line == f"escapelint: error: -C {missing}: no such directory"
    assert place.go_runs() == []
    line = assert_clear_error(run("audit", "--go", str(place.tmp / "no-go"), "-C", str(missing), cwd=place.tmp))
    assert "go" not in line.replace(str(missing), "")


@pytest.mark.parametrize("command", ["report", "rules"])
def test_a_reader_that_stops_early_ends_the_run_quietly(tmp_path, command):
    """`| head -1`: exit 141 (128 + SIGPIPE, what a shell shows for `git log | head -1`), or 0 when
    everything was written before the reader stopped; nothing on stderr."""
    if command == "report":  # more than a pipe holds, so that the reader really leaves early
        big = tmp_path / "big.txt"
        big.write_bytes(EXAMPLE.read_bytes() * 50)
        args = ["report", str(big), "-q"]
    else:
        args = ["rules", "--markdown"]
    process = subprocess.Popen(
        [sys.executable, "-m", "escapelint", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=300) in (0, 141), stderr
    assert stderr == ""


def test_missing_parents_of_an_output_are_created(place):
    target = place.tmp / "new" / "dir" / "r.json"
    result = run("report", str(EXAMPLE), "-q", "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert target.read_text().startswith('{"schema"')


def test_diff_checks_an_unwritable_target_before_both_builds(place):
    git_repository(place)
    args = ["diff", "--base", "HEAD", "--go", str(place.go), "-C", str(place.module), "-q"]
    assert_clear_error(run(*args, "-f", f"md:{place.file}/dir/c.md", cwd=place.tmp))
    assert "build" not in place.go_runs()


def test_diff_output_failing_after_both_builds(place):
    git_repository(place)
    args = ["diff", "--base", "HEAD", "--go", str(place.go), "-C", str(place.module), "-q"]
    line = assert_clear_error(run(*args, "-f", "md:/dev/full", cwd=place.tmp))
    assert line == "escapelint: error: /dev/full: cannot write: No space left on device"
    assert place.go_runs().count("build") == 2


def test_diff_with_a_very_long_base_revision_keeps_the_comment_within_its_limit(place):
    git_repository(place)
    base = "HEAD" + "~0" * 35_000  # 70,004 characters: longer than a whole comment may be
    comment = place.tmp / "comment.md"
    args = ["diff", "--base", base, "--go", str(place.go), "-C", str(place.module), "-q", "-f", f"md:{comment}"]
    result = run(*args, cwd=place.tmp)
    assert result.returncode == 0, result.stderr[-2000:]
    text = comment.read_text()
    assert len(text) < 65_536
    assert "HEAD" in text


def test_the_comment_clips_the_revision():
    from escapelint.analyze.compare import DiffResult
    from escapelint.report.diff import REVISION_SHOWN, clip_revision, markdown_comment
    from escapelint.report.markdown import comment_length

    assert clip_revision("origin/main") == "origin/main"
    clipped = clip_revision("r" * 100_000)
    assert len(clipped) == REVISION_SHOWN and clipped.endswith("\u2026")
    text = markdown_comment(DiffResult("x" * 100_000), limit=2_000)
    assert comment_length(text) <= 2_000
    assert "x" * (REVISION_SHOWN - 1) + "\u2026" in text


# --- The library functions behind them -----------------------------------------------------------


@pytest.mark.parametrize(
    "name, content, message",
    [
        (".escapelint.toml", b'baseline = "caf\xe9"\n', "not UTF-8 (byte 16), which TOML requires"),
        ("pyproject.toml", b"tool = 1\n", "tool must be a table (escapelint reads [tool.escapelint])"),
        ("pyproject.toml", b"[tool]\nescapelint = 3\n", "[tool.escapelint] must be a table"),
        (".escapelint.toml", b"a = " + b"[" * 100_000 + b"]" * 100_000, "not usable TOML: nested too deeply"),
    ],
)
def test_config_errors_name_the_file(tmp_path, name, content, message):
    from escapelint.workflows.config import ConfigError, load_config

    (tmp_path / name).write_bytes(content)
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path)
    assert str(error.value) == f"{tmp_path / name}: {message}"


def test_a_baseline_nested_too_deeply_is_not_a_baseline(tmp_path):
    from escapelint.report.output import OutputExistsError
    from escapelint.workflows.baseline import (
        BaselineError,
        check_baseline_target,
        read_baseline,
    )

    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BaselineError, match="nested too deeply"):
        read_baseline(deep)
    with pytest.raises(OutputExistsError, match="is not an escapelint baseline"):
        check_baseline_target(deep, overwrite=False)


# --- The catch-all --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("./kv/st\x00ore.go:21:6: x escapes to heap", id="nul-in-a-file-path"),
        pytest.param(f"./kv/store.go:{'1' * 5000}:6: x escapes to heap", id="position-over-4300-digits"),
    ],
)
def test_odd_input_lines_are_read_not_crashed_on(tmp_path, line):
    """A NUL in a printed file name, or a number of over 4,300 digits (Python refuses to convert it),
    ended in a traceback. Now the NUL name is read as a name of no file, and a number the grammar does
    not take (over 10 digits) leaves the line to be read another way or listed as unrecognized."""
    source = tmp_path / "odd.txt"
    source.write_text(EXAMPLE.read_text() + line + "\n")
    result = run("report", str(source), "-q", "-o", str(tmp_path / "r.json"))
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "r.json").read_text())
    assert document["stats"]["lines"] == len(source.read_text().splitlines())


def _main_raising(monkeypatch, capsys, exc: BaseException) -> tuple[int, str]:
    from escapelint import cli
    from escapelint.workflows import report

    def broken(*args, **kwargs):
        raise exc

    monkeypatch.setattr(report, "report", broken)  # the command imports it when it runs
    monkeypatch.setattr(sys, "argv", ["escapelint", "report", str(EXAMPLE), "-q"])
    with pytest.raises(SystemExit) as stop:
        cli.main()
    return stop.value.code, capsys.readouterr().err


def test_an_unexpected_exception_is_one_line_and_exit_70(monkeypatch, capsys):
    monkeypatch.delenv("ESCAPELINT_DEBUG", raising=False)
    code, stderr = _main_raising(monkeypatch, capsys, RuntimeError("something\nbroke"))
    assert code == 70
    assert stderr.splitlines() == [
        (
            "escapelint: internal error: RuntimeError: something broke; "
            "please report this (set ESCAPELINT_DEBUG=1 to see the traceback)"
        )
    ]


def test_escapelint_debug_shows_the_traceback(monkeypatch, capsys):
    monkeypatch.setenv("ESCAPELINT_DEBUG", "1")
    code, stderr = _main_raising(monkeypatch, capsys, RecursionError("too deep"))
    assert code == 70
    assert stderr.startswith("Traceback")
    assert stderr.splitlines()[-1].startswith("escapelint: internal error: RecursionError: too deep; please report this")


def test_an_error_of_the_users_a_command_did_not_catch_is_exit_2(monkeypatch, capsys):
    from escapelint.workflows.config import ConfigError

    code, stderr = _main_raising(monkeypatch, capsys, ConfigError("x.toml: bad"))  # `report` catches no ConfigError
    assert code == 2
    assert stderr.splitlines() == ["escapelint: error: x.toml: bad"]
    code, stderr = _main_raising(monkeypatch, capsys, OSError(28, "No space left on device"))
    assert code == 2
    assert stderr.splitlines() == ["escapelint: error: No space left on device"]


@pytest.mark.parametrize("failure, expected", [(KeyboardInterrupt(), 130), (BrokenPipeError(), 141)])
def test_interrupt_and_closed_pipe_are_quiet(monkeypatch, capsys, failure, expected):
    code, stderr = _main_raising(monkeypatch, capsys, failure)
    assert code == expected
    assert stderr == ""
