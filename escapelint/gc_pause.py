"""Pausing Python's cyclic garbage collector while escapelint reads and writes.

Reading a build's output makes millions of small objects (events, flows, steps, findings) and no
reference cycles, and writing a report makes strings and short-lived lists. The cyclic collector
would only walk those objects again and again, for nothing: a tenth of the reading time on the
standard library. Reference counting still frees everything as usual.

`paused()` is the one way escapelint pauses it: the collector stays off inside the block and comes back
as the block found it, whatever happens inside; blocks nest. A worker process that does nothing but
read and write (escapelint.workflows.parallel) turns it off for its lifetime with
`pause_for_this_process()`, and every `paused()` block in that process then leaves it off.
"""

from __future__ import annotations

import gc


class paused:  # noqa: N801 - a context manager named like a function, as contextlib.suppress
    """The cyclic garbage collector off inside the block, then as it was before the block.

    A class rather than a @contextmanager generator: leaving the block allocates nothing (a generator
    raises StopIteration), so leaving it does not set off a collection by itself; the collector runs
    again when the code after the block allocates, as it would have without the block. One instance
    serves blocks one after another (each entry looks afresh), not blocks nested in each other.
    """

    __slots__ = ("_collecting",)

    def __enter__(self) -> None:
        self._collecting = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc_info: object) -> None:
        if self._collecting:
            gc.enable()


def pause_for_this_process() -> None:
    """Turn the cyclic garbage collector off for good: for worker processes that only read and write."""
    gc.disable()
