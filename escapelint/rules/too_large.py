"""A value too large for the stack is allocated on the heap.

## What it does
Flags variables and allocations the compiler puts on the heap because of their size alone (the
explanation says "too large for stack"): arrays or `make` with a constant size above the compiler's
limits (10 MiB for variables before Go 1.24, 1 MiB for declared variables and 64 KiB for implicit
allocations such as `make([]byte, 128<<10)`).

## Why is this bad?
Usually it is not: large buffers belong on the heap. It matters when the allocation happens on every
call.

## Example
```go
func Checksum(r io.Reader) uint32 {
	var buf [1 << 20]byte // moved to heap: too large for stack
	...
}
```

## Use instead
```go
var bufPool = sync.Pool{New: func() any { return new([1 << 20]byte) }}

func Checksum(r io.Reader) uint32 {
	buf := bufPool.Get().(*[1 << 20]byte)
	defer bufPool.Put(buf)
	...
}
```

## Known problems
The thresholds differ between Go versions, so the same code may be `too-large` under one compiler and
stack-allocated under another.
"""

from __future__ import annotations

from escapelint.analyze.evidence import Evidence
from escapelint.rules.base import Claim, where

ID = "too-large"
TITLE = "Too large for the stack"
FIX = "Allocate it once and reuse it (a field, a sync.Pool) if it happens per call; otherwise leave it."


def claim(evidence: Evidence) -> Claim | None:
    step = evidence.step_with("too large for stack")
    if step is None:
        return None
    return Claim(f"too large for the stack: {where(step)}", step)
