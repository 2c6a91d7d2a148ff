"""Facts from a package's Go source that the compiler's output does not state.

Some verdicts hinge on what a name *is*: `sinkMap[k] = &T{}` is a global assignment only if `sinkMap` is
a package-level variable, `p = &v` returns a pointer only if `p` is a named result, `t.Value` is a
method value (a closure) only if `Value` is a method. The compiler's output does not say; the source
does. This module reads just enough Go to answer: package-level variables, function spans with their
named results, and whether a name is a method or a struct field.

It reads gofmt's layout rather than parsing Go: top-level declarations start at column 0 (`func`,
`var`, `type`), a top-level body closes with `}` alone at column 0, a `var ( … )` block's specs are
indented by one tab, a struct body's fields one tab deeper than its opening line. That is how
virtually all Go is written, and it lets whole files be scanned in C: a literal search (`str.find` of
"\nfunc", "\n}", "struct {\n", ...) finds the candidate lines, and a regular expression is matched
only there, never tried position by position (the standard library's 1,600 files in about a second).
Code that is not gofmt-formatted can yield fewer facts, never wrong ones: the rules then decline to
claim. Go files are read by `read_go_file`, the one reader of Go source in escapelint.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Declarations start at column 0. Python's regular expressions find a pattern that starts with `^` or
# `\b` position by position, so these are matched only where a literal search (at C speed) found
# their first word at the start of a line (_line_start_matches) or after a non-word character.
_FUNC = re.compile(r"func\b(.*)$", re.MULTILINE)
_RECEIVER = re.compile(r"^\s*\(\s*(?:\w+\s+)?(\*?)\s*(\w+)(?:\[[^\]]*\])?\s*\)\s*(\w+)")
_FUNC_NAME = re.compile(r"^\s*(\w+)")
_BODY_END = re.compile(r"}")
_VAR_LINE = re.compile(r"var\s+(\w+(?:\s*,\s*\w+)*)", re.MULTILINE)
_VAR_SPEC = re.compile(r"^\t(\w+(?:\s*,\s*\w+)*)", re.MULTILINE)
_TYPE_KEYWORDS = frozenset({"map", "chan", "func", "struct", "interface"})
_METHOD = re.compile(r"func\s*\([^)]*\)\s*(\w+)", re.MULTILINE)
_BRACKET = re.compile(r"[()\[\]{}]")
_INLINE_STRUCT = re.compile(r"struct\s*\{([^{}\n]*)\}")  # after a non-word character
_FIELD_NAMES = re.compile(r"^\s*(\w+(?:\s*,\s*\w+)*)(?:\s+\S|\s*$)")
_EMBEDDED = re.compile(r"^\s*\*?(?:\w+\.)?(\w+)\s*(?:`.*`)?\s*(?://.*)?$")


@dataclass(frozen=True, slots=True)
class FunctionSpan:
    """A top-level function or method declaration: its compiler-style name and its lines."""

    name: str  # "F", "T.M", "(*T).M"
    file: str
    start_line: int  # the line of the `func` keyword
    end_line: int  # the line of its closing brace
    results: frozenset[str]  # named results


class PackageSource:
    """What escapelint knows about one package's source files; each kind of fact is scanned on first use.

    `named` maps file names as the compiler prints them to their directory and text; `siblings` holds
    the directories and texts of the package's other files, read for package-level declarations only
    (a global may be declared in any file of the package). Package-level names are kept per
    directory: a package's output can name files of other packages (inlined generic code in GOROOT),
    whose globals are not its own.
    """

    def __init__(self, named: dict[str, tuple[Path, str]], siblings: list[tuple[Path, str]]) -> None:
        self._named = {printed: text for printed, (_, text) in named.items()}
        self._directory_of = {printed: directory for printed, (directory, _) in named.items()}
        self._texts_by_directory: dict[Path, list[str]] = {}
        for directory, text in [*named.values(), *siblings]:
            self._texts_by_directory.setdefault(directory, []).append(text)
        self._all_texts = [text for texts in self._texts_by_directory.values() for text in texts]
        self._globals: dict[Path, set[str]] = {}
        self.files = set(named)

    def covers(self, file: str) -> bool:
        return file in self.files

    def globals_of(self, file: str) -> set[str]:
        """The package-level variables of the package `file` (as printed) belongs to."""
        directory = self._directory_of.get(file)
        if directory is None:
            return set()
        names = self._globals.get(directory)
        if names is None:
            names = self._globals[directory] = set()
            for text in self._texts_by_directory[directory]:
                for match in _line_start_matches(_VAR_LINE, "var", text):
                    names.update(_split_names(match.group(1)))
                for block in _var_blocks(text):
                    for spec in _VAR_SPEC.finditer(block):
                        names.update(_split_names(spec.group(1)))
        return names

    def has_method(self, name: str) -> bool:
        """Whether the package declares a method `name` (on any type)."""
        return name in self._method_names

    def has_field(self, name: str) -> bool:
        """Whether a struct type of the package has a field `name`."""
        return name in self._field_names

    @functools.cached_property
    def _method_names(self) -> set[str]:
        return {m.group(1) for text in self._all_texts for m in _line_start_matches(_METHOD, "func", text)}

    @functools.cached_property
    def _field_names(self) -> set[str]:
        names: set[str] = set()
        for text in self._all_texts:
            _scan_struct_fields(text, names)
        return names

    # --- declared types, for whether a conversion allocates (escapelint/analyze/allocation.py)

    def type_declarations_of(self, file: str) -> dict[str, str]:
        """The package's named types (`type level int`, `type ( … )` blocks) -> their type as written."""
        return self._per_directory(file, "types", _scan_type_declarations)

    def constants_of(self, file: str) -> frozenset[str]:
        """The package's constants (`const x = …`, the names of `const ( … )` blocks, iota's lines too)."""
        return self._per_directory(file, "constants", lambda text: {}, _constant_names)

    def global_var_types(self, file: str) -> dict[str, str]:
        """Package-level variables declared with a type (`var enabled bool`) -> that type."""
        return self._per_directory(file, "var types", _scan_global_var_types)

    def parameter_types(self, span: FunctionSpan) -> dict[str, str]:
        """The parameters (and receiver) of a function -> their types as written (read once per function)."""
        cache = self.__dict__.setdefault("_parameter_types", {})
        found = cache.get(span)
        if found is None:
            text = self._lines(span.file, span.start_line, span.start_line + 20)
            found = cache[span] = {} if text is None else _parameter_types(text)
        return found

    def local_var_types(self, span: FunctionSpan) -> dict[str, str]:
        """`var x T` declarations in a function's body -> T (the last one wins; read once per function)."""
        cache = self.__dict__.setdefault("_local_var_types", {})
        found = cache.get(span)
        if found is None:
            found = cache[span] = {}
            text = self._lines(span.file, span.start_line + 1, span.end_line)
            for match in _LOCAL_VAR.finditer(text or ""):
                for name in _split_names(match.group(1)):
                    found[name] = match.group(2).strip()
        return found

    def _lines(self, file: str, first: int, last: int) -> str | None:
        """Lines first..last (1-based, inclusive) of a named file, by its line offsets (found once, in C)."""
        text = self._named.get(file)
        if text is None:
            return None
        offsets = self.__dict__.setdefault("_line_offsets", {}).get(file)
        if offsets is None:
            offsets = [0, *(m.end() for m in _NEWLINE.finditer(text))]
            self._line_offsets[file] = offsets
        start = offsets[min(first - 1, len(offsets) - 1)] if first >= 1 else 0
        end = offsets[last] if last < len(offsets) else len(text)
        return text[start:end]

    def _per_directory(self, file: str, kind: str, scan: Callable[[str], dict], whole: Callable | None = None):
        """What `scan` finds in every file of `file`'s package, merged (or `whole` of all the texts), once."""
        directory = self._directory_of.get(file)
        if directory is None:
            return {} if whole is None else frozenset()
        cache = self.__dict__.setdefault("_declared_facts", {})
        key = (directory, kind)
        if key not in cache:
            texts = self._texts_by_directory[directory]
            if whole is not None:
                cache[key] = whole(texts)
            else:
                found: dict = {}
                for text in texts:
                    found.update(scan(text))
                cache[key] = found
        return cache[key]

    @functools.cached_property
    def functions(self) -> dict[str, list[FunctionSpan]]:
        """Function spans by file (as printed), in line order."""
        return {file: _function_spans(text, file) for file, text in self._named.items()}

    @functools.cached_property
    def _span_starts(self) -> dict[str, list[int]]:
        return {file: [span.start_line for span in spans] for file, spans in self.functions.items()}

    def function_at(self, file: str, line: int) -> FunctionSpan | None:
        spans = self.functions.get(file)
        if not spans:
            return None
        index = bisect.bisect_right(self._span_starts[file], line) - 1
        if index >= 0 and spans[index].end_line >= line:
            return spans[index]
        return None


