"""How reports and the terminal word counts, sizes and sites: small text functions, in a module of
their own so that the terminal's `check` line does not load the whole page model (escapelint.report.page,
which re-exports them)."""

from __future__ import annotations

from dataclasses import dataclass

from escapelint.events import EventKind

UNKNOWN_FUNCTION = "(package level or unknown function)"


@dataclass(frozen=True, slots=True)
class Tally:
    """A count with the noun that agrees with it: the templates print `{{ t.count|thousands }} {{ t.noun }}`."""

    count: int
    noun: str  # singular for a count of 1, else plural


def tally(count: int, singular: str, plural: str | None = None) -> Tally:
    """`count` with `singular`, or with `plural` (default: `singular` + "s") for any other count, 0 included."""
    return Tally(count, singular if count == 1 else plural or singular + "s")


def bytes_text(count: int) -> str:
    """Bytes for people: 8.2 MB, 512.0 kB, 96 B (decimal units, as `go test -benchmem` counts B/op)."""
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} B"


def static_note(static_sites: int) -> str:
    """" (3 more escape sites that the compiler serves from static data)" after a count of heap
    allocations, or "" for none: reports count allocations, not escape lines."""
    if not static_sites:
        return ""
    counted = tally(static_sites, "more escape site")
    return f" ({counted.count:,} {counted.noun} that the compiler serves from static data)"


def site_message(kind: str, expr: str, reason: str, *, function: str | None = None) -> str:
    """How every output words a heap site, the one home of that wording.

    "EXPR escapes to heap: REASON" ("EXPR is moved to heap: REASON" for a moved variable), as the
    report's annotations and SARIF say it. With `function`, the form for a line read on its own in a
    terminal: "EXPR escapes to the heap in FUNCTION: REASON", for moved variables too (`check` prints
    it; its users and tests read it that way).
    """
    if function is not None:
        return f"{expr} escapes to the heap in {function}: {reason}"
    verb = "is moved to heap" if kind == EventKind.MOVED.value else "escapes to heap"
    return f"{expr} {verb}: {reason}"
