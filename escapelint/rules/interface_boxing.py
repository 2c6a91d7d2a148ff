"""A non-pointer value is copied into a heap-allocated interface box.

## What it does
Flags the heap object the compiler allocates to hold a copy of a non-pointer value converted to an
interface: `fmt.Println(v)`, `var i any = v` that escapes, `panic(s)`, returning a struct as `error`.
escapelint recognises the box by what the compiler prints: an expression that cannot allocate by
itself (a name, a call result, a constant, a struct or array literal) that nonetheless "escapes to
heap" is the conversion to an interface. The bytes of a string or slice stored in such a box ("…
(interface-converted)") are counted here too.

## Why is this bad?
Every conversion allocates (except for small integers, single bytes, zero values and constants the
compiler can place statically), and logging or formatting calls in hot paths convert every argument.

## Example
```go
func Log(n int) {
	fmt.Println("n =", n) // n is boxed into an interface
}
```

## Use instead
```go
func Log(n int) {
	os.Stdout.WriteString("n = " + strconv.Itoa(n) + "\\n") // typed API, no interface
}
```
Or keep boxing out of hot paths: use typed functions, generics, or pass a pointer where the callee
only reads.

## Known problems
Many such sites allocate nothing: the compiler serves constants (`fmt.Println(7)`, `log.Printf("started")`),
zero-sized values, bools and one-byte values, and on Go 1.25+ composite literals of constants, from
static data. escapelint marks those `allocates: false` with the reason, counts them apart from the
allocations and does not fail `check` or `diff` on them (docs/json-report.md).
A pointer converted to an interface does not allocate by conversion; those sites are decided by where
the pointer goes. An `a.b` selector may also be a method value; it is boxing only when the source
says `b` is a field: of the struct type of `a` when `a` is a parameter or receiver (a type of this
package or of one it imports), else when the package declares a field `b` and no method `b`.
"""

from __future__ import annotations

from escapelint.analyze.evidence import Evidence, ExprForm
from escapelint.rules.base import Claim

ID = "interface-boxing"
TITLE = "Value boxed into an interface"
FIX = (
    "Use a typed API instead of `any`/`interface{}` in hot paths (strconv, typed writers, generics), "
    "or convert once outside the loop; the cost is one allocation per conversion."
)

_ALLOCATING_FORMS = frozenset(
    {
        ExprForm.FUNC_LITERAL,
        ExprForm.APPEND,
        ExprForm.MAKE,
        ExprForm.NEW,
        ExprForm.ADDRESS_OF_LITERAL,
        ExprForm.SLICE_LITERAL,
        ExprForm.MAP_LITERAL,
        ExprForm.VARIADIC,
        ExprForm.VARIABLE,
    }
)


def claim(evidence: Evidence) -> Claim | None:
    expr = evidence.event.expr
    if evidence.form in _ALLOCATING_FORMS:
        return None
    # The bytes of a value stored into its own interface box: "{storage for X} ← &{storage for X}"
    # with an "(interface-converted)" step.
    if evidence.holder == expr:
        step = evidence.step_with("interface-converted")
        if step is not None:
            return Claim(f"the data of `{expr}` is stored in its interface box, which escapes", step)
    if evidence.boxed_here:
        return Claim(f"`{expr}` is converted to an interface, and the box escapes")
    if evidence.form is ExprForm.VALUE:
        return Claim(f"`{expr}` cannot allocate by itself: the heap object is its interface box")
    if evidence.selector_kind == "field":
        return Claim(f"`{expr}` is a field value: the heap object is its interface box")
    return None
