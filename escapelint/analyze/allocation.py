"""Does a heap site really allocate? What the compiler does after escape analysis says "escapes".

"X escapes to heap" is escape analysis's decision; the walk phase that follows it avoids the run-time
allocation of many interface conversions it has just reported (cmd/compile/internal/walk/convert.go,
`dataWord`, and walk/order.go, `addrTemp`, in each toolchain's GOROOT):

* a constant (`7`, `"text"`, `level(3)`, `time.Duration(1000000000)`) is stored in read-only static
  data (a `.stmp_N` temporary) and the interface points at it: order.go sends every OLITERAL through
  `addrTemp`, which makes it a `readonlystaticname` (Go 1.19–1.27; from Go 1.24 not in the FIPS 140
  packages, `crypto/internal/fips140/...`, where only the cases below still apply);
* a zero-sized value (`struct{}{}`, `[0]int{}`, a variable of an empty struct type) points at
  `runtime.zerobase`;
* a bool or a one-byte integer (and a struct or array whose sole component is one: `[1]byte{b}`)
  points into `runtime.staticuint64s`;
* a read-only global (the compiler's own `.stmp_N`) is used in place;
* Go 1.25+ only (order.go `addrTemp`'s composite-literal cases, new in 1.25): a composite literal of
  constants becomes read-only static data too, and a zero-valued one of at most 1 KiB points at
  `runtime.zeroVal`.

Every one of those was checked against the assembly (`go build -gcflags=-S`) of
fixtures/modules/conversions on Go 1.19 and 1.21–1.27 (fixtures/recorded/go*/conversions.truth.json,
tests/test_allocation.py). Besides, a func literal that captures no variable is a static function
value (walk/closure.go `walkClosure`: "closure converted to global"), not a heap closure.

The evidence, strongest first: the compiler's own `convert: using global for … interface value: X`
lines (`-d=escapedebug=1`, Go 1.25+; a variable's line carries its declaration's position, so it is
matched to the sites of that name in that function), then the printed expression, then the package
source (declared types of parameters, variables and named types). Where none of them proves that the
compiler avoids the allocation, the site `allocates` (it may: `convT64` of a small value still calls
the allocator's entry point). A composite literal of constants without the compiler's line is left
allocating: whether it is static depends on the Go version, which the output does not always say.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from escapelint.analyze.source import LazySource
from escapelint.events import EscapeEvent, EventKind, PackageOutput, Position, Remark


@dataclass(frozen=True, slots=True)
class Allocation:
    """Whether a heap event's site calls the allocator, and when it does not, why (which static path)."""

    allocates: bool
    reason: str | None = None  # None when it allocates

    @staticmethod
    def static(reason: str) -> Allocation:
        return Allocation(False, reason)


ALLOCATES = Allocation(True)

#: What each `convert:` line's static path is (walk/convert.go dataWord's cases).
_STATIC_PATHS = {
    "read-only global": "read-only static data",
    "zero-sized": "runtime.zerobase (zero-sized value)",
    "single-byte": "runtime.staticuint64s (bool or one-byte value)",
    "zero value": "runtime.zeroVal (zero value)",
}

# --- the printed expression ---------------------------------------------------------------------

_NUMBER = r"(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO]?[0-7_]+|\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)i?"
_STRING = r'"(?:[^"\\]|\\.)*"|`[^`]*`'
_RUNE = r"'(?:[^'\\]|\\.[^']*)'"
#: The tokens of a constant expression as the compiler prints it: literals, operators, brackets,
#: names (with a package qualifier). Anything else (`[`, `{`, `.` after a bracket) ends the search.
_CONSTANT_TOKEN = re.compile(
    rf"\s*(?:(?P<literal>{_STRING}|{_RUNE}|{_NUMBER})|(?P<name>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)(?P<call>\()?"
    r"|(?P<operator>&\^|<<|>>|[-+*/%&|^~!]|\(|\)))"
)
#: Types whose conversion of a constant is a constant, when the source cannot be asked: Go's own,
#: and the standard library's most used named types (the compiler prints `time.Duration(1000000000)`
#: for `time.Second` up to Go 1.21). A qualified name is otherwise unknown: `strconv.Itoa(5)` is a call.
_BUILTIN_TYPES = frozenset(
    "bool byte rune string int int8 int16 int32 int64 uint uint8 uint16 uint32 uint64 uintptr "
    "float32 float64 complex64 complex128".split()
)
_KNOWN_TYPES = frozenset(
    "time.Duration time.Month time.Weekday os.FileMode fs.FileMode reflect.Kind syscall.Errno syscall.Signal".split()
)
_BOOL_CONSTANT = re.compile(r"^(?:[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?\()?(?:true|false)\)?$")
_ZERO_SIZED_LITERAL = re.compile(r"^(?:struct ?\{ ?\}\{\}|\[0\].+\{\})$")
_ONE_BYTE_CONVERSION = re.compile(r"^(?:byte|uint8|int8|bool)\(.+\)$")
_ONE_BYTE_ARRAY = re.compile(r"^\[1\](?:byte|uint8|int8|bool)\{.*\}$")
_COMPARISON_OPERATORS = (" == ", " != ", " <= ", " >= ", " < ", " > ", " && ", " || ")
_IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")
_NAMED_LITERAL = re.compile(r"^([A-Za-z_]\w*)\{(.*)\}$")


