"""The value is stored through a pointer, or into a map or slice element, where the compiler loses track.

## What it does
Flags allocations whose explanation ends in a store the compiler cannot follow: through a pointer
(`*pp = &x`, `p.field = &x` with `p` a pointer), into the element of a slice or map that is not a
local array (`s[i] = &x`, `m[k] = &x`, a map literal's keys and values), or as a map key. Such memory may be reachable from anywhere,
so the value must be on the heap.

## Why is this bad?
The callee or container decides the value's lifetime, so every store allocates. It is common and
often necessary, but in hot loops it is worth a look.

## Example
```go
func Fill(out **Config) {
	c := Config{}
	*out = &c // c is moved to heap
}
```

## Use instead
```go
func Fill(out *Config) {
	*out = Config{} // write the value into the caller's memory
}
```

## Known problems
A store into a *global* container is reported as `global-assignment` instead, when the package source
shows the name is package-level.
"""

from __future__ import annotations

from escapelint.analyze.evidence import Evidence, RootKind, TargetForm
from escapelint.rules.base import Claim, where

ID = "indirect-store"
TITLE = "Stored through a pointer or into a container"
FIX = "Store the value itself rather than a pointer to it (copy into the pointed-to memory), or keep the container local."


def claim(evidence: Evidence) -> Claim | None:
    step = evidence.destination
    if evidence.root_kind is not RootKind.HEAP or step is None:
        return None
    if step.reason == "key of map put":
        return Claim(f"used as a map key: {where(step)}", step)
    if step.reason in ("map literal key", "map literal value"):
        return Claim(f"stored in a map: {where(step)}", step)
    appended = evidence.appended_to
    if appended is not None:
        names = evidence.globals_at(step.at.file)
        if appended.form is TargetForm.NAMED and (names is None or appended.base in names):
            return None  # a package-level slice (global-assignment), or the source cannot tell
        return Claim(
            f"appended to `{appended.target}`: every value `append` stores goes to the heap, "
            f"as the slice's new backing array may: {where(step)}",
            step,
        )
    assignment = evidence.assignment
    if assignment is None:
        return None
    if assignment.form is not TargetForm.NAMED:
        return Claim(f"stored through pointer `{assignment.target}`: {where(step)}", step)
    # Anything else needs the source to rule out a package-level variable.
    names = evidence.globals_at(step.at.file)
    if names is None or assignment.base in names:
        return None
    return Claim(f"stored into `{assignment.target}`, memory reached through `{assignment.base}`: {where(step)}", step)
