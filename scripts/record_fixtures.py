"""Record real Go compiler escape-analysis output for the fixture modules.

For every module under ``fixtures/modules/`` and every installed toolchain this
runs, in the module's directory::

    go build -p 1 -gcflags=-m=2 ./...

and stores the combined stdout+stderr byte for byte (no normalisation) in
``fixtures/recorded/go<version>/<module>.m2.txt`` with a sidecar
``<module>.m2.meta.json`` holding the command and exit code. The ``categories``
module is also recorded with plain ``-gcflags=-m`` as ``<module>.m1.txt``, and the ``loopvars``
module (Go 1.22+) with ``-gcflags=-m=2 -d=loopvar=2 -d=ssa/check_bce/debug=1`` as
``<module>.m2debug.txt``.

The ``conversions`` module is also recorded with ``-gcflags=-m=2 -d=escapedebug=1`` as
``<module>.m2d.txt`` on the toolchains that know that flag (Go 1.25+), and its assembly truth is
recorded beside it: ``go build -gcflags=-S`` (a module without ``main`` packages, so no file is
written), and for every heap site of the ``-m=2`` output (``X escapes to heap``, ``moved to heap: x``)
whether the assembly holds a call to ``runtime.convT*``, ``runtime.newobject``, ``runtime.mallocgc*``
or ``runtime.concatstring*`` on the site's line, read from the ``(file:line)`` position the listing
gives each instruction (the innermost position, so an inlined callee's instructions carry the
callee's line) and restricted to the module's own files: ``<module>.truth.json``.

The ``inlining`` module is also built once more with ``-a`` and ``-json=0,file://DIR`` added to its
``-m=2`` flags, with a private GOCACHE (a compile replayed from the cache writes no log); that build
must print the recorded bytes, and DIR, the compiler's optimization log, is stored as
``<module>.log/`` with the module's directory written ``$MODULE``, beside ``<module>.callees.json``:
the function the source declares at each inlined chain's innermost position
(scripts/inlining_oracle.py), so tests read the log without a toolchain or GOROOT.

``-p 1`` makes cmd/go build (or replay from its cache) one package at a time,
so multi-package output comes in a stable order. Cached builds replay the
compiler's original output, so the normal build cache is used.

Usage::

    python scripts/record_fixtures.py                      # record everything
    python scripts/record_fixtures.py --versions 1.19 --modules categories
    python scripts/record_fixtures.py --check              # CI: exit 1 if stored files differ

The output contains absolute GOROOT paths wherever the compiler reports
positions inside the standard library. ``--check`` therefore maps the
re-recording toolchain's GOROOT to the one stored in the sidecar before
comparing; nothing else is rewritten.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

if __package__:
    from .inlining_oracle import record_log
    from .toolchains import VERSIONS, Toolchain, find
else:  # run as a script: scripts/ is on sys.path
    from inlining_oracle import record_log
    from toolchains import VERSIONS, Toolchain, find

ROOT = Path(__file__).resolve().parent.parent
MODULES_DIR = ROOT / "fixtures" / "modules"
RECORDED_DIR = ROOT / "fixtures" / "recorded"

#: Recording mode name -> the -gcflags value it passes.
MODES = {
    "m2": "-m=2",
    "m1": "-m",
    "m2d": "-m=2 -d=escapedebug=1",
    "m2debug": "-m=2 -d=loopvar=2 -d=ssa/check_bce/debug=1",
}
#: Modules recorded in more modes than the default ``m2``.
EXTRA_MODES = {"categories": ("m1",), "conversions": ("m2d",), "loopvars": ("m2debug",)}
#: Modules whose go.mod asks for a newer Go than 1.19 (per-iteration loop variables are Go 1.22's):
#: older toolchains refuse to build them, so they are not recorded there.
MODULE_SINCE = {"loopvars": (1, 22)}
#: The first Go version (major, minor) that knows a mode's flags: `-d=escapedebug` is new in Go 1.25
#: (cmd/compile/internal/base/debug.go), and older compilers refuse an unknown -d key.
MODE_SINCE = {"m2d": (1, 25)}
#: Modules whose assembly truth (``<module>.truth.json``) is recorded beside their output.
ASSEMBLY_TRUTH = ("conversions",)
#: Modules whose compiler optimization log (``-json=0``: the inlining chain of every heap site) is
#: recorded beside their ``m2`` output, in ``<module>.log/`` (scripts/inlining_oracle.py record_log).
OPTIMIZATION_LOG = ("inlining",)


@dataclass(frozen=True)
class Recording:
    """One compiler run: what was run and exactly what it printed."""

    go_version: str
    goroot: str
    module: str
    mode: str
    command: str
    exit_code: int
    output: bytes

    @property
    def stem(self) -> str:
        return f"go{self.go_version}/{self.module}.{self.mode}"

    def meta(self) -> dict[str, object]:
        return {
            "go_version": self.go_version,
            "command": self.command,
            "module": self.module,
            "exit_code": self.exit_code,
            "goroot": self.goroot,
            "recorded_by": "scripts/record_fixtures.py",
        }


def modules() -> list[str]:
    """Fixture module names, sorted."""
    return sorted(p.parent.name for p in MODULES_DIR.glob("*/go.mod"))


def version_tuple(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def modes_for(module: str, version: str | None = None) -> tuple[str, ...]:
    """The modes `module` is recorded in, on Go `version` (every mode when None)."""
    modes = ("m2", *EXTRA_MODES.get(module, ()))
    if version is None:
        return modes
    if version_tuple(version) < MODULE_SINCE.get(module, (0, 0)):
        return ()
    return tuple(m for m in modes if version_tuple(version) >= MODE_SINCE.get(m, (0, 0)))


def build_args(mode: str) -> list[str]:
    return ["go", "build", "-p", "1", f"-gcflags={MODES[mode]}", "./..."]


def record(toolchain: Toolchain, module: str, mode: str) -> Recording:
    """Run the build for one module in one mode and capture its output."""
    args = build_args(mode)
    proc = subprocess.run(
        [str(toolchain.go), *args[1:]],
        cwd=MODULES_DIR / module,
        env=toolchain.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )
    return Recording(
        go_version=toolchain.version,
        goroot=str(toolchain.goroot),
        module=module,
        mode=mode,
        command=shlex.join(args),
        exit_code=proc.returncode,
        output=proc.stdout,
    )


def meta_bytes(recording: Recording) -> bytes:
    return (json.dumps(recording.meta(), indent=2, sort_keys=True) + "\n").encode()


def write(recording: Recording, out_root: Path) -> list[Path]:
    """Store a recording's output and sidecar under ``out_root``; return both paths."""
    out = out_root / f"{recording.stem}.txt"
    meta = out_root / f"{recording.stem}.meta.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(recording.output)
    meta.write_bytes(meta_bytes(recording))
    return [out, meta]