def is_constant_expression(expr: str, type_names: frozenset[str] = frozenset(), constants: frozenset[str] = frozenset()) -> bool:
    """Whether `expr` is a constant: literals, operators, constants and conversions to types only."""
    position = 0
    literals = 0
    while position < len(expr):
        token = _CONSTANT_TOKEN.match(expr, position)
        if token is None or token.end() == position:
            return False
        position = token.end()
        name = token["name"]
        if token["literal"] is not None:
            literals += 1
        elif name is not None:
            if token["call"] is not None:
                if name not in _BUILTIN_TYPES and name not in _KNOWN_TYPES and name not in type_names:
                    return False
            elif name in ("true", "false", "iota") or name in constants:
                literals += 1
            else:
                return False
    return literals > 0
_FIPS_PREFIX = "crypto/internal/fips140"


def _is_fips(package: str | None) -> bool:
    """Whether order.go's addrTemp leaves constants out of static data here (obj.Link.IsFIPS, Go 1.24+)."""
    if package is None or package.endswith("_test"):
        return False
    return package == _FIPS_PREFIX or package.startswith(_FIPS_PREFIX + "/")


def _top_level(expr: str) -> str:
    """`expr` with everything inside brackets and string or rune literals blanked out."""
    out = []
    depth = 0
    quote = None
    escaped = False
    for char in expr:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote != "`":
                escaped = True
            elif char == quote:
                quote = None
            out.append("_")
            continue
        if char in "\"`'":
            quote = char
            out.append("_")
        elif char in "([{":
            depth += 1
            out.append("_" if depth > 1 else char)
        elif char in ")]}":
            depth -= 1
            out.append("_" if depth > 0 else char)
        else:
            out.append(char if depth == 0 else "_")
    return "".join(out)


def _is_boolean_expression(expr: str) -> bool:
    """A comparison, `&&`, `||` or `!x` at the top level: a bool, whatever its operands."""
    if expr.startswith("!") and not expr.startswith("!="):
        return True
    top = _top_level(expr)
    return any(operator in top for operator in _COMPARISON_OPERATORS)


def from_expression(
    expr: str, package: str | None, type_names: frozenset[str] = frozenset(), constants: frozenset[str] = frozenset()
) -> Allocation | None:
    """What the printed expression proves (every Go version 1.19–1.27), or None.

    `type_names` and `constants` are the package's own, from its source: Go 1.22+ prints a named
    constant by its name (`greeting`, `typedLevel`), older versions by its value.
    """
    if is_constant_expression(expr, type_names, constants):
        if _BOOL_CONSTANT.match(expr):
            return Allocation.static(f"`{expr}` is a constant bool: the interface points into runtime.staticuint64s")
        if not _is_fips(package):
            return Allocation.static(f"`{expr}` is a constant: the compiler stores it in read-only static data")
        return None
    if _ZERO_SIZED_LITERAL.match(expr):
        return Allocation.static(f"`{expr}` is zero-sized: the interface points at runtime.zerobase")
    if _is_boolean_expression(expr):
        return Allocation.static(f"`{expr}` is a bool: the interface points into runtime.staticuint64s")
    if _ONE_BYTE_CONVERSION.match(expr) or _ONE_BYTE_ARRAY.match(expr):
        return Allocation.static(f"`{expr}` is a one-byte value: the interface points into runtime.staticuint64s")
    return None


# --- the package source -----------------------------------------------------------------------

