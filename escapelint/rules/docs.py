"""The category documentation, rendered from the rule modules so code and docs never drift."""

from __future__ import annotations

from escapelint.rules import PRECEDENCE, RULES, Rule
from escapelint.rules import __doc__ as REGISTRY_DOC


def rule_text(rule: Rule) -> str:
    """One category as plain text: what `escapelint explain ID` prints."""
    return f"{rule.id}: {rule.title}\n\n{rule.doc}\n\nFix: {rule.fix}\n"


def rules_markdown() -> str:
    """docs/rules.md: the precedence, then every category's documentation."""
    order = " → ".join(f"`{rule.id}`" for rule in PRECEDENCE)
    parts = [
        "# escapelint categories",
        "",
        "<!-- Generated from escapelint/rules/*.py by `escapelint rules --markdown`; do not edit. -->",
        "",
        "Every `escape` and `moved` event gets exactly one category. The rules are asked in this order and",
        f"the first that claims the event decides: {order}; an event none claims is `unclassified`, with",
        "the reason.",
        "",
        "| id | title | headline |",
        "| --- | --- | --- |",
    ]
    parts += [f"| [`{r.id}`](#{r.id}) | {r.title} | {'yes' if r.headline else ''} |" for r in RULES.values()]
    parts += ["", "## How the precedence was chosen", "", _registry_rationale()]
    for rule in RULES.values():
        body = rule.doc.split("\n", 1)
        parts += [
            "",
            f'<a id="{rule.id}"></a>',
            "",
            f"## `{rule.id}` — {rule.title}",
            "",
            body[0],
            "",
            _demote_headings(body[1].strip()) if len(body) > 1 else "",
            "",
            f"**Fix:** {rule.fix}",
        ]
    return "\n".join(parts).rstrip() + "\n"


def _registry_rationale() -> str:
    paragraphs = (REGISTRY_DOC or "").strip().split("\n\n")
    return next((p for p in paragraphs if p.startswith("Precedence")), "").replace("\n", " ")


def _demote_headings(text: str) -> str:
    return "\n".join("#" + line if line.startswith("## ") else line for line in text.splitlines())
