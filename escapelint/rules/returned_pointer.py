"""The value, or a pointer into it, is returned from its function.

## What it does
Flags allocations whose explanation ends at a result of their function: `return &x`, `return &T{}`,
`return new(T)`, `return a[:]` of a local array, assignment to a named result, a struct result that
holds the pointer, and the allocation of an inlined callee that its caller returns. The compiler names
unnamed results `~r0`, `~r1`, …; a named result is recognised from the function's signature.

## Why is this bad?
A value whose address outlives the call cannot live in the callee's stack frame, so every call
allocates.

## Example
```go
func NewPoint(x, y int) *Point {
	return &Point{x, y} // escapes: returned
}
```

## Use instead
```go
func MakePoint(x, y int) Point {
	return Point{x, y} // returned by value: no allocation
}

// or let the caller provide the memory
func (p *Point) Set(x, y int) { p.X, p.Y = x, y }
```

## Known problems
Returning by value copies; for large structs or values that must be shared, the pointer is right. If
the function is inlined into a caller that does not let the value escape, the allocation disappears
there: check the inlined copies.
"""

from __future__ import annotations

from escapelint.analyze.evidence import Evidence, RootKind
from escapelint.rules.base import Claim

ID = "returned-pointer"
TITLE = "Returned from its function"
FIX = "Return by value, or let the caller pass in the memory to fill; keep it when the value must be shared."


def claim(evidence: Evidence) -> Claim | None:
    root = evidence.root
    if root is None:
        return None
    if evidence.root_kind is RootKind.RESULT:
        return Claim(f"it reaches result `{root}` of its function", evidence.destination)
    span = evidence.function_span  # None without the source
    if span is not None and root in span.results:
        return Claim(f"it reaches the named result `{root}` of {span.name}", evidence.destination)
    return None
