"""Rule `global-assignment` on real recorded explanation chains: which sites it claims, why, and by which step."""

from __future__ import annotations

import pytest

from escapelint.rules import global_assignment

from .conftest import deciding_step, evidence_at

#: (Go version, site, expression or None, the claim's reason or None when the rule leaves the
#: site, the deciding step as (expr, reason, position) or None)
CASES = [
    (
        "1.19",
        "./globals.go:11",
        None,
        "stored in package-level variable `sinkInt`: `sinkInt = &x` (assign) at ./globals.go:12:10",
        ("sinkInt = &x", "assign", "./globals.go:12:10"),
    ),
    (
        "1.27.3",
        "./globals.go:16",
        None,
        "stored in package-level variable `sinkField`: `sinkField.P = &T{...}` (assign) at ./globals.go:16:14",
        ("sinkField.P = &T{...}", "assign", "./globals.go:16:14"),
    ),
    (
        "1.22.10",
        "./globals.go:20",
        None,
        "stored in package-level variable `sinkMap`: `sinkMap[k] = &T{...}` (assign) at ./globals.go:20:13",
        ("sinkMap[k] = &T{...}", "assign", "./globals.go:20:13"),
    ),
    (
        "1.25.5",
        "./globals.go:24",
        None,
        "stored in package-level variable `sinkSlice`: `sinkSlice[0] = &T{...}` (assign) at ./globals.go:24:15",
        ("sinkSlice[0] = &T{...}", "assign", "./globals.go:24:15"),
    ),
    (
        "1.27.3",
        "./globals.go:6",
        None,
        "stored in package-level variable `sinkMap`: `sinkMap = map[string]*T{}` (assign) at ./globals.go:6:2",
        ("sinkMap = map[string]*T{}", "assign", "./globals.go:6:2"),
    ),
    ("1.27.3", "./misc.go:12", None, None, None),
    ("1.19", "./returned.go:13", None, None, None),
]


@pytest.mark.parametrize("version,site,expr,reason,step", CASES)
def test_claim(version, site, expr, reason, step):
    claim = global_assignment.claim(evidence_at(version, site, expr))
    assert (claim is not None) == (reason is not None)
    if claim is not None:
        assert claim.reason == reason
        assert deciding_step(claim) == step


@pytest.mark.parametrize("version", ["1.19", "1.22.10", "1.27.3"])
def test_a_static_temporary_of_a_package_level_literal_is_a_global(version):
    # conversions/statics.go: `var table = []*int{new(int)}` stores new(int) into the slice's static
    # backing array, `(*int)(example.com/escapelint/conversions..stmp_0@0)`: package data, not a pointer.
    evidence = evidence_at(version, "./statics.go:6", name="conversions.m2.txt", module="conversions")
    claim = global_assignment.claim(evidence)
    assert claim is not None
    assert claim.reason.startswith("stored in `.stmp_0`, static data of a package-level variable's composite literal: ")
    assert deciding_step(claim) == (
        "(*int)(example.com/escapelint/conversions..stmp_0@0) = new(int)", "assign", "./statics.go:6:23")
