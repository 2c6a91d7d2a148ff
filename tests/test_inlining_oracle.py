"""inlined_from against the compiler's own inlining chains, on every toolchain, without a rebuild.

fixtures/modules/inlining is recorded with its text (`inlining.m2.txt`) and, beside it, the compiler's
-json log of the same compile (`inlining.log/`, from an -a build) and the function the source declares
at each inlined chain's innermost position (`inlining.callees.json`), all by scripts/record_fixtures.py.
The log is the oracle: escapelint may say "one of A, B" where the text cannot tell, never a callee the
log does not hold, and never a callee where the log says the site is not inlined.
"""

from __future__ import annotations

import json

import pytest

from scripts import inlining_oracle as oracle
from scripts.toolchains import VERSIONS

from .conftest import MODULES, RECORDED, read_lines

MODULE = MODULES / "inlining"
FILE = str(MODULE / "inlining.go")


def _rename(text: str) -> str:
    return text.replace(oracle.MODULE_PLACEHOLDER, str(MODULE))


def _compared(version: str):
    recorded = RECORDED / f"go{version}"
    records = oracle.read_log(recorded / "inlining.log", _rename)
    table = json.loads((recorded / "inlining.callees.json").read_text(encoding="utf-8"))
    functions = oracle.RecordedFunctions(table, _rename)
    sites = []

    def noted(tally, where, kind, expr, inlined_from, records, functions):
        sites.append((where, kind, expr, inlined_from, oracle.truths(kind, expr, records.get(where, []), functions)))
        compare_site(tally, where, kind, expr, inlined_from, records, functions)

    compare_site = oracle.compare_site
    try:
        oracle.compare_site = noted
        tally = oracle.compare_output(read_lines(recorded / "inlining.m2.txt"), MODULE, records, functions)
    finally:
        oracle.compare_site = compare_site
    return tally, records, sites


@pytest.mark.parametrize("version", VERSIONS)
def test_inlined_from_agrees_with_the_compilers_log(version):
    tally, _, _ = _compared(version)
    assert tally.sites >= 15
    assert tally.no_record == 0, tally.examples
    assert tally.wrong == 0, {k: v for k, v in tally.examples.items() if k not in ("agree", "not_inlined_ok")}


def _at(sites, line: int) -> list[tuple]:
    return [site for site in sites if site[0][0] == FILE and site[0][1] == line]


@pytest.mark.parametrize("version", VERSIONS)
def test_the_module_holds_each_shape_the_text_prints_at_one_position(version):
    """What each function of the module is for, as the log says it (not as escapelint reads it)."""
    _, records, sites = _compared(version)

    def chains(line: int) -> list[tuple]:
        return sorted(r.chain for where, rs in records.items() if where[0] == FILE and where[1] == line for r in rs)

    # Twice: errors.New inlined twice into check, check into Twice: two sites at one position.
    twice = _at(sites, 24)
    assert len(twice) == 2 and all(site[4] == {"New"} and site[3] == "errors.New" for site in twice)
    # Nested: outer inlines middle inlines inner; the site's chain has four positions, inner's last.
    assert {len(chain) for chain in chains(33)} == {4}
    assert [(site[3], site[4]) for site in _at(sites, 33)] == [("inner", {"inner"})]
    # ~r0 converted, an expression over ~r0 (with one callee inlined there, or two: Bytes), the `...
    # argument` slice, a named result's conversion (with one callee, or two: Record), an argument's box:
    # the caller's own sites at the inlined call's position.
    for line, expr in (
        (38, "~r0"), (41, '"n=" + ~r0'), (48, "... argument"), (74, "h"), (117, "([]byte)(~r0)"), (136, "err"),
        (139, "v"),
    ):  # fmt: skip
        # (Go 1.19 and 1.21 name the result ~R0; 1.19 prints the concatenation at another column.)
        shown = [(site[2].replace("~R0", "~r0"), site[3], site[4]) for site in _at(sites, line)]
        assert shown == [(expr, None, {None})], (line, shown)
    # Build: the panic string's box is copyCheck's, inside WriteString: the text cannot tell which of
    # the callees inlined at the call holds it (strings' bodies are not in the module's output).
    (box,) = [site for site in _at(sites, 54) if "illegal use" in site[2]]
    assert box[4] == {"(*Builder).copyCheck"}
    assert box[3].startswith("one of ") and "strings.(*Builder).copyCheck" in oracle.one_of(box[3])
    # Builder: the same box, inlined into newBuilder and newBuilder into Builder; `new(strings.Builder)`
    # is newBuilder's own, though it names package strings.
    for expr, truth in (("illegal use", "(*Builder).copyCheck"), ("new(strings.Builder)", "newBuilder")):
        (site,) = [site for site in _at(sites, 92) if expr in site[2]]
        assert site[4] == {truth} and truth in [n.removeprefix("strings.") for n in _said(site[3])], site
    # Verb: the concatenation is verbError's, though its value flows into errors.New.
    (concatenation,) = [site for site in _at(sites, 82) if site[2].startswith('"bad verb')]
    assert concatenation[4] == {"verbError"} and "verbError" in _said(concatenation[3])
    # Reader: NewReaderSize's allocations, inlined into newReader and newReader into Reader.
    assert {site[2].split("(")[0] for site in _at(sites, 98)} == {"new", "make"}
    for site in _at(sites, 98):
        assert site[4] == {"NewReaderSize"} and "bufio.NewReaderSize" in _said(site[3]) and "newReader" not in _said(site[3])
    # Prefix: a parameter moved to heap keeps its place in the inlined callee's signature.
    (prefix,) = _at(sites, 64)
    assert prefix[1:] == ("moved", "prefix", "(*logger).setPrefix", {"(*logger).setPrefix"})


def _said(inlined_from: str | None) -> list[str | None]:
    return oracle.one_of(inlined_from) if inlined_from and inlined_from.startswith("one of ") else [inlined_from]


def test_one_of_splits_at_commas_outside_brackets():
    said = "one of F[go.shape.func(string, []string),go.shape.int], (*T).M, G"
    assert oracle.one_of(said) == ["F[go.shape.func(string, []string),go.shape.int]", "(*T).M", "G"]
    assert oracle.same_function("strings.(*Builder).copyCheck", "(*Builder).copyCheck")
    assert oracle.same_function('"strings".(*Builder).copyCheck', "(*Builder).copyCheck")  # Go 1.19
    assert oracle.same_function("(*Regexp).allIndex.func1-range1", "(*Regexp).allIndex")
    assert not oracle.same_function("errors.New", "(*Builder).copyCheck")
