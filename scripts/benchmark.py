"""Benchmark escapelint on the standard library against the compiler's own cached replay.

The question is what escapelint costs on top of the build whose output it reads.
With one toolchain this:

1. builds ``std`` once with ``go build -gcflags=-m=2 std`` to warm the build
   cache (output discarded);
2. times the warm replay of the same command, writing its combined
   stdout+stderr to ``std-go<version>.txt`` (best of ``--runs``);
3. times ``python -m escapelint report FILE --format json --output OUT --force -q``
   as a child process (best of ``--runs``), with its default of one worker
   process per CPU (at most 4), and once more with ``--jobs 1`` for comparison. Peak RSS is
   the largest sum over the child and all its worker processes, sampled every
   5 ms from /proc (pages the processes share are counted once per process),
   and never less than ``os.wait4``'s figure for the largest single process;
4. prints the machine facts and a table: input lines and size, replay and
   escapelint seconds, their ratio, lines/s and peak RSS, with the targets
   (ratio <= 3.0, peak RSS <= 250 MiB) marked PASS or MISS; the targets apply
   to the default run. These runs do not use the result cache (``--no-cache``);
5. the result cache (``cache_benchmark``), ``--runs`` times interleaved, medians: the replay again;
   ``report --format json`` into an empty cache (cold) and again (warm); the plain
   ``go build -gcflags=std=-m=2 std`` in GOROOT/src (what audit runs) and ``escapelint audit std
   --format json`` there, cold and warm; peak RSS of each (an audit's without its ``go build``, whose
   own peak, printed apart, is the go command's: it holds the output it replays). Targets: cold <= 2.0 and warm <= 0.5 times the replay, peak RSS
   <= 250 MiB for every run. ``--cache-only`` skips steps 3-4.

Usage::

    python scripts/benchmark.py --go 1.22.10 [--runs 3] [--keep DIR] [--assert-targets] [--cache-only]
    python scripts/benchmark.py --startup [--go 1.27.3] [--runs 10] [--compare-with CHECKOUT] [--assert-targets]
    python scripts/benchmark.py --profile --go 1.22.10 [--depth 9] [--copies 1] [--keep DIR]

``--startup`` measures escapelint's fixed costs instead, on a copy of the bundled example module
(``fixtures/modules/example``) with a baseline: in one run, interleaved, the median of ``--runs``
(default 10) of ``escapelint --version``, of ``escapelint check kv/store.go`` against the plain warm
``go build -gcflags=./kv=-m=2 ./kv`` that it runs, and of ``escapelint audit`` (HTML) against the plain
``go build -gcflags=./...=-m=2 ./...``. Targets: ``--version`` <= 100 ms; check adds <= 150 ms and audit
<= 400 ms to its build. ``--compare-with CHECKOUT`` also times ``check`` and ``audit`` of another source
checkout of escapelint in the same rounds and prints the ratio of what each adds (this one / that one):
on a loaded machine only figures of one run compare. Bytecode is cached in a temporary directory (``PYTHONPYCACHEPREFIX``), as an
installed package has it, even when ``PYTHONDONTWRITEBYTECODE`` is set.

``--profile`` measures the heap-profile ranking (issue 12): it records a heap profile of
``fixtures/modules/stacks``'s BenchmarkStacks with ``-memprofilerate 1`` and ``STACKS_DEPTH=DEPTH``
(4^DEPTH x 8 distinct stacks, every allocation sampled: depth 9 writes a 6 MB profile of 2.1 million
samples), builds std with ``-m=2`` and reads and analyses it together with the stacks module's own
output, then times, each once: ``go tool pprof -raw`` of the profile streamed into escapelint's text
reader (the baseline: how escapelint read every profile before it read the protobuf) and pprof's peak
RSS, the text reader alone on the saved text, the protobuf reader (``workflows.profile.read_profile``,
each in a process of its own, with its peak RSS) on the profile, on ``--copies`` copies of it (several
``--profile`` files) and on one profile holding all the copies' samples, and the attribution of
``--copies`` copies of the profile (several profiles add up) to every heap site of std and the module
(``workflows.profile.attribute_build``). The load average is printed before and after. The profile
is not committed.

Exit status: 0; 1 if ``--assert-targets`` is given and a target is missed;
2 if the toolchain is missing or the build or escapelint fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

if __package__:
    from .check_std import build_std, output_name
    from .toolchains import Toolchain, find
else:  # run as a script: scripts/ is on sys.path
    from check_std import build_std, output_name
    from toolchains import Toolchain, find

ROOT = Path(__file__).resolve().parent.parent
MAX_RATIO = 3.0
MAX_RSS_MIB = 250.0
MIB = 1024 * 1024


@dataclass(frozen=True)
class ChildRun:
    """One escapelint run in a child process."""

    seconds: float
    exit_code: int
    max_rss_kib: int  # peak of the summed RSS of the child and its workers, KiB


class TreeMemorySampler(threading.Thread):
    """Samples the summed resident set of a process and all its descendants until stopped."""

    INTERVAL = 0.005

    def __init__(self, pid: int, exclude: tuple[str, ...] = ()) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.exclude = exclude  # command names (/proc/PID/comm) whose processes, and theirs, are not counted
        self.peak_kib = 0
        self._stop_sampling = threading.Event()
        self._page_kib = os.sysconf("SC_PAGE_SIZE") // 1024

    def run(self) -> None:
        while not self._stop_sampling.is_set():
            self.peak_kib = max(self.peak_kib, sum(self._rss_kib(p) for p in self._tree(self.pid)))
            self._stop_sampling.wait(self.INTERVAL)

    def stop(self) -> int:
        self._stop_sampling.set()
        self.join()
        return self.peak_kib

    def _tree(self, pid: int) -> list[int]:
        pids, todo = [], [pid]
        while todo:
            current = todo.pop()
            if self.exclude and current != pid and self._command_name(current) in self.exclude:
                continue
            pids.append(current)
            todo += self._children(current)
        return pids

    def _command_name(self, pid: int) -> str:
        try:
            with open(f"/proc/{pid}/comm") as comm:
                return comm.read().strip()
        except OSError:
            return ""

    def _children(self, pid: int) -> list[int]:
        try:
            found = []
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as children:
                    found += [int(child) for child in children.read().split()]
            return found
        except FileNotFoundError:
            if not os.path.exists(f"/proc/{pid}"):
                return []  # gone already
        except OSError:
            return []
        # A kernel without /proc/PID/task/TID/children: find the children by their parent id.
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as stat:
                        if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                            found.append(int(entry))
                except (OSError, IndexError, ValueError):
                    continue
        return found

    def _rss_kib(self, pid: int) -> int:
        try:
            with open(f"/proc/{pid}/statm") as statm:
                return int(statm.read().split()[1]) * self._page_kib
        except (OSError, IndexError, ValueError):
            return 0


def run_escapelint(
    source: Path, report: Path, extra: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> ChildRun:
    """Run the JSON report as a child process and measure its wall time and peak RSS.

    Without `env`, the run does not use the result cache (--no-cache): these figures are the first
    read's; the cache's own are measured by `cache_benchmark`."""
    args = [sys.executable, "-m", "escapelint", "report", str(source)]
    args += ["--format", "json", "--output", str(report), "--force", "-q", *extra]
    if env is None:
        args.append("--no-cache")
    return run_measured(args, env)


def run_measured(
    args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None, exclude: tuple[str, ...] = ()
) -> ChildRun:
    """Run a child process; its wall time, exit code and peak RSS summed over it and its children
    (but those named in `exclude`: an audit's `go build`, which escapelint does not control)."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, cwd=cwd)
    sampler = TreeMemorySampler(proc.pid, exclude)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    sampled = sampler.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
    # ru_maxrss of a process that waited for an excluded child counts that child's peak: left out then.
    return ChildRun(seconds, proc.returncode, sampled if exclude else max(sampled, usage.ru_maxrss))


def count_lines(path: Path) -> int:
    """Lines as escapelint counts them: newline-terminated ones, plus a final unterminated one."""
    lines = 0
    last = b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def go_version(toolchain: Toolchain) -> str:
    proc = subprocess.run(
        [str(toolchain.go), "version"], env=toolchain.env(), capture_output=True, text=True, check=False
    )
    return proc.stdout.strip() or proc.stderr.strip()


def print_machine(toolchain: Toolchain) -> None:
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"machine  {platform.platform()}, nproc {nproc}")
    print(f"python   {platform.python_implementation()} {platform.python_version()} ({sys.executable})")
    print(f"go       {go_version(toolchain)} ({toolchain.goroot})")


