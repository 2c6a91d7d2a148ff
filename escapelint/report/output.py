"""Where output goes, safely: one layer for every file escapelint writes and every report directory.

**A file** (a JSON, SARIF, github, rdjsonl or md-summary report, a diff output, a baseline) named as a
target is asked for, so it is replaced, and replaced whole (`ReportFile`, `open_report_output`):

* it is written under a hidden name beside it and moved into place only when complete, so a failed or
  interrupted run leaves the previous file as it was, never half a new one; the old file's
  permissions are kept;
* a symlink is written through (its target is replaced, the link kept); a device or a pipe
  (`--output /dev/null`, `>(gzip)`) is written as it is, in place;
* a directory, or a path below something that is not a directory, is refused;
* a file that is often a default path rather than one the user typed (the baseline) has an
  `Ownership`: an existing file that is not escapelint's own is refused unless `overwrite` (`--force`).

**A report directory** (`ReportDirectory`, html and md) is escapelint's only if it says so: one that
exists, is not empty and has no marker file (`.escapelint-report`) is refused unless `overwrite`; the
marker lists the files escapelint wrote there, so a second run replaces its own pages and removes the
ones no longer produced, and never touches anything else. File names inside it are plain names.
One run at a time writes a report directory: it holds an advisory lock (`fcntl.flock` on
`.escapelint-report.lock` beside the marker) from `open` to `publish`/`close`, and a second run is
refused at once (`check` looks too), naming the process that holds it.

What a killed run leaves (SIGKILL, a crash) is removed by the next run that writes there: the hidden
`.NAME.PID-N.partial` file beside a target, when process PID no longer exists, and a report
directory's staging directory.

`file_key` says which file a path writes (relative paths and links resolved), so that two targets, or
a target and the input, that name one file can be refused. Every target is checked before anything
is written or read. Every problem is an `OutputError`.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import shutil
import signal
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from escapelint import __version__

try:
    import fcntl
except ImportError:  # Windows: report directories are written unlocked
    fcntl = None  # type: ignore[assignment]

MARKER = ".escapelint-report"
#: The path that stands for standard output.
STDOUT = Path("-")
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: Hidden directories inside a report directory where a run stages its pages until it is published.
_STAGING_PREFIX = ".escapelint-staging-"
#: The lock file of a report directory (see the module docstring); it holds the writing run's pid.
LOCK = f"{MARKER}.lock"
_PARTIAL_SUFFIX = ".partial"
_PARTIAL_OWNER = re.compile(r"([0-9]+)-[0-9]+")


class OutputError(Exception):
    """An output escapelint will not or cannot write; the CLI exits 2 with the message."""


class OutputRefusedError(OutputError):
    """The target holds something escapelint did not write (pass overwrite), or cannot be written."""


class OutputExistsError(OutputRefusedError):
    """An existing file is not escapelint's own (see `Ownership`) and the caller did not allow replacing it."""


@dataclass(frozen=True)
class Ownership:
    """How to tell that an existing file is escapelint's own, e.g. "an escapelint baseline"."""

    description: str
    test: Callable[[Path], bool]


