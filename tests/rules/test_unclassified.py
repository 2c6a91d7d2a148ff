"""`unclassified` on real recorded evidence: the reason names what is missing."""

from __future__ import annotations

from escapelint.rules import classify, unclassified

from .conftest import evidence_at


def test_plain_m_output_says_to_rebuild_with_m2():
    evidence = evidence_at("1.27.3", "./returned.go:13", name="categories.m1.txt")
    verdict = classify(evidence)
    assert verdict.category == "unclassified"
    assert "plain -m output" in verdict.reason and "-gcflags=-m=2" in verdict.reason


def test_explained_sites_are_never_unclassified_in_the_labelled_module():
    evidence = evidence_at("1.27.3", "./returned.go:13")
    assert classify(evidence).category == "returned-pointer"
    assert unclassified.why(evidence)  # a reason is always available, even when a rule claims the site
