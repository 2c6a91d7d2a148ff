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
import os
import re
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from escapelint import __version__

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


class OutputExistsError(OutputRefusedError):
    """The output file exists and the caller did not allow replacing it."""


@contextmanager
def open_report_output(target: str | None, *, overwrite: bool) -> Iterator[TextIO]:
    """Standard output for None or "-", else a file (one that exists only with `overwrite`).

    A regular file is written under a temporary name beside it and moved into place once complete:
    a failed or interrupted run leaves the previous report as it was, and never half a new one.
    Anything else that exists (a symlink, a device, a pipe) is written through as it is.
    """
    if target is None or target == str(STDOUT):
        yield sys.stdout
        return
    path = Path(target)
    exists = path.exists() or path.is_symlink()
    if exists and not overwrite:
        raise OutputExistsError(f"{target} exists; pass --force to replace it")
    if exists and (path.is_symlink() or not path.is_file()):
        try:
            handle = path.open("w", encoding="utf-8", newline="\n")
        except OSError as exc:
            raise OutputRefusedError(f"{target}: cannot write: {exc.strerror}") from None
        with handle:
            yield handle
        return
    partial, descriptor = _create_partial(path, target)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            yield handle
        _move_into_place(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _create_partial(path: Path, target: str) -> tuple[Path, int]:
    """A new hidden file beside `path` (mode 0666 less the umask, as a plain open would give)."""
    for attempt in range(100):
        partial = path.with_name(f".{path.name}.{os.getpid()}-{attempt}.partial")
        try:
            return partial, os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue  # left by a killed run that had the same process id
        except OSError as exc:
            raise OutputRefusedError(f"{target}: cannot write: {exc.strerror}") from None
    raise OutputRefusedError(f"{target}: cannot write: too many leftover {path.name}.*.partial files beside it")


def _move_into_place(partial: Path, path: Path) -> None:
    """Put the finished `partial` file where `path` is, keeping the old file's permissions."""
    try:
        old = path.stat()
    except FileNotFoundError:
        old = None
    if old is not None:
        os.chmod(partial, stat.S_IMODE(old.st_mode))
        # Removed first rather than renamed over: ext4 writes a file renamed over another (or truncated)
        # to disk at once (auto_da_alloc), a tenth of a second per hundred megabytes of report.
        path.unlink()
    os.rename(partial, path)