def process_exists(pid: int) -> bool:
    """Whether process `pid` exists (as far as this process can see: its pid namespace)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, and is someone else's
        return True
    return True


def file_key(path: Path) -> Path:
    """The file `path` writes: absolute, links resolved; `STDOUT` for standard output."""
    if path == STDOUT:
        return STDOUT
    return Path(os.path.realpath(path))


class ReportDirectory:
    """A directory of report files, written by name; see the module docstring for the rules."""

    def __init__(self, path: Path, *, overwrite: bool, format_name: str) -> None:
        self.path = path
        self.overwrite = overwrite
        self.format_name = format_name
        self._written: list[str] = []
        self._previous: list[str] = []
        self._staging: Path | None = None
        self._opened = False
        self._lock_descriptor: int | None = None

    def check(self) -> None:
        path = self.path
        if path == STDOUT:
            raise OutputRefusedError(f"{self.format_name} writes a directory of pages, not standard output")
        if not path.exists() and not path.is_symlink():
            return
        if path.is_symlink() and not path.is_dir():
            raise OutputRefusedError(f"{path} is a symlink to something that is not a directory")
        if not path.is_dir():
            raise OutputRefusedError(f"{path} exists and is not a directory; {self.format_name} writes a directory")
        self._refuse_if_locked()
        if self._has_marker() or self.overwrite:
            return
        if any(name for name in os.listdir(path) if not _is_scratch(name)):
            raise OutputRefusedError(
                f"{path} exists and holds files escapelint did not write (no {MARKER} in it); "
                "pass --force to write the report into it anyway"
            )

    def _refuse_if_locked(self) -> None:
        """Fail at once, before the input is read, when another run is writing the directory."""
        if fcntl is None:
            return
        try:
            descriptor = os.open(self.path / LOCK, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return  # no lock file: nobody holds it (or it is unreadable, and open() says so)
        try:
            try:
                locked = _try_lock(descriptor)
            except OSError:
                return  # no locks on this file system
            if not locked:
                raise OutputRefusedError(_locked_message(self.path, descriptor))
            fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            os.close(descriptor)

    def _lock(self) -> None:
        """Hold the directory's lock until `close`, or refuse: another run holds it.

        The lock file is removed by `close` while still locked, so a run that opened it just before
        may lock a file that is no longer there: it then checks that the name still leads to the file
        it locked, and tries again if not.
        """
        if fcntl is None:
            return
        path = self.path / LOCK
        while True:
            try:
                descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
            except OSError as exc:
                raise OutputRefusedError(f"{self.path}: cannot write {LOCK}: {exc.strerror}") from None
            try:
                locked = _try_lock(descriptor)
            except OSError:  # a file system without locks: write unlocked, as before there were locks
                os.close(descriptor)
                return
            if not locked:
                message = _locked_message(self.path, descriptor)
                os.close(descriptor)
                raise OutputRefusedError(message)
            try:
                named = os.stat(path, follow_symlinks=False)
            except FileNotFoundError:
                named = None
            held = os.fstat(descriptor)
            if named is not None and (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino):
                break
            os.close(descriptor)  # removed by the run that held it: lock the new one
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        self._lock_descriptor = descriptor

    def _unlock(self) -> None:
        descriptor, self._lock_descriptor = self._lock_descriptor, None
        if descriptor is None:
            return
        try:
            os.unlink(self.path / LOCK)  # still locked: nobody else can hold this file now
        except OSError:
            pass
        os.close(descriptor)

    def _has_marker(self) -> bool:
        """A marker is a regular file: a symlink named like one proves nothing about the directory."""
        marker = self.path / MARKER
        return marker.is_file() and not marker.is_symlink()

    def open(self) -> None:
        """Read the previous run's marker and start a hidden staging directory inside the report.

        Pages are written into the staging directory; only `publish` moves them in, so a run that
        fails or is interrupted leaves the previous report as it was. Staging directories of runs
        that were killed (SIGKILL leaves them) are removed here: they are escapelint's by name, and
        no other run is writing the directory, as this one holds its lock from here to `close`.
        """
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputRefusedError(f"{self.path}: cannot create: {exc.strerror}") from None
        self._lock()
        try:
            self._start()
        except BaseException:
            self._unlock()
            raise
        self._opened = True

    def _start(self) -> None:
        if self._has_marker():
            try:
                files = json.loads((self.path / MARKER).read_text(encoding="utf-8")).get("files", [])
            except (OSError, ValueError, AttributeError):
                files = []
            self._previous = [f for f in files if isinstance(f, str) and _PLAIN_NAME.match(f)]
        for name in os.listdir(self.path):
            if name.startswith(_STAGING_PREFIX) and not (self.path / name).is_symlink():
                shutil.rmtree(self.path / name, ignore_errors=True)
        self._staging = self.path / f"{_STAGING_PREFIX}{os.getpid()}"
        try:
            self._staging.mkdir()
        except OSError as exc:
            raise OutputRefusedError(f"{self.path}: cannot write: {exc.strerror}") from None

    def write(self, name: str, content: str | bytes) -> None:
        """Stage one page; it appears in the report only when the whole run is published."""
        if not _PLAIN_NAME.match(name) or ".." in name:
            raise ValueError(f"not a plain file name: {name!r}")
        assert self._staging is not None, "write() before open()"
        target = self._staging / name
        try:
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                with target.open("w", encoding="utf-8", newline="\n") as handle:
                    handle.write(content)
        except OSError as exc:
            raise OutputRefusedError(f"{self.path / name}: cannot write: {exc.strerror}") from None
        self._written.append(name)

    def publish(self) -> None:
        """Move every staged page in, then record them in the marker and remove the previous run's
        pages that this run did not write.

        A rename replaces a name in the directory and never follows a symlink that stands there, so
        no page is written outside the report. The marker first lists the old and new pages together,
        so that a run stopped half-way still owns every file it moved in.
        """
        if not self._opened:
            return
        assert self._staging is not None
        written = sorted(set(self._written))
        try:
            self._write_marker(sorted(set(written) | set(self._previous)))
            for name in written:
                os.replace(self._staging / name, self.path / name)
            for stale in self._previous:
                if stale not in written:
                    try:
                        (self.path / stale).unlink()
                    except FileNotFoundError:
                        pass
            self._write_marker(written)
        except OSError as exc:
            raise OutputRefusedError(f"{self.path}: cannot write: {exc.strerror}") from None
        self._previous = written
        self.close()

    def close(self) -> None:
        """Remove the staging directory and release the lock: after `publish` the staging directory
        is empty; after a failure it holds the pages of a run that did not complete, and the previous
        report is left as it was."""
        if not self._opened:
            return
        self._opened = False
        staging, self._staging = self._staging, None
        try:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
        finally:
            self._unlock()

    def _write_marker(self, files: list[str]) -> None:
        marker = {"generator": "escapelint", "version": __version__, "format": self.format_name, "files": files}
        path = self.path / MARKER
        if path.is_symlink():  # never write through a link named like the marker
            path.unlink()
        with open_report_output(path) as out:  # a torn marker would disown the directory
            out.write(json.dumps(marker, indent=1) + "\n")


def _is_scratch(name: str) -> bool:
    """Whether a name in a report directory is one of a run's own working files, which say nothing
    about who wrote the directory: a staging directory, the lock, a half-written marker."""
    return (
        name.startswith(_STAGING_PREFIX)
        or name == LOCK
        or (name.startswith(f".{MARKER}.") and name.endswith(_PARTIAL_SUFFIX))
    )


def _try_lock(descriptor: int) -> bool:
    """Lock the open file for this process, or False when another run holds it."""
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
            return False
        raise
    return True


def _locked_message(directory: Path, descriptor: int) -> str:
    try:
        holder = os.pread(descriptor, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        holder = ""
    who = f" (pid {holder})" if holder.isdigit() else ""
    return f"another escapelint run is writing {directory}{who}; wait for it to finish"


class ReportFile:
    """One output file, replaced whole (see the module docstring), or standard output for `STDOUT`.

    `check()` before anything is written; `open()`, then `commit()` to put the finished file in
    place or `discard()` to leave the previous one. `overwrite` matters only with an `ownership`.
    """

    def __init__(self, path: Path, *, overwrite: bool = False, ownership: Ownership | None = None) -> None:
        self.path = Path(path)
        self.overwrite = overwrite
        self.ownership = ownership
        self._handle: TextIO | None = None
        self._partial: Path | None = None
        self._real: Path | None = None

    @property
    def is_stdout(self) -> bool:
        return self.path == STDOUT

    def check(self) -> None:
        if self.is_stdout:
            if sys.stdout is None:  # started with standard output closed (`>&-`)
                raise OutputRefusedError("standard output is closed; give --output FILE")
            return
        real = file_key(self.path)
        if real.is_dir():
            raise OutputRefusedError(f"{self.path} is a directory; this format writes one file")
        if real.is_file() and self.ownership is not None and not self.overwrite and not self._ours(real):
            raise OutputExistsError(
                f"{self.path} exists and is not {self.ownership.description}; pass --force to replace it"
            )
        parent = real.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            raise OutputRefusedError(f"cannot write {self.path}: {parent} is not a directory")

    def _ours(self, path: Path) -> bool:
        assert self.ownership is not None
        try:
            return self.ownership.test(path)
        except (OSError, ValueError):
            return False

    def open(self) -> TextIO:
        self.check()
        if self.is_stdout:
            self._handle = _stdout_writer()
            return self._handle
        real = file_key(self.path)
        try:
            if real.exists() and not real.is_file():  # a device or a pipe: nothing to rename over
                self._handle = _text_writer(_OutputFile(real, str(self.path)))
                return self._handle
            real.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputRefusedError(f"{self.path}: cannot write: {exc.strerror}") from None
        self._real = real
        self._partial, descriptor = _create_partial(real, self.path)
        self._handle = _text_writer(_OutputFile(descriptor, str(self.path)))
        return self._handle

    def commit(self) -> None:
        """Finish the file: flush standard output, or move the complete file into place."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        if handle is sys.stdout:
            handle.flush()
            return
        if self.is_stdout:
            handle.close()  # flushes; standard output's descriptor stays open
            return
        partial, self._partial = self._partial, None
        try:
            handle.close()
            if partial is not None:
                assert self._real is not None
                _move_into_place(partial, self._real)
        except BaseException:
            if partial is not None:
                partial.unlink(missing_ok=True)
            raise

    def discard(self) -> None:
        """Give up: the previous file stays as it was (a device or pipe keeps what it was sent)."""
        handle, self._handle = self._handle, None
        partial, self._partial = self._partial, None
        if handle is None or handle is sys.stdout:
            return
        try:
            handle.close()  # standard output and a device or pipe keep what they were sent
        except (OSError, OutputError):
            pass
        if partial is not None:
            partial.unlink(missing_ok=True)


