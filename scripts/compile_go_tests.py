"""Compile the Go distribution's escape-analysis tests with ``-m=2``.

Debian's ``golang-1.19-go`` ships the compiler's own regression tests in
``/usr/lib/go-1.19/test``; the ``escape*.go`` files there exercise escape
analysis far more densely than our fixtures. This script compiles each one
with a chosen toolchain and keeps the diagnostics, as extra real-world input
for the parser. The Go files are read in place and never copied into the repo.

Each file's first line says how the Go test harness runs it, e.g.
``// errorcheck -0 -m -l``. The flags after the action are honoured: ``-0``
is a harness flag (expect success), not a compiler flag, and is dropped; ``-m``
is replaced by ``-m=2`` (passing both would raise the level to 3); every other
flag (``-l``, ``-N``, ...) is passed on. Files whose action is not
``errorcheck`` (``// run``) are compiled with ``-m=2`` alone.

The command is ``go tool compile -p p -importcfg CFG -o TMP/p.o -m=2 FLAGS FILE``,
run in the test directory so positions read ``escape2.go:12:6``. The object file goes to a temporary
directory, never to ``/dev/null``: the compiler removes its ``-o`` file when a compile fails, and as
root that removes the device itself. The import
config comes from ``go list -export std``, since Go 1.20+ ships no
precompiled standard library. Tests written for Go 1.19 may not compile with
later toolchains (e.g. ``runtime/internal/atomic`` moved); the compiler's
errors are then recorded like any other output.

Usage::

    python scripts/compile_go_tests.py --version 1.27.3            # print to stdout
    python scripts/compile_go_tests.py --version 1.19 --out DIR    # DIR/escape2.m2.txt, ...
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

if __package__:
    from .toolchains import Toolchain, find
else:  # run as a script: scripts/ is on sys.path
    from toolchains import Toolchain, find

TESTS_DIR = Path("/usr/lib/go-1.19/test")


@dataclass(frozen=True)
class CompiledTest:
    """The compiler's output for one test file."""

    file: Path
    command: tuple[str, ...]
    exit_code: int
    output: bytes


def header_flags(source: Path) -> list[str]:
    """Compiler flags from the test's ``// errorcheck ...`` line, with ``-m`` as ``-m=2``."""
    first = source.read_text(errors="replace").splitlines()[0].split()
    if first[:2] != ["//", "errorcheck"]:
        return ["-m=2"]
    flags = ["-m=2"]
    for flag in first[2:]:
        if flag == "-0" or flag == "-m" or flag.startswith("-m="):
            continue
        flags.append(flag)
    return flags


def escape_tests(tests_dir: Path = TESTS_DIR) -> list[Path]:
    return sorted(tests_dir.glob("escape*.go"))


def write_importcfg(toolchain: Toolchain, path: Path) -> None:
    """Write an import config naming the export data of every std package."""
    template = "{{if .Export}}packagefile {{.ImportPath}}={{.Export}}{{end}}"
    proc = subprocess.run(
        [str(toolchain.go), "list", "-export", "-f", template, "std"],
        env=toolchain.env(),
        stdout=subprocess.PIPE,
        check=True,
    )
    path.write_bytes(proc.stdout)


def compile_test(toolchain: Toolchain, source: Path, importcfg: Path, objects: Path) -> CompiledTest:
    """Compile one test; its object file is written into (and left for) the scratch directory `objects`."""
    command = (
        "go", "tool", "compile", "-p", "p", "-importcfg", str(importcfg), "-o", str(objects / "p.o"),
        *header_flags(source), source.name,
    )  # fmt: skip
    proc = subprocess.run(
        [str(toolchain.go), *command[1:]],
        cwd=source.parent,
        env=toolchain.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )
    return CompiledTest(source, command, proc.returncode, proc.stdout)


def compile_all(toolchain: Toolchain, tests_dir: Path = TESTS_DIR) -> list[CompiledTest]:
    with tempfile.TemporaryDirectory(prefix="escapelint-compile-") as tmp:
        importcfg = Path(tmp) / "std.importcfg"
        write_importcfg(toolchain, importcfg)
        return [compile_test(toolchain, source, importcfg, Path(tmp)) for source in escape_tests(tests_dir)]


def compile_escape_tests(toolchain: Toolchain, out_dir: Path, tests_dir: Path = TESTS_DIR) -> list[Path]:
    """Compile every ``escape*.go`` test and write ``out_dir/<name>.m2.txt``; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for result in compile_all(toolchain, tests_dir):
        path = out_dir / f"{result.file.stem}.m2.txt"
        path.write_bytes(result.output)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="1.19", help="toolchain version (default: 1.19)")
    parser.add_argument("--out", type=Path, help="write one file per test here instead of printing")
    parser.add_argument("--tests-dir", type=Path, default=TESTS_DIR)
    args = parser.parse_args(argv)
    toolchain = find(args.version)
    if toolchain is None:
        print(f"go{args.version}: not installed", file=sys.stderr)
        return 2
    if not escape_tests(args.tests_dir):
        print(f"no escape*.go in {args.tests_dir} (apt-get install golang-1.19-go)", file=sys.stderr)
        return 2
    if args.out:
        for path in compile_escape_tests(toolchain, args.out, args.tests_dir):
            print(path)
        return 0
    for result in compile_all(toolchain, args.tests_dir):
        shown = [_shown(arg) for arg in result.command]
        print(f"## {result.file.name}: {' '.join(shown)} (exit {result.exit_code})", flush=True)
        sys.stdout.buffer.write(result.output)
        sys.stdout.buffer.flush()
    return 0


def _shown(arg: str) -> str:
    """The command as printed: temporary paths by what they are."""
    if arg.endswith(".importcfg"):
        return "IMPORTCFG"
    if arg.endswith("p.o") and "escapelint-compile-" in arg:
        return "OBJ"
    return arg


if __name__ == "__main__":
    sys.exit(main())
