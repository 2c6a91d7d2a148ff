"""The value is passed to a callee that lets it escape, or that the compiler cannot see into.

## What it does
Flags allocations whose explanation ends at a call argument ("call parameter"): the callee's parameter
leaks (it stores the argument, returns it to somewhere that escapes, ...), or the callee is unknown at
compile time — an interface method, a function value, assembly — so the compiler must assume the worst.

## Why is this bad?
The allocation is decided by someone else's code; it recurs at every call site of that callee.

## Example
```go
func Save(w io.Writer, r Record) {
	buf := []byte(r.String())
	w.Write(buf) // interface call: buf escapes
}
```

## Use instead
```go
func Save(w *bufio.Writer, r Record) {
	w.WriteString(r.String()) // concrete type: the compiler can see that it does not keep the argument
}
```
Or fix the callee so its parameter does not leak (see the leaking parameters in the report).

## Known problems
Interface and function-value calls are often the right design; the cost is per call.
"""

from __future__ import annotations

from escapelint.analyze.evidence import Evidence
from escapelint.rules.base import Claim, where

ID = "leaking-call"
TITLE = "Passed to a leaking or unknown callee"
FIX = "Call a concrete type the compiler can see into, or change the callee so its parameter does not leak."


def claim(evidence: Evidence) -> Claim | None:
    step = evidence.destination
    if step is not None and step.reason == "call parameter":
        return Claim(f"passed to a callee that lets it escape: {where(step)}", step)
    return None