class LazySource:
    """A package's source, read the first time someone asks for it (most packages never need it)."""

    def __init__(self, load: Callable[[], PackageSource | None]) -> None:
        self._load: Callable[[], PackageSource | None] | None = load
        self._source: PackageSource | None = None

    def get(self) -> PackageSource | None:
        if self._load is not None:
            self._source = self._load()
            self._load = None
        return self._source

    @property
    def loaded(self) -> bool:
        return self._load is None


def read_package_source(named: dict[str, Path], siblings: list[Path] = ()) -> PackageSource:
    """Read the files a package's diagnostics name (`named`: name as printed -> path) and its other files.

    A file that cannot be read is left out: the rules then decline to claim what it would decide.
    """
    texts = {}
    for printed, path in sorted(named.items()):
        text = read_go_file(path)
        if text is not None:
            texts[printed] = (path.parent, text)
    sibling_texts = [(path.parent, text) for path in siblings if (text := read_go_file(path)) is not None]
    return PackageSource(texts, sibling_texts)


def read_go_file(path: Path) -> str | None:
    """The text of a Go source file, or None when it cannot be read (missing, a directory, not permitted).

    Go source is UTF-8; a byte that is not is replaced rather than fatal, so that one odd byte in a
    string literal costs one character, not the file. Every reader of Go source in escapelint (these
    facts, the report's source lines, suppression comments, changed lines) reads through here.
    """
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _function_spans(text: str, file: str) -> list[FunctionSpan]:
    body_ends = list(_line_numbers(text, (m.start() for m in _line_start_matches(_BODY_END, "}", text))))
    spans = []
    starts = [m.start() for m in _line_start_matches(_FUNC, "func", text)]
    for offset, start in zip(starts, _line_numbers(text, starts)):
        signature_end, end = _extent(text, offset, start, body_ends)
        name, results = _signature(text[offset:signature_end])
        if name is not None:
            spans.append(FunctionSpan(name, file, start, end, results))
    return spans


