"""Go source facts (escapelint.analyze.source) without a toolchain: snippets written here, and the fixture modules
checked against what the recorded compiler output says about them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from escapelint.analyze.findings import declared_name
from escapelint.analyze.source import (
    FunctionSpan,
    LazySource,
    PackageSource,
    SourceLocator,
    read_package_source,
)

from .conftest import MODULES, analysed_file, fixture_id, recorded_files

HERE = Path("/src/p")


def source_of(
    text: str, name: str = "a.go", *, directory: Path = HERE
) -> PackageSource:
    return PackageSource({name: (directory, text)}, [])


def spans(text: str) -> list[tuple[str, int, int, set[str]]]:
    return [
        (s.name, s.start_line, s.end_line, set(s.results))
        for s in source_of(text).functions["a.go"]
    ]


# --- function spans and named results ------------------------------------------------------------

SPAN_CASES = {
    "plain": ("func F() {\n\tx := 1\n\t_ = x\n}\n", [("F", 3, 6, set())]),
    "pointer method, named results": (
        "func (t *T) M(a int) (n int, err error) {\n\treturn 0, nil\n}\n",
        [("(*T).M", 3, 5, {"n", "err"})],
    ),
    "value method, unnamed results, one line": (
        "func (t T) V() (int, error) { return 0, nil }\n",
        [("T.V", 3, 3, set())],
    ),
    "unnamed receivers": (
        "func (*T) M() {\n}\n\nfunc (T) N() {\n}\n",
        [("(*T).M", 3, 4, set()), ("T.N", 6, 7, set())],
    ),
    "generic function": (
        "func Map[T, U any](xs []T, f func(T) U) (out []U) {\n\treturn\n}\n",
        [("Map", 3, 5, {"out"})],
    ),
    "generic receiver": (
        "func (p *Pair[K, V]) Swap() (q *Pair[V, K]) {\n\treturn nil\n}\n",
        [("(*Pair).Swap", 3, 5, {"q"})],
    ),
    "one type for several results": (
        "func F() (x, y int) {\n\treturn\n}\n",
        [("F", 3, 5, {"x", "y"})],
    ),
    "a func result with named results of its own": (
        "func F() func() (a int) {\n\treturn nil\n}\n",
        [("F", 3, 5, set())],
    ),
    "a named func result": (
        "func F() (f func() (a int)) {\n\treturn nil\n}\n",
        [("F", 3, 5, {"f"})],
    ),
    "chan result is a type, not a name": (
        "func F() (chan int) {\n\treturn nil\n}\n",
        [("F", 3, 5, set())],
    ),
    "qualified types are not names": (
        "func F() (pkg.T, bool) {\n\treturn\n}\n",
        [("F", 3, 5, set())],
    ),
    "signature over several lines": (
        "func F(\n\ta int,\n) (\n\tr *int,\n\terr error,\n) {\n\treturn\n}\n",
        [("F", 3, 10, {"r", "err"})],
    ),
    "comment after the brace": (
        "func F() (n int, err error) { // returns (a b)\n\treturn\n}\n",
        [("F", 3, 5, {"n", "err"})],
    ),
    "one line with a comment": (
        "func F() (n int) { return 1 } // x\n",
        [("F", 3, 3, {"n"})],
    ),
    "one line with // in a string": (
        'func F() string { return "http://x" }\n\nfunc G() {\n\t_ = 1\n}\n',
        [("F", 3, 3, set()), ("G", 5, 7, set())],
    ),
    "no body (assembly)": (
        "func asm(x int) int\n\nfunc G() {\n}\n",
        [("asm", 3, 3, set()), ("G", 5, 6, set())],
    ),
    "init": ("func init() {\n\t_ = 1\n}\n", [("init", 3, 5, set())]),
    "a func literal is no declaration": (
        "var h = func() *int {\n\tx := 1\n\treturn &x\n}\n",
        [],
    ),
    "a type's closing brace does not end a later function": (
        "type T struct {\n\tN int\n}\n\nfunc F() {\n\t_ = 1\n}\n",
        [("F", 7, 9, set())],
    ),
}


@pytest.mark.parametrize("body, expected", SPAN_CASES.values(), ids=SPAN_CASES.keys())
def test_function_spans(body, expected):
    assert spans("package p\n\n" + body) == expected


def test_a_function_on_the_first_line():
    assert source_of("func F() {\n}\n").functions["a.go"] == [
        FunctionSpan("F", "a.go", 1, 2, frozenset())
    ]


def test_function_at_each_line():
    text = "package p\n\nfunc F() {\n\t_ = 1\n}\n\nfunc (t *T) M() (n int) {\n\treturn\n}\n"
    source = source_of(text)
    names = {
        line: getattr(source.function_at("a.go", line), "name", None)
        for line in range(1, 11)
    }
    assert names == {
        1: None,
        2: None,
        3: "F",
        4: "F",
        5: "F",
        6: None,
        7: "(*T).M",
        8: "(*T).M",
        9: "(*T).M",
        10: None,
    }
    assert source.function_at("other.go", 4) is None


def test_crlf_line_ends_give_the_same_spans():
    text = "package p\n\nfunc F() (r int) {\n\treturn\n}\n\nfunc G() {\n}\n"
    assert (
        source_of(text.replace("\n", "\r\n")).functions["a.go"]
        == source_of(text).functions["a.go"]
    )


# --- package-level variables -----------------------------------------------------------------------

GLOBALS = """package p