class _OutputFile(io.FileIO):
    """An output's file under its buffer: a write that fails (disk full, an I/O error) is an
    OutputRefusedError naming the output, whichever writer made it. Only whole buffers pass through
    here, so the check costs nothing per write. A closed pipe (EPIPE: `| head -1`) stays a
    BrokenPipeError: its reader chose to stop, nothing went wrong (the CLI stops quietly)."""

    def __init__(self, file: Path | int, name: str, *, closefd: bool = True) -> None:
        super().__init__(file, "w", closefd=closefd)
        self.display_name = name

    def write(self, data) -> int | None:  # type: ignore[override]
        try:
            return super().write(data)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputRefusedError(f"{self.display_name}: cannot write: {exc.strerror or exc}") from None


def _text_writer(raw: _OutputFile, *, encoding: str = "utf-8", errors: str = "strict", line_buffering: bool = False) -> TextIO:
    return io.TextIOWrapper(
        io.BufferedWriter(raw), encoding=encoding, errors=errors, newline="\n", line_buffering=line_buffering
    )


def _stdout_writer() -> TextIO:
    """Standard output as an `_OutputFile` (its encoding kept), or `sys.stdout` itself when it has no
    descriptor (a test runner's capture)."""
    stream = sys.stdout
    try:
        descriptor = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return stream
    stream.flush()  # what was printed before comes first
    return _text_writer(
        _OutputFile(descriptor, "standard output", closefd=False),
        encoding=stream.encoding or "utf-8",
        errors=stream.errors or "strict",
        line_buffering=stream.line_buffering,
    )


