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

Start-up (issue 11): what the matchers are made of — each rule's regular expression, and which of its
tokens Lark's reduction hands to which MessageReductions method — is kept between runs in the user's
cache folder (`matcher_tables`), so that a run whose lines the matchers all read never imports Lark,
and each expression is compiled the first time a line tries it. The tables are made from the parser
when the grammar, Lark or this code changed, and are checked against Lark by the same tests.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lark import Lark

#: Bumped when the tables' layout changes (their cache key holds it, and this file's own text).
TABLES_FORMAT = 1


@dataclass(frozen=True)
class RuleMatcher:
    """One grammar rule led by a keyword, compiled to a regular expression and Lark's own reduction.

    The expression is compiled the first time it is tried: most runs try a few of the grammar's rules.
    """

    keyword: str
    source: str  # the regular expression
    group_names: tuple[str, ...]
    reduce: Callable[[list], object]

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(self.source)

    def match(self, text: str) -> object | None:
        found = self.pattern.match(text)
        if found is None:
            return None
        # Lark's reduction callbacks select children by index, so plain strings do as tokens.
        return self.reduce(list(map(found.group, self.group_names)))


@dataclass(frozen=True, slots=True)
class Reduction:
    """What Lark's reduction callback for a rule does, without Lark: call `method` with the tokens at
    `arguments` (None where an absent `[optional]` part is a placeholder)."""

    method: Callable[..., object]
    arguments: tuple[int | None, ...]

    def __call__(self, tokens: list) -> object:
        return self.method(*[None if index is None else tokens[index] for index in self.arguments])


@dataclass(frozen=True)
class RuleSpec:
    """A RuleMatcher as data (what the tables keep): its regular expression and its reduction."""

    keyword: str  # the leading keyword, or the leading pattern terminal's name
    source: str
    groups: int
    method: str  # the MessageReductions method Lark's callback calls
    arguments: tuple[int | None, ...]  # which tokens it is given, None for a placeholder

    def matcher(self, reductions: object) -> RuleMatcher:
        return RuleMatcher(
            self.keyword,
            self.source,
            tuple(f"t{i}" for i in range(self.groups)),
            Reduction(getattr(reductions, self.method), self.arguments),
        )


def _rule_spec(parser: Lark, rule, keyword: str) -> RuleSpec | None:
    """The spec of a flat rule, or None when its reduction is not one MessageReductions call (Lark reads it then)."""
    terminals = {t.name: t for t in parser.terminals}
    parts = []
    for index, symbol in enumerate(rule.expansion):
        terminal = terminals[symbol.name]
        parts.append(f"(?=(?P<t{index}>{terminal.pattern.to_regexp()}))(?P=t{index})")
    reduction = _recorded_reductions(parser).get(rule)
    if reduction is None:
        return None
    method, arguments = reduction
    return RuleSpec(keyword, "".join(parts) + r"\Z", len(rule.expansion), method, arguments)


class _Recorder:
    """A stand-in Transformer: each method returns its name and the children Lark's callback passes it."""

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda children: (name, list(children))


@functools.lru_cache(maxsize=4)
def _recorded_reductions(parser: Lark) -> dict:
    """For each flat rule: the MessageReductions method and the token indices Lark's callback hands it.

    Found by calling Lark's own callbacks, built for a recording transformer, with numbered stand-in
    tokens: whatever Lark's child filter and `[optional]` placeholders do is recorded, not modelled.
    """
    from escapelint.read.messages import MessageReductions

    callbacks = parser._parse_tree_builder.create_callback(_Recorder())
    found = {}
    for rule, callback in callbacks.items():
        if not rule.expansion or not all(symbol.is_term for symbol in rule.expansion):
            continue
        tokens = [f"\0{i}" for i in range(len(rule.expansion))]
        try:
            method, children = callback(list(tokens))
        except (TypeError, ValueError):
            continue
        if not callable(getattr(MessageReductions, method, None)):
            continue
        if not all(child is None or child in tokens for child in children):
            continue
        found[rule] = (method, tuple(None if child is None else tokens.index(child) for child in children))
    return found