@dataclass(frozen=True)
class Result:
    lines: int
    size: int
    runs: int
    replay_seconds: float
    escapelint_seconds: float
    max_rss_kib: int
    one_process_seconds: float
    one_process_rss_kib: int

    @property
    def ratio(self) -> float:
        return self.escapelint_seconds / self.replay_seconds

    @property
    def rss_mib(self) -> float:
        return self.max_rss_kib / 1024

    def targets_met(self) -> dict[str, bool]:
        return {"ratio": self.ratio <= MAX_RATIO, "rss": self.rss_mib <= MAX_RSS_MIB}


def print_table(result: Result) -> None:
    met = result.targets_met()
    verdict = {name: "PASS" if ok else "MISS" for name, ok in met.items()}
    rows = [
        ("input lines", f"{result.lines:,}", "", ""),
        ("input size", f"{result.size / MIB:,.1f} MiB", "", ""),
        (f"replay, best of {result.runs}", f"{result.replay_seconds:.2f} s", "", ""),
        (f"escapelint, best of {result.runs}", f"{result.escapelint_seconds:.2f} s", "", ""),
        ("escapelint / replay", f"{result.ratio:.2f}", f"<= {MAX_RATIO:.1f}", verdict["ratio"]),
        ("escapelint lines/s", f"{result.lines / result.escapelint_seconds:,.0f}", "", ""),
        ("escapelint peak RSS, all processes", f"{result.rss_mib:,.1f} MiB", f"<= {MAX_RSS_MIB:g} MiB", verdict["rss"]),
        (f"--jobs 1, best of {result.runs}", f"{result.one_process_seconds:.2f} s", "", ""),
        ("--jobs 1 / replay", f"{result.one_process_seconds / result.replay_seconds:.2f}", "", ""),
        ("--jobs 1 peak RSS", f"{result.one_process_rss_kib / 1024:,.1f} MiB", "", ""),
    ]
    header = ("metric", "value", "target", "")
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(3)]
    for row in (header, *rows):
        print(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}".rstrip())