def _line_start_matches(pattern: re.Pattern[str], keyword: str, text: str):
    """What `^` + pattern (re.MULTILINE) finditer finds, where every match begins with `keyword`.

    Candidate lines are found by searching for a newline and the keyword; like finditer, a match is
    not looked for inside the previous one.
    """
    needle = "\n" + keyword
    end = 0
    candidate = 0 if text.startswith(keyword) else -1
    if candidate < 0:
        found = text.find(needle)
        candidate = found + 1 if found >= 0 else -1
    while candidate >= 0:
        if candidate >= end:
            match = pattern.match(text, candidate)
            if match is not None:
                yield match
                end = match.end()
        found = text.find(needle, candidate)
        candidate = found + 1 if found >= 0 else -1


def _line_numbers(text: str, offsets):
    """The 1-based line of each offset, for offsets in increasing order (newlines counted in C)."""
    line = 1
    previous = 0
    for offset in offsets:
        line += text.count("\n", previous, offset)
        previous = offset
        yield line


def _var_blocks(text: str):
    """The bodies of the file's top-level `var ( ... )` blocks."""
    start = text.find("\nvar (\n")
    while start >= 0:
        body_start = start + len("\nvar (\n")
        end = text.find("\n)", body_start - 1)
        if end < 0:
            yield text[body_start:]
            return
        yield text[body_start:end]
        start = text.find("\nvar (\n", end)


