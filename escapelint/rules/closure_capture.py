"""Closure escapes, or a variable is moved to the heap because an escaping closure captured it.

## What it does
Flags a func literal (or method value, which is a closure over its receiver) that the compiler must
allocate on the heap because it outlives its function: it is returned, stored in a variable or field
that outlives the call, or started with `go`. Also flags each variable captured *by reference* by such
a closure: the compiler moves it to the heap so that the closure and the function share it (the
explanation shows a "captured by a closure" step).

## Why is this bad?
Each escaping closure is one heap allocation per evaluation of the func literal, plus one per
variable it captures by reference. In a loop or a hot path these add up, and the captured variables
are no longer in registers.

## Example
```go
func Counter() func() int {
	n := 0
	return func() int { n++; return n } // the closure and n escape
}
```

## Use instead
```go
type Counter struct{ n int }

func (c *Counter) Next() int { c.n++; return c.n } // state in a value the caller owns
```
Or pass the state as a parameter instead of capturing it, so the func literal does not escape.

## Known problems
A func literal that captures no variable is a static function value, not a heap closure, however it
escapes: escapelint marks it `allocates: false` when the compiler's `capturing by` lines show no
capture in it.
A method value (`t.Value`) prints like a field selector; escapelint calls it a closure only when the
package source declares a method of that name and no field of it. `go` statements always make their
closure escape; that is often the right trade-off.
"""

from __future__ import annotations

from escapelint.analyze.evidence import Evidence, ExprForm
from escapelint.rules.base import Claim, where

ID = "closure-capture"
TITLE = "Closure escapes or captures by reference"
FIX = (
    "Keep the func literal from escaping (call it in place, pass state as a parameter) or move the "
    "state into a struct the caller owns; a goroutine's closure is usually worth its allocation."
)


def claim(evidence: Evidence) -> Claim | None:
    if evidence.form is ExprForm.FUNC_LITERAL:
        return Claim("the func literal outlives its function, so the closure is allocated on the heap")
    if evidence.form is ExprForm.VARIABLE:
        step = evidence.step_with("captured by a closure")
        if step is None:
            return None
        return Claim(f"`{evidence.event.expr}` is captured by reference by a closure that escapes: {where(step)}", step)
    if evidence.selector_kind == "method":
        return Claim(f"`{evidence.event.expr}` is a method value: a closure over its receiver that escapes")
    return None
