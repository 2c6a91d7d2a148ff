"""Command line: a thin typer layer over the workflows (escapelint.workflows) and the rule registry.

Exit codes: 0 success; 1 new heap escapes that fail a gate (`check`, `diff`); 2 usage error,
unreadable input or configuration, no `go`, or an output escapelint will not write (an OutputError: a
report directory or baseline file it did not write, without --force; two outputs naming one file; an
output that is the input; an output that fails while written, e.g. a full disk); 3 the Go build itself
failed (its errors are printed, never reported as "no escapes"); 70 an internal error, a bug in
escapelint (one line; the traceback with ESCAPELINT_DEBUG=1); 130 interrupted (Ctrl-C); 141 the reader of
standard output stopped early (`escapelint report x | head -1`), quietly, as a shell reports
`git log | head -1`. Every failure is one line on stderr, never a traceback (`main`). Every output is
checked before the input is read or a build runs.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from escapelint import __version__

# Start-up is kept small (issue 11): the modules a command needs are imported inside it, so that
# `escapelint --version` loads typer and nothing else, and `check` does not load the report writers,
# Jinja2, Pygments or markdown-it. InputError and OutputError are imported where they are caught.

EXIT_OK = 0
EXIT_GATE = 1
EXIT_USAGE = 2
EXIT_BUILD_FAILED = 3
EXIT_INTERNAL = 70  # EX_SOFTWARE (sysexits.h): a bug in escapelint
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for `git log | head -1`
#: Set to 1 to see the traceback of an internal error.
DEBUG_VARIABLE = "ESCAPELINT_DEBUG"

app = typer.Typer(
    name="escapelint",
    help="Turn the Go compiler's escape-analysis diagnostics (go build -gcflags=-m=2) into verdicts.",
    no_args_is_help=True,
    # typer's own shell completion: --install-completion [SHELL] and --show-completion [SHELL].
    add_completion=True,
    pretty_exceptions_enable=False,
    # Docstrings are wrapped paragraphs: Markdown joins their lines (the default keeps every break).
    rich_markup_mode="markdown",
    # -h as well as --help, on the app and (inherited by their contexts) on every command.
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Color(str, Enum):
    auto = "auto"
    always = "always"
    never = "never"


def apply_color(choice: Color, environ=os.environ) -> None:
    """Make everything escapelint colours follow `--color`: typer's rich help and errors, and rich's
    progress bar in escapelint.terminal (both read these variables when they first draw).

    `auto` leaves the environment alone: colour on a terminal, off under NO_COLOR, forced by
    FORCE_COLOR. `always` and `never` win over both variables.
    """
    if choice is Color.always:
        environ.pop("NO_COLOR", None)
        environ.pop("_TYPER_FORCE_DISABLE_TERMINAL", None)
        environ["FORCE_COLOR"] = "1"
    elif choice is Color.never:
        for name in ("FORCE_COLOR", "PY_COLORS", "CLICOLOR_FORCE"):
            environ.pop(name, None)
        environ["NO_COLOR"] = "1"
        environ["_TYPER_FORCE_DISABLE_TERMINAL"] = "1"


def _color(value: Optional[Color]) -> Optional[Color]:
    if value is not None:
        apply_color(value)
    return value


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def escapelint(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", is_eager=True, callback=_version, help="Print escapelint's version and exit."),
    ] = False,
    color: Annotated[
        Optional[Color],
        typer.Option(
            "--color",
            metavar="[auto|always|never]",
            is_eager=True,  # before an eager --help, so that the help follows it too
            callback=_color,
            case_sensitive=False,
            help="Colour the help, errors and progress: auto (a terminal, unless NO_COLOR; FORCE_COLOR forces it), always or never.",
            show_default="auto",
        ),
    ] = None,
) -> None:
    """Turn the Go compiler's escape-analysis diagnostics (go build -gcflags=-m=2) into verdicts."""


