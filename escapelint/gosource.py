"""Facts from a package's Go source that the compiler's output does not state.

Some verdicts hinge on what a name *is*: `sinkMap[k] = &T{}` is a global assignment only if `sinkMap` is
a package-level variable, `p = &v` returns a pointer only if `p` is a named result, `t.Value` is a
method value (a closure) only if `Value` is a method. The compiler's output does not say; the source
does. This module reads just enough Go to answer: top-level declarations, function spans, receivers,
named results and struct fields. It never guesses: when a file cannot be read, callers are told so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_TOKEN = re.compile(
    r"""
    (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|`[^`]*`|'(?:[^'\\\n]|\\.)*')
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<newline>\n)
  | (?P<punct>[{}()\[\],;*.=:])
  | (?P<other>[^\sA-Za-z_{}()\[\],;*.=:"`'/]+|/)
  | (?P<space>[ \t\r\f\v]+)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class FunctionSpan:
    """A top-level function or method declaration: its compiler-style name and its lines."""

    name: str  # "F", "T.M", "(*T).M"
    file: str
    start_line: int  # the line of the `func` keyword
    end_line: int  # the line of its closing brace
    results: frozenset[str]  # named results


@dataclass
class PackageSource:
    """What escapelint knows about one package's source files."""

    files: set[str] = field(default_factory=set)
    unreadable: set[str] = field(default_factory=set)
    globals: set[str] = field(default_factory=set)
    methods: set[str] = field(default_factory=set)
    fields: set[str] = field(default_factory=set)
    functions: list[FunctionSpan] = field(default_factory=list)

    def covers(self, file: str) -> bool:
        return file in self.files

    def function_at(self, file: str, line: int) -> FunctionSpan | None:
        for span in self.functions:
            if span.file == file and span.start_line <= line <= span.end_line:
                return span
        return None


def read_package_source(paths: dict[str, Path]) -> PackageSource:
    """Read the files a package's diagnostics name; `paths` maps the name as printed to a readable path."""
    source = PackageSource()
    for printed, path in sorted(paths.items()):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            source.unreadable.add(printed)
            continue
        if not printed.endswith(".go"):
            source.unreadable.add(printed)
            continue
        source.files.add(printed)
        _scan(text, printed, source)
    return source


def _tokens(text: str):
    """(kind, value, line) for every significant token; comments and spaces dropped."""
    line = 1
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        value = match.group()
        if kind == "newline":
            line += 1
            continue
        if kind == "space":
            continue
        if kind == "comment" or kind == "string":
            start_line = line
            line += value.count("\n")
            if kind == "string":
                yield "string", value, start_line
            continue
        yield kind, value, line


def _scan(text: str, file: str, source: PackageSource) -> None:
    tokens = list(_tokens(text))
    depth = 0  # bracket depth: top-level declarations are at depth 0
    i = 0
    while i < len(tokens):
        kind, value, _ = tokens[i]
        if kind == "ident" and value == "struct" and i + 1 < len(tokens) and tokens[i + 1][1] == "{":
            close = _matching(tokens, i + 1)
            _struct_fields(tokens[i + 2 : close], source.fields)
            i = close + 1
            continue
        if depth == 0 and kind == "ident" and value == "var":
            i = _scan_var(tokens, i + 1, source)
            continue
        if depth == 0 and kind == "ident" and value == "func":
            i = _scan_func(tokens, i, file, source)
            continue
        if value in ("{", "(", "["):
            depth += 1
        elif value in ("}", ")", "]"):
            depth = max(0, depth - 1)
        i += 1


def _scan_var(tokens, i: int, source: PackageSource) -> int:
    """`var a, b T = ...` or `var ( ... )`: record the declared names; return the next index."""
    if i < len(tokens) and tokens[i][1] == "(":
        i += 1
        depth = 0
        at_spec_start = True
        while i < len(tokens):
            kind, value, _ = tokens[i]
            if depth == 0 and value == ")":
                return i + 1
            if at_spec_start and depth == 0 and kind == "ident":
                i = _names(tokens, i, source.globals)
                at_spec_start = False
                continue
            if value in ("(", "{", "["):
                depth += 1
            elif value in (")", "}", "]"):
                depth -= 1
            # A spec ends at a semicolon or a line end outside brackets.
            if depth == 0 and (value == ";" or _line_changes(tokens, i)):
                at_spec_start = True
            i += 1
        return i
    return _names(tokens, i, source.globals)


def _line_changes(tokens, i: int) -> bool:
    return i + 1 < len(tokens) and tokens[i + 1][2] != tokens[i][2]


def _names(tokens, i: int, into: set[str]) -> int:
    """Read `a, b, c` from tokens[i]; return the index after the list."""
    while i < len(tokens) and tokens[i][0] == "ident":
        into.add(tokens[i][1])
        i += 1
        if i < len(tokens) and tokens[i][1] == ",":
            i += 1
        else:
            break
    return i


