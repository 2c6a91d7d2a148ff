"""The interface every report format implements, and the base of the one-stream formats."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from escapelint.report.output import ReportFile

if TYPE_CHECKING:  # annotations only: --format is parsed without loading the page model
    from escapelint.report.facts import BuildFacts
    from escapelint.report.index import IndexPage
    from escapelint.report.options import ReportOptions
    from escapelint.report.page import PackagePage


class ReportWriter:
    """One output format. `write_reports` calls `check()` on every writer first, then `begin`,
    `package` once per package (in input order) and `end`; `close()` always, even after an error.

    Writers only write: `write_reports` builds each page model once and the index model once, and
    hands the same objects to every writer.
    """

    def use_options(self, options: ReportOptions) -> None:
        """Take the report options (escapelint.report.options) before `check`; the formats that have
        none to take (all but HTML) ignore them."""

    def check(self) -> None:
        """Refuse, before anything is written, a target that may not be written (OutputRefusedError)."""
        raise NotImplementedError

    def begin(self, facts: BuildFacts) -> None:
        """Open the output. `facts.go_version` may still be None here; `end` gets the final facts."""
        raise NotImplementedError

    def package(self, page: PackagePage) -> None:
        """Write, or keep what the end needs of, one package's page."""
        raise NotImplementedError

    def end(self, index: IndexPage) -> None:
        """Finish the output from the finished index: every package's row, the totals, the final
        build facts (`index.facts`) and the reader's line accounting."""
        raise NotImplementedError

    def publish(self) -> None:
        """Put the finished output in place; `write_reports` calls it only once every writer's `end`
        has succeeded, so a failed run publishes nothing and the previous reports stay as they were."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the output, discarding whatever was not published; called after an error too."""
        raise NotImplementedError


class StreamReportWriter(ReportWriter):
    """A writer whose output is one text stream: a file replaced whole (escapelint.report.output), or
    standard output."""

    def __init__(self, path: Path, *, overwrite: bool) -> None:
        self.target = ReportFile(path, overwrite=overwrite)
        self.out: TextIO | None = None

    def check(self) -> None:
        self.target.check()

    def begin(self, facts: BuildFacts) -> None:
        self.out = self.target.open()

    def publish(self) -> None:
        self.out = None
        self.target.commit()

    def close(self) -> None:
        """After `publish` nothing is left to do; after a failure the previous file stays as it was."""
        self.out = None
        self.target.discard()