def rule_specs(parser: Lark, start: str = "message") -> list[RuleSpec]:
    """The specs of the keyword-led rules reachable from `start`, longer expansions first per keyword group."""
    from lark.lexer import PatternStr

    terminals = {t.name: t for t in parser.terminals}
    specs = []
    for rule in rules_reachable(parser, start):
        first = terminals.get(rule.expansion[0].name) if rule.expansion else None
        if first is None or not isinstance(first.pattern, PatternStr):
            continue
        spec = _rule_spec(parser, rule, first.pattern.value)
        if spec is not None:
            specs.append(spec)
    return specs


def rule_matchers(specs: list[RuleSpec], reductions: object | None = None) -> dict[str, list[RuleMatcher]]:
    """Matchers grouped by the keyword's first 4 chars; within a group the longer expansions come first,
    as Lark's lexer tries an optional token before the token that may follow it."""
    reductions = reductions if reductions is not None else _reductions()
    groups: dict[str, list[RuleMatcher]] = {}
    for spec in specs:
        groups.setdefault(spec.keyword[:4], []).append(spec.matcher(reductions))
    for matchers in groups.values():
        matchers.sort(key=lambda m: -len(m.group_names))
    return groups


def _reductions() -> object:
    from escapelint.read.messages import MessageReductions

    return MessageReductions()


def compile_rule_matchers(parser: Lark, start: str = "message") -> dict[str, list[RuleMatcher]]:
    """Matchers for the keyword-led rules reachable from `start`, grouped by the keyword's first 4 chars."""
    return rule_matchers(rule_specs(parser, start))


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


@dataclass(frozen=True)
class PatternSpec:
    """PatternMatchers as data: the keywords' expression, the leads (name, priority, expression), the rules."""

    keywords: str
    leads: tuple[tuple[str, int, str], ...]
    rules: tuple[RuleSpec, ...]

    def matchers(self, reductions: object | None = None) -> PatternMatchers:
        reductions = reductions if reductions is not None else _reductions()
        rules: dict[str, list[RuleMatcher]] = {}
        for spec in self.rules:
            rules.setdefault(spec.keyword, []).append(spec.matcher(reductions))
        for matchers in rules.values():
            matchers.sort(key=lambda m: -len(m.group_names))
        return PatternMatchers(
            keywords=re.compile(self.keywords),
            leads=tuple((name, priority, re.compile(source)) for name, priority, source in self.leads),
            rules={name: tuple(matchers) for name, matchers in rules.items()},
        )


def pattern_spec(parser: Lark, start: str = "message") -> PatternSpec:
    """The spec of the flat rules reachable from `start` whose first terminal is a pattern."""
    from lark.lexer import PatternRE, PatternStr

    terminals = {t.name: t for t in parser.terminals}
    first = [terminals[name] for name in sorted(_first_terminals(parser, start))]
    keywords = [t for t in first if isinstance(t.pattern, PatternStr)]
    if any(t.priority != 0 for t in keywords):
        raise ValueError("a keyword with a priority: Lark's order between it and the patterns is not modelled")
    leads = [t for t in first if isinstance(t.pattern, PatternRE)]
    rules = []
    for rule in rules_reachable(parser, start):
        lead = terminals.get(rule.expansion[0].name) if rule.expansion else None
        if lead not in leads or _retypes(lead, keywords):
            continue
        spec = _rule_spec(parser, rule, lead.name)
        if spec is not None:
            rules.append(spec)
    return PatternSpec(
        keywords="|".join(re.escape(t.pattern.value) for t in keywords) or "(?!)",
        leads=tuple((t.name, t.priority, t.pattern.to_regexp()) for t in sorted(leads, key=lambda t: -t.priority)),
        rules=tuple(rules),
    )


def compile_pattern_matchers(parser: Lark, start: str = "message") -> PatternMatchers:
    """Matchers for the flat rules reachable from `start` whose first terminal is a pattern."""
    return pattern_spec(parser, start).matchers()


