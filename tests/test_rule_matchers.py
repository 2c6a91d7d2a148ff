"""The compiled keyword-rule matchers agree with Lark's parser on every recorded line."""

from __future__ import annotations

import pytest

from escapelint.read.matchers import compile_rule_matchers
from escapelint.read.messages import MessageSyntaxError, build_parser, parse_message

from .conftest import recorded_message_bodies


def test_every_keyword_rule_is_compiled():
    groups = compile_rule_matchers(build_parser())
    keywords = {m.keyword for matchers in groups.values() for m in matchers}
    assert {"    from ", "  flow: ", "parameter ", "leaking param: ", "moved to heap: ", "can inline "} <= keywords


def test_matchers_agree_with_lark_on_all_recorded_lines():
    groups = compile_rule_matchers(build_parser())
    compared = 0
    for body in recorded_message_bodies():
        for matcher in groups.get(body[:4], ()):
            if body.startswith(matcher.keyword):
                fast = matcher.match(body)
                if fast is None:
                    continue
                try:
                    slow = parse_message(body)
                except MessageSyntaxError:
                    pytest.fail(f"matcher accepts what the grammar rejects: {body!r}")
                assert fast == slow, body
                compared += 1
                break
    assert compared > 500


@pytest.mark.parametrize(
    "body",
    [
        # Hand-made near misses: the matchers must reject them exactly as the grammar does.
        "  flow: {heap} = x",
        "    from x (spill) at ",
        "parameter p leaks to {heap} with derefs=x:",
        "leaking param: p q",
    ],
)
def test_matchers_reject_what_the_grammar_rejects(body):
    groups = compile_rule_matchers(build_parser())
    results = [m.match(body) for m in groups.get(body[:4], ()) if body.startswith(m.keyword)]
    assert all(r is None for r in results)
    with pytest.raises(MessageSyntaxError):
        parse_message(body)
