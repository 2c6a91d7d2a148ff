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
from dataclasses import dataclass, field
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
    #: The receiver's and the parameters' lists as written ("s *Store", "a, b int"), parsed on demand.
    parameter_lists: tuple[str, ...] = field(default=(), compare=False)

    @property
    def parameters(self) -> tuple[str | None, ...]:
        """The parameters' names in order, a method's receiver first (None where unnamed): what a
        call's arguments are bound to, for following an argument into the callee's leak."""
        return tuple(name for name, _ in _parameters(self.parameter_lists))

    @property
    def parameter_types(self) -> tuple[str | None, ...]:
        """The parameters' types as written ("*T", "store.Stats", "...int"), as `parameters`."""
        return tuple(written for _, written in _parameters(self.parameter_lists))


class PackageSource:
    """What escapelint knows about one package's source files; each kind of fact is scanned on first use.

    `named` maps file names as the compiler prints them to their directory and text; `siblings` holds
    the directories and texts of the package's other files, read for package-level declarations only
    (a global may be declared in any file of the package). Package-level names are kept per
    directory: a package's output can name files of other packages (inlined generic code in GOROOT),
    whose globals are not its own.
    """

    def __init__(
        self,
        named: dict[str, tuple[Path, str]],
        siblings: list[tuple[Path, str]],
        read_directory: Callable[[Path], tuple[str, ...]] | None = None,
    ) -> None:
        self._named = {printed: text for printed, (_, text) in named.items()}
        # How the texts of an imported package's directory are read (members_of): through the
        # SourceLocator that read these files, so that the result cache notes them too.
        self._read_directory = read_directory or _directory_texts
        self._imported_texts: dict[Path, tuple[str, ...]] = {}
        self._members: dict[tuple[Path, str], tuple[frozenset[str], frozenset[str]] | None] = {}
        self._directory_of = {printed: directory for printed, (directory, _) in named.items()}
        self._texts_by_directory: dict[Path, list[str]] = {}
        for directory, text in [*named.values(), *siblings]:
            self._texts_by_directory.setdefault(directory, []).append(text)
        self._all_texts = [text for texts in self._texts_by_directory.values() for text in texts]
        self._globals: dict[Path, set[str]] = {}
        self._spans: dict[str, list[FunctionSpan]] = {}
        self._imports: dict[str, tuple[tuple[str, str], ...]] = {}
        self._span_starts: dict[str, list[int]] = {}
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

    def globals_of_any(self) -> set[str]:
        """The package-level variables of every directory read: for a step in generated code
        (`<autogenerated>:1`, a promoted method's wrapper), which names no file of its own."""
        names: set[str] = set()
        for directory in self._texts_by_directory:
            file = next((f for f, d in self._directory_of.items() if d == directory), None)
            if file is not None:
                names |= self.globals_of(file)
        return names

    def imported_names(self, file: str) -> frozenset[str]:
        """The names a file (as printed) gives the packages it imports: `store` for
        "example.com/x/store", `f` for `import f "fmt"`."""
        return frozenset(name for name, _ in self._imports_of(file) if name not in ("_", "."))

    def _imports_of(self, file: str) -> tuple[tuple[str, str], ...]:
        """(name, import path) of each import of a file (as printed), scanned once."""
        imports = self._imports.get(file)
        if imports is None:
            text = self._named.get(file)
            specs = () if text is None else _import_specs(text)
            imports = self._imports[file] = tuple(
                (spec.group(1) or spec.group(2).rsplit("/", 1)[-1], spec.group(2)) for spec in specs
            )
        return imports

    def members_of(self, file: str, type_name: str) -> tuple[frozenset[str], frozenset[str]] | None:
        """(fields, methods) of the struct type `type_name`: "T" of the package of `file` (as printed),
        or "pkg.T" of a package `file` imports, read from that package's directory (found through the
        go.mod above `file`, or GOROOT's src for the standard library). None when the declaration is
        not found: the caller must not guess."""
        qualifier, dot, name = type_name.rpartition(".")
        if dot:
            directory = self._import_directory(file, qualifier)
            if directory is None:
                return None
            texts = self._imported_texts.get(directory)
            if texts is None:
                texts = self._imported_texts[directory] = self._read_directory(directory)
        else:
            directory = self._directory_of.get(file)
            texts = None if directory is None else self._texts_by_directory.get(directory)
        if not texts:
            return None
        # Kept here, not in a process-wide cache keyed by the texts: that one held the texts of
        # every package read in the run (12 MiB of a worker on the standard library).
        key = (directory, name)
        if key not in self._members:
            self._members[key] = _struct_members(texts, name)
        return self._members[key]

    def import_path(self, file: str, qualifier: str) -> str | None:
        """The import path of the package `file` (as printed) imports under the name `qualifier`."""
        paths = {path for name, path in self._imports_of(file) if name == qualifier}
        return paths.pop() if len(paths) == 1 else None

    def _import_directory(self, file: str, qualifier: str) -> Path | None:
        """The directory of the package `file` imports under the name `qualifier`."""
        directory = self._directory_of.get(file)
        path = self.import_path(file, qualifier)
        if directory is None or path is None:
            return None
        paths = [path]
        module = _module_of(directory)
        if module is None:
            return None
        root, module_path = module
        if module_path == "std":
            return root / paths[0]
        if paths[0] == module_path:
            return root
        if paths[0].startswith(module_path + "/"):
            return root / paths[0][len(module_path) + 1 :]
        return None

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

    @property
    def functions(self) -> dict[str, list[FunctionSpan]]:
        """Function spans by file (as printed), in line order."""
        return {file: self.spans_of(file) for file in self._named}

    def spans_of(self, file: str) -> list[FunctionSpan]:
        """The function spans of one file (as printed), in line order, scanned on first use."""
        spans = self._spans.get(file)
        if spans is None:
            text = self._named.get(file)
            spans = self._spans[file] = [] if text is None else _function_spans(text, file)
            self._span_starts[file] = [span.start_line for span in spans]
        return spans

    def function_at(self, file: str, line: int) -> FunctionSpan | None:
        spans = self.spans_of(file)
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


