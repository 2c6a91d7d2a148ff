"""A heap allocation escapelint does not sort into a category, and why.

## What it does
Marks `escape` and `moved` events whose evidence is missing or does not fit any rule. The reason says
which: output of plain `-m` (no explanation; build with `-gcflags=-m=2`), a summary line the compiler
printed without an explanation, an assignment whose target
needs the package source to tell a global from a pointer when the source was not found, or an
explanation ending at a step no rule covers.

## Why is this bad?
Nothing is wrong with the code on this account; escapelint declines to guess.

## Example
```go
// go build -gcflags=-m ./...   (one -m: summaries only)
x escapes to heap
```

## Use instead
Build with `-gcflags=-m=2` and give escapelint access to the source (`--source-root`).

## Known problems
Rare chains (e.g. values kept alive by an enclosing function's variable) stay here until a rule
covers them.
"""

from __future__ import annotations

from escapelint.analyze.evidence import Evidence, ExprForm, RootKind
from escapelint.rules.base import where

ID = "unclassified"
TITLE = "Unclassified"
FIX = "Rebuild with -gcflags=-m=2 and make the package source available; see the reason."


def why(evidence: Evidence) -> str:
    """The reason no rule claimed the event, naming the missing or unmatched evidence."""
    if evidence.explanation is None:
        if not evidence.explained_input:
            return "no explanation in the input (plain -m output); rebuild with -gcflags=-m=2"
        return "the compiler printed a summary line but no explanation for this site"
    step, assignment = evidence.destination, evidence.assignment
    if assignment is not None and evidence.root_kind is RootKind.HEAP:
        return (
            f"assigned to `{assignment.target}` ({where(step)}): the package source, needed to tell a "
            f"package-level variable from memory behind a pointer, was not found"
        )
    if evidence.form is ExprForm.SELECTOR:
        return (
            f"`{evidence.event.expr}` is either a method value (a closure) or a boxed field, and the "
            "package source does not declare which"
        )
    if evidence.root_kind not in (None, RootKind.HEAP):
        return (
            f"it is stored in `{evidence.root}`, which outlives it without being a result of its function: "
            "a variable declared outside the loop that allocates it, or one of an enclosing function"
        )
    if step is not None:
        return f"its explanation ends at {where(step)}, which no rule covers"
    return "its explanation names no step that decides where it goes"