class Verbose:
    """What -v prints on stderr: the commands run, the time since start, the facts escapelint read."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        if self.enabled:
            print(f"escapelint: [{time.perf_counter() - self.start:6.3f} s] {message}", file=sys.stderr, flush=True)


def _did_you_mean(word: str, known) -> Optional[str]:
    """The known word closest to a mistyped one, if any is close (as git and cargo suggest)."""
    from difflib import get_close_matches

    close = get_close_matches(word, list(known), n=1)
    return close[0] if close else None


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.echo(f"escapelint: error: {message}", err=True)
    return typer.Exit(code)


GoOption = Annotated[
    Optional[str], typer.Option("--go", metavar="GO", show_default="go on PATH", help="The go command to run.")
]
DirOption = Annotated[
    Optional[Path],
    typer.Option("-C", "--dir", metavar="DIR", show_default="the current directory", help="Run in this directory (inside the Go module)."),
]
OutputOption = Annotated[
    Optional[Path],
    typer.Option(
        "--output",
        "-o",
        metavar="PATH",
        show_default="stdout",
        help="Where a bare --format writes (a directory for several).",
    ),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary on stderr.")]
ConfigOption = Annotated[
    Optional[Path],
    typer.Option(
        "--config",
        metavar="FILE",
        show_default=".escapelint.toml, else pyproject.toml's [tool.escapelint], beside go.mod",
        help="Read the configuration from this file (a .escapelint.toml, or a pyproject.toml with [tool.escapelint]).",
    ),
]
StrictOption = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="Exit 2 on a warning: input that is not -m=2 output, no escape diagnostic, Go files not found, a missing baseline.",
    ),
]
VerboseOption = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="Say on stderr what runs (the go command line), how long it takes and what was read."),
]
NoCacheOption = Annotated[
    bool,
    typer.Option(
        "--no-cache",
        help="Neither read nor fill the per-package result cache ($ESCAPELINT_CACHE, else ~/.cache/escapelint/results).",
    ),
]


def _open_cache(no_cache: bool, note=None):
    """The result cache (escapelint.workflows.cache), or None under --no-cache or ESCAPELINT_CACHE=off."""
    if no_cache:
        return None
    from escapelint.workflows.cache import ResultCache

    cache = ResultCache.open()
    if cache is not None and note is not None:
        note(f"result cache: {cache.directory}" + ("" if cache.on else " (off: cannot be written)"))
    return cache


def _cache_warning(cache, problem: Optional[str] = None) -> None:
    """Say once, on stderr, that the result cache went off (the reports are the same without it)."""
    problem = problem or (cache.problem if cache is not None else None)
    if problem:
        from escapelint.terminal import escape_controls

        typer.echo(f"escapelint: warning: {escape_controls(problem)}; the reports are not affected", err=True)


ProfileOption = Annotated[
    Optional[list[Path]],
    typer.Option(
        "--profile",
        metavar="FILE",
        help="A Go heap profile of this build (go test -memprofile, /debug/pprof/heap or /allocs); repeatable, they add up. Sites are ranked by the bytes they allocated.",
    ),
]


def _read_profiles(paths, go_command=None, toolchain=None, note=None):
    """The heap profiles named by --profile, read before any build, or a usage failure."""
    if not paths:
        return None  # before the imports: the profile readers load only when a profile is given
    from escapelint.workflows.gobuild import GoNotFoundError, GoToolchain
    from escapelint.workflows.profile import ProfileError, read_profiles

    if toolchain is None:
        try:
            toolchain = GoToolchain.find(go_command)
        except GoNotFoundError:
            toolchain = None  # only a profile that drops frames needs go (workflows.profile says so if it is one)
    from escapelint.analyze.cost import ProfileMismatchError, check_heap_profile

    try:
        profiles = read_profiles(list(paths), toolchain)
        for read in profiles:
            check_heap_profile(read)  # a CPU profile is refused before the build, not after it
    except (ProfileError, ProfileMismatchError) as exc:
        raise _fail(str(exc)) from None
    if note is not None:
        for profile in profiles:
            note(f"profile {profile.name}: {profile.samples} samples, {len(profile.locations)} locations")
    return profiles


def _attribute_to_build(result, profiles, root: Path):
    """The profiles joined to a build's heap sites, or a usage failure (not a heap profile)."""
    from escapelint.analyze.cost import ProfileMismatchError
    from escapelint.workflows.profile import attribute_build

    try:
        return attribute_build(result.packages, profiles, root)
    except ProfileMismatchError as exc:
        raise _fail(str(exc)) from None


PackagesArgument = Annotated[
    Optional[list[str]], typer.Argument(metavar="[PACKAGE]...", help="Package patterns (default ./...).")
]


class CheckFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"


SourcePagesOption = Annotated[
    str,
    typer.Option(
        "--source-pages",
        metavar="WHICH",
        help="HTML: which Go files get an annotated source view: module (under the source root, and each package's own directory), all (also GOROOT code inlined into the module), none.",
    ),
]
EditorUrlOption = Annotated[
    Optional[str],
    typer.Option(
        "--editor-url",
        metavar="URL",
        show_default="no editor links",
        help="HTML: link each site to your editor, e.g. 'vscode://file/{path}:{line}:{col}' ({path} is absolute).",
    ),
]


def _report_options(source_pages: str, editor_url: str | None):
    """The HTML pages' options, or exit 2 naming the value escapelint cannot use."""
    from escapelint.report.options import ReportOptionError, ReportOptions

    try:
        return ReportOptions(source_pages=source_pages, editor_url=editor_url)
    except ReportOptionError as exc:
        raise _fail(str(exc)) from None


@app.command()
def report(
    inputs: Annotated[
        list[str],
        typer.Argument(
            metavar="INPUT...",
            help="File of `go build -gcflags=-m=2` output, or - for stdin; or escapelint JSON reports to merge (the shards of one build).",
        ),
    ],
    format: Annotated[
        Optional[list[str]],
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT[:PATH]",
            show_default="json",
            help="json, html, md, md-summary, sarif, github or rdjsonl; FORMAT:PATH; repeatable.",
        ),
    ] = None,
    output: OutputOption = None,
    source_root: Annotated[
        Optional[Path],
        typer.Option(
            "--source-root",
            metavar="DIR",
            show_default="the current directory",
            help="Directory the output's relative paths are relative to.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Write into a directory escapelint did not write (named files are always replaced).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary on stderr.")] = False,
    jobs: Annotated[
        Optional[int],
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            metavar="N",
            show_default="one per CPU, at most 4",
            help="Worker processes for an input file over 16 MiB. The report is the same for any number.",
        ),
    ] = None,
    profile: ProfileOption = None,
    go: Annotated[
        Optional[str],
        typer.Option("--go", metavar="GO", show_default="go on PATH", help="The go whose `go tool pprof` reads a --profile that names frames to drop (Go's own profiles need none)."),
    ] = None,
    source_pages: SourcePagesOption = "module",
    editor_url: EditorUrlOption = None,
    strict: StrictOption = False,
    verbose: VerboseOption = False,
    no_cache: NoCacheOption = False,
) -> None:
    """Parse compiler output, sort every heap escape into a category, and write reports.

    All formats are written in one pass over the input. JSON reports that escapelint wrote (the shards
    of one build: `report a.json b.json --format html`) are merged by package into the reports one
    run over all their output gives. Every input line is accounted for: the summary
    on stderr and the report's "stats" give the count of lines per role; lines escapelint does not
    understand are listed under "unrecognized", never dropped. A warning on stderr (and in the JSON
    document) says when the input is mostly not compiler output, holds no escape diagnostic, or names
    Go files that are not under the source root; --strict makes that exit 2. With --profile, the heap
    profile's bytes and objects are attributed to the sites and every report ranks them (the profile is
    read without Go; only one that names frames to drop needs `go tool pprof`).
    """
    from escapelint.read.heap_profile import ProfileMismatchError
    from escapelint.read.input import InputError
    from escapelint.report.formats import parse_format_targets
    from escapelint.report.output import OutputError
    from escapelint.terminal import report_summary
    from escapelint.workflows.report import report as run_report

    note = Verbose(verbose)
    options = _report_options(source_pages, editor_url)
    try:
        targets = parse_format_targets(format or ["json"], output)
        profiles = _read_profiles(profile, go, note=note)
        note(f"reading {', '.join(inputs)}; source root {(source_root or Path.cwd()).resolve()}")
        note("writing " + ", ".join(f"{name}: {path}" for name, path in targets))
        cache = _open_cache(no_cache, note)
        result = run_report(inputs, targets, overwrite=force, source_root=source_root, jobs=jobs, profiles=profiles,
                            cache=cache, options=options)  # fmt: skip
    except (InputError, OutputError, ProfileMismatchError) as exc:
        raise _fail(str(exc)) from None
    _cache_warning(cache, result.cache_problem)
    note(f"read {result.stats.lines} lines, {result.stats.packages} packages")
    if not quiet:
        report_summary(result.stats)
        if result.costs is not None:
            from escapelint.terminal import cost_summary

            cost_summary(result.costs)
    _warn(result.warnings, strict)