def _matching(tokens, i: int) -> int:
    """Index of the bracket closing the one at tokens[i]."""
    depth = 0
    for j in range(i, len(tokens)):
        value = tokens[j][1]
        if value in ("(", "{", "["):
            depth += 1
        elif value in (")", "}", "]"):
            depth -= 1
            if depth == 0:
                return j
    return len(tokens) - 1


def _scan_func(tokens, i: int, file: str, source: PackageSource) -> int:
    start_line = tokens[i][2]
    i += 1
    receiver = None
    if i < len(tokens) and tokens[i][1] == "(":
        close = _matching(tokens, i)
        receiver = _receiver_type(tokens[i + 1 : close])
        i = close + 1
    if i >= len(tokens) or tokens[i][0] != "ident":
        return i
    name = tokens[i][1]
    i += 1
    if i < len(tokens) and tokens[i][1] == "[":  # type parameters
        i = _matching(tokens, i) + 1
    if i >= len(tokens) or tokens[i][1] != "(":
        return i
    i = _matching(tokens, i) + 1  # parameters
    results: set[str] = set()
    if i < len(tokens) and tokens[i][1] == "(":
        close = _matching(tokens, i)
        results = _named_results(tokens[i + 1 : close])
        i = close + 1
    # Skip an unnamed result type up to the body's brace (or the end of a body-less declaration).
    while i < len(tokens) and tokens[i][1] != "{" and tokens[i][2] == start_line:
        if tokens[i][1] in ("(", "["):
            i = _matching(tokens, i)
        i += 1
    if receiver is not None:
        source.methods.add(name)
        base, pointer = receiver
        qualified = f"(*{base}).{name}" if pointer else f"{base}.{name}"
    else:
        qualified = name
    if i < len(tokens) and tokens[i][1] == "{":
        close = _matching(tokens, i)
        end_line = tokens[close][2]
        i = close + 1
    else:
        end_line = start_line
    source.functions.append(FunctionSpan(qualified, file, start_line, end_line, frozenset(results)))
    return i


def _receiver_type(tokens) -> tuple[str, bool]:
    """("T", pointer?) from a receiver list such as `t *T`, `T`, `s *Stack[T]`."""
    idents = [v for k, v, _ in tokens if k == "ident"]
    pointer = any(v == "*" for _, v, _ in tokens)
    # The type name is the last identifier outside type-parameter brackets.
    depth = 0
    type_name = idents[-1] if idents else "?"
    for kind, value, _ in tokens:
        if value == "[":
            depth += 1
        elif value == "]":
            depth -= 1
        elif kind == "ident" and depth == 0:
            type_name = value
    return type_name, pointer


_TYPE_KEYWORDS = frozenset({"map", "chan", "func", "struct", "interface"})


def _named_results(tokens) -> set[str]:
    """Names in a result list `(x, y *big.Int, err error)`; none for `(int, error)` or `(pkg.T, bool)`.

    Go names either every result or none; the list is named when some comma-separated group is a
    name followed by a type.
    """
    groups: list[list] = [[]]
    depth = 0
    for token in tokens:
        if token[1] in ("(", "[", "{"):
            depth += 1
        elif token[1] in (")", "]", "}"):
            depth -= 1
        if token[1] == "," and depth == 0:
            groups.append([])
        else:
            groups[-1].append(token)
    named = any(
        len(g) >= 2 and g[0][0] == "ident" and g[0][1] not in _TYPE_KEYWORDS and g[1][1] != "." for g in groups
    )
    if not named:
        return set()
    return {g[0][1] for g in groups if g and g[0][0] == "ident"}


def _struct_fields(tokens, into: set[str]) -> None:
    """Field names of a struct body: each line's leading names (`a, b int`, `Name string`, `sync.Mutex`)."""
    lines: dict[int, list[tuple[str, str]]] = {}
    depth = 0
    for kind, value, line in tokens:
        if depth == 0:
            lines.setdefault(line, []).append((kind, value))
        if value in ("{", "(", "["):
            depth += 1
        elif value in ("}", ")", "]"):
            depth -= 1
    for line_tokens in lines.values():
        i = 0
        while i < len(line_tokens) and line_tokens[i][0] == "ident":
            into.add(line_tokens[i][1])
            i += 1
            if i < len(line_tokens) and line_tokens[i][1] == ",":
                i += 1
            else:
                break
        # An embedded qualified type, `sync.Mutex`, is a field named Mutex.
        if i + 1 < len(line_tokens) and line_tokens[i][1] == "." and line_tokens[i + 1][0] == "ident":
            into.add(line_tokens[i + 1][1])