# --- the tables kept between runs ------------------------------------------------------------------


@dataclass(frozen=True)
class MatcherTables:
    """Everything LineClassifier needs of the grammar, as data: no Lark object, nothing compiled."""

    position: str  # the POSITION terminal's expression
    rules: tuple[RuleSpec, ...]  # keyword-led rules of `message`
    patterns: PatternSpec  # pattern-led rules of `message`
    tool_patterns: PatternSpec  # the rules of `tool_line` ("# pkg", "go: ...", a tab-indented detail)
    origin: str = field(default="built", compare=False)  # "built" from the parser, or "cached"

    @classmethod
    def from_parser(cls, parser: Lark) -> MatcherTables:
        return cls(
            parser.get_terminal("POSITION").pattern.to_regexp(),
            tuple(rule_specs(parser, "message")),
            pattern_spec(parser, "message"),
            pattern_spec(parser, "tool_line"),
        )

    def to_json(self) -> str:
        def spec(s: PatternSpec) -> dict:
            return {"keywords": s.keywords, "leads": s.leads, "rules": [vars(r) for r in s.rules]}

        tables = {
            "position": self.position,
            "rules": [vars(r) for r in self.rules],
            "patterns": spec(self.patterns),
            "tool_patterns": spec(self.tool_patterns),
        }
        return json.dumps(tables)

    @classmethod
    def from_json(cls, text: str) -> MatcherTables:
        """The tables from `to_json`; ValueError (or KeyError, TypeError) if they are not."""
        data = json.loads(text)

        def rule(r: dict) -> RuleSpec:
            spec = RuleSpec(str(r["keyword"]), str(r["source"]), int(r["groups"]), str(r["method"]),
                            tuple(None if a is None else int(a) for a in r["arguments"]))  # fmt: skip
            if not callable(getattr(_reductions(), spec.method, None)):
                raise KeyError(spec.method)  # a reduction this code no longer has
            return spec

        def patterns(p: dict) -> PatternSpec:
            leads = tuple((str(name), int(priority), str(source)) for name, priority, source in p["leads"])
            return PatternSpec(str(p["keywords"]), leads, tuple(rule(r) for r in p["rules"]))

        return cls(
            str(data["position"]), tuple(rule(r) for r in data["rules"]),
            patterns(data["patterns"]), patterns(data["tool_patterns"]), origin="cached",
        )  # fmt: skip


def _tables_path() -> Path | None:
    """The tables' file in the user's cache folder, named by what they are made from."""
    from escapelint.read.messages import grammar_text
    from escapelint.user_cache import cache_directory

    directory = cache_directory()
    if directory is None:
        return None
    key = hashlib.sha256()
    key.update(f"{TABLES_FORMAT}\0{grammar_text()}\0".encode())
    # Lark's version without importing Lark: its installed files' identity.
    spec = importlib.util.find_spec("lark")
    origin = spec.origin if spec is not None else None
    if origin:
        status = os.stat(origin)
        key.update(f"{origin}\0{status.st_size}\0{status.st_mtime_ns}\0".encode())
    here = Path(__file__).resolve().parent
    for name in ("matchers.py", "messages.py"):  # the recording and the reductions
        key.update((here / name).read_bytes())
    return directory / f"matchers-{key.hexdigest()[:20]}.json"


@functools.lru_cache(maxsize=1)
def matcher_tables() -> MatcherTables:
    """The tables, from the user's cache folder, else made from the parser (importing Lark) and kept there."""
    path = _tables_path()
    if path is not None:
        try:
            return MatcherTables.from_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # none yet, or not readable as tables: made again
    from escapelint.read.messages import build_parser

    tables = MatcherTables.from_parser(build_parser())
    if path is not None:
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        try:  # replaced whole: a concurrent run reads the old tables or the new, never half
            partial.write_text(tables.to_json(), encoding="utf-8")
            os.replace(partial, path)
        except OSError:
            partial.unlink(missing_ok=True)
    return tables


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
