"""A variable whose address is passed as a `uintptr` to a `//go:uintptrescapes` function.

## What it does
Flags variables moved to the heap because their address is converted to `uintptr` in a call to a
function marked `//go:uintptrescapes` (the explanation says "//go:uintptrescapes"): the callee may
use the integer as a pointer after the call, so the compiler keeps the memory alive on the heap.

## Why is this bad?
It is the price of the annotation, usually on system-call wrappers; each call allocates.

## Example
```go
//go:uintptrescapes
func ioctl(fd int, req uint, arg uintptr) error

func Get(fd int) (v Value, err error) {
	err = ioctl(fd, GET, uintptr(unsafe.Pointer(&v))) // v is moved to heap
	return
}
```

## Use instead
Reuse a heap buffer across calls, or use an API that takes an `unsafe.Pointer` and is marked
`//go:noescape` when the callee does not keep the pointer.

## Known problems
Only the compiler's annotation is seen; whether the callee really keeps the pointer is not.
"""

from __future__ import annotations

from escapelint.analyze.evidence import Evidence
from escapelint.rules.base import Claim, where

ID = "uintptr-escape"
TITLE = "Address passed as uintptr to a uintptrescapes call"
FIX = "Reuse one heap buffer across calls, or use an unsafe.Pointer API marked //go:noescape where that is true."

REASON = "//go:uintptrescapes"


def claim(evidence: Evidence) -> Claim | None:
    step = evidence.step_with(REASON)
    if step is None:
        return None
    return Claim(f"its address is passed as a uintptr to a //go:uintptrescapes call: {where(step)}", step)
