"""Report formats by name, the one parser of --format values, and the one pass that writes several
formats from one read of the input.

    targets = parse_format_targets(["html", "sarif:out/escapelint.sarif"], Path("report"))
    check_format_targets(targets, overwrite=False, input=path)  # before the input is read
    write_reports(packages, BuildFacts.for_input(path), lambda: reader.stats, targets)

`write_reports` builds each package's page model once and hands it to every requested writer, so CI
reads (and builds) once. Pages are written as their package arrives; only the index rows are kept,
once for all writers, and the finished index (escapelint.report.index) is handed to every writer's `end`.
`json` is listed here so that names are checked in one place, but escapelint.workflows.report writes it
(escapelint.report.json streams events, not findings). `DIFF_FORMATS` are the outputs of `escapelint
diff`, parsed and checked by the same functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from escapelint.events import BuildStats, LineRole
from escapelint.report.facts import BuildFacts, go_version_from_path
from escapelint.report.output import (
    STDOUT,
    OutputError,
    OutputRefusedError,
    ReportDirectory,
    ReportFile,
    file_key,
)
from escapelint.report.options import ReportOptions
from escapelint.report.warnings import InputWarning
from escapelint.report.writer import ReportWriter

if TYPE_CHECKING:  # annotations only: the page model loads when a page is written, not to parse --format
    from escapelint.analyze.cost import CostAttribution
    from escapelint.analyze.findings import PackageFindings
    from escapelint.analyze.source import SourceLocator
    from escapelint.report.index import IndexRow

__all__ = [
    "DIFF_FORMATS",
    "FORMATS",
    "STDOUT",
    "BuildFacts",
    "FormatTargetError",
    "OutputError",
    "OutputRefusedError",
    "ReportFormat",
    "check_format_targets",
    "parse_format_targets",
    "write_reports",
]


def _html(path: Path, overwrite: bool) -> ReportWriter:
    from escapelint.report.html import HtmlReportWriter

    return HtmlReportWriter(path, overwrite=overwrite)


def _markdown(path: Path, overwrite: bool) -> ReportWriter:
    from escapelint.report.markdown import MarkdownReportWriter

    return MarkdownReportWriter(path, overwrite=overwrite)


def _markdown_summary(path: Path, overwrite: bool) -> ReportWriter:
    from escapelint.report.markdown import MarkdownSummaryWriter

    return MarkdownSummaryWriter(path, overwrite=overwrite)


def _sarif(path: Path, overwrite: bool) -> ReportWriter:
    from escapelint.report.sarif import SarifWriter

    return SarifWriter(path, overwrite=overwrite)


def _github(path: Path, overwrite: bool) -> ReportWriter:
    from escapelint.report.annotations import GithubAnnotationsWriter

    return GithubAnnotationsWriter(path, overwrite=overwrite)


def _rdjsonl(path: Path, overwrite: bool) -> ReportWriter:
    from escapelint.report.annotations import RdjsonlWriter

    return RdjsonlWriter(path, overwrite=overwrite)


@dataclass(frozen=True)
class ReportFormat:
    name: str
    description: str
    directory: bool  # writes a directory of pages (else one file, or standard output)
    default_name: str  # its name under --output DIR when several formats share that directory
    writer: Callable[[Path, bool], ReportWriter] | None  # None: written by its workflow, not write_reports


FORMATS: dict[str, ReportFormat] = {
    f.name: f
    for f in (
        ReportFormat("json", "the escapelint.report/1 JSON document (docs/json-report.md)", False, "escapelint.json", None),
        ReportFormat("html", "static site: index, one page per package, categories", True, "html", _html),
        ReportFormat("md", "GitHub-flavoured Markdown: README.md index and one page per package", True, "md", _markdown),
        ReportFormat("md-summary", "one Markdown file sized for a PR comment (< 65,536 characters)", False,
                     "summary.md", _markdown_summary),
        ReportFormat("sarif", "SARIF 2.1.0 for code scanning", False, "escapelint.sarif", _sarif),
        ReportFormat("github", "GitHub Actions workflow-command annotations", False, "annotations.txt", _github),
        ReportFormat("rdjsonl", "reviewdog diagnostics, one JSON object per line", False, "escapelint.rdjsonl", _rdjsonl),
    )
}  # fmt: skip

#: The outputs of `escapelint diff` (escapelint.report.diff): one file each.
DIFF_FORMATS: dict[str, ReportFormat] = {
    f.name: f
    for f in (
        ReportFormat("md", "a Markdown PR comment of the added and removed sites", False, "escapelint-comment.md", None),
        ReportFormat("json", "the escapelint.diff JSON document", False, "escapelint-diff.json", None),
        ReportFormat("github", "GitHub Actions annotations of the added sites", False, "annotations.txt", None),
        ReportFormat("sarif", "SARIF 2.1.0 of the added sites", False, "escapelint-diff.sarif", None),
    )
}  # fmt: skip


class FormatTargetError(OutputError, ValueError):
    """A --format value that names no format, or targets that would write one file twice or the input."""


def parse_format_targets(
    values: list[str], output: Path | None, formats: Mapping[str, ReportFormat] = FORMATS, *, kind: str = "report"
) -> list[tuple[str, Path]]:
    """Turn --format values into (format, path) pairs; `formats` are the names allowed (`kind` names them).

    A value is FORMAT or FORMAT:PATH ("html", "sarif:out.sarif", "md:reports/md"; "-" is standard
    output). A bare FORMAT writes to `output`: when it is the only bare one, to `output` itself;
    when there are several, each to its default name inside the directory `output`. Without
    `output`, a bare file format goes to standard output; a directory format needs a path. At most
    one target may be standard output, and no two may name one file (`output.file_key`: "x" and
    "$PWD/x" are one file).
    """
    explicit: list[tuple[int, str, Path]] = []
    bare: list[tuple[int, str]] = []
    for order, value in enumerate(values):
        name, colon, path = value.partition(":")
        name = name.strip()
        if name not in formats:
            known = ", ".join(formats)
            raise FormatTargetError(f"unknown {kind} format {name!r} in --format {value!r}; known: {known}")
        if colon:
            if not path:
                raise FormatTargetError(f"--format {value!r} names no path; write {name}:PATH")
            explicit.append((order, name, Path(path)))
        else:
            bare.append((order, name))
    resolved = list(explicit)
    for order, name in bare:
        if output is None:
            if formats[name].directory:
                raise FormatTargetError(f"--format {name} writes a directory: give --output DIR or {name}:DIR")
            resolved.append((order, name, STDOUT))
        elif len(bare) == 1:
            resolved.append((order, name, output))
        else:
            if output == STDOUT:
                raise FormatTargetError("several formats cannot all go to standard output; give --output DIR")
            resolved.append((order, name, output / formats[name].default_name))
    resolved.sort()
    targets = [(name, path) for _, name, path in resolved]
    for name, path in targets:
        if path == STDOUT and formats[name].directory:
            raise FormatTargetError(f"--format {name} writes a directory, not standard output")
    _refuse_shared_files(targets)
    return targets


def check_format_targets(
    targets: list[tuple[str, Path]],
    *,
    overwrite: bool,
    input: str | None = None,
    formats: Mapping[str, ReportFormat] = FORMATS,
) -> None:
    """Refuse, before the input is read or a build runs, every target that could not be written.

    Two targets naming one file, a target that is the `input` file ("-" is standard input, no file),
    and what escapelint.report.output refuses (a directory escapelint did not write without
    `overwrite`, a directory where a file goes, ...) raise an OutputError.
    """
    _refuse_shared_files(targets)
    if input is not None and input != "-":
        source = file_key(Path(input))
        for name, path in targets:
            if path != STDOUT and file_key(path) == source:
                raise FormatTargetError(f"--format {name} would write over the input {input}")
    for name, path in targets:
        spec = formats.get(name)
        if spec is None:
            raise FormatTargetError(f"unknown format {name!r}; known: {', '.join(formats)}")
        if spec.directory:
            ReportDirectory(path, overwrite=overwrite, format_name=name).check()
        else:
            ReportFile(path, overwrite=overwrite).check()


def _refuse_shared_files(targets: list[tuple[str, Path]]) -> None:
    seen: dict[Path, tuple[str, Path]] = {}
    for name, path in targets:
        key = file_key(path)
        if key in seen:
            first, given = seen[key]
            where = "standard output" if path == STDOUT else str(given)
            raise FormatTargetError(f"--format {first} and --format {name} would both write {where}")
        seen[key] = (name, path)


def write_reports(
    packages: Iterable[PackageFindings],
    facts: BuildFacts,
    stats_provider: Callable[[], BuildStats],
    targets: list[tuple[str, Path]],
    *,
    overwrite: bool = False,
    sources: SourceLocator | None = None,
    warnings_provider: Callable[[], Iterable[InputWarning]] | None = None,
    costs: CostAttribution | None = None,
    options: ReportOptions | None = None,
) -> None:
    """Write every target in one pass over `packages`.

    Every target is checked before anything is written: an existing file, or a directory escapelint
    did not make, raises OutputRefusedError unless `overwrite`. `stats_provider` is called once the
    packages are exhausted (the reader's line accounting is complete only then) and goes into the
    index model that every writer's `end` receives. `sources` finds the
    Go files for source lines (relative paths under its root; absolute ones as they are). When
    `facts.go_version` is None it is inferred from GOROOT paths in the output. `warnings_provider`,
    called with `stats_provider`, gives the warnings the index shows (escapelint.report.warnings).
    `options` are the HTML pages' choices (escapelint.report.options): which files get a source view
    (built only when an HTML report is written) and editor links.
    """
    options = options or ReportOptions()
    writers: list[ReportWriter] = []
    for name, path in targets:
        spec = FORMATS.get(name)
        if spec is None:
            raise FormatTargetError(f"unknown report format {name!r}; known: {', '.join(FORMATS)}")
        if spec.writer is None:
            raise FormatTargetError(f"--format {name} streams events: write it with escapelint.workflows.report (write_build_reports), not write_reports")
        writer = spec.writer(path, overwrite)
        writer.use_options(options)
        writers.append(writer)
    for writer in writers:
        writer.check()
    try:
        for writer in writers:
            writer.begin(facts)
        stems: set[str] = set()
        from escapelint.report.index import index_page, index_row
        from escapelint.report.page import InlinedCallees, package_page, page_stem
        from escapelint.report.source_view import source_views

        rows: list[IndexRow] = []
        go_version = facts.go_version
        html = any(name == "html" for name, _ in targets)
        source_pages = options.source_pages if html else "none"  # only the HTML report has source views
        callees = InlinedCallees()
        for package in packages:
            if go_version is None:
                go_version = _go_version(package)
            stem = page_stem(package.output.path, package.output.test_variant)
            if stem in stems:  # the same package twice in one input
                stem = _unique(stem, stems)
            stems.add(stem)
            page = package_page(package, sources, stem, costs=costs, source_pages=source_pages, callees=callees)
            if page.viewed_files:
                page = replace(page, source_views=source_views(page))
            for writer in writers:
                writer.package(page)
            rows.append(index_row(page))
        stats = stats_provider()
        warnings = tuple(warnings_provider()) if warnings_provider is not None else ()
        index = index_page(replace(facts, go_version=go_version), rows, stats.lines,
                           stats.roles.get(LineRole.UNRECOGNIZED, 0), warnings, costs)  # fmt: skip
        for writer in writers:
            writer.end(index)
        for writer in writers:
            writer.publish()
    finally:
        for writer in writers:
            writer.close()


def _unique(stem: str, taken: set[str]) -> str:
    n = 2
    while f"{stem}_{n}" in taken:
        n += 1
    return f"{stem}_{n}"


def _go_version(package: PackageFindings) -> str | None:
    output = package.output
    files = {e.position.file for e in output.events}
    files.update(r.position.file for r in output.remarks if r.position is not None)
    for file in files:
        if file.startswith("/") or file[1:3] in (":\\", ":/"):
            version = go_version_from_path(file)
            if version is not None:
                return version
    return None
