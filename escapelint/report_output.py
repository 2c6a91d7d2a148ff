"""Where reports go, safely: a directory escapelint owns, a new file, or standard output.

escapelint never overwrites what it did not write unless told to (`overwrite=True`, the CLI's
`--force`):

* a report directory that exists, is not empty and has no marker file is refused; the marker
  (`.escapelint-report`) lists the files escapelint wrote there, so a second run replaces its own
  pages and removes the ones no longer produced, and never touches anything else;
* a report file that exists is refused;
* file names inside a directory are checked to be plain names (no separators, no "..").

Every writer is checked before any of them writes, so a refused target leaves no partial output.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from . import __version__
from .assemble import BuildStats
from .report_model import CATEGORIES, CATEGORY_BY_ID, BuildFacts, PackagePage

if TYPE_CHECKING:
    import jinja2

MARKER = ".escapelint-report"
#: The path that stands for standard output.
STDOUT = Path("-")
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class OutputRefusedError(Exception):
    """The report's target exists and holds something escapelint did not write; pass overwrite."""


class ReportDirectory:
    """A directory of report files, written by name; see the module docstring for the rules."""

    def __init__(self, path: Path, *, overwrite: bool, format_name: str) -> None:
        self.path = path
        self.overwrite = overwrite
        self.format_name = format_name
        self._written: list[str] = []
        self._previous: list[str] = []
        self._opened = False

    def check(self) -> None:
        path = self.path
        if path == STDOUT:
            raise OutputRefusedError(f"{self.format_name} writes a directory of pages, not standard output")
        if not path.exists():
            return
        if not path.is_dir():
            raise OutputRefusedError(f"{path} exists and is not a directory; {self.format_name} writes a directory")
        if (path / MARKER).is_file() or self.overwrite:
            return
        if any(path.iterdir()):
            raise OutputRefusedError(
                f"{path} exists and holds files escapelint did not write (no {MARKER} in it); "
                "pass --force to write the report into it anyway"
            )

    def open(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self._opened = True
        marker = self.path / MARKER
        if marker.is_file():
            try:
                files = json.loads(marker.read_text(encoding="utf-8")).get("files", [])
            except (OSError, ValueError, AttributeError):
                files = []
            self._previous = [f for f in files if isinstance(f, str) and _PLAIN_NAME.match(f)]

    def write(self, name: str, content: str | bytes) -> None:
        if not _PLAIN_NAME.match(name) or ".." in name:
            raise ValueError(f"not a plain file name: {name!r}")
        target = self.path / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            with target.open("w", encoding="utf-8", newline="\n") as handle:
                handle.write(content)
        self._written.append(name)

    def close(self) -> None:
        """Write the marker and remove the pages of a previous run that this run did not write."""
        if not self._opened:
            return
        self._opened = False
        written = set(self._written)
        for stale in self._previous:
            if stale not in written:
                try:
                    (self.path / stale).unlink()
                except OSError:
                    pass
        marker = {"generator": "escapelint", "version": __version__, "format": self.format_name,
                  "files": sorted(written)}  # fmt: skip
        (self.path / MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")


class ReportFile:
    """One report file, or standard output for `STDOUT`."""

    def __init__(self, path: Path, *, overwrite: bool) -> None:
        self.path = path
        self.overwrite = overwrite
        self._handle: TextIO | None = None

    @property
    def is_stdout(self) -> bool:
        return self.path == STDOUT

    def check(self) -> None:
        if self.is_stdout:
            return
        if self.path.is_dir():
            raise OutputRefusedError(f"{self.path} is a directory; this format writes one file")
        if self.path.exists() and not self.overwrite:
            raise OutputRefusedError(f"{self.path} exists; pass --force to replace it")

    def open(self) -> TextIO:
        if self.is_stdout:
            self._handle = sys.stdout
        else:
            if self.path.parent != Path(""):
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("w", encoding="utf-8", newline="\n")
        return self._handle

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        if handle is sys.stdout:
            handle.flush()
        else:
            handle.close()


class ReportWriter:
    """One output format. `write_reports` calls `check()` on every writer first, then `begin`,
    `package` once per package (in input order) and `end`; `close()` always, even after an error."""

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
    """A writer whose output is one text stream (a file or standard output)."""

    def __init__(self, path: Path, *, overwrite: bool) -> None:
        self.target = ReportFile(path, overwrite=overwrite)
        self.out: TextIO | None = None

    def check(self) -> None:
        self.target.check()

    def begin(self, facts: BuildFacts) -> None:
        self.out = self.target.open()

    def close(self) -> None:
        self.out = None
        self.target.close()


def template_environment(folder: str, *, autoescape) -> jinja2.Environment:
    """The Jinja environment for escapelint/templates/FOLDER with what every report format shares:
    undefined names are errors, block tags leave no blank lines, the `thousands` filter, and the
    `version`, `categories` and `categories_by_id` globals. The format adds its own filters."""
    import jinja2  # here: the JSON-only path never renders a template

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("escapelint", f"templates/{folder}"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["thousands"] = lambda n: f"{n:,}"
    env.globals["version"] = __version__
    env.globals["categories"] = CATEGORIES
    env.globals["categories_by_id"] = CATEGORY_BY_ID
    return env