def _warn(warnings, strict: bool) -> None:
    """Print the warnings (also under --quiet: they say the results are not to be trusted); exit 2 under --strict."""
    from escapelint.terminal import print_warnings

    print_warnings(warnings)
    if warnings and strict:
        typer.echo(f"escapelint: error: {len(warnings)} warning{'s' * (len(warnings) != 1)} under --strict", err=True)
        raise typer.Exit(EXIT_USAGE)


def _module(go: Optional[str], directory: Optional[Path], config_file: Optional[Path] = None, note=None):
    """(toolchain, module root, configuration) or a usage failure."""
    from escapelint.workflows.config import ConfigError, load_config, load_config_file
    from escapelint.workflows.gobuild import (
        GoCommandError,
        GoNotFoundError,
        GoToolchain,
    )

    if directory is not None and not directory.is_dir():  # before Go is looked for: it is not to blame
        problem = "not a directory" if directory.exists() else "no such directory"
        raise _fail(f"-C {directory}: {problem}")
    note = note or Verbose(False)
    cwd = (directory or Path.cwd()).resolve()
    try:
        toolchain = GoToolchain.find(go)
        note(f"go: {toolchain.executable}; running go env -json GOMOD GOVERSION in {cwd}")
        root = toolchain.module_root(cwd)
        note(f"module root: {root}")
        config = load_config_file(config_file) if config_file is not None else load_config(root)
        note(f"configuration: {config.origin or 'defaults (no .escapelint.toml or [tool.escapelint])'}")
        return toolchain, root, config
    except (GoNotFoundError, GoCommandError, ConfigError) as exc:
        raise _fail(str(exc)) from None


def _build(
    toolchain, patterns: list[str], root: Path, *, tests: bool = False, quiet: bool = False, note=None, cache=None
):
    from escapelint.terminal import print_build_failure, progress_bar
    from escapelint.workflows.audit import BuildFailedError, build_and_analyze
    from escapelint.workflows.gobuild import BuildCommand, GoNotFoundError

    note = note or Verbose(False)
    if note.enabled:  # the command as it will run: its flags depend on the Go version
        command = BuildCommand.for_packages(toolchain, patterns, root, tests=tests, go_version=toolchain.version(root))
        note(f"running in {root}: {command.display()}")
    started = time.perf_counter()
    try:
        with progress_bar(not quiet) as progress:
            result = build_and_analyze(toolchain, patterns, root, tests=tests, progress=progress, cache=cache)
    except BuildFailedError as exc:
        print_build_failure(exc)
        raise typer.Exit(EXIT_BUILD_FAILED) from None
    except GoNotFoundError as exc:
        raise _fail(str(exc)) from None
    _finish_cache(cache)
    note(
        f"build and analysis: {time.perf_counter() - started:.3f} s; {result.go_version or 'go version unknown'}; "
        f"{result.stats.lines} lines read, {sum(1 for p in result.packages if p.output.path is not None)} packages, "
        f"{sum(1 for _ in result.heap_findings())} heap escapes"
    )
    return result