#: The build whose assembly listing is the truth; the module holds no `main` package.
ASSEMBLY_ARGS = ["go", "build", "-p", "1", "-gcflags=-S", "./..."]
_ALLOCATING_CALL = re.compile(
    r"^\s+0x[0-9a-f]+ \d+ \((?P<file>.+):(?P<line>\d+)\)\s+CALL\s+runtime\.(?P<callee>convT\w*|newobject|mallocgc\w*|concatstring\w*)\(SB\)",
    re.MULTILINE,
)
_HEAP_SITE = re.compile(
    r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<column>\d+): (?:(?P<expr>.+) escapes to heap|moved to heap: (?P<name>\S+))$",
    re.MULTILINE,
)


def allocating_lines(assembly: str, module_dir: Path) -> dict[tuple[str, int], list[str]]:
    """(file as the compiler prints it, line) -> the allocating runtime calls the -S listing has there."""
    calls: dict[tuple[str, int], list[str]] = {}
    for match in _ALLOCATING_CALL.finditer(assembly):
        path = Path(match["file"])
        if not path.is_absolute() or not path.is_relative_to(module_dir):
            continue  # another package's code, inlined here: not a site of this module
        relative = path.relative_to(module_dir).as_posix()
        printed = relative if "/" in relative else f"./{relative}"
        calls.setdefault((printed, int(match["line"])), []).append(match["callee"])
    return calls