def read_package_source(
    named: dict[str, Path],
    siblings: list[Path] = (),
    read: Callable[[Path], str | None] | None = None,
    list_files: Callable[[Path], list[Path]] | None = None,
) -> PackageSource:
    """Read the files a package's diagnostics name (`named`: name as printed -> path) and its other files.

    A file that cannot be read is left out: the rules then decline to claim what it would decide.
    `read` reads one file and `list_files` lists a directory's Go files, for these and for the
    packages the source is later asked about (PackageSource.members_of); default `read_go_file`
    and a sorted listing. A SourceLocator passes its own, which the result cache notes every file
    and directory through.
    """
    read = read or read_go_file
    texts = {}
    for printed, path in sorted(named.items()):
        text = read(path)
        if text is not None:
            texts[printed] = (path.parent, text)
    sibling_texts = [(path.parent, text) for path in siblings if (text := read(path)) is not None]
    return PackageSource(texts, sibling_texts, lambda directory: _directory_texts(directory, list_files, read))


def read_go_file(path: Path) -> str | None:
    """The text of a Go source file, or None when it cannot be read (missing, a directory, not permitted).

    Go source is UTF-8; a byte that is not is replaced rather than fatal, so that one odd byte in a
    string literal costs one character, not the file. Every reader of Go source in escapelint (these
    facts, the report's source lines, suppression comments, changed lines) reads through here.
    """
    try:
        with open(path, "rb", buffering=0) as handle:
            return go_text(handle.readall())
    except OSError:
        return None


