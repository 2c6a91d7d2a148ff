"""The value is stored in another allocation that escapes, so it escapes with it.

## What it does
Flags allocations whose explanation ends at another heap object rather than at the heap itself, a
result or a global: the compiler stops the chain at `{storage for X}` when `X` already escapes. Typical
cases are the message string of an error (`errors.New("bad " + name)`), a value captured by value by a
closure that escapes, the elements of a slice literal that escapes, a map made for a struct that
escapes, or a value assigned to a variable the same function moves to the heap. The holder is reported as its own site, with its own category.

## Why is this bad?
The holder's escape costs this allocation too; fixing the holder often removes both.

## Example
```go
func parse(s string) error {
	return &ParseError{Input: "bad: " + s} // the concatenation is held by the &ParseError{}
}
```

## Use instead
Look at the holder's finding first. If the holder must escape, the held value usually must too; for
errors on cold paths that is fine.

## Known problems
The holder is named by its expression, not its position; the report links sites by position where it
can.
"""

from __future__ import annotations

from escapelint.analyze.evidence import Evidence
from escapelint.rules.base import Claim

ID = "held-by-heap-object"
TITLE = "Held by another allocation that escapes"
FIX = "Look at the holding allocation first: if it stops escaping, this one usually does too."


def claim(evidence: Evidence) -> Claim | None:
    root = evidence.root
    if root is not None and root in evidence.heap_variables:
        return Claim(f"stored in `{root}`, a variable that is itself moved to the heap", evidence.destination)
    holder = evidence.holder
    if holder is None or holder == evidence.event.expr:
        return None  # no holder, or its own interface box: interface-boxing
    return Claim(f"stored in `{holder}`, which escapes", evidence.destination)