_ONE_BYTE_TYPES = frozenset({"bool", "byte", "uint8", "int8"})
_EMPTY_STRUCT = re.compile(r"^struct ?\{\s*\}$")
_ZERO_ARRAY = re.compile(r"^\[0\]\S+$")
_ONE_BYTE_ARRAY_TYPE = re.compile(r"^\[1\](\w+)$")
_ONE_FIELD_STRUCT = re.compile(r"^struct ?\{\s*(?:\w+\s+)?(\w+)\s*\}$")


@dataclass(frozen=True, slots=True)
class _TypeShape:
    """What dataWord asks of a type: zero-sized, or a bool / one-byte integer (its sole component)."""

    zero_sized: bool
    one_byte: bool


def type_shape(type_text: str, named_types: dict[str, str], depth: int = 0) -> _TypeShape | None:
    """The shape of a Go type written in the source, following the package's named types; None if other."""
    text = type_text.strip()
    if depth > 8:
        return None
    if text in _ONE_BYTE_TYPES:
        return _TypeShape(False, True)
    if _EMPTY_STRUCT.match(text) or _ZERO_ARRAY.match(text):
        return _TypeShape(True, False)
    sole = _ONE_BYTE_ARRAY_TYPE.match(text) or _ONE_FIELD_STRUCT.match(text)
    if sole:
        inner = type_shape(sole.group(1), named_types, depth + 1)
        return inner if inner is not None and inner.one_byte else None
    if text in named_types:
        return type_shape(named_types[text], named_types, depth + 1)
    return None


def _shape_reason(expr: str, shape: _TypeShape, evidence: str) -> Allocation:
    if shape.zero_sized:
        return Allocation.static(f"`{expr}` is zero-sized ({evidence}): the interface points at runtime.zerobase")
    return Allocation.static(
        f"`{expr}` is a bool or one-byte value ({evidence}): the interface points into runtime.staticuint64s"
    )


# --- the compiler's own convert: lines --------------------------------------------------------


class _ConvertLines:
    """The package's `convert: using global for …` remarks, by site position and by declared variable."""

    def __init__(self, remarks: tuple[Remark, ...]) -> None:
        self.at: dict[Position, Remark] = {}
        self.variables: list[tuple[Remark, str]] = []  # (remark, variable name), by declaration
        for remark in remarks:
            if remark.kind != "interface_conversion" or remark.detail == "stack temporary":
                continue
            if remark.position is None or remark.subject is None:
                continue  # "(T)(runtime.zeroVal@0)" without a position: no site to give it to
            if _IDENTIFIER.match(remark.subject):
                self.variables.append((remark, remark.subject))
            else:
                self.at.setdefault(remark.position, remark)

    def __bool__(self) -> bool:
        return bool(self.at or self.variables)


def _convert_reason(expr: str, remark: Remark, what: str) -> Allocation:
    path = _STATIC_PATHS.get(remark.detail or "", "static data")
    return Allocation.static(
        f"the compiler serves `{expr}` from {path}: \"convert: using global for "
        f"{'' if remark.detail == 'read-only global' else remark.detail + ' '}interface value: {remark.subject}\""
        f" at {remark.position}{what}"
    )


# --- closures -----------------------------------------------------------------------------------

_NESTED_CLOSURE = re.compile(r"\.func\d+(?:\.\d+|\.func\d+)")
_CLOSURE_NAME = re.compile(r"\.func\d+$")