import "fmt"

var single *int
var a, b = 1, 2
var (
	c    int
	d, e string
	// comment int
	f = map[string]int{
		"k": 1,
	}
	g = func() {
		local := 1
	}
)

const notVar = 3

func F() {
	var inside int
	_ = inside
}
"""


def test_package_level_variables():
    assert source_of(GLOBALS).globals_of("a.go") == {
        "single",
        "a",
        "b",
        "c",
        "d",
        "e",
        "f",
        "g",
    }


def test_globals_of_an_unknown_file_are_none():
    assert source_of(GLOBALS).globals_of("elsewhere.go") == set()


def test_globals_come_from_every_file_of_the_directory_and_only_of_it():
    """A global may be declared in any file of a package; another directory is another package."""
    named = {
        "a.go": (HERE, "package p\n\nvar x int\n"),
        "/goroot/src/q/q.go": (Path("/goroot/src/q"), "package q\n\nvar q int\n"),
    }
    siblings = [
        (HERE, "package p\n\nvar (\n\ty int\n)\n"),
        (Path("/goroot/src/q"), "package q\n\nvar r int\n"),
    ]
    source = PackageSource(named, siblings)
    assert source.globals_of("a.go") == {"x", "y"}
    assert source.globals_of("/goroot/src/q/q.go") == {"q", "r"}


def test_crlf_line_ends_keep_globals_and_fields(tmp_path):
    """A Windows checkout (core.autocrlf): read_go_file reads with universal newlines, so the scanner,
    which looks for 'var (\\n' and 'struct {\\n', sees the same text on every platform."""
    text = "package p\n\nvar (\n\ta int\n)\n\ntype T struct {\n\tN int\n}\n"
    (tmp_path / "a.go").write_bytes(text.replace("\n", "\r\n").encode())
    source = SourceLocator(tmp_path).read({"a.go"})
    assert source.globals_of("a.go") == {"a"}
    assert source.has_field("N")


# --- struct fields and methods --------------------------------------------------------------------

TYPES = """package p

type T struct {
	N    int
	A, B string
	*Embedded
	pkg.Other
	Inner struct {
		Deep int
	}
	Tagged int `json:"t"`
	// Comment int
	F func(int) error
}

type U struct{ P *int; Q int }

type I interface {
	Method()
}

func (t *T) M() {}

func (T) V() {}

func (s *Set[E]) Add(v E) {}

