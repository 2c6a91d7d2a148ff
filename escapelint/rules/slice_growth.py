"""The backing array that `append` allocates when it grows a slice escapes.

## What it does
Flags `append(...)` sites whose newly allocated backing array escapes. Go 1.25 and later report them
("append escapes to heap"); older compilers print nothing for append growth, so on their output this
category is empty — the report says so rather than showing none.

## Why is this bad?
Growing a slice one element at a time reallocates and copies its backing array about log2(n) times;
when the result escapes, every one of those arrays is a heap allocation.

## Example
```go
func Squares(n int) []int {
	var s []int
	for i := 0; i < n; i++ {
		s = append(s, i*i) // grows, and the result is returned
	}
	return s
}
```

## Use instead
```go
func Squares(n int) []int {
	s := make([]int, 0, n) // one allocation of the right size
	for i := 0; i < n; i++ {
		s = append(s, i*i)
	}
	return s
}
```
For buffers reused across calls, a `sync.Pool` avoids the allocation entirely, at the price of
resetting and returning them correctly.

## Known problems
Only Go 1.25+ reports append sites. Preallocating needs a good size estimate; overestimating wastes
memory.
"""

from __future__ import annotations

from escapelint.analyze.evidence import Evidence, ExprForm
from escapelint.rules.base import Claim

ID = "slice-growth"
TITLE = "Slice grown by append escapes"
FIX = "Preallocate with `make([]T, 0, n)` when the size is known or bounded; reuse buffers (sync.Pool) across calls."


def claim(evidence: Evidence) -> Claim | None:
    if evidence.form is ExprForm.APPEND:
        return Claim("the backing array `append` allocates when it grows the slice escapes", evidence.destination)
    return None
