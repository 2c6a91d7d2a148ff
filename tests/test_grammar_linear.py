"""Every terminal of the grammar runs in linear time: a hostile 1 MiB line is read in well under a second.

A `.+?` whose lookahead rescans to the end of the line at each candidate split is quadratic: a 1 MiB
"cannot inline F into x into x ...: repeated recursive cycle" took 93 s, "F capturing by value: ..."
115 s and "failed to devirtualize (x) (x) ... y" about 15 minutes (escapelint issue 15).

Each case below is synthetic: the shape of a real line (grammars/gc_diagnostics.lark names the
compiler's format strings; the recorded fixtures hold examples) with the words that some terminal's
lookahead looks for repeated up to 1 MiB, and usually an end that makes that lookahead fail.
Each line is classified as escapelint reads it (LineClassifier: compiled matchers, then Lark) and its
body parsed by Lark alone (contextual lexer, then on error its root lexer with every terminal), under
an alarm, so a regression fails in seconds instead of hanging. The budget is relative to this machine:
reading and splitting the line, plus one pass of the regex engine over it (`re` costs 10-100 ns a
character depending on load, splitting well under one), times FACTOR. A quadratic terminal takes
10^4-10^5 times that on 1 MiB.
"""

from __future__ import annotations

import re
import signal
import time
from contextlib import contextmanager
from functools import partial

import pytest
from lark.lexer import PatternRE

from escapelint.read.classifier import LineClassifier
from escapelint.read.input import open_build_output
from escapelint.read.messages import MessageSyntaxError, build_parser, parse_message

MIB = 1 << 20
#: Allowed cost of one hostile line, in baselines (reading it + one regex pass over it).
FACTOR = 50
#: However fast the baseline, never fail a line under this many seconds (CI noise on a tiny baseline).
FLOOR = 0.25

P = "./x.go:1:2: "  # a position prefix

#: (name, terminals it targets, head, repeated unit, tail): the line is head + unit * n + tail, 1 MiB.
CASES = [
    # positions: many colons, with and without digits, and no ": " to end the position
    ("position-colons", {"POSITION"}, "./a:b.go", ":1", " moved to heap: t"),
    ("position-segments", {"POSITION"}, "", "a:1x", ": moved to heap: t"),
    ("step-at-colons", {"POSITION", "STEP_REASON"}, P + "    from x (r) at ", "a:1", ""),
    # escape analysis
    ("escape-header", {"ESCAPING_EXPR", "HEADER_FUNC"}, P, "x escapes to heap in ", "F"),
    ("escape-summary", {"ESCAPING_EXPR"}, P, "x escapes to heap ", "y"),
    ("leak-header", {"LEAK_FUNC", "NAME", "INT"}, P + "parameter p leaks to ~r0 for ", "F with derefs=0", " y"),
    ("leak-location", {"LOCATION"}, P + "parameter p leaks to {storage for ", "x}", " y"),
    ("flow", {"FLOW_SINK", "FLOW_ARROW", "FLOW_SOURCE"}, P + "  flow: ", "x = ", "y"),
    ("flow-derefs", {"DEREFS"}, P + "  flow: x = ", "*", "y"),
    ("flow-quotes", {"FLOW_SINK"}, P + "  flow: ", '"x = "', "y"),
    ("flow-open-quotes", {"FLOW_SINK"}, P + "  flow: ", '"x = ', "y"),
    ("flow-escapes", {"FLOW_SINK"}, P + '  flow: "', "\\\" = ", "y"),
    ("step", {"STEP_EXPR", "STEP_REASON"}, P + "    from ", "x (r) at ", "y"),
    ("step-no-position", {"STEP_EXPR"}, P + "    from ", "x (r) at ", "./a.go"),
    ("noescape", {"NONESCAPING_EXPR"}, P, "x does not escape", ", mutate"),
    ("name", {"NAME"}, P + "moved to heap: ", "x", " y"),
    ("leak-result", {"INT"}, P + "leaking param: p to result ~r0 level=", "1", "x"),
    # inliner
    ("can-inline", {"INLINABLE_FUNC", "REST"}, P + "can inline F", " with cost 1", " y"),
    ("cycle", {"RECURSIVE_CALLEE", "INLINE_CALLER"}, P + "cannot inline F", " into x", ": repeated recursive cycl"),
    ("cycle-valid", {"RECURSIVE_CALLEE", "INLINE_CALLER"}, P + "cannot inline F", " into x", ": repeated recursive cycle"),
    ("cannot-inline", {"NOT_INLINABLE_FUNC"}, P + "cannot inline ", "x:", "y"),
    ("inline-call", {"INLINED_FUNC", "SIGNED_INT"}, P + "inlining call to F", " with score -1", " y"),
    ("big-function", {"BIG_FUNC"}, P + "function ", "F considered 'big'", "; y"),
    # closures
    ("capture", {"CAPTURING_FUNC", "CAPTURE_MODE", "CAPTURED_VAR", "BOOL"}, P, "F capturing by value: ", "x (addr=false assign=false width=8"),
    ("capture-repeated", {"CAPTURING_FUNC"}, P, "F capturing by value: x", ""),
    ("capture-addr", {"CAPTURED_VAR"}, P + "F capturing by value: ", "x (addr=", "true assign=false width=8"),
    # other remarks
    ("self-assignment", {"SELF_ASSIGN_FUNC"}, P, "x ignoring self-assignment", " y"),
    ("devirtualized", {"DEVIRT_CALL"}, P + "devirtualizing x", " to", ""),
    ("pgo-devirtualized", {"PGO_KIND", "DEVIRT_CALL"}, P + "PGO devirtualizing interface call x", " to", ""),
    ("shaped", {"SHAPED_CALL", "SHAPE_KIND"}, P + "cannot devirtualize ", "x: shaped", " y"),
    ("failed-devirt", {"FAILED_DEVIRT_CALL", "REST_PAREN"}, P + "failed to devirtualize", " (x)", " y"),
    ("failed-devirt-paren", {"REST_PAREN"}, P + "failed to devirtualize x (", "y)", " z"),
    ("kept-alive", {"KEPT_ALIVE_WHAT"}, P, "x will be kept", " y"),
    ("alias", {"ALIAS_EXPR"}, P + "alias analysis: append using non-aliased slice: ", "x in", " y"),
    ("closure-place", {"CLOSURE_PLACE"}, P, "heap closure", " y"),
    # debug flags: -d=escapedebug=1, -d=loopvar=2, -d=ssa/check_bce/debug=1
    ("convert", {"STATIC_DATA_KIND"}, P + "convert: using global for ", "single-byte ", "interface value"),
    ("loopvar", {"LOOP_VAR_PLACE", "LOOP_OUTER"}, P + "loop variable x now per-iteration, heap-allocated (loop inlined into ", "a.go:1)", " y"),
    ("loop-modified", {"LOOP_KIND"}, P, "range loop ending at 1:2 was modified ", "y"),
    ("bounds-check", {"BOUNDS_CHECK_OP"}, P + "Found ", "IsInBounds", " y"),
    # compile errors and go's own lines
    ("error-not-used", {"ERROR_TEXT"}, P, "x is not used", " y"),
    ("error-label", {"ERROR_TEXT"}, P + "label ", "x defined and", " y"),
    ("package-header", {"PACKAGE_HEADER"}, "# ", "x", " [y"),
    ("tool-message", {"TOOL_MESSAGE"}, "go ", "x", ""),
    ("test-status", {"TEST_STATUS"}, "ok  ", "x", ""),
    ("error-continuation", {"ERROR_CONTINUATION"}, "\t", "x", ""),
    # no shape at all
    ("bare-words", set(), "", "x ", ""),
    ("located-words", set(), P, "x ", ""),
]


