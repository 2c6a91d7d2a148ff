"""The compiled pattern-led rule matchers agree with Lark's parser on every recorded line."""

from __future__ import annotations

import pytest

from escapelint.read.classifier import LineClassifier
from escapelint.read.matchers import compile_pattern_matchers
from escapelint.read.messages import MessageSyntaxError, build_parser, parse_message

from .conftest import recorded_message_bodies


def test_the_summaries_and_headers_lark_was_left_are_compiled():
    matchers = compile_pattern_matchers(build_parser())
    assert {"ESCAPING_EXPR", "NONESCAPING_EXPR", "CAPTURING_FUNC", "ERROR_TEXT"} <= set(matchers.rules)


def test_matchers_agree_with_lark_on_all_recorded_lines():
    matchers = compile_pattern_matchers(build_parser())
    compared = 0
    for body in recorded_message_bodies():
        fast = matchers.match(body)
        if fast is None:
            continue
        try:
            slow = parse_message(body)
        except MessageSyntaxError:
            pytest.fail(f"matcher accepts what the grammar rejects: {body!r}")
        assert fast == slow, body
        compared += 1
    assert compared > 150


@pytest.mark.parametrize(
    "body",
    [
        # Hand-made: a keyword or a second pattern could begin these, so Lark's own order decides.
        "parameter x escapes to heap",
        "moved to heap: x escapes to heap",
        "f ignoring self-assignment in x escapes to heap",
        "heap closure, captured vars = x escapes to heap",
    ],
)
def test_bodies_with_two_candidate_first_tokens_are_left_to_lark(body):
    assert compile_pattern_matchers(build_parser()).match(body) is None
    assert LineClassifier().message(body) == parse_message(body)


@pytest.mark.parametrize(
    "body",
    [
        # Hand-made near misses: the matchers must reject them exactly as the grammar does.
        "x escapes to heap in f",
        "x escapes to heap in :",
        "x does not escape, mutate",
        "f capturing by value: x (addr=false assign=false width=)",
    ],
)
def test_matchers_reject_what_the_grammar_rejects(body):
    assert compile_pattern_matchers(build_parser()).match(body) is None
    with pytest.raises(MessageSyntaxError):
        parse_message(body)
