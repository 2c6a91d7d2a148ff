"""Heap profiles for the cost ranking: read them, or record them from benchmarks.

Reading: a profile Go wrote (`go test -memprofile`, `/debug/pprof/heap` and `/debug/pprof/allocs`,
gzip'd or not) is read by escapelint.read.heap_profile_proto, with the `protobuf` package and no Go.
A file that is the text `go tool pprof -raw` prints (`go tool pprof -raw heap.pb.gz > heap.txt`,
gzip'd or not) is read by escapelint.read.heap_profile.

`go tool pprof -raw -symbolize=none FILE` of the Go toolchain in use is run for one kind of profile
only: one that names frames to drop (`drop_frames`), which pprof prunes and this reader does not. Go's
runtime writes none; pprof writes one when it converts a legacy text profile with its binary
(`go tool pprof -proto BINARY heap.txt`). Without a `go`, such a file is an error that says so. A
legacy text heap profile itself (`/debug/pprof/heap?debug=1`, "heap profile: ..."), is refused with
what to do instead: it names only addresses, and pprof without the binary (`-symbolize=none`, as
escapelint runs it) would give locations without a function or line, of which nothing can be
attributed. `-symbolize=none` because Go's profiles are symbolized when written: pprof must not go
looking for binaries or servers.

Recording (`audit --bench`): `go test -run '^$' -bench PATTERN -memprofile FILE -memprofilerate RATE`
per package that has test files (go test takes -memprofile for one package at a time), every test
binary written into a temporary directory (`-o`), never into the module.
"""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from escapelint.analyze.cost import CostAttribution, attribute
from escapelint.analyze.findings import PackageFindings
from escapelint.analyze.source import SourceLocator, read_go_file
from escapelint.read.heap_profile import (
    RAW_TEXT_STARTS,
    HeapProfile,
    ProfileFormatError,
    read_heap_profile,
)
from escapelint.read.heap_profile_proto import ProfileNeedsPprofError, read_heap_profile_proto
from escapelint.workflows.gobuild import GoCommandError, GoNotFoundError, GoToolchain

#: Every allocation is sampled: exact counts, and no small site is missed in a short benchmark run.
#: Go's default (512 KiB) samples one allocation per half megabyte on average, which leaves most
#: sites of a benchmark that runs a second at 0 or at a figure scaled up from one sample. The price
#: is benchmark time (each allocation records its stack), not accuracy.
DEFAULT_MEMPROFILERATE = 1


#: How the legacy text heap profile starts (runtime/pprof's writeHeapInternal with debug > 0).
LEGACY_HEAP_TEXT_START = b"heap profile: "


class ProfileError(Exception):
    """A profile that cannot be read (missing, not a profile, no `go` to read it): one line, exit 2."""


class BenchmarkFailedError(Exception):
    """A benchmark run failed: its output, as go test printed it (exit 3)."""

    def __init__(self, command: list[str], returncode: int, output: str) -> None:
        self.command = command
        self.returncode = returncode
        self.output = output
        super().__init__(f"{' '.join(['go', *command[1:]])} failed with exit status {returncode}")