def benchmark(toolchain: Toolchain, runs: int, out_dir: Path) -> Result:
    """Steps 1-3; raises RuntimeError if the build or escapelint fails."""
    source = out_dir / output_name(toolchain.version)
    report = out_dir / f"std-go{toolchain.version}.json"
    print("warming the build cache: go build -gcflags=-m=2 std ...", flush=True)
    warm = build_std(toolchain, Path(os.devnull))
    if warm.exit_code != 0:
        raise RuntimeError(f"go build -gcflags=-m=2 std exited {warm.exit_code}")
    print(f"warm build: {warm.seconds:.1f} s", flush=True)
    replays = []
    for _ in range(runs):
        replay = build_std(toolchain, source)
        if replay.exit_code != 0:
            raise RuntimeError(f"replay of go build -gcflags=-m=2 std exited {replay.exit_code}")
        replays.append(replay.seconds)
    children, one_process = [], []
    for _ in range(runs):
        for extra, runs_of_kind in (((), children), (("--jobs", "1"), one_process)):
            child = run_escapelint(source, report, extra)
            if child.exit_code != 0:
                raise RuntimeError(f"escapelint report {' '.join(extra)} exited {child.exit_code}")
            runs_of_kind.append(child)
    return Result(
        lines=count_lines(source),
        size=source.stat().st_size,
        runs=runs,
        replay_seconds=min(replays),
        escapelint_seconds=min(c.seconds for c in children),
        max_rss_kib=max(c.max_rss_kib for c in children),
        one_process_seconds=min(c.seconds for c in one_process),
        one_process_rss_kib=max(c.max_rss_kib for c in one_process),
    )


# --- the result cache: cold and warm report, audit std cold and warm -----------------------------

MAX_COLD_RATIO = 2.0
MAX_WARM_RATIO = 0.5