def go_text(data: bytes) -> str:
    """A Go file's bytes as read_go_file gives its text: UTF-8 with bad bytes replaced, and the line
    ends of a text-mode read (CRLF and a lone CR are each one "\n")."""
    text = data.decode("utf-8", errors="replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _function_spans(text: str, file: str) -> list[FunctionSpan]:
    body_ends = list(_line_numbers(text, (m.start() for m in _line_start_matches(_BODY_END, "}", text))))
    spans = []
    starts = [m.start() for m in _line_start_matches(_FUNC, "func", text)]
    for offset, start in zip(starts, _line_numbers(text, starts)):
        signature_end, end = _extent(text, offset, start, body_ends)
        name, results, parameters = _signature(text[offset:signature_end])
        if name is not None:
            spans.append(FunctionSpan(name, file, start, end, results, parameters))
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


_IMPORT_SPEC = re.compile(r'^[ \t]*(?:import[ \t]+)?(?:([A-Za-z_]\w*|\.)[ \t]+)?"([^"\n]+)"', re.MULTILINE)


def _import_specs(text: str):
    """The import specs of a gofmt'ed file: `import "p"`, `import a "p"` and those of `import ( … )`."""
    for match in _line_start_matches(re.compile(r'import[ \t]+(?:[A-Za-z_]\w*[ \t]+|\.[ \t]+)?"[^"\n]+"'), "import", text):
        yield _IMPORT_SPEC.match(match.group(0))
    start = text.find("\nimport (\n")
    while start >= 0:
        end = text.find("\n)", start + 1)
        block = text[start + len("\nimport (\n") : end if end >= 0 else len(text)]
        yield from _IMPORT_SPEC.finditer(block)
        start = text.find("\nimport (\n", end) if end >= 0 else -1


@functools.lru_cache(maxsize=256)
def _module_of(directory: Path) -> tuple[Path, str] | None:
    """(root, module path) of the go.mod at or above `directory` (GOROOT/src has `module std`)."""
    for candidate in (directory, *directory.parents):
        text = read_go_file(candidate / "go.mod")
        if text is not None:
            match = re.search(r"^module\s+(\S+)", text, re.MULTILINE)
            return (candidate, match.group(1).strip('"')) if match else None
    return None


def _directory_texts(
    directory: Path,
    list_files: Callable[[Path], list[Path]] | None = None,
    read: Callable[[Path], str | None] = read_go_file,
) -> tuple[str, ...]:
    """The texts of a package directory's Go files, test files left out (`list_files` and `read`:
    a SourceLocator's, default a sorted listing and `read_go_file`)."""
    try:
        listed = list_files(directory) if list_files is not None else sorted(directory.glob("*.go"))
    except OSError:
        return ()
    paths = [p for p in listed if not p.name.endswith("_test.go")]
    return tuple(text for p in paths if (text := read(p)) is not None)


def _struct_members(texts: list[str] | tuple[str, ...], name: str) -> tuple[frozenset[str], frozenset[str]] | None:
    """(fields, methods) of `type name struct {…}` in a package's texts; None without that declaration."""
    opening = f"\ntype {name} struct"
    fields: set[str] | None = None
    methods: set[str] = set()
    for text in texts:
        start = text.find(opening)
        line_end = text.find("\n", start + 1) if start >= 0 else -1
        line = text[start + len(opening) : line_end if line_end >= 0 else len(text)] if start >= 0 else ""
        if line.lstrip().startswith("{"):
            fields = fields or set()
            inline = _INLINE_STRUCT.search("struct" + line)
            if inline is not None:  # `type T struct{ a, b int; c string }`
                for part in inline.group(1).split(";"):
                    names = _FIELD_NAMES.match(part)
                    if names:
                        fields.update(_split_names(names.group(1)))
            else:
                body_start = line_end + 1
                end = text.find("\n}", body_start - 1)
                body = text[body_start : end if end >= 0 else len(text)]
                field_lines, embedded_lines = _body_patterns(1)
                for names in field_lines.finditer(body):
                    if names.group(1).split(",")[0].strip() not in _TYPE_KEYWORDS:
                        fields.update(_split_names(names.group(1)))
                fields.update(embedded_lines.findall(body))
        for match in _line_start_matches(_FUNC, "func", text):
            receiver = _RECEIVER.match(match.group(1))
            if receiver is not None and receiver.group(2) == name:
                methods.add(receiver.group(3))
    if fields is None:
        return None
    return frozenset(fields), frozenset(methods)


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


def _signature(text: str) -> tuple[str | None, frozenset[str], tuple[str, ...]]:
    """The compiler-style name, the named results and the receiver's and parameters' lists of
    `func ...` up to its body."""
    rest = text[len("func") :]
    receiver = _RECEIVER.match(rest)
    lists: list[str] = []
    if receiver:
        pointer, type_name, method = receiver.groups()
        name = f"(*{type_name}).{method}" if pointer else f"{type_name}.{method}"
        lists.append(rest[rest.find("(") + 1 : _closing(rest, rest.find("("))] or "_ receiver")
        rest = rest[receiver.end() :]
    else:
        match = _FUNC_NAME.match(rest)
        if match is None:
            return None, frozenset(), ()
        name = match.group(1)
        rest = rest[match.end() :]
    if rest.startswith("["):  # type parameters
        rest = rest[_closing(rest, 0) + 1 :]
    if not rest.startswith("("):
        return name, frozenset(), tuple(lists)
    lists.append(rest[1 : _closing(rest, 0)])
    after_params = rest[_closing(rest, 0) + 1 :].strip()
    if not after_params.startswith("("):
        return name, frozenset(), tuple(lists)
    results = after_params[1 : _closing(after_params, 0)]
    return name, frozenset(_named_results(results)), tuple(lists)


@functools.lru_cache(maxsize=4096)
def _parameters(lists: tuple[str, ...]) -> tuple[tuple[str | None, str | None], ...]:
    parsed: list[tuple[str | None, str | None]] = []
    for index, written in enumerate(lists):
        if index == 0 and written == "_ receiver":  # `func (T) M()`: an unnamed receiver
            parsed.append((None, None))
        else:
            parsed += _parameter_names(written) or ([(None, None)] if index == 0 and len(lists) == 2 else [])
    return tuple(parsed)


def _parameter_names(parameters: str) -> list[tuple[str | None, str | None]]:
    """(name, type) per parameter of a list `a, b *T, c int` (names None for each of `int, string`)."""
    groups = _top_level_groups(parameters)
    if groups == [""]:
        return []
    named = any(_is_name_and_type(group) for group in groups)
    if not named:
        return [(None, group or None) for group in groups]
    result: list[tuple[str | None, str | None]] = []
    pending: list[str] = []
    for group in groups:
        parts = group.split(None, 1)
        if len(parts) == 2 and _is_name_and_type(group):
            for name in pending:
                result.append((name, parts[1].strip()))
            pending = []
            result.append((parts[0], parts[1].strip()))
        else:
            pending.append(group or None)
    result.extend((name, None) for name in pending)
    return result


def _is_name_and_type(group: str) -> bool:
    parts = group.split(None, 1)
    return len(parts) == 2 and parts[0].isidentifier() and parts[0] not in _TYPE_KEYWORDS


def _top_level_groups(text: str) -> list[str]:
    """The comma-separated parts of `text` outside brackets, stripped."""
    groups = []
    depth = 0
    current = []
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
    return groups


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
                candidates = self.go_files_in(directory)
            except OSError:
                continue
            # Test files are not part of `go build`; a global may be declared in any other file.
            siblings += [p for p in candidates if p not in seen and not p.name.endswith("_test.go")]
        return read_package_source(named, siblings, self.read_file, self.go_files_in)

    def for_callee_package(self) -> SourceLocator:
        """The locator for the analysis of a package a value is followed into (escapelint.analyze.findings
        keeps those for later packages): this one; a subclass that notes what is read gives each such
        analysis notes of its own, since it outlives the package that made it."""
        return self

    # Every file and directory `read` looks at passes through these two, so that a subclass can note
    # them (escapelint.workflows.cache keys a package's results by the identity of what was read).

    def go_files_in(self, directory: Path) -> list[Path]:
        """The `*.go` entries of a directory, sorted; OSError when it cannot be listed."""
        return sorted(directory.glob("*.go"))

    def read_file(self, path: Path) -> str | None:
        """One Go file's text (`read_go_file`)."""
        return read_go_file(path)


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
