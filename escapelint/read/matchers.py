"""Compiled matchers for the grammar's keyword-led rules: the same rules, run as one regex each.

Lark's LALR parser costs about 35 µs a message, mostly per-call and per-token overhead, and a standard
library build has some 100 000 distinct message bodies, nearly all of them flow and step lines. A rule
of this grammar is a flat sequence of terminals, so it can be matched by concatenating its terminals'
own patterns. Each terminal is made atomic (`(?=(?P<t>…))(?P=t)`), so, like Lark's lexer, a token never
gives back characters to let a later one match. The tokens are then handed to the reduction callback
Lark itself built for that rule, which drops the anonymous tokens, fills `[optional]` placeholders and
runs the Transformer: the message objects are Lark's own.

Only rules that begin with a keyword ("    from ", "  flow: ", "parameter ", ...) are compiled, and only
for bodies that start with that keyword; everything else, and anything these regexes do not match, goes
through Lark's parser. tests/test_rule_matchers.py checks that both agree on every recorded line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from lark import Lark
from lark.lexer import PatternRE, PatternStr


@dataclass(frozen=True)
class RuleMatcher:
    """One grammar rule led by a keyword, compiled to a regular expression and Lark's own reduction."""

    keyword: str
    pattern: re.Pattern[str]
    group_names: tuple[str, ...]
    reduce: Callable[[list], object]

    def match(self, text: str) -> object | None:
        found = self.pattern.match(text)
        if found is None:
            return None
        # Lark's reduction callbacks select children by index, so plain strings do as tokens.
        return self.reduce(list(map(found.group, self.group_names)))


def compile_rule_matchers(parser: Lark, start: str = "message") -> dict[str, list[RuleMatcher]]:
    """Matchers for the keyword-led rules reachable from `start`, grouped by the keyword's first 4 chars.

    Within a group the longer expansions come first, as Lark's lexer tries an optional token before
    the token that may follow it.
    """
    terminals = {t.name: t for t in parser.terminals}
    callbacks = parser.parser.parser.parser.callbacks
    groups: dict[str, list[RuleMatcher]] = {}
    for rule in rules_reachable(parser, start):
        first = terminals.get(rule.expansion[0].name) if rule.expansion else None
        if first is None or not isinstance(first.pattern, PatternStr):
            continue
        parts = []
        for index, symbol in enumerate(rule.expansion):
            terminal = terminals[symbol.name]
            parts.append(f"(?=(?P<t{index}>{terminal.pattern.to_regexp()}))(?P=t{index})")
        matcher = RuleMatcher(
            keyword=first.pattern.value,
            pattern=re.compile("".join(parts) + r"\Z"),
            group_names=tuple(f"t{i}" for i in range(len(rule.expansion))),
            reduce=callbacks[rule],
        )
        groups.setdefault(matcher.keyword[:4], []).append(matcher)
    for matchers in groups.values():
        matchers.sort(key=lambda m: -len(m.group_names))
    return groups


def rules_by_origin(parser: Lark) -> dict[str, list]:
    """The grammar's compiled rules, by the name of the rule they expand."""
    by_origin: dict[str, list] = {}
    for rule in parser.rules:
        by_origin.setdefault(rule.origin.name, []).append(rule)
    return by_origin


def rules_reachable(parser: Lark, start: str):
    """The grammar's rules whose expansions are all terminals and that `start` can derive."""
    by_origin = rules_by_origin(parser)
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for rule in by_origin.get(name, ()):
            nonterminals = [s.name for s in rule.expansion if not s.is_term]
            if nonterminals:
                todo.extend(nonterminals)
            else:
                yield rule


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