func NotAMethod() {}
"""


@pytest.mark.parametrize(
    "name, is_field",
    [
        *[
            (n, True)
            for n in (
                "N",
                "A",
                "B",
                "Embedded",
                "Other",
                "Inner",
                "Deep",
                "Tagged",
                "F",
                "P",
                "Q",
            )
        ],
        *[(n, False) for n in ("Comment", "Method", "M", "x", "T", "int")],
    ],
)
def test_struct_fields(name, is_field):
    assert source_of(TYPES).has_field(name) is is_field


@pytest.mark.parametrize(
    "name, is_method",
    [("M", True), ("V", True), ("Add", True), ("NotAMethod", False), ("Method", False)],
)
def test_methods(name, is_method):
    assert source_of(TYPES).has_method(name) is is_method


def test_methods_and_fields_of_every_file_of_the_package():
    source = PackageSource({"a.go": (HERE, "package p\n")}, [(HERE, TYPES)])
    assert source.has_method("M") and source.has_field("Deep")
    assert source.functions == {"a.go": []}  # spans only for the files the output names


# --- reading files --------------------------------------------------------------------------------


def test_locator_paths(tmp_path):
    locator = SourceLocator(tmp_path)
    assert locator.path("kv/store.go") == tmp_path / "kv" / "store.go"
    assert locator.path("/abs/x.go") == Path("/abs/x.go")
    assert locator.path("<autogenerated>") is None
    assert locator.path("asm_amd64.s") is None
    assert SourceLocator().path("kv/store.go") is None
    assert SourceLocator().path("/abs/x.go") == Path("/abs/x.go")


def test_locator_reads_the_named_files_and_their_directories_but_not_tests(tmp_path):
    (tmp_path / "a.go").write_text("package p\n\nfunc A() (r int) {\n\treturn\n}\n")
    (tmp_path / "b.go").write_text("package p\n\nvar fromB int\n")
    (tmp_path / "b_test.go").write_text("package p\n\nvar fromTest int\n")
    (tmp_path / "notes.txt").write_text("var fromNotes int\n")
    source = SourceLocator(tmp_path).read({"a.go", "<autogenerated>"})
    assert (
        source.files == {"a.go"} and source.covers("a.go") and not source.covers("b.go")
    )
    assert source.globals_of("a.go") == {"fromB"}
    assert source.function_at("a.go", 4).results == {"r"}
    assert SourceLocator(tmp_path).read({"<autogenerated>"}) is None


def test_unreadable_files_give_no_facts_and_raise_nothing(tmp_path):
    # (PackageSource.unreadable, which listed them, had no user and is gone: issue 9's dead code.)
    source = read_package_source({"gone.go": tmp_path / "gone.go"})
    assert source.files == set()
    assert (
        source.globals_of("gone.go") == set()
        and source.function_at("gone.go", 1) is None
    )


def test_undecodable_bytes_are_replaced(tmp_path):
    (tmp_path / "a.go").write_bytes(b"package p\n\n// \xff\xfe\nvar x int\n")
    assert SourceLocator(tmp_path).read({"a.go"}).globals_of("a.go") == {"x"}


def test_lazy_source_loads_once_and_only_when_asked():
    calls = []
    lazy = LazySource(lambda: calls.append(1) or source_of("package p\n"))
    assert not lazy.loaded and calls == []
    first = lazy.get()
    assert lazy.get() is first and lazy.loaded and calls == [1]
    nothing = LazySource(lambda: None)
    assert nothing.get() is None and nothing.loaded


# --- the fixture modules, against the compiler ------------------------------------------------------

_CLOSURE = re.compile(r"\.(?:func|gowrap|deferwrap)\d+")


def _inliner_remarks(path: Path):
    """(source, remark) for every "can inline" / "cannot inline" line about a file of the module."""
    build = analysed_file(path)
    for package in build.packages:
        for remark in package.output.remarks:
            at = remark.position
            if (
                remark.kind in ("can_inline", "cannot_inline")
                and at is not None
                # Go 1.19 names inlined standard-library generics `$GOROOT/src/sync/atomic/type.go`
                and not at.file.startswith(("/", "<", "$GOROOT/"))
            ):
                yield build.sources.read({at.file}), remark


@pytest.mark.parametrize("path", recorded_files("*.m2.txt"), ids=fixture_id)
def test_every_function_the_inliner_names_has_its_span(path):
    """The inliner reports each declared function at its `func` line: a span starts there, named alike."""
    checked = 0
    for source, remark in _inliner_remarks(path):
        if _CLOSURE.search(remark.function):
            continue
        at = remark.position
        starting = [
            s.name for s in source.functions[at.file] if s.start_line == at.line
        ]
        assert declared_name(remark.function) in starting, (
            at,
            remark.function,
            starting,
        )
        checked += 1
    assert checked or path.name.startswith("broken")


@pytest.mark.parametrize("path", recorded_files("*.m2.txt"), ids=fixture_id)
def test_every_closure_lies_in_the_span_of_its_function(path):
    for source, remark in _inliner_remarks(path):
        if _CLOSURE.search(remark.function):
            span = source.function_at(remark.position.file, remark.position.line)
            assert span is not None and span.name == declared_name(remark.function), (
                remark.position,
                span,
            )


def test_categories_module_facts():
    source = SourceLocator(MODULES / "categories").read(
        {"./returned.go", "./globals.go", "generics/generics.go"}
    )
    assert source.globals_of("./returned.go") == {
        "sinkAny",
        "sinkField",
        "sinkFunc",
        "sinkInt",
        "sinkMap",
        "sinkSlice",
    }
    assert source.globals_of("generics/generics.go") == {"sinkAny"}  # its own package's
    named = source.function_at("./returned.go", 32)
    assert (named.name, named.start_line, named.end_line, named.results) == (
        "ReturnNamedResult",
        30,
        34,
        {"p"},
    )
    assert (
        source.function_at("./returned.go", 14).results == frozenset()
    )  # ReturnAddrOfLocal() *int
    assert all(
        source.has_field(n) for n in ("N", "Next", "P")
    ) and not source.has_field("Nope")
    assert source.has_method("Push") and not source.has_method("ReturnNew")


def test_example_module_facts():
    source = SourceLocator(MODULES / "example").read({"kv/store.go"})
    assert source.globals_of("kv/store.go") == set()
    assert all(source.has_field(n) for n in ("data", "mu", "log"))
    assert all(source.has_method(n) for n in ("Set", "Get", "Delete", "Keys"))
    set_span = source.function_at("kv/store.go", 22)
    assert set_span.name == "(*Store).Set" and set_span.start_line == 21


def test_parameters_and_struct_members_across_packages():
    """What leak following and selector decisions read (fixtures/modules/leaks)."""
    source = SourceLocator(MODULES / "leaks").read({"./follow.go", "./selectors.go"})
    put = source.function_at("./follow.go", 35)
    assert (put.name, put.parameters, put.parameter_types) == ("put", ("b", "p"), ("*Box", "*int"))
    keep = source.function_at("./follow.go", 79)
    assert (keep.name, keep.parameters) == ("Keeper.Keep", (None, "p"))  # an unnamed receiver first
    assert source.imported_names("./selectors.go") == {"fmt", "store"}
    assert source.import_path("./follow.go", "store") == "example.com/escapelint/leaks/store"
    assert source.members_of("./selectors.go", "store.Stats") == ({"Keys", "Bytes"}, frozenset())
    assert source.members_of("./selectors.go", "store.Store") == ({"m"}, {"Keys"})
    assert source.members_of("./selectors.go", "Index") == ({"names"}, {"Keys"})
    assert source.members_of("./selectors.go", "Local") == ({"Keys"}, frozenset())
    assert source.members_of("./selectors.go", "Missing") is None
    assert source.members_of("./selectors.go", "fmt.State") is None  # outside the module, no GOROOT