@dataclass(frozen=True)
class CacheResult:
    runs: int
    replay_seconds: float  # median
    cold: list[ChildRun]  # report --format json into an empty cache
    uncached: list[ChildRun]  # the same with --no-cache: what the cache adds to a first read
    warm: list[ChildRun]  # the same again: every package from the cache
    build_seconds: float  # median of the plain `go build -gcflags=-m=2 std`, from GOROOT/src
    audit_cold: list[ChildRun]
    audit_warm: list[ChildRun]
    build_rss_mib: float  # the plain go build's own peak (it holds the output it replays)

    @staticmethod
    def median(runs: list[ChildRun]) -> float:
        import statistics

        return statistics.median(r.seconds for r in runs)

    @staticmethod
    def rss_mib(runs: list[ChildRun]) -> float:
        return max(r.max_rss_kib for r in runs) / 1024

    def targets_met(self) -> dict[str, bool]:
        return {
            "cold": self.median(self.cold) / self.replay_seconds <= MAX_COLD_RATIO,
            "warm": self.median(self.warm) / self.replay_seconds <= MAX_WARM_RATIO,
            "rss": max(self.rss_mib(r) for r in (self.cold, self.warm, self.audit_cold, self.audit_warm)) <= MAX_RSS_MIB,
        }


def cache_benchmark(toolchain: Toolchain, runs: int, out_dir: Path, source: Path) -> CacheResult:
    """Interleaved, `runs` times: the warm replay; `report --format json` cold (an empty cache) and
    warm (the same cache again); the plain `go build -gcflags=-m=2 std` in GOROOT/src; `audit std
    --format json` there, cold and warm. Each escapelint run is a child process, its peak RSS summed
    over its workers."""
    import shutil
    import statistics

    cache = out_dir / "cache"
    env = dict(toolchain.env(), ESCAPELINT_CACHE=str(cache))
    env["PATH"] = f"{toolchain.goroot / 'bin'}{os.pathsep}{env['PATH']}"
    src = toolchain.goroot / "src"
    report = out_dir / "cache-report.json"
    audit = [sys.executable, "-m", "escapelint", "audit", "std", "-C", str(src), "--format",
             f"json:{out_dir / 'audit.json'}", "-q", "--force"]  # fmt: skip
    replays, builds, build_rss = [], [], []
    cold, warm, uncached, audit_cold, audit_warm = [], [], [], [], []

    def checked(run: ChildRun, what: str) -> ChildRun:
        if run.exit_code != 0:
            raise RuntimeError(f"{what} exited {run.exit_code}")
        return run

    print("warming the build cache: go build -gcflags=-m=2 std, and -gcflags=std=-m=2 in GOROOT/src ...", flush=True)
    build_std(toolchain, source)
    for flags in ("-gcflags=-m=2", "-gcflags=std=-m=2"):
        subprocess.run([str(toolchain.go), "build", flags, "std"], cwd=src, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)  # fmt: skip
    for _ in range(runs):
        replay = build_std(toolchain, source)
        if replay.exit_code != 0:
            raise RuntimeError(f"replay of go build -gcflags=-m=2 std exited {replay.exit_code}")
        replays.append(replay.seconds)
        shutil.rmtree(cache, ignore_errors=True)
        cold.append(checked(run_escapelint(source, report, env=env), "escapelint report (cold)"))
        warm.append(checked(run_escapelint(source, report, env=env), "escapelint report (warm)"))
        uncached.append(checked(run_escapelint(source, report), "escapelint report --no-cache"))
        plain = _quiet_measured([str(toolchain.go), "build", "-gcflags=std=-m=2", "std"], env, src)
        builds.append(plain.seconds)
        build_rss.append(plain.max_rss_kib)
        if plain.exit_code != 0:
            raise RuntimeError(f"go build -gcflags=std=-m=2 std in {src} exited {plain.exit_code}")
        shutil.rmtree(cache, ignore_errors=True)
        audit_cold.append(checked(run_measured(audit, env, exclude=("go",)), "escapelint audit std (cold)"))
        audit_warm.append(checked(run_measured(audit, env, exclude=("go",)), "escapelint audit std (warm)"))
    shutil.rmtree(cache, ignore_errors=True)
    return CacheResult(runs, statistics.median(replays), cold, uncached, warm, statistics.median(builds), audit_cold, audit_warm,
                       max(build_rss) / 1024)  # fmt: skip


def _quiet_measured(args: list[str], env: dict[str, str], cwd: Path) -> ChildRun:
    """run_measured with the output discarded (a plain go build prints 330 MB)."""
    with open(os.devnull, "wb") as null:  # opened for writing only: never replaced
        start = time.perf_counter()
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=null, stderr=null)
        sampler = TreeMemorySampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        sampled = sampler.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ChildRun(seconds, proc.returncode, max(sampled, usage.ru_maxrss))


