"""Builds write nothing into the module: executables go to an empty temporary directory (issue 15).

`go build` of one main package writes its executable into the working directory, so `escapelint
audit ./cmd/kvdemo` (and `check`, `baseline`) left a `kvdemo` binary in the user's module. And when a
file or directory of that name was already there, go refused ("build output "kvdemo" already exists
and is a directory"), a message the reader classified as unrecognized and the report hid. Builds now
run with `-o TMPDIR/`, a fresh empty directory per build: neither can happen any more.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from escapelint.workflows.gobuild import BuildCommand, GoToolchain, RunningBuild, escape_flags

from .conftest import FIXTURES, toolchain_or_skip


def _files(root: Path) -> dict[str, bytes | None]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes() if path.is_file() else None
        for path in sorted(root.rglob("*"))
    }


# --- without a toolchain: the command and the directory's lifetime ---------------------------------


def _fake_go(tmp_path: Path, names: str) -> GoToolchain:
    """A stand-in for `go`: `go list` answers `names`; a build prints its arguments, says whether its
    -o directory was empty, and writes an "executable" there."""
    script = tmp_path / "fake-go"
    script.write_text(
        f"#!{sys.executable}\n"
        "import pathlib, sys\n"
        "args = sys.argv[1:]\n"
        f"if args[0] == 'list':\n    print({names!r})\n    sys.exit(0)\n"
        "print(*args, sep='\\n')\n"
        "if '-o' in args:\n"
        "    out = pathlib.Path(args[args.index('-o') + 1])\n"
        "    print('empty' if not any(out.iterdir()) else 'not empty')\n"
        "    (out / 'kvdemo').write_bytes(b'ELF')\n"
    )
    script.chmod(0o755)
    return GoToolchain(str(script))


def test_a_build_of_a_main_package_links_into_a_directory(tmp_path):
    go = _fake_go(tmp_path, "main\nkv")
    command = BuildCommand.for_packages(go, ["./cmd/kvdemo", "./kv"], tmp_path)
    assert command.links
    argv = command.argv_writing_to(tmp_path / "out")
    assert argv[:4] == (go.executable, "build", "-o", f"{tmp_path / 'out'}{os.sep}")
    assert argv[4:] == command.argv[2:] and argv[-2:] == ("./cmd/kvdemo", "./kv")
    # What people and the baseline see names no temporary directory.
    assert command.display() == "go build -gcflags=./cmd/kvdemo=-m=2 -gcflags=./kv=-m=2 ./cmd/kvdemo ./kv"


def test_no_main_package_no_output_directory(tmp_path):
    """go refuses `-o DIR/` without a main package ("no main packages to build"), and writes nothing then."""
    command = BuildCommand.for_packages(_fake_go(tmp_path, "kv\nparse"), ["./kv/..."], tmp_path)
    assert not command.links
    assert command.argv_writing_to(tmp_path / "out") == command.argv


def _package_dir(root: Path, name: str, *files: tuple[str, str]) -> None:
    (root / name).mkdir(parents=True)
    for file, text in files:
        (root / name / file).write_text(text)


def test_directories_without_a_main_clause_are_not_asked_about(tmp_path):
    """Issue 11: `go list` costs as much as a small build; a directory none of whose Go files says
    `package main` cannot be a main package, so check on a library file runs go once, to build."""
    _package_dir(tmp_path, "kv", ("store.go", "// Package kv is not a main package.\npackage kv\n"),
                 ("main_test.go", "package main\n"))  # fmt: skip
    failing = tmp_path / "no-go"
    failing.write_text(f"#!{sys.executable}\nimport sys\nsys.exit('go list must not run')\n")
    failing.chmod(0o755)
    command = BuildCommand.for_packages(GoToolchain(str(failing)), ["./kv"], tmp_path)
    assert not command.links


@pytest.mark.parametrize(
    "text",
    ["package main\n", "//go:build ignore\n\npackage main\n", "package /* odd */ main\n", "package\n// odd\nmain\n"],
)
def test_a_directory_that_may_hold_a_main_package_is_asked_about(tmp_path, text):
    _package_dir(tmp_path, "cmd/tool", ("kv.go", "package kv\n"), ("gen.go", text))
    assert BuildCommand.for_packages(_fake_go(tmp_path, "main"), ["./cmd/tool"], tmp_path).links
    assert not BuildCommand.for_packages(_fake_go(tmp_path, "kv"), ["./cmd/tool"], tmp_path).links  # go decides


@pytest.mark.parametrize("pattern", ["./...", "example.com/m/kv", "./missing"])
def test_patterns_that_are_not_plain_directories_are_asked_about(tmp_path, pattern):
    assert BuildCommand.for_packages(_fake_go(tmp_path, "main"), [pattern], tmp_path).links


@pytest.mark.parametrize(
    "go_version,flags",
    [("go1.19.13", "-m=2"), ("go1.24.11", "-m=2"), ("go1.25.5", "-m=2 -d=escapedebug=1"),
     ("go1.27.3", "-m=2 -d=escapedebug=1"), (None, "-m=2"), ("devel go1.26-abcdef", "-m=2")],
)  # fmt: skip
def test_escapedebug_is_added_on_go_1_25_and_later(tmp_path, go_version, flags):
    """-d=escapedebug=1 adds only the convert: lines that say which conversions do not allocate; older
    compilers refuse the debug key, and an unknown version gets the flags every version knows."""
    command = BuildCommand.for_packages(_fake_go(tmp_path, "kv"), ["./kv"], tmp_path, go_version=go_version)
    assert command.argv[2] == f"-gcflags=./kv={flags}"
    assert escape_flags(go_version) == flags


def test_go_test_keeps_its_own_binaries(tmp_path):
    command = BuildCommand.for_packages(_fake_go(tmp_path, "main"), ["./..."], tmp_path, tests=True)
    assert not command.links
    assert command.argv_writing_to(tmp_path / "out") == command.argv


def test_each_build_gets_an_empty_directory_that_is_removed(tmp_path):
    module = tmp_path / "module"
    module.mkdir()
    command = BuildCommand.for_packages(_fake_go(tmp_path, "main"), ["./cmd/kvdemo"], module)
    seen = []
    for _ in range(2):
        build = RunningBuild.start(command)
        try:
            lines = [line.rstrip("\n") for line in build.lines()]
        finally:
            build.stop()
        assert build.returncode == 0, lines
        out = lines[lines.index("-o") + 1]
        assert out.endswith(os.sep) and lines[-1] == "empty"
        assert not Path(out).exists()
        seen.append(out)
    assert seen[0] != seen[1]
    assert list(module.iterdir()) == []


# --- with a real toolchain -----------------------------------------------------------------------


@pytest.mark.toolchain
@pytest.mark.parametrize(
    ("pattern", "in_the_way"),
    [("./cmd/kvdemo", None), ("./cmd/kvdemo", "file"), ("./cmd/kvdemo", "directory"), ("./kv", None), ("./...", None)],
)
def test_audit_leaves_the_module_as_it_was(tmp_path, pattern, in_the_way):
    toolchain = toolchain_or_skip("1.27.3")
    module = tmp_path / "example"
    shutil.copytree(FIXTURES / "modules" / "example", module)
    # Before the fix, a "kvdemo" already there made go fail with a message the report hid as unrecognized.
    if in_the_way == "file":
        (module / "kvdemo").write_text("notes, not a Go binary\n")
    elif in_the_way == "directory":
        (module / "kvdemo").mkdir()
        (module / "kvdemo" / "notes.txt").write_text("keep me\n")
    before = _files(module)
    env = toolchain.env()
    env["PATH"] = f"{toolchain.goroot / 'bin'}{os.pathsep}{env['PATH']}"
    env["TMPDIR"] = str(tmp_path)  # the build's own -o directory goes here, and must be gone afterwards
    result = subprocess.run(
        [sys.executable, "-m", "escapelint", "audit", "-C", str(module), "-o", str(tmp_path / "report"), pattern],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "already exists" not in result.stderr and "did not recognise" not in result.stderr
    assert (tmp_path / "report" / "index.html").is_file()
    assert _files(module) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["example", "report"]


@pytest.mark.toolchain
def test_baseline_and_check_of_a_main_package_leave_the_module_as_it_was(tmp_path):
    toolchain = toolchain_or_skip("1.27.3")
    module = tmp_path / "example"
    shutil.copytree(FIXTURES / "modules" / "example", module)
    before = _files(module)
    env = toolchain.env()
    env["PATH"] = f"{toolchain.goroot / 'bin'}{os.pathsep}{env['PATH']}"
    env["TMPDIR"] = str(tmp_path)
    baseline = tmp_path / "baseline.json"
    for args in (["baseline", "-o", str(baseline), "./cmd/kvdemo"], ["check", "--baseline", str(baseline), "cmd/kvdemo/main.go"]):
        result = subprocess.run(
            [sys.executable, "-m", "escapelint", *args], cwd=module, env=env, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, (args, result.stderr)
    assert baseline.is_file()
    assert _files(module) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["baseline.json", "example"]
