"""The parsed facts `gather` gives the rules, so that no rule parses the compiler's text itself."""

from __future__ import annotations

import pytest

from escapelint.analyze.evidence import (
    Assignment,
    ExprForm,
    RootKind,
    TargetForm,
    assignment_of,
    root_kind_of,
)
from escapelint.events import FlowStep, Position

from .conftest import evidence_at

AT = Position("./a.go", 3, 2)


@pytest.mark.parametrize(
    "root,kind",
    [
        ("{heap}", RootKind.HEAP),
        ("~r0", RootKind.RESULT),
        ("~R1", RootKind.RESULT),
        ("bytes.~r0", RootKind.RESULT),
        ("{storage for &T{...}}", RootKind.STORAGE),
        ("{storage for x}", RootKind.STORAGE),
        ("p", RootKind.VARIABLE),
        ("{temp}", RootKind.VARIABLE),
        (".autotmp_4", RootKind.VARIABLE),
        ("~r0x", RootKind.VARIABLE),
    ],
)
def test_root_kind(root, kind):
    assert root_kind_of(root) is kind


@pytest.mark.parametrize(
    "expr,assignment",
    [
        ("sinkMap[k] = &T{...}", Assignment("sinkMap[k]", "sinkMap", TargetForm.NAMED)),
        ("sinkInt = &x", Assignment("sinkInt", "sinkInt", TargetForm.NAMED)),
        ("r.doc += s", Assignment("r.doc", "r", TargetForm.NAMED)),
        ("v := &x", Assignment("v", "v", TargetForm.NAMED)),
        ("*pp = &x", Assignment("*pp", "pp", TargetForm.POINTER)),
        ("(*p)[0] = &x", Assignment("(*p)[0]", "p", TargetForm.INSIDE_POINTER)),
        ("(*p).f = &x", Assignment("(*p).f", "p", TargetForm.INSIDE_POINTER)),
        ("f(&x)", None),  # not an assignment
        ("a == b", None),  # a comparison
    ],
)
def test_assignment(expr, assignment):
    assert assignment_of(FlowStep(expr, "assign", AT)) == assignment


@pytest.mark.parametrize(
    "expr,assignment",
    [
        # inlined (*bufio.Reader).reset: the receiver `b` of package bufio, not a variable `bufio`
        ("bufio.b.buf = make([]byte, 4096)", Assignment("bufio.b.buf", "bufio.b", TargetForm.NAMED)),
        ("big.z.abs = ~r0", Assignment("big.z.abs", "big.z", TargetForm.NAMED)),
        ("r.doc = x", Assignment("r.doc", "r", TargetForm.NAMED)),  # `r` is no inlined package
    ],
)
def test_assignment_in_code_inlined_from_another_package(expr, assignment):
    assert assignment_of(FlowStep(expr, "assign", AT), frozenset({"bufio", "big"})) == assignment


@pytest.mark.parametrize(
    "version,site,expr,form",
    [
        ("1.27.3", "misread/misread.go:47", "go.shape.[]string{}", ExprForm.SLICE_LITERAL),
        ("1.19", "misread/misread.go:43", "go.shape.[]string_0{}", ExprForm.SLICE_LITERAL),
    ],
)
def test_a_slice_literal_of_a_shape_type_allocates(version, site, expr, form):
    """`S{}` for S ~[]E in an inlined generic (slices.Clone): no interface is involved."""
    assert evidence_at(version, site, expr, name="leaks.m2.txt", module="leaks").form is form


@pytest.mark.parametrize(
    "version,site,kind",
    [
        ("1.19", "./selectors.go:12", "field"),  # st store.Stats: a field of another package's struct
        ("1.27.3", "./selectors.go:12", "field"),
        ("1.27.3", "./selectors.go:22", "field"),  # l Local
        ("1.27.3", "./selectors.go:26", "method"),  # ix *Index: Index.Keys is a method, Local.Keys a field
    ],
)
def test_a_selector_is_decided_by_the_type_of_its_operand(version, site, kind):
    evidence = evidence_at(version, site, name="leaks.m2.txt", module="leaks")
    assert evidence.selector_kind == kind


def test_gather_parses_an_assignment_destination_once():
    evidence = evidence_at("1.27.3", "./misc.go:12")  # *pp = &x
    assert evidence.root_kind is RootKind.HEAP
    assert evidence.destination.reason == "assign"
    assert evidence.assignment == Assignment("*pp", "pp", TargetForm.POINTER)
    assert evidence.holder is None and evidence.selected_name is None


def test_no_assignment_when_the_destination_is_not_one():
    evidence = evidence_at("1.27.3", "./misc.go:8")  # ch <- &T{...}
    assert evidence.destination.reason == "send"
    assert evidence.assignment is None


def test_a_result_root():
    evidence = evidence_at("1.27.3", "./returned.go:18")
    assert (evidence.root, evidence.root_kind) == ("~r0", RootKind.RESULT)


def test_a_selector_names_what_it_selects():
    evidence = evidence_at("1.27.3", "./misc.go:44")
    assert evidence.form is ExprForm.SELECTOR
    assert (evidence.event.expr, evidence.selected_name) == ("t.Value", "Value")


def test_a_storage_root_names_its_holder():
    evidence = evidence_at("1.27.3", "./closures.go:6")  # n, captured by an escaping func literal
    assert (evidence.root, evidence.root_kind) == ("{storage for func literal}", RootKind.STORAGE)
    assert evidence.holder == "func literal"
