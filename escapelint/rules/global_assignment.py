"""The value is stored, directly or through a chain, into a package-level variable.

## What it does
Flags allocations whose explanation ends in an assignment to a package-level variable, a field of
one, or an element of a global map or slice (`sinkMap[k] = &T{}`), including the static data the
compiler lays out for a package-level composite literal (`var table = []*T{new(T)}`: the explanation
stores `new(T)` into `(*T)(pkg..stmp_0@0)`, the slice's static backing array). The compiler only says the
assignment goes "to the heap"; escapelint reads the package source to confirm that the assigned
name is declared at package level.

## Why is this bad?
Anything reachable from a global lives until it is overwritten, so it must be on the heap; and a
global written from many call sites is shared mutable state.

## Example
```go
var last *Request

func Handle(r Request) {
	last = &r // r is moved to heap
}
```

## Use instead
```go
type Handler struct{ last Request }

func (h *Handler) Handle(r Request) { h.last = r } // copy into memory the caller owns
```

## Known problems
Package initialisation (`var m = map[string]int{}`) is a one-time allocation and usually fine.
Without the package source escapelint cannot tell a global from memory reached through a pointer, and
leaves the site `unclassified`.
"""

from __future__ import annotations

from escapelint.analyze.evidence import Evidence, RootKind, TargetForm
from escapelint.rules.base import Claim, where

ID = "global-assignment"
TITLE = "Stored in a package-level variable"
FIX = "Keep the state in a value the caller owns (a struct field, a parameter) instead of a global; one-time init is fine."


def claim(evidence: Evidence) -> Claim | None:
    step, assignment = evidence.destination, evidence.assignment
    appended = evidence.appended_to
    if appended is not None and evidence.root_kind is RootKind.HEAP:
        names = evidence.globals_at(step.at.file)
        if names is not None and appended.form is TargetForm.NAMED and appended.base in names:
            return Claim(f"appended to package-level variable `{appended.target}`: {where(step)}", step)
        return None
    if evidence.root_kind is not RootKind.HEAP or assignment is None:
        return None
    if assignment.form is TargetForm.STATIC:
        short = assignment.base[assignment.base.rindex(".stmp_"):]
        return Claim(
            f"stored in `{short}`, static data of a package-level variable's composite literal: {where(step)}", step)
    names = evidence.globals_at(step.at.file)
    if names is None or assignment.form is TargetForm.POINTER or assignment.base not in names:
        return None
    return Claim(f"stored in package-level variable `{assignment.base}`: {where(step)}", step)