class _Captures:
    """Which func literals of a package capture variables, from its -m=2 lines.

    escape.go prints "F capturing by value|ref: x (...)" once per variable a closure of F captures
    (with -m=2), and a "(captured by a closure)" step where a closure's body uses a captured variable
    that flows on. A step lies inside the literal that starts last before it (literals of a function
    do not overlap unless nested, and then escapelint decides nothing for that function). A literal
    captures nothing when the steps in its function's literals account for every "capturing by" line
    of the function and none of them is in it.
    """

    def __init__(
        self,
        output: PackageOutput,
        declared: Callable[[str | None], str | None],
        locate_position: Callable[[Position], str | None],
    ) -> None:
        self.known = bool(output.unclaimed) or any(e.explanations for e in output.events)
        self.lines: dict[str | None, int] = {}
        for remark in output.remarks:
            if remark.kind == "capture":
                name = declared(remark.function)
                self.lines[name] = self.lines.get(name, 0) + 1
        # Every literal's start, by file, with its function: escaping, not escaping, or only declared.
        starts: dict[str, dict[tuple[int, int], str | None]] = {}
        self.nested: set[str | None] = set()
        # The package's own files: those in the directory most of its declarations are in (the inliner's
        # lines sit at each declaration). A literal elsewhere is inlined from, or instantiated for, another
        # package (slices.All's closure in net/http), whose capture lines are printed with that package.
        directories: Counter = Counter()
        for remark in output.remarks:
            if remark.kind in ("can_inline", "cannot_inline") and remark.function and remark.position is not None:
                directories[remark.position.file.rpartition("/")[0]] += 1
        self.home = directories.most_common(1)[0][0] if directories else None
        for remark in output.remarks:
            if remark.kind in ("can_inline", "cannot_inline") and remark.function and remark.position is not None:
                if _NESTED_CLOSURE.search(remark.function):
                    self.nested.add(declared(remark.function))
                if _CLOSURE_NAME.search(remark.function) or _NESTED_CLOSURE.search(remark.function):
                    at = remark.position
                    starts.setdefault(at.file, {})[(at.line, at.column or 0)] = declared(remark.function)
        for event in output.events:
            if event.expr == "func literal":
                at = event.position
                starts.setdefault(at.file, {}).setdefault((at.line, at.column or 0), declared(locate_position(at)))
        self.starts = {file: sorted(found.items()) for file, found in starts.items()}
        # (file, literal start) -> the captured variables whose steps lie in it
        self.used: dict[tuple[str, tuple[int, int]], set[str]] = {}
        explanations = [e for event in output.events for e in event.explanations] + list(output.unclaimed)
        # Each distinct flow once: the reader shares a flow between the explanations that print it
        # (go/types prints 904,000 flows, 62,000 distinct), and what it adds to `used` is the same.
        seen: set[int] = set()
        for explanation in explanations:
            for flow in explanation.flows:
                if id(flow) in seen:
                    continue
                seen.add(id(flow))
                for step in flow.steps:
                    if step.reason == "captured by a closure":
                        literal = self._literal_at(step.at.file, (step.at.line, step.at.column or 0))
                        if literal is not None:
                            self.used.setdefault((step.at.file, literal), set()).add(step.expr)

    def _literal_at(self, file: str, at: tuple[int, int]) -> tuple[int, int] | None:
        starts = self.starts.get(file, [])
        index = bisect.bisect_right(starts, (at, "\uffff")) - 1
        return starts[index][0] if index >= 0 else None

    def captures_nothing(self, event: EscapeEvent, function: str | None) -> str | None:
        """Why the literal of `event` captures nothing, or None when it may capture."""
        if not self.known or function in self.nested or event.position.file.rpartition("/")[0] != self.home:
            return None
        count = self.lines.get(function, 0)
        if count == 0:
            return "no \"capturing by\" line for its function"
        file = event.position.file
        mine = (file, (event.position.line, event.position.column or 0))
        if self.used.get(mine):
            return None
        accounted = sum(
            len(names) for (f, start), names in self.used.items()
            if f == file and self._function_of(file, start) == function
        )  # fmt: skip
        if accounted < count:
            return None  # a capture shows no step: it may be this literal's
        return "every \"captured by a closure\" step of its function lies in another literal"

    def _function_of(self, file: str, start: tuple[int, int]) -> str | None:
        for at, function in self.starts.get(file, []):
            if at == start:
                return function
        return None


# --- the package -------------------------------------------------------------------------------