def _split_names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _extent(text: str, offset: int, start_line: int, body_ends: list[int]) -> tuple[int, int]:
    """(offset where the signature ends, line of the closing brace) of the func declared at `offset`."""
    line_end = text.find("\n", offset)
    line = text[offset : line_end if line_end >= 0 else len(text)].rstrip()
    code = line.split("//")[0].rstrip() if "//" in line else line
    if code.endswith("{"):  # the usual `func f(...) T {` with a multi-line body
        return offset + len(code) - 1, _next_body_end(body_ends, start_line)
    if code.endswith(("(", ",")):  # a signature over several lines
        brace = text.find("{\n", offset)
        end_of_signature = brace if brace >= 0 else len(text)
        return end_of_signature, _next_body_end(body_ends, start_line)
    if "{" in code and code.endswith("}"):  # a one-line function
        return offset + code.find("{"), start_line
    return offset + len(code), start_line  # no body: assembly or linkname


def _next_body_end(body_ends: list[int], start_line: int) -> int:
    index = bisect.bisect_right(body_ends, start_line)
    return body_ends[index] if index < len(body_ends) else start_line


def _signature(text: str) -> tuple[str | None, frozenset[str]]:
    """The compiler-style name and the named results of `func ...` up to its body."""
    rest = text[len("func") :]
    receiver = _RECEIVER.match(rest)
    if receiver:
        pointer, type_name, method = receiver.groups()
        name = f"(*{type_name}).{method}" if pointer else f"{type_name}.{method}"
        rest = rest[receiver.end() :]
    else:
        match = _FUNC_NAME.match(rest)
        if match is None:
            return None, frozenset()
        name = match.group(1)
        rest = rest[match.end() :]
    if rest.startswith("["):  # type parameters
        rest = rest[_closing(rest, 0) + 1 :]
    if not rest.startswith("("):
        return name, frozenset()
    after_params = rest[_closing(rest, 0) + 1 :].strip()
    if not after_params.startswith("("):
        return name, frozenset()
    results = after_params[1 : _closing(after_params, 0)]
    return name, frozenset(_named_results(results))


def _closing(text: str, index: int) -> int:
    """Index of the bracket closing the one at text[index] (or the end of the text)."""
    depth = 0
    for bracket in _BRACKET.finditer(text, index):  # only the brackets, found in C
        if bracket.group() in "([{":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return bracket.start()
    return len(text)


def _named_results(results: str) -> set[str]:
    """Names in a result list `x, y *big.Int, err error`; none for `int, error` or `pkg.T, bool`.

    Go names either every result or none; the list is named when some comma-separated group is a
    name followed by a type.
    """
    groups = []
    depth = 0
    current = []
    for char in results:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == "," and depth == 0:
            groups.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    groups.append("".join(current).strip())
    named = False
    for group in groups:
        parts = group.split(None, 1)
        if len(parts) == 2 and parts[0].isidentifier() and parts[0] not in _TYPE_KEYWORDS:
            named = True
    if not named:
        return set()
    return {group.split(None, 1)[0] for group in groups if group and group.split(None, 1)[0].isidentifier()}


