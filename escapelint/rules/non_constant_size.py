"""A `make` whose size is only known at run time is allocated on the heap.

## What it does
Flags `make([]T, n)` (and similar) that the compiler puts on the heap because `n` is not a constant
(the explanation says "non-constant size"). The stack frame's size must be known at compile time.

## Why is this bad?
A per-call heap allocation for what is often a small, short-lived scratch buffer.

## Example
```go
func Reverse(s string) string {
	b := make([]byte, len(s)) // non-constant size
	...
}
```

## Use instead
```go
func Reverse(s string) string {
	var scratch [64]byte
	b := scratch[:0] // stack buffer for the common case
	if len(s) > len(scratch) {
		b = make([]byte, 0, len(s))
	}
	...
}
```

## Known problems
Go 1.25 and later can place small variable-size `make`s on the stack, so these sites disappear with
newer compilers.
"""

from __future__ import annotations

from escapelint.analyze.evidence import Evidence
from escapelint.rules.base import Claim, where

ID = "non-constant-size"
TITLE = "Size known only at run time"
FIX = "Use a fixed-size stack buffer for the common small case and make() only for larger inputs, or reuse a buffer."


def claim(evidence: Evidence) -> Claim | None:
    step = evidence.step_with("non-constant size")
    if step is None:
        return None
    return Claim(f"its size is only known at run time: {where(step)}", step)
