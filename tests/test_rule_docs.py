"""Each rule module carries its documentation; docs/rules.md and the CLI render it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from escapelint.rules import HEADLINE, PRECEDENCE, RULES, UnknownRuleError, get_rule
from escapelint.rules.docs import rules_markdown

from .conftest import ROOT

SECTIONS = ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Known problems")


@pytest.mark.parametrize("rule_id", list(RULES))
def test_rule_module_is_documented(rule_id):
    rule = get_rule(rule_id)
    assert rule.title and rule.fix
    positions = [rule.doc.find(section) for section in SECTIONS]
    assert all(p > 0 for p in positions), f"{rule_id}: missing one of {SECTIONS}"
    assert positions == sorted(positions), f"{rule_id}: sections out of order"


def test_registry_has_the_headline_categories_and_unclassified_last():
    assert set(HEADLINE) <= set(RULES)
    assert list(RULES)[-1] == "unclassified"
    assert [r.id for r in PRECEDENCE] == list(RULES)[:-1]


def test_unknown_rule_is_an_error_naming_it():
    with pytest.raises(UnknownRuleError, match="'no-such-rule'"):
        get_rule("no-such-rule")


def test_docs_rules_md_is_generated_from_the_modules():
    """Regenerate with: escapelint rules --markdown > docs/rules.md"""
    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8") == rules_markdown()


def test_cli_rules_and_explain():
    listing = subprocess.run([sys.executable, "-m", "escapelint", "rules"], capture_output=True, text=True)
    assert listing.returncode == 0
    assert all(rule_id in listing.stdout for rule_id in RULES)
    explained = subprocess.run(
        [sys.executable, "-m", "escapelint", "explain", "returned-pointer"], capture_output=True, text=True
    )
    assert explained.returncode == 0
    assert "## What it does" in explained.stdout and "Fix:" in explained.stdout
    unknown = subprocess.run([sys.executable, "-m", "escapelint", "explain", "nope"], capture_output=True, text=True)
    assert unknown.returncode == 2
    assert "unknown rule 'nope'" in unknown.stderr