def record_truth(toolchain: Toolchain, module: str, m2_output: bytes) -> bytes:
    """The assembly truth of `module`: whether each heap site of its -m=2 output calls the allocator."""
    module_dir = (MODULES_DIR / module).resolve()
    # No -o: `go build` of packages that are not `main` writes no file at all (Go 1.19 refuses an -o
    # directory for them), so nothing outside the build cache is written, let alone a system path.
    proc = subprocess.run(
        [str(toolchain.go), *ASSEMBLY_ARGS[1:]],
        cwd=module_dir,
        env=toolchain.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=True,
    )
    calls = allocating_lines(proc.stdout.decode("utf-8", "replace"), module_dir)
    found = [
        (match["file"], int(match["line"]), int(match["column"]), match["name"], match["expr"])
        for match in _HEAP_SITE.finditer(m2_output.decode("utf-8", "replace"))
    ]
    per_line: dict[tuple[str, int], int] = {}
    for file, line, *_ in found:
        per_line[(file, line)] = per_line.get((file, line), 0) + 1
    sites = []
    for file, line, column, name, expr in found:
        callees = calls.get((file, line), [])
        # The listing has lines, not columns: a line without a call proves that none of its sites
        # allocates, and a line with as many calls as sites that all of them do; a line with fewer
        # calls than sites (Go 1.19 puts some of fmt.Println's arguments on one line) cannot say
        # which of them allocate, so its sites are left undecided (null).
        if not callees:
            allocates = False
        elif len(callees) >= per_line[(file, line)]:
            allocates = True
        else:
            allocates = None
        sites.append(
            {
                "file": file,
                "line": line,
                "column": column,
                "kind": "moved" if name is not None else "escape",
                "expr": name if name is not None else expr,
                "allocates": allocates,
                "calls": sorted(callees),
            }
        )
    truth = {
        "go_version": toolchain.version,
        "command": shlex.join(ASSEMBLY_ARGS),
        "recorded_by": "scripts/record_fixtures.py",
        "allocating_lines": [
            {"file": file, "line": line, "calls": sorted(callees)} for (file, line), callees in sorted(calls.items())
        ],
        "sites": sites,
    }
    return (json.dumps(truth, indent=1, sort_keys=True) + "\n").encode()


def record_all(out_root: Path, toolchains: list[Toolchain], module_names: list[str]) -> list[Recording]:
    recordings = []
    for toolchain in toolchains:
        for module in module_names:
            for mode in modes_for(module, toolchain.version):
                recording = record(toolchain, module, mode)
                write(recording, out_root)
                print(f"{recording.stem}: exit {recording.exit_code}, {len(recording.output)} bytes", flush=True)
                recordings.append(recording)
                if mode == "m2" and module in OPTIMIZATION_LOG:
                    log_dir = out_root / f"go{toolchain.version}" / f"{module}.log"
                    shutil.rmtree(log_dir, ignore_errors=True)  # under fixtures/recorded or a temp dir only
                    files, callees = record_log(toolchain, MODULES_DIR / module, MODES[mode], recording.output)
                    for name, data in files.items():
                        (log_dir / name).parent.mkdir(parents=True, exist_ok=True)
                        (log_dir / name).write_bytes(data)
                    (log_dir.parent / f"{module}.callees.json").write_bytes(callees)
                    print(f"go{toolchain.version}/{module}.log/: the compiler's -json log of an -a build", flush=True)
                if mode == "m2" and module in ASSEMBLY_TRUTH:
                    truth = out_root / f"go{toolchain.version}" / f"{module}.truth.json"
                    truth.write_bytes(record_truth(toolchain, module, recording.output))
                    print(f"go{toolchain.version}/{module}.truth.json: from the assembly", flush=True)
    return recordings