def read_profile(path: Path, go: GoToolchain | None) -> HeapProfile:
    """One profile file: its protobuf or its `-raw` text read here, one with frames to drop by `go tool pprof -raw`."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(64)
            if not data.startswith(RAW_TEXT_STARTS):
                data += handle.read()
    except OSError as exc:
        raise ProfileError(f"--profile {path}: {exc.strerror or exc}") from None
    if data.startswith(b"\x1f\x8b"):
        try:
            with gzip.open(path, "rb") as handle:
                inner = handle.read(64)
        except (OSError, EOFError, zlib.error):
            inner = b""
        if inner.startswith(RAW_TEXT_STARTS):  # streamed: the text of a big profile runs to hundreds of MB
            return _parse(gzip.open(path, "rt", encoding="utf-8", errors="replace"), path)
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ProfileError(f"--profile {path}: not a whole gzip file ({exc})") from None
    elif data.startswith(RAW_TEXT_STARTS):
        return _parse(open(path, encoding="utf-8", errors="replace"), path)
    if data[:64].lstrip().startswith(LEGACY_HEAP_TEXT_START):  # the start only: a profile runs to 600 MB
        raise ProfileError(
            f"--profile {path}: a legacy text heap profile (/debug/pprof/heap?debug=1), which names only addresses: "
            f"fetch the profile without ?debug=1, or convert it where its binary is: go tool pprof -raw BINARY {path} > {path}.raw"
        )
    handed_over = [data]  # the reader lets go of the bytes once it has parsed them
    del data
    try:
        return read_heap_profile_proto(handed_over, str(path))
    except ProfileNeedsPprofError as exc:
        problem = exc
    except ProfileFormatError as exc:
        raise ProfileError(f"--profile {exc}") from None
    if go is None:
        raise ProfileError(
            f"--profile {problem}, and there is no `go` on PATH: pass --go GO, "
            f"or convert it where Go is: go tool pprof -raw {path} > {path}.txt"
        )
    return read_through_pprof(path, go)


def read_through_pprof(path: Path, go: GoToolchain) -> HeapProfile:
    """A profile that only pprof reads, through the `-raw` text of the toolchain's `go tool pprof`."""
    argv = [go.executable, "tool", "pprof", "-raw", "-symbolize=none", str(path)]
    # Streamed: the text of a long benchmark's profile runs to hundreds of megabytes.
    with tempfile.TemporaryFile() as errors:
        try:
            process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, env=os.environ.copy())
        except OSError as exc:
            raise ProfileError(f"--profile {path}: cannot run {go.executable}: {exc.strerror}") from None
        try:
            text = io.TextIOWrapper(process.stdout, encoding="utf-8", errors="replace")
            try:
                profile = read_heap_profile(text, str(path))
                problem = None
            except ProfileFormatError as exc:
                profile, problem = None, exc
            for _ in text:  # what the reader left: pprof must not block on a full pipe
                pass
        except BaseException:  # Ctrl-C, SIGTERM: stop pprof, which may be blocked on the pipe
            process.kill()
            process.wait()
            raise
        returncode = process.wait()
        if returncode != 0:
            errors.seek(0)
            message = " ".join(errors.read().decode(errors="replace").split()) or f"exit {returncode}"
            raise ProfileError(f"--profile {path}: go tool pprof cannot read it: {message}")
    if problem is not None:
        raise ProfileError(f"--profile {problem}")
    return profile


def _parse(lines, path: Path) -> HeapProfile:
    """Read the `-raw` text from a list of lines or an open file, which it closes."""
    try:
        return read_heap_profile(lines, str(path))
    except ProfileFormatError as exc:
        raise ProfileError(f"--profile {exc}") from None
    except OSError as exc:  # a gzip'd text that breaks off
        raise ProfileError(f"--profile {path}: {exc}") from None
    finally:
        if hasattr(lines, "close"):
            lines.close()


def read_profiles(paths: list[Path], go: GoToolchain | None) -> list[HeapProfile]:
    return [read_profile(path, go) for path in paths]


def module_path(root: Path) -> str | None:
    """The `module` line of root/go.mod (for `-trimpath` profiles), or None."""
    text = read_go_file(root / "go.mod")
    for line in (text or "").splitlines():
        words = line.split("//", 1)[0].split()
        if len(words) >= 2 and words[0] == "module":
            return words[1].strip('"')
    return None


def module_root_of(directory: Path) -> Path:
    """The directory holding go.mod at or above `directory`, else `directory` itself."""
    directory = directory.resolve()
    for candidate in (directory, *directory.parents):
        if (candidate / "go.mod").is_file():
            return candidate
    return directory


