"""Does a heap site really allocate? `allocates` against the assembly, on every toolchain.

fixtures/modules/conversions converts values of every kind to an interface, one conversion per line;
scripts/record_fixtures.py records its -m=2 output (and, on Go 1.25+, the same with
-d=escapedebug=1) and, from `go build -gcflags=-S`, whether each site's line calls runtime.convT*,
runtime.newobject, runtime.mallocgc* or runtime.concatstring* (conversions.truth.json). Nothing here
is typed by hand but the list of sites that only the compiler's own `convert:` line can decide.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from escapelint.analyze.allocation import from_expression, is_constant_expression, type_shape
from escapelint.events import EventKind
from scripts.record_fixtures import MODE_SINCE, version_tuple
from scripts.toolchains import VERSIONS

from .conftest import MODULES, RECORDED, analysed, toolchain_or_skip

#: Sites whose static data only the compiler's `convert:` line shows: a constant of another package
#: (its declaration is not in the module's source) and, on Go 1.25+, composite literals of constants
#: and zero composite literals (static only from Go 1.25, which the output alone does not always tell).
ONLY_THE_COMPILER_KNOWS = {"time.Second", "5 * time.Millisecond"}
COMPOSITE_LITERAL_LINES_125 = {132, 133, 134, 135, 136, 138, 139, 140}


def _truth(version: str) -> dict[tuple[str, int, int, str], bool | None]:
    truth = json.loads((RECORDED / f"go{version}" / "conversions.truth.json").read_text())
    return {(s["file"], s["line"], s["column"], s["expr"]): s["allocates"] for s in truth["sites"]}


def _verdicts(version: str, level: str):
    found = {}
    for finding in analysed(version, "conversions", level).findings():
        event = finding.event
        if event.kind in (EventKind.ESCAPE, EventKind.MOVED):
            key = (event.position.file, event.position.line, event.position.column, event.expr)
            found.setdefault(key, []).append(finding)
    return found


@pytest.mark.parametrize("version", VERSIONS)
def test_allocates_matches_the_assembly_without_the_flag(version):
    truth = _truth(version)
    verdicts = _verdicts(version, "m2")
    assert set(verdicts) == set(truth)
    wrong = []
    for key, findings in sorted(verdicts.items()):
        expected = truth[key]
        if expected is None:
            continue  # the listing cannot tell this line's sites apart (Go 1.19's fmt.Println)
        for finding in findings:
            if finding.allocates != expected:
                wrong.append((key[1], key[3], expected))
            if finding.allocates:
                assert finding.allocates_reason is None
            else:
                assert finding.allocates_reason, key
    # Never a site called static that calls the allocator; undecided only where the compiler alone knows.
    assert [w for w in wrong if w[2]] == []
    undecided = {expr for _, expr, _ in wrong if expr in ONLY_THE_COMPILER_KNOWS}
    composite = {line for line, expr, _ in wrong if line in COMPOSITE_LITERAL_LINES_125}
    assert len(wrong) == len(undecided) + len(composite), wrong
    if version_tuple(version) < (1, 25):
        assert composite == set()
    static = sum(1 for key, expected in truth.items() if expected is False)
    print(f"go{version}: {static - len(wrong)}/{static} static sites found without -d=escapedebug=1")


@pytest.mark.parametrize("version", [v for v in VERSIONS if version_tuple(v) >= MODE_SINCE["m2d"]])
def test_allocates_matches_the_assembly_with_escapedebug(version):
    truth = _truth(version)
    verdicts = _verdicts(version, "m2d")
    assert set(verdicts) == set(truth)
    wrong = [
        (key, expected, [f.allocates_reason for f in verdicts[key]])
        for key, expected in sorted(truth.items())
        if expected is not None and any(f.allocates != expected for f in verdicts[key])
    ]
    assert wrong == []


def test_a_variables_convert_line_is_matched_by_name_in_its_function():
    findings = _verdicts("1.27.3", "m2d")
    (b,) = findings[("./conversions.go", 87, 9, "b")]
    assert not b.allocates and "./conversions.go:86:17" in b.allocates_reason and "declaration of `b`" in b.allocates_reason


def test_func_literals_that_capture_nothing_are_static():
    findings = _verdicts("1.22.10", "m2")
    assert [f.allocates for f in findings[("./closures.go", 7, 13, "func literal")]] == [False]
    assert [f.allocates for f in findings[("./closures.go", 8, 13, "func literal")]] == [True]
    assert [f.allocates for f in findings[("./closures.go", 9, 13, "func literal")]] == [False]


@pytest.mark.parametrize(
    "expr",
    ["7", "-1", "3.5", '"text"', "'x'", "(0 + 2i)", "1 << 20", '"con" + "cat"', "level(3)", "time.Duration(5000000)",
     "int64(1 << 40)", "true", "struct {}{}", "[0]int{}", "n > 3", "!ok", "s == \"x\"", "byte(n)", "[1]byte{...}"],
)  # fmt: skip
def test_static_by_expression(expr):
    assert from_expression(expr, "p", frozenset({"level"})).allocates is False


@pytest.mark.parametrize(
    "expr", ["n", "n + 1", "strconv.Itoa(5)", "f(3)", "len(s)", "int(b)", "s[1:]", "pair{...}", "x.y", "!=x"]
)
def test_not_static_by_expression(expr):
    assert from_expression(expr, "p") is None


def test_constants_in_fips_packages_are_not_static_data():
    # obj.Link.IsFIPS (Go 1.24+): order.go's addrTemp leaves their literals alone; bools still are static.
    assert from_expression('"x"', "crypto/internal/fips140/aes") is None
    assert from_expression("true", "crypto/internal/fips140/aes").allocates is False
    assert from_expression('"x"', "crypto/internal/fips140_test").allocates is False


def test_constant_expressions_use_the_packages_names():
    assert is_constant_expression("greeting", constants=frozenset({"greeting"}))
    assert not is_constant_expression("greeting")
    assert is_constant_expression("level(answer)", frozenset({"level"}), frozenset({"answer"}))


@pytest.mark.parametrize(
    "text,zero,one",
    [("bool", False, True), ("struct{}", True, False), ("[0]string", True, False), ("flag", False, True),
     ("struct{ ok bool }", False, True), ("[1]code", False, True), ("empty", True, False)],
)  # fmt: skip
def test_type_shapes(text, zero, one):
    named = {"flag": "bool", "code": "byte", "empty": "struct{}"}
    shape = type_shape(text, named)
    assert (shape.zero_sized, shape.one_byte) == (zero, one)


@pytest.mark.parametrize("text", ["int", "int16", "string", "struct{ a, b bool }", "[2]byte", "pair"])
def test_types_of_other_shapes(text):
    assert type_shape(text, {"pair": "struct{ x, y int }"}) is None


@pytest.mark.toolchain
@pytest.mark.parametrize("version", ["1.25.5", "1.27.3"])
def test_audit_on_go_1_25_and_later_gets_every_site_right(tmp_path, version):
    """audit adds -d=escapedebug=1 itself on Go 1.25+, so every site of the module is decided right."""
    toolchain = toolchain_or_skip(version)
    module = tmp_path / "conversions"
    shutil.copytree(MODULES / "conversions", module)
    env = toolchain.env()
    env["PATH"] = f"{toolchain.goroot / 'bin'}{os.pathsep}{env['PATH']}"
    result = subprocess.run(
        [sys.executable, "-m", "escapelint", "audit", "-q", "-f", "json:r.json"],
        cwd=module, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads((module / "r.json").read_text())
    truth = _truth(version)
    got = {
        (e["file"], e["line"], e["column"], e["expr"]): e["allocates"]
        for p in document["packages"]
        for e in p["events"]
        if e["kind"] in ("escape", "moved")
    }
    assert set(got) == set(truth)
    assert {k: v for k, v in got.items() if truth[k] is not None and truth[k] != v} == {}
    assert document["stats"]["remarks"]["interface_conversion"] > 0


@pytest.mark.parametrize("version", [v for v in VERSIONS if version_tuple(v) >= MODE_SINCE["m2d"]])
def test_a_convert_line_of_one_instantiation_decides_no_site(version):
    """Generic[int8] and Generic[int64] report `v` at one position, and only the int8 copy prints a
    convert: line (its declaration's): which instantiation it is for, the line does not say."""
    generic = [f for key, fs in _verdicts(version, "m2d").items() if key[1] == 163 for f in fs]
    assert len(generic) == 2 and {f.function for f in generic} == {"Generic[go.shape.int8]", "Generic[go.shape.int64]"}
    assert all(f.allocates for f in generic)
    assert any("convT64" in s["calls"] for s in json.loads(
        (RECORDED / f"go{version}" / "conversions.truth.json").read_text())["sites"] if s["line"] == 163)


@pytest.mark.toolchain
@pytest.mark.slow
def test_no_func_literal_is_called_static_that_the_compiler_makes_a_closure(tmp_path):
    """Against the compiler's own word: -d=closure=1 prints "closure converted to global" at every func
    literal that captures nothing (walk/closure.go walkClosure). Packages with inlined generic and
    cross-package closures (slices.All in net/http, sync.OnceFunc in text/template) are the hard cases."""
    from escapelint.analyze.findings import analyze
    from escapelint.analyze.source import SourceLocator
    from escapelint.read.assembler import read_build_output

    toolchain = toolchain_or_skip("1.27.3")
    packages = ["net/http", "go/types", "encoding/json", "sync", "testing", "os/exec", "net", "text/template"]
    result = subprocess.run(
        [str(toolchain.go), "build", "-gcflags=-m=2 -d=closure=1", *packages],
        cwd=tmp_path, env=toolchain.env(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    outputs, stats = read_build_output((result.stdout + result.stderr).splitlines(keepends=True))
    assert stats.roles["unrecognized"] == 0
    static = wrong = 0
    for output in outputs:
        globals_ = {r.position for r in output.remarks if r.kind == "closure_to_global"}
        for finding in analyze(output, SourceLocator(None)).findings:
            if finding.event.expr == "func literal" and finding.event.kind is EventKind.ESCAPE and not finding.allocates:
                static += 1
                wrong += finding.event.position not in globals_
    assert static > 0 and wrong == 0
