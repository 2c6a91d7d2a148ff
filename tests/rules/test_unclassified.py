"""`unclassified` on real recorded evidence: the reason names what is missing, and the step it stopped at."""

from __future__ import annotations

from escapelint.rules import classify, unclassified

from .conftest import evidence_at


def test_plain_m_output_says_to_rebuild_with_m2():
    evidence = evidence_at("1.27.3", "./returned.go:13", name="categories.m1.txt")
    verdict = classify(evidence)
    assert verdict.category == "unclassified"
    assert "plain -m output" in verdict.reason and "-gcflags=-m=2" in verdict.reason
    assert verdict.reason == "no explanation in the input (plain -m output); rebuild with -gcflags=-m=2"
    assert verdict.step is None


def test_explained_sites_are_never_unclassified_in_the_labelled_module():
    evidence = evidence_at("1.27.3", "./returned.go:13")
    assert classify(evidence).category == "returned-pointer"
    assert unclassified.why(evidence)  # a reason is always available, even when a rule claims the site


def test_an_assignment_without_the_source_names_its_target_and_the_missing_source():
    verdict = classify(evidence_at("1.19", "./globals.go:11", with_source=False))
    assert verdict.category == "unclassified"
    assert verdict.reason == (
        "assigned to `sinkInt` (`sinkInt = &x` (assign) at ./globals.go:12:10): the package source, needed to "
        "tell a package-level variable from memory behind a pointer, was not found"
    )
    assert (verdict.step.expr, verdict.step.reason, str(verdict.step.at)) == ("sinkInt = &x", "assign", "./globals.go:12:10")


def test_a_named_result_without_the_source_is_a_variable_that_outlives_the_value():
    verdict = classify(evidence_at("1.19", "./returned.go:31", with_source=False))
    assert verdict.category == "unclassified"
    assert verdict.reason == (
        "it is stored in `p`, which outlives it without being a result of its function: a variable declared "
        "outside the loop that allocates it, or one of an enclosing function"
    )
    assert (verdict.step.expr, verdict.step.reason, str(verdict.step.at)) == ("p = &v", "assign", "./returned.go:32:4")