def _scan_struct_fields(text: str, into: set[str]) -> None:
    """Field names of the file's struct types: the names leading each line of a struct body.

    A body's own lines are those indented exactly one tab more than the line that opens it; the
    expressions below find them in C, a body at a time (deeper lines belong to nested bodies).
    """
    for match in _INLINE_STRUCT.finditer(text):
        before = text[match.start() - 1] if match.start() else " "
        if before.isalnum() or before == "_":  # what `\b` would have refused
            continue
        for part in match.group(1).split(";"):
            names = _FIELD_NAMES.match(part)
            if names:
                into.update(_split_names(names.group(1)))
    opening = "struct {\n"
    position = text.find(opening)
    while position >= 0:
        line_start = text.rfind("\n", 0, position) + 1
        indent_end = line_start
        while text[indent_end] == "\t":
            indent_end += 1
        depth = indent_end - line_start + 1
        body_start = position + len(opening)
        end = text.find(f"\n{text[line_start:indent_end]}}}", body_start - 1)
        body = text[body_start : end if end >= 0 else len(text)]
        field_lines, embedded_lines = _body_patterns(depth)
        for names in field_lines.finditer(body):
            if names.group(1).split(",")[0].strip() not in _TYPE_KEYWORDS:
                into.update(_split_names(names.group(1)))
        into.update(embedded_lines.findall(body))
        position = text.find(opening, body_start)


@functools.lru_cache(maxsize=None)
def _body_patterns(depth: int) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """_FIELD_NAMES and _EMBEDDED for the lines of a struct body `depth` tabs deep, as one pattern
    each over the whole body (`[^\\S\\n]` is \\s within a line)."""
    line = rf"^\t{{{depth}}}(?!\t|//|}})"
    space = r"[^\S\n]"
    names = re.compile(rf"{line}{space}*(\w+(?:{space}*,{space}*\w+)*)(?:{space}+\S|{space}*$)", re.MULTILINE)
    embedded = re.compile(rf"{line}{space}*\*?(?:\w+\.)?(\w+){space}*(?:`.*`)?{space}*(?://.*)?$", re.MULTILINE)
    return names, embedded


class SourceLocator:
    """Where the Go files named in the output are: absolute paths as they are, others under `root`."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root

    def path(self, printed: str) -> Path | None:
        """The file a printed name stands for, or None when it names no readable Go file: `<autogenerated>`,
        not a `.go` name, or a name with a NUL (possible in a `//line` directive; no path holds one)."""
        if printed.startswith("<") or not printed.endswith(".go") or "\0" in printed:
            return None
        path = Path(printed)
        if path.is_absolute():
            return path
        if self.root is None:
            return None
        return self.root / path

    def read(self, files: set[str]) -> PackageSource | None:
        """The source of the package whose diagnostics name `files`, with the rest of its directories."""
        named = {f: p for f in files if (p := self.path(f)) is not None}
        if not named:
            return None
        directories = {path.parent for path in named.values()}
        seen = set(named.values())
        siblings = []
        for directory in sorted(directories):
            try:
                candidates = sorted(directory.glob("*.go"))
            except OSError:
                continue
            # Test files are not part of `go build`; a global may be declared in any other file.
            siblings += [p for p in candidates if p not in seen and not p.name.endswith("_test.go")]
        return read_package_source(named, siblings)


# --- declared types (PackageSource.type_declarations_of and friends) ---------------------------

_TYPE_LINE = re.compile(r"type\s+(\w+)(?:\[[^\]]*\])?\s+(?!=)(.+?)\s*(?://.*)?$", re.MULTILINE)
_TYPE_SPEC = re.compile(r"^\t(\w+)\s+(?!=)(.+?)\s*(?://.*)?$", re.MULTILINE)
_CONST_LINE = re.compile(r"const\s+(\w+(?:\s*,\s*\w+)*)", re.MULTILINE)
_CONST_SPEC = re.compile(r"^\t(\w+(?:\s*,\s*\w+)*)", re.MULTILINE)
_VAR_TYPED = re.compile(r"var\s+(\w+(?:\s*,\s*\w+)*)\s+([^=\s][^=]*?)\s*(?://.*)?$", re.MULTILINE)
_VAR_SPEC_TYPED = re.compile(r"^\t(\w+(?:\s*,\s*\w+)*)\s+([^=\s][^=]*?)\s*(?://.*)?$", re.MULTILINE)
_NEWLINE = re.compile(r"\n")
_LOCAL_VAR = re.compile(r"^\s+var\s+(\w+(?:\s*,\s*\w+)*)\s+([^=\n]+?)\s*(?:=.*)?$", re.MULTILINE)


def _blocks(text: str, keyword: str):
    """The bodies of the file's top-level `KEYWORD ( ... )` blocks."""
    opening = f"\n{keyword} (\n"
    start = text.find(opening)
    while start >= 0:
        body_start = start + len(opening)
        end = text.find("\n)", body_start - 1)
        if end < 0:
            yield text[body_start:]
            return
        yield text[body_start:end]
        start = text.find(opening, end)


