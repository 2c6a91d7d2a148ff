"""SIGTERM unwinds a run the way Ctrl-C does (a CI job's cancel, `timeout`, `kill`).

Kept apart from the workflows that use it, with nothing but the standard library, so that the CLI
can install it around every command without paying for their imports at start-up.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(SystemExit):
    """The run was stopped by SIGTERM and unwound as Ctrl-C unwinds it; uncaught, Python exits 143."""

    def __init__(self) -> None:
        super().__init__(EXIT_TERMINATED)


@contextmanager
def terminated_like_interrupted() -> Iterator[None]:
    """While the block runs, SIGTERM raises `Terminated` where the run is, so that it unwinds through
    the same cleanup as KeyboardInterrupt. A second SIGTERM does not interrupt that cleanup.

    Only where SIGTERM is nobody else's: in the main thread (Python runs handlers there only), and
    when it has its default action (an application that handles SIGTERM, or a caller that ignores
    it, keeps its own way). `report` runs in it; so can any other workflow that writes outputs
    (the CLI's audit or diff), to end with 143 the way it ends with 130 on Ctrl-C.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return
    stopping = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise Terminated()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