class PackageAllocations:
    """`allocation(index)` for each heap event of one package: whether it calls the allocator."""

    def __init__(
        self,
        output: PackageOutput,
        located: list[str | None],
        sources: LazySource,
        declared: Callable[[str | None], str | None],
        locate_position: Callable[[Position], str | None],
    ) -> None:
        self.output = output
        self.located = located
        self.sources = sources
        self.declared = declared
        self.convert = _ConvertLines(output.remarks)
        self._by_variable: dict[int, Remark] | None = None
        self._locate_position = locate_position
        self._captures: _Captures | None = None  # made for the first func literal
        self._instantiations: set[tuple[Position, str]] | None = None

    def allocation(self, index: int) -> Allocation:
        event = self.output.events[index]
        if event.kind is EventKind.MOVED:
            return ALLOCATES  # a variable's own heap cell: runtime.newobject at its declaration
        if event.kind is not EventKind.ESCAPE or event.expr == "append":
            return ALLOCATES
        if event.expr == "func literal":
            return self._closure(index, event)
        if not _may_be_a_box(event.expr):
            return ALLOCATES
        remark = self.convert.at.get(event.position)
        if remark is not None and not self._instantiated(event):
            return _convert_reason(event.expr, remark, "")
        remark = self._variable_lines().get(index)
        if remark is not None and not self._instantiated(event):
            return _convert_reason(event.expr, remark, f", the declaration of `{remark.subject}`")
        by_expression = from_expression(event.expr, self.output.path)
        if by_expression is not None:
            return by_expression
        return self._from_source(index, event) or ALLOCATES

    def _instantiated(self, event: EscapeEvent) -> bool:
        """Whether the site is in a generic function compiled for several type arguments.

        Each instantiation reports the site (`rangeNum[go.shape.int8,…]`, `rangeNum[go.shape.int64,…]`),
        but only those whose type is static print a convert: line, at the same position: the line
        cannot say which instantiation it is for, so none of them takes it.
        """
        if self._instantiations is None:
            functions: dict[tuple[Position, str], set[str | None]] = {}
            for other, function in zip(self.output.events, self.located):
                if other.kind is EventKind.ESCAPE:
                    functions.setdefault((other.position, other.expr), set()).add(function)
            self._instantiations = {site for site, names in functions.items() if len(names) > 1}
        return (event.position, event.expr) in self._instantiations

    def _variable_lines(self) -> dict[int, Remark]:
        """Events matched to a variable's convert: line: same name, same function, after the declaration."""
        if self._by_variable is None:
            self._by_variable = {}
            for remark, name in self.convert.variables:
                function = self.declared(self._locate_position(remark.position))
                for index, event in enumerate(self.output.events):
                    if (
                        event.kind is EventKind.ESCAPE
                        and event.expr == name
                        and event.position.file == remark.position.file
                        and (event.position.line, event.position.column or 0)
                        >= (remark.position.line, remark.position.column or 0)
                        and self.declared(self.located[index]) == function
                    ):
                        self._by_variable.setdefault(index, remark)
        return self._by_variable

    def _from_source(self, index: int, event: EscapeEvent) -> Allocation | None:
        source = self.sources.get()
        at = event.position
        if source is None or not source.covers(at.file):
            return None
        named_types = source.type_declarations_of(at.file)
        span = source.function_at(at.file, at.line)
        locals_ = {} if span is None else {**source.parameter_types(span), **source.local_var_types(span)}
        # A package constant, unless a parameter or variable of the function shadows it.
        constants = source.constants_of(at.file)
        if locals_ and not constants.isdisjoint(locals_):
            constants = constants - locals_.keys()
        by_source = from_expression(event.expr, self.output.path, frozenset(named_types), constants)
        if by_source is not None:
            return by_source
        if _IDENTIFIER.match(event.expr):
            declared_type = None
            evidence = ""
            if span is not None:
                declared_type = source.parameter_types(span).get(event.expr)
                evidence = "a parameter"
                if declared_type is None:
                    declared_type = source.local_var_types(span).get(event.expr)
                    evidence = "a variable"
            if declared_type is None and event.expr in source.globals_of(at.file):
                declared_type = source.global_var_types(at.file).get(event.expr)
                evidence = "a package-level variable"
            if declared_type is None:
                return None
            shape = type_shape(declared_type, named_types)
            if shape is None:
                return None
            return _shape_reason(event.expr, shape, f"{evidence} of type {declared_type}")
        literal = _NAMED_LITERAL.match(event.expr)
        if literal and literal.group(1) in named_types:
            shape = type_shape(literal.group(1), named_types)
            if shape is not None:
                return _shape_reason(event.expr, shape, f"type {literal.group(1)} {named_types[literal.group(1)]}")
        return None

    def _closure(self, index: int, event: EscapeEvent) -> Allocation:
        """A func literal allocates its closure only when it captures variables (walk/closure.go)."""
        if self._captures is None:
            self._captures = _Captures(self.output, self.declared, self._locate_position)
        # The function declared around the literal, not the one it is inlined into (Go 1.25+ names that
        # one in the explanation): capture lines name the function that declares the closure.
        why = self._captures.captures_nothing(event, self.declared(self._locate_position(event.position)))
        if why is None:
            return ALLOCATES
        return Allocation.static(f"the func literal captures no variable ({why}): a static function value, not a heap closure")


#: Expressions that allocate by themselves, whatever they are converted to.
_ALLOCATING_PREFIXES = ("make(", "new(", "&", "[]", "map[", "... argument")


def _may_be_a_box(expr: str) -> bool:
    """Whether the site may be only an interface box (what dataWord can serve statically)."""
    if expr.startswith(_ALLOCATING_PREFIXES):
        return False
    if expr.startswith(("string(", "[]byte(", "[]rune(")):
        return False
    return " + " not in _top_level(expr) or is_constant_expression(expr)