def _line(head: str, unit: str, tail: str, size: int) -> str:
    return head + unit * ((size - len(head) - len(tail)) // len(unit)) + tail


def test_every_pattern_terminal_has_a_hostile_case():
    patterns = {t.name for t in build_parser().terminals if isinstance(t.pattern, PatternRE)}
    covered = set().union(*(targets for _, targets, *_ in CASES))
    assert patterns - covered == set(), "add a hostile line for each new terminal"
    assert covered - patterns == set()


@contextmanager
def _alarm(seconds: float, what: str):
    def expire(_signum, _frame):
        raise TimeoutError(f"{what}: not done after {seconds:.2f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _baseline(line: str, tmp_path) -> float:
    """Seconds to read the line from a file and split it, plus one lookahead-per-character regex pass."""
    path = tmp_path / "line.txt"
    path.write_text(line + "\n", encoding="utf-8")
    scan = re.compile(r".+?(?=\n|$)")
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        with open_build_output(str(path)) as handle:
            (read,) = list(handle)
        scan.match(read.rstrip("\n"))
        best = min(best, time.perf_counter() - start)
    return best


def _lark(body: str) -> None:
    try:
        parse_message(body)
    except MessageSyntaxError:
        pass


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs SIGALRM")
@pytest.mark.parametrize(
    "size",
    [
        # 64 KiB in the fast suite (about 1 s): a quadratic terminal takes seconds there already.
        pytest.param(64 << 10, id="64KiB"),
        # 1 MiB, the size of the lines: about 10 s in all.
        pytest.param(MIB, id="1MiB", marks=pytest.mark.slow),
    ],
)
def test_hostile_lines_take_linear_time(size, tmp_path):
    build_parser()  # built outside the timings
    slow = []
    for name, _targets, head, unit, tail in CASES:
        classifier = LineClassifier()
        line = _line(head, unit, tail, size)
        budget = max(FLOOR, FACTOR * _baseline(line, tmp_path))
        body = classifier.body(line)
        for how, run in (("classify", partial(classifier.classify, line)), ("lark", partial(_lark, body))):
            # The best of three tries, as for the baseline: a busy machine can stall any one run for
            # longer than the budget, while a quadratic terminal is over it every time.
            took = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                try:
                    with _alarm(budget * 4, f"{name} ({how})"):
                        run()
                except TimeoutError as expired:
                    slow.append(str(expired))
                    break
                took = min(took, time.perf_counter() - start)
                if took <= budget:
                    break
            else:
                slow.append(f"{name} ({how}): {took:.3f} s at best of three, budget {budget:.3f} s")
    assert slow == []