def print_cache_table(result: CacheResult) -> None:
    met = {name: "PASS" if ok else "MISS" for name, ok in result.targets_met().items()}
    replay, build = result.replay_seconds, result.build_seconds
    median, rss = result.median, result.rss_mib
    rows = [
        (f"replay, median of {result.runs}", f"{replay:.2f} s", "", "", ""),
        ("report, cold cache", f"{median(result.cold):.2f} s", f"{median(result.cold) / replay:.2f}",
         f"<= {MAX_COLD_RATIO:.1f}", met["cold"]),
        ("report --no-cache", f"{median(result.uncached):.2f} s", f"{median(result.uncached) / replay:.2f}", "", ""),
        ("report, warm cache", f"{median(result.warm):.2f} s", f"{median(result.warm) / replay:.2f}",
         f"<= {MAX_WARM_RATIO:.1f}", met["warm"]),
        ("  peak RSS cold / warm", f"{rss(result.cold):.1f} / {rss(result.warm):.1f} MiB", "", "", ""),
        (f"go build std in GOROOT/src, median of {result.runs}", f"{build:.2f} s", "", "", ""),
        ("  its own peak RSS", f"{result.build_rss_mib:.1f} MiB", "", "", ""),
        ("audit std, cold cache", f"{median(result.audit_cold):.2f} s", f"{median(result.audit_cold) / build:.2f}", "", ""),
        ("audit std, warm cache", f"{median(result.audit_warm):.2f} s", f"{median(result.audit_warm) / build:.2f}", "", ""),
        ("  peak RSS cold / warm, without go build", f"{rss(result.audit_cold):.1f} / {rss(result.audit_warm):.1f} MiB",
         "", f"<= {MAX_RSS_MIB:g} MiB", met["rss"]),
    ]  # fmt: skip
    header = ("result cache (median)", "time", "ratio", "target", "")
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(4)]
    for row in (header, *rows):
        print(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]:<{widths[3]}}  {row[4]}".rstrip())


# --- start-up: the fixed costs on the bundled example module ------------------------------------

STARTUP_TARGETS_MS = {"--version": 100.0, "check adds": 150.0, "audit adds": 400.0}
EXAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "modules" / "example"


def _run_ms(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {proc.returncode}")
    return elapsed


def startup(toolchain: Toolchain, runs: int, work: Path, compare_with: Path | None = None) -> dict[str, float]:
    """Median wall times in ms of the start-up commands and their plain builds, interleaved run by run.

    With `compare_with` (another source checkout of escapelint), its `check` and `audit` are timed in
    the same rounds, so that two versions are compared under the same load of the machine.
    """
    import shutil
    import statistics

    module = work / "example"
    shutil.copytree(EXAMPLE, module)
    env = toolchain.env()
    env["PATH"] = f"{toolchain.goroot / 'bin'}{os.pathsep}{env['PATH']}"
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(EXAMPLE.parent.parent.parent), env.get("PYTHONPATH")]))
    go = str(toolchain.go)
    escapelint = [sys.executable, "-m", "escapelint"]
    report = work / "report"
    commands = {
        "--version": [*escapelint, "--version"],
        "go build ./kv": [go, "build", "-gcflags=./kv=-m=2", "./kv"],
        "check kv/store.go": [*escapelint, "check", "kv/store.go", "-q"],
        "go build ./...": [go, "build", "-gcflags=./...=-m=2", "./..."],
        "audit (html)": [*escapelint, "audit", "-o", str(report), "--force", "-q"],
    }
    environments = {name: env for name in commands}
    if compare_with is not None:
        other = dict(env, PYTHONPATH=os.pathsep.join(filter(None, [str(compare_with), os.environ.get("PYTHONPATH")])))
        other["PYTHONPYCACHEPREFIX"] = str(work / "pycache-other")
        for name in ("check kv/store.go", "audit (html)"):
            commands[f"{name} [other]"] = commands[name]
            environments[f"{name} [other]"] = other
    subprocess.run([*escapelint, "baseline", "-q"], cwd=module, env=env, check=True)  # warms the build cache too
    for name, command in commands.items():  # warm-up: build cache, bytecode cache, page cache
        _run_ms(command, module, environments[name])
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            times[name].append(_run_ms(command, module, environments[name]))
    medians = {name: statistics.median(values) for name, values in times.items() if not name.endswith("[other]")}
    medians["check adds"] = medians["check kv/store.go"] - medians["go build ./kv"]
    medians["audit adds"] = medians["audit (html)"] - medians["go build ./..."]
    if compare_with is not None:
        check, audit = (statistics.median(times[f"{n} [other]"]) for n in ("check kv/store.go", "audit (html)"))
        medians["check adds [other]"] = check - medians["go build ./kv"]
        medians["audit adds [other]"] = audit - medians["go build ./..."]
    return medians


