"""The interface every report format implements, and the base of the one-stream formats."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from escapelint.report.facts import BuildFacts
from escapelint.report.index import IndexPage
from escapelint.report.output import ReportFile
from escapelint.report.page import PackagePage


class ReportWriter:
    """One output format. `write_reports` calls `check()` on every writer first, then `begin`,
    `package` once per package (in input order) and `end`; `close()` always, even after an error.

    Writers only write: `write_reports` builds each page model once and the index model once, and
    hands the same objects to every writer.
    """

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

    def close(self) -> None:
        """Release the output (a directory also records what it wrote); called after an error too."""
        raise NotImplementedError


class StreamReportWriter(ReportWriter):
    """A writer whose output is one text stream: a file replaced whole (escapelint.report.output), or
    standard output."""

    def __init__(self, path: Path, *, overwrite: bool) -> None:
        self.target = ReportFile(path, overwrite=overwrite)
        self.out: TextIO | None = None
        self._handled_at_begin: BaseException | None = None

    def check(self) -> None:
        self.target.check()

    def begin(self, facts: BuildFacts) -> None:
        self._handled_at_begin = sys.exc_info()[1]  # what a caller may be handling already: not our failure
        self.out = self.target.open()

    def close(self) -> None:
        """Put the finished file in place; when the run failed (write_reports calls this in its `finally`,
        an exception on its way out), discard it and leave the previous file."""
        self.out = None
        failure = sys.exc_info()[1]
        if failure is not None and failure is not self._handled_at_begin:
            self.target.discard()
        else:
            self.target.commit()