def _stored_files(root: Path, versions: list[str], module_names: list[str]) -> set[str]:
    files = set()
    for version in versions:
        for module in module_names:
            for path in (root / f"go{version}").glob(f"{module}.*"):
                for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
                    if file.is_file():
                        files.add(file.relative_to(root).as_posix())
    return files


def check(toolchains: list[Toolchain], module_names: list[str]) -> int:
    """Re-record into a temporary directory and compare with ``fixtures/recorded``."""
    versions = [t.version for t in toolchains]
    problems = []
    with tempfile.TemporaryDirectory(prefix="escapelint-record-") as tmp:
        fresh_root = Path(tmp)
        record_all(fresh_root, toolchains, module_names)
        fresh = _stored_files(fresh_root, versions, module_names)
        stored = _stored_files(RECORDED_DIR, versions, module_names)
        for name in sorted(stored - fresh):
            problems.append(f"{name}: stored but no longer recorded")
        for name in sorted(fresh - stored):
            problems.append(f"{name}: recorded but not stored")
        for name in sorted(fresh & stored):
            if name.endswith(".meta.json") or name.endswith(".truth.json"):
                if name.endswith(".truth.json") and (RECORDED_DIR / name).read_bytes() != (fresh_root / name).read_bytes():
                    problems.append(f"{name}: the assembly truth differs")
                continue
            if ".log/" in name or name.endswith(".callees.json"):
                # The log names GOROOT files by absolute path, as the text does.
                version_dir = name.split("/", 1)[0]
                meta_name = f"{version_dir}/{name.split('/')[1].split('.')[0]}.m2.meta.json"
                old_root = json.loads((RECORDED_DIR / meta_name).read_text())["goroot"]
                new_root = json.loads((fresh_root / meta_name).read_text())["goroot"]
                if (RECORDED_DIR / name).read_bytes() != (fresh_root / name).read_bytes().replace(new_root.encode(), old_root.encode()):
                    problems.append(f"{name}: the optimization log differs")
                continue
            meta_name = name.removesuffix(".txt") + ".meta.json"
            old_meta = json.loads((RECORDED_DIR / meta_name).read_text())
            new_meta = json.loads((fresh_root / meta_name).read_text())
            new = (fresh_root / name).read_bytes()
            if old_meta["goroot"] != new_meta["goroot"]:
                new = new.replace(new_meta["goroot"].encode(), old_meta["goroot"].encode())
            old_meta.pop("goroot")
            new_meta.pop("goroot")
            if old_meta != new_meta:
                problems.append(f"{meta_name}: stored {old_meta} != recorded {new_meta}")
            old = (RECORDED_DIR / name).read_bytes()
            if old != new:
                diff = difflib.unified_diff(
                    old.decode(errors="replace").splitlines(),
                    new.decode(errors="replace").splitlines(),
                    f"stored/{name}",
                    f"recorded/{name}",
                    lineterm="",
                    n=1,
                )
                problems.append(f"{name}: differs\n" + "\n".join(list(diff)[:40]))
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} fixture file(s) differ; re-record with scripts/record_fixtures.py", file=sys.stderr)
        return 1
    print(f"all fixtures match ({len(fresh)} files)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", nargs="+", default=list(VERSIONS), metavar="VERSION")
    parser.add_argument("--modules", nargs="+", default=None, metavar="MODULE")
    parser.add_argument("--check", action="store_true", help="re-record to a temp dir and compare with the stored files")
    parser.add_argument("--skip-missing", action="store_true", help="skip toolchains that are not installed")
    args = parser.parse_args(argv)

    known = modules()
    module_names = sorted(args.modules or known)
    unknown = sorted(set(module_names) - set(known))
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; known: {', '.join(known)}")
    toolchains = []
    for version in args.versions:
        toolchain = find(version)
        if toolchain is not None:
            toolchains.append(toolchain)
        elif args.skip_missing:
            print(f"go{version}: not installed, skipped", file=sys.stderr)
        else:
            print(f"go{version}: not installed (python scripts/toolchains.py install {version})", file=sys.stderr)
            return 2
    if args.check:
        return check(toolchains, module_names)
    record_all(RECORDED_DIR, toolchains, module_names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