def print_startup(medians: dict[str, float], runs: int) -> bool:
    """The table; whether every target was met."""
    ok = True
    print(f"{'median of ' + str(runs):<22}  {'ms':>7}  target")
    for name, value in medians.items():
        target = STARTUP_TARGETS_MS.get(name)
        verdict = ""
        if target is not None:
            met = value <= target
            ok = ok and met
            verdict = f"<= {target:g} ms  {'PASS' if met else 'MISS'}"
        print(f"{name:<22}  {value:7.0f}  {verdict}".rstrip())
    if "check adds [other]" in medians:
        for what in ("check", "audit"):
            ours, theirs = medians[f"{what} adds"], medians[f"{what} adds [other]"]
            ratio = f"{ours / theirs:.2f}" if theirs > 0 else "n/a"
            print(f"{what} adds, this checkout / --compare-with: {ratio}")
    return ok


def profile_benchmark(toolchain: Toolchain, depth: int, copies: int, out_dir: Path) -> None:
    """Record the stacks profile, build std, and print the reading and attribution figures."""
    from escapelint.analyze.findings import analyze
    from escapelint.analyze.source import SourceLocator
    from escapelint.read.assembler import BuildReader
    from escapelint.read.heap_profile import read_heap_profile
    from escapelint.workflows.profile import attribute_build, read_profile

    print(f"load     {' '.join(f'{v:.2f}' for v in os.getloadavg())} (1, 5, 15 min)")
    module = ROOT / "fixtures" / "modules" / "stacks"
    env = toolchain.env()
    env["STACKS_DEPTH"] = str(depth)
    profile = out_dir / "stacks.pb.gz"
    started = time.perf_counter()
    subprocess.run(
        [str(toolchain.go), "test", "-run", "^$", "-bench", ".", "-benchtime", "1x", "-memprofilerate", "1",
         "-memprofile", str(profile), "-o", str(out_dir / "stacks.test"), "."],
        cwd=module, env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    print(f"profile  {profile.stat().st_size / MIB:.1f} MiB gzip'd protobuf, depth {depth}, recorded in {time.perf_counter() - started:.1f} s")
    std = out_dir / output_name(toolchain.version)
    if not std.is_file():
        build = build_std(toolchain, std)
        print(f"std      go build -gcflags=-m=2 std: {build.seconds:.1f} s, exit {build.exit_code}")
    module_output = subprocess.run(
        [str(toolchain.go), "build", "-p", "1", "-gcflags=-m=2", "./..."],
        cwd=module, env=toolchain.env(), check=True, capture_output=True,
    ).stderr.decode()  # fmt: skip
    packages = []
    for lines, root in ((std.open(encoding="utf-8", errors="replace"), None), (module_output.splitlines(True), module)):
        reader = BuildReader()
        sources = SourceLocator(root)
        packages += [analyze(p, sources) for p in reader.packages(lines)]
    sites = sum(1 for p in packages for f in p.findings if f.category is not None)
    print(f"build    {len(packages)} packages, {sites:,} heap sites (std {toolchain.version} and the stacks module)")

    # The baseline, measured once: `go tool pprof -raw` streamed into the text reader, as escapelint
    # read every profile before it read the protobuf (the text is kept, to time the reader alone).
    raw = out_dir / "stacks.raw"
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    with raw.open("w", encoding="utf-8") as copy:
        pprof = subprocess.Popen(
            [str(toolchain.go), "tool", "pprof", "-raw", "-symbolize=none", str(profile)], env=toolchain.env(),
            stdout=subprocess.PIPE, encoding="utf-8",
        )  # fmt: skip
        through_pprof = read_heap_profile(_tee(pprof.stdout, copy), raw.name)
        # ru_maxrss: the larger of pprof's peak and this process's RSS at the fork; pprof's, by far.
        _, status, usage = os.wait4(pprof.pid, 0)
        pprof.returncode = os.waitstatus_to_exitcode(status)
    pprof_seconds = time.perf_counter() - started
    pprof_cpu = usage.ru_utime + usage.ru_stime + _cpu_seconds() - cpu_started  # pprof's and the reader's
    if pprof.returncode != 0:
        raise RuntimeError(f"go tool pprof -raw {profile}: exit {pprof.returncode}")
    started = time.perf_counter()
    with raw.open(encoding="utf-8") as lines:
        read_heap_profile(lines, raw.name)
    reader_alone = time.perf_counter() - started
    print(f"samples  {through_pprof.samples:,} in {len(through_pprof.groups):,} groups of first location and size; "
          f"{len(through_pprof.locations):,} locations; text {raw.stat().st_size / MIB:.0f} MiB")  # fmt: skip
    print(f"pprof    go tool pprof -raw streamed into the text reader: {pprof_seconds:.1f} s ({pprof_cpu:.1f} s of CPU, "
          f"pprof's peak RSS {usage.ru_maxrss / 1024:,.0f} MiB); the text reader alone on the text: {reader_alone:.1f} s")  # fmt: skip

    # The protobuf reader, each in a process of its own for its peak RSS: the profile; `copies`
    # copies of it (several --profile files); one profile holding all their samples.
    read = read_profile(profile, None)
    same = read.groups == through_pprof.groups and read.locations == through_pprof.locations
    seconds, cpu, rss, _ = _read_in_own_process([profile])
    print(f"protobuf 1 x {profile.stat().st_size / MIB:.1f} MiB: {seconds:.2f} s ({cpu:.2f} s of CPU), peak RSS {rss:,.0f} MiB; "
          f"through pprof / this: {pprof_seconds / seconds:.0f} (wall), {pprof_cpu / cpu:.0f} (CPU); the same groups and locations: {same}")  # fmt: skip
    seconds, cpu, rss, _ = _read_in_own_process([profile] * copies)
    print(f"protobuf {copies} files x {profile.stat().st_size / MIB:.1f} MiB ({copies * read.samples:,} samples): "
          f"{seconds:.2f} s ({cpu:.2f} s of CPU), peak RSS {rss:,.0f} MiB")  # fmt: skip
    big = out_dir / f"stacks-x{copies}.pb.gz"
    _write_concatenated_samples(profile, copies, big)
    seconds, cpu, rss, samples = _read_in_own_process([big])
    print(f"protobuf 1 file of {big.stat().st_size / MIB:.1f} MiB ({samples:,} samples, the {copies} copies' in one profile): "
          f"{seconds:.2f} s ({cpu:.2f} s of CPU), peak RSS {rss:,.0f} MiB")  # fmt: skip

    started = time.perf_counter()
    costs = attribute_build(packages, [read] * copies, module)
    attribution = time.perf_counter() - started
    print(f"attribute {copies} x {profile.stat().st_size / MIB:.1f} MiB ({copies * read.samples:,} samples) to {sites:,} sites: {attribution:.2f} s; "
          f"{costs.facts.attributed.bytes / max(costs.facts.total.bytes, 1):.1%} of the bytes at sites")  # fmt: skip
    print(f"load     {' '.join(f'{v:.2f}' for v in os.getloadavg())} (1, 5, 15 min)")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _tee(lines, copy):
    for line in lines:
        copy.write(line)
        yield line


def _read_in_own_process(paths: list[Path]) -> tuple[float, float, float, int]:
    """`workflows.profile.read_profiles(paths)` in a child process: its own wall and CPU seconds (no
    start-up; on a loaded machine the CPU time is the steadier figure), its peak RSS in MiB, and the
    samples read. The peak is the child's VmHWM: ru_maxrss would count the parent's resident memory
    at the fork (Linux keeps the larger of the two across exec), gigabytes here."""
    code = (
        "import json, resource, sys, time\n"
        "from pathlib import Path\n"
        "from escapelint.workflows.profile import read_profiles\n"
        "def cpu():\n"
        "    usage = resource.getrusage(resource.RUSAGE_SELF)\n"
        "    return usage.ru_utime + usage.ru_stime\n"
        "started, cpu_started = time.perf_counter(), cpu()\n"
        "read = read_profiles([Path(p) for p in sys.argv[1:]], None)\n"
        "seconds, cpu_seconds = time.perf_counter() - started, cpu() - cpu_started\n"
        "peak = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
        "print(json.dumps([seconds, cpu_seconds, peak, sum(p.samples for p in read)]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", code, *map(str, paths)], stdout=subprocess.PIPE, env=env)
    output, _ = child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"reading {paths[0]}: exit {child.returncode}")
    seconds, cpu, peak_kib, samples = json.loads(output)
    return seconds, cpu, peak_kib / 1024, samples