@contextmanager
def open_report_output(
    target: Path | str | None, *, overwrite: bool = False, ownership: Ownership | None = None
) -> Iterator[TextIO]:
    """Write one file (standard output for None or "-") as `ReportFile` does: in place once the block
    completes, the previous file kept if it raises."""
    output = ReportFile(STDOUT if target is None else Path(target), overwrite=overwrite, ownership=ownership)
    handle = output.open()
    try:
        yield handle
    except BaseException:
        output.discard()
        raise
    output.commit()


def _create_partial(path: Path, target: Path) -> tuple[Path, int]:
    """A new hidden file beside `path` (mode 0666 less the umask, as a plain open would give), once
    the ones that runs which no longer exist left there are removed."""
    _remove_stale_partials(path)
    for attempt in range(100):
        partial = path.with_name(f".{path.name}.{os.getpid()}-{attempt}.partial")
        try:
            return partial, os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue  # left by a killed run that had the same process id
        except OSError as exc:
            raise OutputRefusedError(f"{target}: cannot write: {exc.strerror}") from None
    raise OutputRefusedError(f"{target}: cannot write: too many leftover {path.name}.*.partial files beside it")


def _remove_stale_partials(path: Path) -> None:
    """Remove `.NAME.PID-N.partial` files beside `path` whose process PID no longer exists (SIGKILL,
    a crash or a power cut left them). Another file's partials, and a live run's, are left alone."""
    prefix = f".{path.name}."
    try:
        entries = os.scandir(path.parent)
    except OSError:
        return
    with entries:
        for entry in entries:
            name = entry.name
            if not (name.startswith(prefix) and name.endswith(_PARTIAL_SUFFIX)):
                continue
            owner = _PARTIAL_OWNER.fullmatch(name[len(prefix) : -len(_PARTIAL_SUFFIX)])
            if owner is None or int(owner[1]) == os.getpid() or process_exists(int(owner[1])):
                continue
            try:
                if entry.is_file(follow_symlinks=False):
                    os.unlink(entry.path)
            except OSError:
                pass


@contextmanager
def _signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done (then interrupt as usual): between removing
    the old file and renaming the new one into its place, an interrupt would lose both."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _move_into_place(partial: Path, path: Path) -> None:
    """Put the finished `partial` file where `path` is, keeping the old file's permissions."""
    with _signals_held():
        _replace(partial, path)


def _replace(partial: Path, path: Path) -> None:
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