def attribute_build(packages: list[PackageFindings], profiles: list[HeapProfile], root: Path) -> CostAttribution:
    """The profiles' samples on the heap sites of `packages`, a build run in `root` (see escapelint.analyze.cost)."""
    module = module_root_of(root)
    mod_path = module_path(module)
    sources = SourceLocator(root)
    texts: dict[str, list[str] | None] = {}

    def line_text(file: str, line: int) -> str | None:
        if file not in texts:
            path = sources.path(file)
            if (path is None or not path.is_file()) and mod_path and file.startswith(mod_path + "/"):
                path = module / file[len(mod_path) + 1 :]  # a -trimpath build's name
            text = read_go_file(path) if path is not None else None
            texts[file] = text.splitlines() if text is not None else None
        lines = texts[file]
        return lines[line - 1] if lines is not None and 0 < line <= len(lines) else None

    return attribute(packages, profiles, root=str(root.resolve()), module_path=mod_path, line_text=line_text)


@dataclass(frozen=True)
class BenchmarkRun:
    """The profiles `run_benchmarks` recorded, in `directory` (the caller removes it)."""

    profiles: list[Path]
    commands: list[str]
    memprofilerate: int
    packages: list[str]  # the package each profile is of


def benchmark_packages(go: GoToolchain, patterns: list[str], root: Path) -> list[str]:
    """The import paths among `patterns` that have test files (only they can have benchmarks)."""
    text = go.run(["list", "-e", "-f", "{{.ImportPath}} {{len .TestGoFiles}} {{len .XTestGoFiles}}", *patterns], root)
    found = []
    for line in text.splitlines():
        words = line.split()
        if len(words) == 3 and (words[1] != "0" or words[2] != "0"):
            found.append(words[0])
    return found


def run_benchmarks(
    go: GoToolchain,
    patterns: list[str],
    root: Path,
    directory: Path,
    *,
    bench: str,
    benchtime: str | None = None,
    memprofilerate: int = DEFAULT_MEMPROFILERATE,
    progress: Callable[[str], None] = lambda message: None,
) -> BenchmarkRun:
    """Run the benchmarks matching `bench` in every package of `patterns` with test files, one memory
    profile each into `directory`; BenchmarkFailedError (with go test's output) when one fails."""
    try:
        packages = benchmark_packages(go, patterns, root)
    except GoCommandError as exc:
        raise ProfileError(f"--bench: {exc}") from None
    profiles, commands, profiled = [], [], []
    for index, package in enumerate(packages):
        profile = directory / f"mem-{index}.pb.gz"
        argv = [go.executable, "test", "-run", "^$", "-bench", bench]
        if benchtime:
            argv += ["-benchtime", benchtime]
        argv += ["-memprofile", str(profile), f"-memprofilerate={memprofilerate}", "-o", str(directory / f"bench-{index}.test"), package]
        shown = " ".join(["go", *argv[1:]]).replace(str(directory), "$TMP")
        progress(f"running {shown}")
        try:
            result = subprocess.run(argv, cwd=root, capture_output=True, check=False, env=os.environ.copy())
        except OSError as exc:
            raise GoNotFoundError(f"{go.executable}: cannot run: {exc.strerror}") from None
        output = (result.stdout + result.stderr).decode("utf-8", errors="replace")
        if result.returncode != 0:
            raise BenchmarkFailedError(argv, result.returncode, output)
        commands.append(shown)
        if profile.is_file():  # no benchmark matched: go test writes the profile all the same, empty of them
            profiles.append(profile)
            profiled.append(package)
    return BenchmarkRun(profiles, commands, memprofilerate, profiled)


def read_benchmark_profiles(run: BenchmarkRun, go: GoToolchain, bench: str) -> list[HeapProfile]:
    """The profiles of a benchmark run, named by what recorded them (their files are temporary)."""
    return [
        replace(read_profile(path, go), name=f"go test -bench {bench} {package}")
        for path, package in zip(run.profiles, run.packages)
    ]


def temporary_directory() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="escapelint-bench-", ignore_cleanup_errors=True)