@app.command()
def audit(
    packages: PackagesArgument = None,
    tests: Annotated[bool, typer.Option("--tests", help="Also compile and analyse the test packages.")] = False,
    format: Annotated[
        Optional[list[str]],
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT[:PATH]",
            show_default="html",
            help="html, json, md, md-summary, sarif, github or rdjsonl; FORMAT:PATH; repeatable.",
        ),
    ] = None,
    output: Annotated[
        Optional[Path],
        typer.Option("--output", "-o", metavar="PATH", show_default="escapelint-report", help="Report directory."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Write into a directory escapelint did not write (named files are always replaced).")
    ] = False,
    profile: ProfileOption = None,
    bench: Annotated[
        Optional[str],
        typer.Option(
            "--bench",
            metavar="PATTERN",
            help="Run the packages' benchmarks matching PATTERN (go test -bench) with a memory profile, and rank the sites by the bytes they allocated.",
        ),
    ] = None,
    benchtime: Annotated[
        Optional[str],
        typer.Option("--benchtime", metavar="T", show_default="go test's (1s)", help="go test -benchtime for --bench: 2s, 500x, ..."),
    ] = None,
    memprofilerate: Annotated[
        int,
        typer.Option(
            "--memprofilerate",
            min=1,
            metavar="N",
            help="go test -memprofilerate for --bench: 1 records every allocation (exact; slower benchmarks), Go's default 524288 one per 512 KiB.",
        ),
    ] = 1,
    go: GoOption = None,
    directory: DirOption = None,
    config_file: ConfigOption = None,
    quiet: QuietOption = False,
    source_pages: SourcePagesOption = "module",
    editor_url: EditorUrlOption = None,
    strict: StrictOption = False,
    verbose: VerboseOption = False,
    no_cache: NoCacheOption = False,
) -> None:
    """Analyse a module: build it with -gcflags=PATTERN=-m=2 and write browsable reports.

    Progress shows on stderr while Go builds (when it is a terminal); a short summary follows. With
    --profile FILE (a heap profile of the same code) or --bench PATTERN (escapelint runs the benchmarks
    with -memprofile), the sites are ranked by the bytes they allocated: in the summary and every report.
    A benchmark that fails exits 3 with its output. On Go 1.25+ the flags are '-m=2 -d=escapedebug=1',
    whose convert: lines say which escapes the compiler serves from static data (counted apart from the
    allocations).
    """
    from escapelint.report.formats import check_format_targets, parse_format_targets
    from escapelint.report.output import OutputError
    from escapelint.terminal import audit_summary

    note = Verbose(verbose)
    options = _report_options(source_pages, editor_url)
    try:
        targets = parse_format_targets(format or ["html"], output or Path("escapelint-report"))
        check_format_targets(targets, overwrite=force)  # before the build, which takes minutes
    except OutputError as exc:
        raise _fail(str(exc)) from None
    toolchain, root, _ = _module(go, directory, config_file, note)
    profiles = _read_profiles(profile, toolchain=toolchain, note=note) or []
    patterns = packages or ["./..."]
    cache = _open_cache(no_cache, note)
    if profile or bench is not None:
        # A site's cost depends on every site of its line and the profile's totals on the whole build
        # (escapelint.analyze.cost): the build is read whole before the reports are written.
        result = _build(toolchain, patterns, root, tests=tests, quiet=quiet, note=note, cache=cache)
        if bench is not None:
            profiles += _benchmark_profiles(toolchain, patterns, root, bench, benchtime, memprofilerate, quiet, note)
        costs = _attribute_to_build(result, profiles, root)
        warnings = _build_warnings(result, root)
        started = time.perf_counter()
        _write_audit_reports(result.packages, _audit_facts(root, result.go_version, result.command),
                             lambda: result.stats, targets, root=root, force=force, warnings_provider=lambda: warnings,
                             options=options, costs=costs)  # fmt: skip
        _finish_cache(cache)
        note(f"reports written in {time.perf_counter() - started:.3f} s: " + ", ".join(f"{n}: {p}" for n, p in targets))
    else:
        costs = None
        result, warnings = _audit_streamed(toolchain, patterns, root, tests, quiet, note, cache, targets, force,
                                             options)  # fmt: skip
    if not quiet:
        audit_summary(result, [f"{name}: {path}" for name, path in targets])
        if costs is not None:
            from escapelint.terminal import cost_summary

            cost_summary(costs)
        _note_uninstantiated_generics(toolchain, patterns, root, result, tests=tests)
    _warn(warnings, strict)


class _InBackground:
    """A call run in a thread from now on (it waits on subprocesses, which release the GIL); `result`
    waits for it and returns what it returned, or raises what it raised.

    concurrent.futures does this, but importing it (with logging) costs `check` 12 ms of its start-up.
    """

    def __init__(self, function, *args) -> None:
        import threading

        self._outcome: list = []
        self._thread = threading.Thread(target=self._run, args=(function, *args), daemon=True)
        self._thread.start()

    def _run(self, function, *args) -> None:
        try:
            self._outcome.append((True, function(*args)))
        except BaseException as exc:  # handed to the caller of result()
            self._outcome.append((False, exc))

    def result(self):
        self._thread.join()
        ok, value = self._outcome[0]
        if not ok:
            raise value
        return value


def _audit_facts(root: Path, go_version: str | None, command):
    """What the reports of an audit say of the build."""
    from escapelint.report.facts import BuildFacts

    return BuildFacts(input_name=str(root), go_version=go_version, command=command.display(), generated_at=_now())


def _write_audit_reports(packages, facts, stats, targets, *, root: Path, force: bool, warnings_provider, options,
                         costs=None) -> None:  # fmt: skip
    """The audit's reports, from its packages as they come (staged, published once all are written)."""
    from escapelint.analyze.source import SourceLocator
    from escapelint.report.output import OutputError
    from escapelint.workflows.report import write_build_reports

    try:
        write_build_reports(packages, facts, stats, targets, overwrite=force, sources=SourceLocator(root),
                            warnings_provider=warnings_provider, costs=costs, options=options)  # fmt: skip
    except OutputError as exc:
        raise _fail(str(exc)) from None


def _audit_streamed(toolchain, patterns, root: Path, tests: bool, quiet: bool, note, cache, targets, force: bool, options):
    """Build, analyse and write the reports as the packages arrive: (the build's summary, its warnings)."""
    from escapelint.terminal import print_build_failure, progress_bar
    from escapelint.workflows.audit import AnalysedBuild, BuildFailedError
    from escapelint.workflows.gobuild import GoNotFoundError

    started = time.perf_counter()
    # The reports are written as the packages arrive, staged (escapelint.report.output), and published
    # only once the build has succeeded: memory holds one package at a time, a failed build writes none.
    try:
        with progress_bar(not quiet) as progress:
            build = AnalysedBuild(toolchain, patterns, root, tests=tests, progress=progress, cache=cache)
            note(f"running in {root}: {build.command.display()}")
            # Computed once, when first asked for: after the build has ended.
            warnings_once = functools.cache(lambda: _build_warnings(build.summary(), root, build.named_files))
            _write_audit_reports(build.packages(), _audit_facts(root, build.go_version, build.command),
                                 lambda: build.stats, targets, root=root, force=force, warnings_provider=warnings_once,
                                 options=options)  # fmt: skip
    except BuildFailedError as exc:
        print_build_failure(exc)
        raise typer.Exit(EXIT_BUILD_FAILED) from None
    except GoNotFoundError as exc:
        raise _fail(str(exc)) from None
    _finish_cache(cache)
    result = build.summary()
    warnings = warnings_once()
    note(
        f"build, analysis and reports: {time.perf_counter() - started:.3f} s; {result.go_version or 'go version unknown'}; "
        f"{result.stats.lines} lines read, {sum(1 for p in result.packages if p.output.path is not None)} packages, "
        f"{sum(1 for _ in result.heap_findings())} heap escapes; " + ", ".join(f"{n}: {p}" for n, p in targets)
    )
    return result, warnings


