"""The interface every report format implements, and the base of the one-stream formats."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from escapelint.events import BuildStats
from escapelint.report.facts import BuildFacts
from escapelint.report.output import ReportFile
from escapelint.report.page import PackagePage


class ReportWriter:
    """One output format. `write_reports` calls `check()` on every writer first, then `begin`,
    `package` once per package (in input order) and `end`; `close()` always, even after an error
    (then, called while the exception is on its way out, it leaves the previous output as it was)."""

    def check(self) -> None:
        raise NotImplementedError

    def begin(self, facts: BuildFacts) -> None:
        raise NotImplementedError

    def package(self, page: PackagePage) -> None:
        raise NotImplementedError

    def end(self, facts: BuildFacts, stats: BuildStats) -> None:
        raise NotImplementedError

    def close(self) -> None:
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
