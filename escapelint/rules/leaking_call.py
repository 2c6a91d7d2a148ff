"""The value is passed to a callee that lets it escape, or that the compiler cannot see into.

## What it does
Flags allocations whose explanation ends at a call argument ("call parameter"): the callee's parameter
leaks (it stores the argument, returns it to somewhere that escapes, ...), or the callee is unknown at
compile time — an interface method, a function value, assembly — so the compiler must assume the worst.

When the callee is a function whose parameter's leak the same output explains ("parameter p leaks
to {heap} with derefs=0:", in its own package or in a package earlier in the build), escapelint follows
the value into it, through any callees it passes the value on to, and reports where the last one
sends it (a package-level variable, a channel, memory behind a pointer, ...) under that category, with
the callee's chain beside the caller's. What stays here says which callee it is: an interface method
or a function value (no code to follow), a function of a package outside this build's output, the
builtin `panic` (its argument always escapes), or a callee without an explanation.

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

from escapelint.analyze.evidence import CalleeKind, Evidence
from escapelint.rules.base import Claim, where

ID = "leaking-call"
TITLE = "Passed to a leaking or unknown callee"
FIX = "Call a concrete type the compiler can see into, or change the callee so its parameter does not leak."

#: Why a callee could not be followed, by what it is ({callee}: its name as printed).
_WHY = {
    CalleeKind.PANIC: "passed to the builtin `panic`, whose argument always escapes",
    CalleeKind.DYNAMIC: "passed to `{callee}`, an interface method or a function value, whose code the compiler cannot see",
    CalleeKind.OTHER_PACKAGE: "passed to `{callee}`, a function of another package whose leak this input does not explain (a build of its own)",
    CalleeKind.UNEXPLAINED: "passed to `{callee}`, whose parameter's leak the output does not explain",
    CalleeKind.FOLLOWED: "passed to `{callee}`, whose parameter `{parameter}` leaks to no place a rule names",
}


def claim(evidence: Evidence) -> Claim | None:
    step = evidence.destination
    if step is None or step.reason != "call parameter":
        return None
    callee = evidence.callee
    if callee is None:
        return Claim(f"passed to a callee that lets it escape: {where(step)}", step)
    why = _WHY.get(callee.kind)
    if why is None:
        return None  # a builtin a destination rule decides (append)
    # A FOLLOWED callee is followed by the engine (rules.classify); this reason is what is left when
    # the callee's own chain ends at no destination either.
    return Claim(f"{why.format(callee=callee.callee, parameter=callee.parameter)}: {where(step)}", step)