def _note_uninstantiated_generics(toolchain, patterns: list[str], root: Path, result, *, tests: bool) -> None:
    """No heap escape at all, and the packages declare generic code: the compiler analyses a generic
    function only where it is instantiated, so say that instead of leaving a bare 0."""
    from escapelint.terminal import print_note, uninstantiated_generics_note
    from escapelint.workflows.audit import generic_declarations
    from escapelint.workflows.gobuild import GoCommandError

    if any(True for _ in result.heap_findings()):
        return
    try:
        declarations = generic_declarations(toolchain, patterns, root)
    except GoCommandError:
        return  # the build succeeded; the note is a courtesy
    if declarations:
        print_note(uninstantiated_generics_note(declarations, root, tests=tests))


def _benchmark_profiles(toolchain, patterns, root, bench, benchtime, rate, quiet, note):
    """Run the benchmarks (`audit --bench`) and read their memory profiles; exit 3 when one fails."""
    from escapelint.workflows.profile import (
        BenchmarkFailedError,
        ProfileError,
        read_benchmark_profiles,
        run_benchmarks,
        temporary_directory,
    )

    def progress(message: str) -> None:
        note(message)
        if not quiet:
            typer.echo(f"escapelint: {message}", err=True)

    why = "every allocation is recorded: exact figures" if rate == 1 else f"one allocation per {rate} bytes on average"
    progress(f"benchmarks matching {bench!r}, -memprofilerate={rate} ({why})")
    with temporary_directory() as directory:
        try:
            run = run_benchmarks(toolchain, patterns, root, Path(directory), bench=bench, benchtime=benchtime,
                                 memprofilerate=rate, progress=progress)  # fmt: skip
            if not run.profiles:
                raise _fail(f"--bench {bench}: no package of {' '.join(patterns)} has test files")
            return read_benchmark_profiles(run, toolchain, bench)
        except BenchmarkFailedError as exc:
            from escapelint.terminal import escape_controls

            typer.echo(f"escapelint: the benchmarks failed (exit {exc.returncode}): {escape_controls(str(exc).split(' failed')[0])}", err=True)
            for line in exc.output.splitlines():
                typer.echo(f"  {escape_controls(line)}", err=True)
            raise typer.Exit(EXIT_BUILD_FAILED) from None
        except ProfileError as exc:
            raise _fail(str(exc)) from None


def _finish_cache(cache) -> None:
    """Trim the result cache to its bound after a run that filled it, and say if it went off."""
    if cache is None:
        return
    if cache.on and cache.stored:
        cache.trim()
    _cache_warning(cache)


def _build_warnings(result, root: Path, named_files=None):
    """The warnings (escapelint.report.warnings) about a build escapelint ran in module `root`;
    `named_files`: the Go files its output names, when `result` does not hold every event."""
    from escapelint.analyze.source import SourceLocator
    from escapelint.report.warnings import SourceFileCheck, input_warnings

    sources = SourceFileCheck(SourceLocator(root))
    if named_files is not None:
        sources.add_names(named_files)
    for package in result.packages if named_files is None else ():
        sources.add(package)
    hint = "the build names Go files that are not in the module (generated and removed?)"
    return input_warnings(result.stats, f"the output of {result.command.display()}", sources, from_build=True,
                          source_hint=hint)  # fmt: skip