def _scan_type_declarations(text: str) -> dict[str, str]:
    found = {}
    for match in _line_start_matches(_TYPE_LINE, "type", text):
        # A body over several lines (`struct {`) is not read: its shape is not needed to be sure.
        if match.group(2) != "(" and not match.group(2).endswith("{"):
            found[match.group(1)] = match.group(2)
    for block in _blocks(text, "type"):
        for spec in _TYPE_SPEC.finditer(block):
            if not spec.group(2).endswith("{"):
                found[spec.group(1)] = spec.group(2)
    return found


def _constant_names(texts: list[str]) -> frozenset[str]:
    return frozenset(name for text in texts for name in _scan_constants(text))


def _scan_constants(text: str) -> dict[str, bool]:
    found = {}
    for match in _line_start_matches(_CONST_LINE, "const", text):
        for name in _split_names(match.group(1)):
            found[name] = True
    for block in _blocks(text, "const"):
        for spec in _CONST_SPEC.finditer(block):
            for name in _split_names(spec.group(1)):
                found[name] = True
    return found


def _scan_global_var_types(text: str) -> dict[str, str]:
    found = {}
    for match in _line_start_matches(_VAR_TYPED, "var", text):
        if match.group(2).strip() != "(":
            for name in _split_names(match.group(1)):
                found[name] = match.group(2).strip()
    for block in _blocks(text, "var"):
        for spec in _VAR_SPEC_TYPED.finditer(block):
            for name in _split_names(spec.group(1)):
                found[name] = spec.group(2).strip()
    return found


def _parameter_types(signature_text: str) -> dict[str, str]:
    """Names -> types of the receiver and parameters of `func (r T) name(a, b int, c bool) ...`."""
    rest = signature_text[signature_text.find("func") + 4 :].lstrip()
    lists = []
    if rest.startswith("("):  # a receiver
        close = _closing(rest, 0)
        lists.append(rest[1:close])
        rest = rest[close + 1 :].lstrip()
    name = _FUNC_NAME.match(rest)
    if name is None:
        return {}
    rest = rest[name.end() :]
    if rest.startswith("["):
        rest = rest[_closing(rest, 0) + 1 :]
    if not rest.startswith("("):
        return {}
    lists.append(rest[1 : _closing(rest, 0)])
    found: dict[str, str] = {}
    for params in lists:
        pending: list[str] = []
        for group in _split_top_level(params):
            parts = group.split(None, 1)
            if len(parts) == 2 and parts[0].isidentifier():
                for pending_name in pending:
                    found[pending_name] = parts[1].strip()
                pending = []
                found[parts[0]] = parts[1].strip()
            elif len(parts) == 1 and parts[0].isidentifier():
                pending.append(parts[0])  # `a, b int`: a takes the type that follows
    return found


def _split_top_level(text: str) -> list[str]:
    groups, current, depth = [], [], 0
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == "," and depth == 0:
            groups.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    groups.append("".join(current).strip())
    return [g for g in groups if g]
