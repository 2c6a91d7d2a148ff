"""Compiled matchers for the grammar's rules that begin with a pattern: the same rules, run as one regex each.

rule_matchers.py compiles the rules that begin with a keyword. The bodies it leaves to Lark's parser are
mostly "x escapes to heap:", "x escapes to heap" and "x does not escape", whose rules begin with a pattern
terminal (ESCAPING_EXPR, NONESCAPING_EXPR, ...): a standard library build has some 17 000 distinct ones,
at about 30 µs each in Lark. Their rules are flat sequences of terminals too, compiled here exactly as
rule_matchers.py does it, and reduced by the callbacks Lark built for them: the message objects are Lark's.

A keyword tells which rule Lark's lexer starts with; a pattern does not, since Lark's contextual lexer
tries every terminal that may begin a message and takes the first in its own order (priority first) that
matches. So a matcher is only used when no keyword and no other pattern of the same priority matches at
the start of the body: then Lark's lexer has a single candidate for the first token, whatever its order
within a priority. Anything else, and anything these regexes do not match, goes through Lark's parser.
tests/test_pattern_matchers.py checks that both agree on every recorded line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lark import Lark
from lark.lexer import PatternRE, PatternStr

from .rule_matchers import RuleMatcher, rules_reachable, rules_by_origin


@dataclass(frozen=True)
class PatternMatchers:
    """The compiled rules led by each pattern terminal that may begin a message, and how to pick one."""

    keywords: re.Pattern[str]  # any keyword that may begin a message: Lark's lexer could read it instead
    leads: tuple[tuple[str, int, re.Pattern[str]], ...]  # (terminal, priority, pattern), higher priority first
    rules: dict[str, tuple[RuleMatcher, ...]]  # by leading terminal, longer expansions first

    def match(self, text: str) -> object | None:
        """The message Lark's parser would make of `text`, or None to leave it to the parser."""
        if self.keywords.match(text) is not None:
            return None
        lead = None
        for name, priority, pattern in self.leads:
            if lead is not None and priority < lead[1]:
                break  # a lower priority never wins the first token
            if pattern.match(text) is not None:
                if lead is not None:
                    return None  # two candidates for the first token: Lark's order decides
                lead = (name, priority)
        if lead is None:
            return None
        for matcher in self.rules.get(lead[0], ()):
            message = matcher.match(text)
            if message is not None:
                return message
        return None


def compile_pattern_matchers(parser: Lark, start: str = "message") -> PatternMatchers:
    """Matchers for the flat rules reachable from `start` whose first terminal is a pattern."""
    terminals = {t.name: t for t in parser.terminals}
    callbacks = parser.parser.parser.parser.callbacks
    first = [terminals[name] for name in sorted(_first_terminals(parser, start))]
    keywords = [t for t in first if isinstance(t.pattern, PatternStr)]
    if any(t.priority != 0 for t in keywords):
        raise ValueError("a keyword with a priority: Lark's order between it and the patterns is not modelled")
    leads = [t for t in first if isinstance(t.pattern, PatternRE)]
    rules: dict[str, list[RuleMatcher]] = {}
    for rule in rules_reachable(parser, start):
        lead = terminals.get(rule.expansion[0].name) if rule.expansion else None
        if lead not in leads or _retypes(lead, keywords):
            continue
        parts = []
        for index, symbol in enumerate(rule.expansion):
            terminal = terminals[symbol.name]
            parts.append(f"(?=(?P<t{index}>{terminal.pattern.to_regexp()}))(?P=t{index})")
        rules.setdefault(lead.name, []).append(
            RuleMatcher(
                keyword=lead.name,
                pattern=re.compile("".join(parts) + r"\Z"),
                group_names=tuple(f"t{i}" for i in range(len(rule.expansion))),
                reduce=callbacks[rule],
            )
        )
    for matchers in rules.values():
        matchers.sort(key=lambda m: -len(m.group_names))
    return PatternMatchers(
        keywords=re.compile("|".join(re.escape(t.pattern.value) for t in keywords) or "(?!)"),
        leads=tuple(
            (t.name, t.priority, re.compile(t.pattern.to_regexp()))
            for t in sorted(leads, key=lambda t: -t.priority)
        ),
        rules={name: tuple(matchers) for name, matchers in rules.items()},
    )


def _first_terminals(parser: Lark, start: str) -> set[str]:
    """The terminals a sentence of `start` may begin with: those Lark's lexer tries first."""
    by_origin = rules_by_origin(parser)
    first: set[str] = set()
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for rule in by_origin.get(name, ()):
            if not rule.expansion:
                raise ValueError(f"rule {rule} is empty: its first terminals are those of what follows it")
            symbol = rule.expansion[0]
            if symbol.is_term:
                first.add(symbol.name)
            else:
                todo.append(symbol.name)
    return first


def _retypes(lead, keywords) -> bool:
    """Whether Lark's lexer turns some tokens of `lead` into a keyword (when the pattern matches it whole)."""
    pattern = re.compile(lead.pattern.to_regexp())
    for keyword in keywords:
        if keyword.priority == lead.priority:
            found = pattern.match(keyword.pattern.value)
            if found is not None and found.group(0) == keyword.pattern.value:
                return True
    return False