@app.command()
def baseline(
    packages: PackagesArgument = None,
    output: Annotated[
        Optional[Path],
        typer.Option(
            "--output", "-o", metavar="FILE", show_default="the configuration's baseline", help="Baseline file."
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a file that is not an escapelint baseline.")] = False,
    go: GoOption = None,
    directory: DirOption = None,
    config_file: ConfigOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    no_cache: NoCacheOption = False,
) -> None:
    """Record the module's current heap escapes, so that `check` fails only on new ones."""
    from escapelint.report.output import OutputError
    from escapelint.workflows.baseline import (
        baseline_document,
        check_baseline_target,
        write_baseline,
    )

    note = Verbose(verbose)
    toolchain, root, config = _module(go, directory, config_file, note)
    path = output if output is not None else root / config.baseline
    try:
        check_baseline_target(path, overwrite=force)  # before the build
    except OutputError as exc:
        raise _fail(str(exc)) from None
    result = _build(toolchain, packages or ["./..."], root, quiet=quiet, note=note, cache=_open_cache(no_cache, note))
    findings = list(result.heap_findings())
    try:
        write_baseline(path, baseline_document(findings, result.go_version, result.command.display()), overwrite=force)
    except OutputError as exc:
        raise _fail(str(exc)) from None
    if not quiet:
        typer.echo(f"escapelint: baseline of {len(findings)} heap escapes written to {path}", err=True)


@app.command()
def check(
    files: Annotated[
        Optional[list[str]],
        typer.Argument(metavar="[FILE]...", help="Changed Go files; their packages are analysed (default ./...)."),
    ] = None,
    baseline_path: Annotated[
        Optional[Path],
        typer.Option("--baseline", metavar="FILE", show_default="the configuration's baseline", help="Baseline file."),
    ] = None,
    new_from_rev: Annotated[
        Optional[str],
        typer.Option(
            "--new-from-rev",
            metavar="REV",
            help="Without a baseline: fail on escapes on lines changed since REV that REV does not have.",
        ),
    ] = None,
    whole_function: Annotated[
        bool,
        typer.Option(
            "--whole-function",
            help="Against a revision: every escape of a function the change touched is new (REV is not built).",
        ),
    ] = False,
    format: Annotated[
        CheckFormat,
        typer.Option(
            "--format",
            "-f",
            case_sensitive=False,
            help="text (for people), json, github (workflow annotations) or sarif, on stdout. The exit status is the same.",
        ),
    ] = CheckFormat.text,
    profile: Annotated[
        Optional[list[Path]],
        typer.Option(
            "--profile",
            metavar="FILE",
            help="A heap profile of this code; with `fail-on-bytes` configured, new sites that allocated less do not fail. Repeatable.",
        ),
    ] = None,
    go: GoOption = None,
    directory: DirOption = None,
    config_file: ConfigOption = None,
    quiet: QuietOption = False,
    strict: StrictOption = False,
    verbose: VerboseOption = False,
    no_cache: NoCacheOption = False,
) -> None:
    """The pre-commit gate: exit 1 on heap escapes that are new.

    New means: not in the baseline (matched by fingerprint, so moving code does not fail), or, without
    a baseline or with --new-from-rev, on a line added or modified since the revision and not in the
    revision's own build (built in a temporary git worktree, only when an escape is on a changed line):
    the revision is REV, else the merge base of PRE_COMMIT_FROM_REF and PRE_COMMIT_TO_REF when pre-commit
    sets them (`pre-commit run --from-ref A --to-ref B`), else HEAD. --whole-function counts every escape
    of a touched function instead. A configured baseline that does not exist is a warning on stderr
    (exit 2 under --strict). Suppress a site with `//escapelint:ignore CATEGORY reason` on its line or
    the line above.
    Files are named from the top of the git repository (a module in a subfolder, `-C DIR`, included), as
    pre-commit and GitHub name them.
    With `fail-on-bytes = N` configured and a heap profile (--profile), only new sites the profile saw
    allocate at least N bytes fail.
    An escape the compiler serves from static data (a constant, a bool, ...: no allocation) never
    fails it unless the configuration says `fail-on-static = true`.
    """
    import dataclasses
    import os

    from dataclasses import replace

    from escapelint.terminal import print_check
    from escapelint.workflows.audit import BuildFailedError
    from escapelint.workflows.baseline import BaselineError
    from escapelint.workflows.gate import (
        added_since,
        comparison_for,
        gate,
        on_changed_lines,
        packages_for_files,
        warn_if_nothing_changed,
    )
    from escapelint.workflows.git import GitError, changes_since
    from escapelint.workflows.repository import RepositoryPaths

    note = Verbose(verbose)
    toolchain, root, config = _module(go, directory, config_file, note)
    profiles = _read_profiles(profile, toolchain=toolchain, note=note)
    if files:
        patterns = packages_for_files(files, root)
        if not patterns:
            if not quiet:
                typer.echo("escapelint check: no Go files of this module given; nothing to check", err=True)
            return
    else:
        patterns = ["./..."]
    try:
        comparison = comparison_for(
            root, config, baseline_path=baseline_path, new_from_rev=new_from_rev, environ=os.environ
        )
    except BaselineError as exc:
        raise _fail(str(exc)) from None
    except GitError as exc:
        raise _fail(f"no baseline ({root / config.baseline}) and no git history to compare with: {exc}") from None
    # The four git commands that read the working tree's changes run while go builds: on a small change
    # they are a tenth of what check adds to the build.
    reading = None if comparison.baseline is not None else _InBackground(changes_since, root, comparison.revision)
    result = _build(toolchain, patterns, root, quiet=True, note=note, cache=_open_cache(no_cache, note))
    changed = lines = changes = None
    if reading is not None:
        try:
            changes = reading.result()
        except GitError as exc:
            raise _fail(f"no baseline ({root / config.baseline}) and no git history to compare with: {exc}") from None
        changed = changes.lines
        comparison = warn_if_nothing_changed(comparison, changed)
        if not whole_function:
            lines = changes.mapping
    added = []
    if lines is not None:
        started = time.perf_counter()
        try:
            added = added_since(toolchain, patterns, root, result, comparison.revision, lines)
        except BuildFailedError as exc:
            # A commit that fixes a broken build must not be blocked by its parent's errors: without
            # the base's sites, every heap escape on a changed line counts as new, and that is said.
            from escapelint.report.warnings import InputWarning

            added = on_changed_lines(result, lines)
            message = (f"{comparison.since}, the revision compared with, does not build ({exc}): every heap "
                       "escape on a changed line counts as new")  # fmt: skip
            comparison = replace(comparison, warnings=[*comparison.warnings, InputWarning("base-build-failed", message)])
        except GitError as exc:
            raise _fail(str(exc)) from None
        note(f"compared with the build of {comparison.since}: {len(added)} added, {time.perf_counter() - started:.3f} s")
    outcome = gate(result, root, config, baseline=comparison.baseline, changed=changed, since=comparison.since,
                   lines=lines, added=added)  # fmt: skip
    # Files are named relative to the repository's top, not to a module in a subfolder (-C DIR).
    shown = RepositoryPaths(root.resolve(), changes.top) if changes is not None else RepositoryPaths.of(root)
    outcome = dataclasses.replace(outcome, problems=[shown.problem(p) for p in outcome.problems])
    cost_warnings, below = [], []
    if config.fail_on_bytes is not None:
        from escapelint.workflows.cost_gate import (
            apply_fail_on_bytes,
            missing_profile_warning,
        )

        if profiles is None:
            cost_warnings.append(missing_profile_warning("fail-on-bytes", "check"))
        else:
            verdict = apply_fail_on_bytes(outcome, _attribute_to_build(result, profiles, root), config.fail_on_bytes)
            outcome, below = verdict.outcome, verdict.below
    note(f"compared with {outcome.compared_with}: {len(outcome.new)} new, {outcome.known} known")
    if format is not CheckFormat.text:
        from escapelint.report.check import render_check

        sys.stdout.write(
            render_check(
                format.value,
                outcome.new,
                suppressed=outcome.suppressed,
                known=outcome.known,
                problems=outcome.problems,
                compared_with=outcome.compared_with,
                go_version=result.go_version,
                file_shown=shown if shown.top is not None else None,  # outside git: as the compiler printed them
            )
        )
    else:
        print_check(outcome, file_shown=shown)
    if below and not quiet:
        from escapelint.report.wording import bytes_text
        from escapelint.terminal import describe

        typer.echo(f"escapelint check: {len(below)} new heap escape{'s' * (len(below) != 1)} allocated less than "
                   f"fail-on-bytes ({bytes_text(config.fail_on_bytes)}) in the profile, not failing:", err=True)  # fmt: skip
        for finding, spent in below:
            typer.echo(f"  {bytes_text(spent):>9}  {describe(finding, shown)}", err=True)
    warnings = [*comparison.warnings, *cost_warnings, *_build_warnings(result, root)]
    if outcome.new or outcome.problems:
        _warn(warnings, strict=False)
        raise typer.Exit(EXIT_GATE)
    _warn(warnings, strict)


@app.command()
def diff(
    base: Annotated[
        str, typer.Option("--base", metavar="REV", help="The git revision to compare with (e.g. origin/main).")
    ],
    packages: PackagesArgument = None,
    format: Annotated[
        Optional[list[str]],
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT[:PATH]",
            show_default="md",
            help="md (PR comment), json, github (annotations) or sarif; FORMAT:PATH; repeatable.",
        ),
    ] = None,
    output: OutputOption = None,
    max_new: Annotated[
        Optional[int],
        typer.Option(
            "--max-new",
            metavar="N",
            min=0,
            show_default="the configuration's max-new, else 0",
            help="Exit 1 when the change adds more than N heap escapes.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Accepted for scripts; output files are always replaced whole.")
    ] = False,
    profile: Annotated[
        Optional[list[Path]],
        typer.Option(
            "--profile",
            metavar="FILE",
            help="A heap profile of the working tree's code: the new sites' bytes, and the `max-new-bytes` gate. Repeatable.",
        ),
    ] = None,
    go: GoOption = None,
    directory: DirOption = None,
    config_file: ConfigOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    no_cache: NoCacheOption = False,
) -> None:
    """What a change adds and removes: builds REF (in a temporary git worktree) and the working tree.

    Both builds happen once, whatever the number of formats. Exit 1 when the new heap escapes that
    allocate (all of them with `fail-on-static = true`) exceed --max-new, else the configured `max-new`
    (default 0), or, with --profile and `max-new-bytes`, when the new sites allocated more than that many
    bytes in the profile.
    """
    from escapelint.report import diff as diff_report
    from escapelint.report.formats import (
        DIFF_FORMATS,
        check_format_targets,
        parse_format_targets,
    )
    from escapelint.report.output import OutputError, open_report_output
    from escapelint.terminal import print_build_failure
    from escapelint.workflows.audit import BuildFailedError
    from escapelint.workflows.diff import run_diff
    from escapelint.workflows.git import GitError
    from escapelint.workflows.gobuild import GoNotFoundError

    try:
        targets = parse_format_targets(format or ["md"], output, DIFF_FORMATS, kind="diff")
        check_format_targets(targets, overwrite=force, formats=DIFF_FORMATS)  # before both builds
    except OutputError as exc:
        raise _fail(str(exc)) from None
    note = Verbose(verbose)
    toolchain, root, config = _module(go, directory, config_file, note)
    profiles = _read_profiles(profile, toolchain=toolchain, note=note)
    note(f"building {base} in a temporary git worktree, then the working tree")
    started = time.perf_counter()
    cache = _open_cache(no_cache, note)
    try:
        result = run_diff(toolchain, packages or ["./..."], root, base, profiles=profiles, cache=cache)
    except GitError as exc:
        raise _fail(str(exc)) from None
    except BuildFailedError as exc:
        print_build_failure(exc)
        raise typer.Exit(EXIT_BUILD_FAILED) from None
    except GoNotFoundError as exc:
        raise _fail(str(exc)) from None
    _finish_cache(cache)
    note(f"both builds and the comparison: {time.perf_counter() - started:.3f} s; {result.go_version}")
    render = {
        "md": diff_report.markdown_comment,
        "json": diff_report.diff_json,
        "github": diff_report.github_annotations,
        "sarif": diff_report.diff_sarif,
    }
    try:
        for name, target in targets:
            text = render[name](result)
            with open_report_output(target) as out:
                out.write(text)
    except OutputError as exc:
        raise _fail(str(exc)) from None
    if not quiet:
        typer.echo(
            f"escapelint diff: {len(result.added)} added, {len(result.removed)} removed, "
            f"{result.unchanged} unchanged compared with {base}",
            err=True,
        )
    over_bytes = False
    if config.max_new_bytes is not None:
        from escapelint.report.wording import bytes_text
        from escapelint.workflows.cost_gate import missing_profile_warning, new_bytes

        if result.costs is None:
            _warn([missing_profile_warning("max-new-bytes", "diff")], strict=False)
        else:
            spent = new_bytes(result.added, result.costs)
            over_bytes = spent > config.max_new_bytes
            if not quiet or over_bytes:
                typer.echo(f"escapelint diff: the new sites allocated {bytes_text(spent)} in the profile "
                           f"(max-new-bytes {bytes_text(config.max_new_bytes)})", err=True)  # fmt: skip
    # Sites the compiler serves from static data allocate nothing: they fail only with fail-on-static.
    failing = [f for f in result.added if f.allocates or config.fail_on_static]
    if len(failing) > (config.max_new if max_new is None else max_new) or over_bytes:
        raise typer.Exit(EXIT_GATE)


def _now():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


@app.command("rules")
def list_rules(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print docs/rules.md instead of a table.")] = False,
) -> None:
    """List the categories, in the order they are tried."""
    from escapelint.rules import RULES
    from escapelint.rules.docs import rules_markdown

    if markdown:
        typer.echo(rules_markdown(), nl=False)
        return
    width = max(len(rule_id) for rule_id in RULES)
    for rule in RULES.values():
        marker = "*" if rule.headline else " "
        typer.echo(f"{marker} {rule.id:<{width}}  {rule.title}")
    typer.echo("\n* headline category. `escapelint explain ID` prints one in full.")


@app.command()
def explain(rule_id: Annotated[str, typer.Argument(metavar="ID", help="A category id, e.g. returned-pointer.")]) -> None:
    """Print one category's documentation and fix hint."""
    from escapelint.rules import RULES, UnknownRuleError, get_rule
    from escapelint.rules.docs import rule_text

    try:
        rule = get_rule(rule_id)
    except UnknownRuleError as exc:
        close = _did_you_mean(rule_id, RULES)
        if close is None:
            raise _fail(str(exc)) from None
        raise _fail(f"unknown category {rule_id!r}; did you mean {close}? (`escapelint rules` lists them)") from None
    typer.echo(rule_text(rule), nl=False)


cache_app = typer.Typer(
    name="cache",
    help="The per-package result cache: where it is, how big, and emptying it.",
    no_args_is_help=True,
)
app.add_typer(cache_app, name="cache")


def _cache_for_maintenance():
    from escapelint.workflows.cache import CACHE_VARIABLE, ResultCache, default_directory, limit_bytes

    directory = default_directory()
    if directory is None:
        raise _fail(f"the result cache is off ({CACHE_VARIABLE}=off)")
    return ResultCache(directory, limit_bytes())


@cache_app.command("info")
def cache_info() -> None:
    """Print the cache's directory, its entries and size, and its size bound."""
    info = _cache_for_maintenance().info()
    mib = 1 << 20
    typer.echo(f"directory: {info.directory}")
    typer.echo(f"entries:   {info.entries}")
    typer.echo(f"size:      {info.size / mib:,.1f} MiB of at most {info.limit / mib:,.0f} MiB (ESCAPELINT_CACHE_LIMIT)")


@cache_app.command("clean")
def cache_clean() -> None:
    """Remove every entry of the cache and its records of input files (nothing else in or beside its directory)."""
    cache = _cache_for_maintenance()
    removed = cache.clean()
    typer.echo(f"escapelint: removed {removed} cache entr{'y' if removed == 1 else 'ies'} from {cache.directory}", err=True)


@app.command()
def version() -> None:
    """Print escapelint's version."""
    typer.echo(__version__)


def main() -> None:
    """Run the command line; every way it can end is a documented exit code (the module docstring).

    typer prints usage errors itself (exit 2) and turns Ctrl-C into 130; the commands print their
    own errors (`_fail`). What still gets here becomes one line on stderr: an input, output,
    configuration or baseline error that a command did not catch exits 2, and so does an error of the
    operating system; anything else is an internal error (70). A closed pipe on standard output ends
    the run quietly with 141 (0 when everything was written before the reader stopped).
    """
    from escapelint.read.input import InputError
    from escapelint.report.output import OutputError
    from escapelint.workflows.baseline import BaselineError
    from escapelint.workflows.config import ConfigError
    from escapelint.workflows.signals import terminated_like_interrupted

    stdout = sys.stdout
    try:
        # SIGTERM (a CI job's cancel, `timeout`, `kill`) unwinds every command as Ctrl-C does: the
        # build is stopped, no output is published, temporary files go; the exit status is 143.
        with terminated_like_interrupted():
            app()
        code = EXIT_OK
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (EXIT_OK if stop.code is None else EXIT_USAGE)
        if code == 1 and sys.stdout is not stdout:
            # typer's (click's) answer to EPIPE: it wraps standard output so that the last flush is
            # silent, and exits 1 -- the code for new escapes. Nothing else replaces sys.stdout.
            code = _reader_gone()
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except BrokenPipeError:
        code = _reader_gone()
    except (InputError, OutputError, ConfigError, BaselineError) as exc:
        _error_line(f"escapelint: error: {_one_line(exc)}")
        code = EXIT_USAGE
    except OSError as exc:
        # The system refused something outside the input and the outputs, which say which file they
        # are: most often standard output printed to by a command (`rules > /dev/full`), or a full
        # disk for temporary files. The machine's problem, not escapelint's: exit 2, its message.
        where = f"{exc.filename}: " if exc.filename else "standard output: " if _stdout_broken() else ""
        _error_line(f"escapelint: error: {where}{exc.strerror or _one_line(exc)}")
        code = EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - the one place every other failure ends
        code = _internal_error(exc)
    sys.exit(_flush_stdout(code))


def _internal_error(exc: Exception) -> int:
    """A bug: one line that says so (the traceback only with ESCAPELINT_DEBUG=1)."""
    if os.environ.get(DEBUG_VARIABLE) == "1":
        import traceback

        traceback.print_exception(exc)
    _error_line(
        f"escapelint: internal error: {type(exc).__name__}: {_one_line(exc)}; "
        f"please report this (set {DEBUG_VARIABLE}=1 to see the traceback)"
    )
    return EXIT_INTERNAL


def _one_line(exc: BaseException, limit: int = 500) -> str:
    """The exception's message as one line of at most `limit` characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _error_line(line: str) -> None:
    try:
        typer.echo(line, err=True)
    except OSError:  # stderr itself is gone: the exit code is all that is left
        pass


def _flush_stdout(code: int) -> int:
    """Flush what the command printed (`rules`, `explain`, ...) while its failure can still be told."""
    if sys.stdout is None:
        return code
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return _reader_gone()
    except OSError as exc:
        _silence_stdout()
        _error_line(f"escapelint: error: standard output: cannot write: {exc.strerror or exc}")
        return code if code != EXIT_OK else EXIT_USAGE
    return code


def _stdout_broken() -> bool:
    """Whether what the command printed cannot be written (then it is silenced)."""
    if sys.stdout is None:
        return False
    try:
        sys.stdout.flush()
    except OSError:
        _silence_stdout()
        return True
    return False


def _reader_gone() -> int:
    """Standard output's reader stopped (`| head -1`): not an error; stop quietly, as a command that
    SIGPIPE ended would, and let nothing complain about the unwritten rest at exit."""
    _silence_stdout()
    return EXIT_BROKEN_PIPE


def _silence_stdout() -> None:
    """Point standard output at the null device, so that the interpreter's last flush succeeds."""
    try:
        descriptor = sys.stdout.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
    except (AttributeError, OSError, ValueError):
        return
    try:
        os.dup2(null, descriptor)
    except OSError:
        pass
    finally:
        os.close(null)