def _write_concatenated_samples(profile: Path, copies: int, out: Path) -> None:
    """One profile with `copies` times the samples of `profile`, gzip'd as Go writes it (BestSpeed)."""
    import gzip

    from escapelint.read.heap_profile_proto import message_classes

    message = message_classes()["ProfileSampleBytes"]()
    message.ParseFromString(gzip.decompress(profile.read_bytes()))
    samples = list(message.sample)
    for _ in range(copies - 1):
        message.sample.extend(samples)
    out.write_bytes(gzip.compress(message.SerializeToString(), compresslevel=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--go", metavar="VERSION", help="toolchain to build with (std: required; --startup: 1.27.3)")
    parser.add_argument("--runs", type=int, help="timed runs: the best of 3 (std), the median of 10 (--startup)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the build output and the report here")
    parser.add_argument("--assert-targets", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--startup", action="store_true", help="measure the fixed costs on the bundled example")
    parser.add_argument("--profile", action="store_true", help="measure reading and attributing a large heap profile")
    parser.add_argument("--depth", type=int, default=9, help="--profile: STACKS_DEPTH of the benchmark (4^depth x 8 stacks)")
    parser.add_argument("--copies", type=int, default=1, help="--profile: attribute this many copies of the profile")
    parser.add_argument("--cache-only", action="store_true", help="std: only the result cache's figures")
    parser.add_argument(
        "--compare-with", type=Path, metavar="CHECKOUT",
        help="--startup: also time check and audit of another escapelint source checkout, in the same rounds",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.startup:
        args.go = args.go or "1.27.3"
        args.runs = args.runs or 10
    elif args.go is None:
        parser.error("--go is required (or --startup)")
    args.runs = args.runs or 3
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    toolchain = find(args.go)
    if toolchain is None:
        print(f"go{args.go}: not installed (python scripts/toolchains.py install {args.go})", file=sys.stderr)
        return 2

    print_machine(toolchain)
    if args.profile:
        with tempfile.TemporaryDirectory(prefix="escapelint-benchmark-") as tmp:
            out_dir = args.keep or Path(tmp)
            out_dir.mkdir(parents=True, exist_ok=True)
            profile_benchmark(toolchain, args.depth, args.copies, out_dir)
        return 0
    if args.startup:
        print(f"load     {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1, 5, 15 min)")
        with tempfile.TemporaryDirectory(prefix="escapelint-startup-") as tmp:
            try:
                medians = startup(toolchain, args.runs, Path(tmp), args.compare_with)
            except (RuntimeError, subprocess.CalledProcessError) as exc:
                print(f"benchmark: error: {exc}", file=sys.stderr)
                return 2
        met = print_startup(medians, args.runs)
        return 1 if not met and args.assert_targets else 0
    with tempfile.TemporaryDirectory(prefix="escapelint-benchmark-") as tmp:
        out_dir = args.keep or Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        try:
            result = None if args.cache_only else benchmark(toolchain, args.runs, out_dir)
            cached = cache_benchmark(toolchain, args.runs, out_dir, out_dir / output_name(toolchain.version))
        except RuntimeError as exc:
            print(f"benchmark: error: {exc}", file=sys.stderr)
            return 2
    missed = []
    if result is not None:
        print_table(result)
        missed += [name for name, ok in result.targets_met().items() if not ok]
    print_cache_table(cached)
    missed += [name for name, ok in cached.targets_met().items() if not ok]
    return 1 if missed and args.assert_targets else 0


if __name__ == "__main__":
    sys.exit(main())
