"""Turn one line's message text into a message object, with the Lark grammar in grammars/.

The parser is LALR with the contextual lexer and the Transformer embedded, so no parse tree is built.
The message objects are made by `MessageReductions`, which knows nothing of Lark: the matchers
(matchers.py) call it too, from tables kept between runs, so that a run whose lines they all match
never imports Lark (issue 11: start-up costs). The parser is built the first time a line needs it.
Messages carry no line position: the same message body recurs thousands of times in a build (only
about 5 % of the standard library's lines are unique once positions are stripped), and classifier.py
memoizes on the body, attaching positions itself.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from escapelint.events import EventKind, LeakDetail, LeakKind, Position
from escapelint.user_cache import cache_directory

if TYPE_CHECKING:
    from lark import Lark

GRAMMAR_FILE = "gc_diagnostics.lark"


# --- message objects -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EscapeHeader:
    """"x escapes to heap[ in F]:" - opens an explanation of an escaping value."""

    subject: str
    function: str | None


@dataclass(frozen=True, slots=True)
class LeakHeader:
    """"parameter p leaks to SINK [for F] with derefs=N:" - opens an explanation of a leak."""

    param: str
    sink: str
    function: str | None
    derefs: int


@dataclass(frozen=True, slots=True)
class FlowLine:
    """"flow: SINK = &SRC:" ("← " since Go 1.25; "*SRC" or "SRC" too): one edge of an explanation, steps below."""

    sink: str
    source: str
    derefs: int  # -1 for "&src", else the number of "*"


@dataclass(frozen=True, slots=True)
class StepLine:
    """"from EXPR (REASON) at POS" without its position, which classifier.py parses per line."""

    expr: str
    reason: str


@dataclass(frozen=True, slots=True)
class TruncatedExplanation:
    """The compiler's "warning: truncated explanation due to assignment cycle"."""


@dataclass(frozen=True, slots=True)
class Summary:
    """A summary line: one event."""

    kind: EventKind
    expr: str
    leak: LeakDetail | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class RemarkMessage:
    """Any other diagnostic the grammar knows (inliner, closure capture, ...): see events.Remark."""

    kind: str
    function: str | None = None
    subject: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class ErrorMessage:
    """A compiler or type-checker error: escape analysis did not run on the package."""

    text: str


@dataclass(frozen=True, slots=True)
class PackageHeader:
    """"# import/path" or "# import/path [import/path.test]": the start of one package's output."""

    path: str
    test_variant: str | None


@dataclass(frozen=True, slots=True)
class ToolMessage:
    """A line `go build` prints itself ("go: ...", "note: ..."): part of a failure report."""

    text: str


@dataclass(frozen=True, slots=True)
class ErrorContinuation:
    """A tab-indented detail line under a type-checker error ("\thave (int)")."""

    text: str


Message = (
    EscapeHeader
    | LeakHeader
    | FlowLine
    | StepLine
    | TruncatedExplanation
    | Summary
    | RemarkMessage
    | ErrorMessage
    | PackageHeader
    | ToolMessage
    | ErrorContinuation
)


def parse_position(text: str) -> Position:
    """Split a position already matched by the grammar's POSITION terminal, from the right.

    A path may hold colons ("a:b.go", "C:\\x.go", a //line name), so the numbers are the last one or
    two colon-separated parts: "path:line:col", else "path:line". A path that ends in ":digits" printed
    without a column ("x:12" line 3, "x:12:3") reads as line 12, column 3: no reader can tell them apart.
    """
    if text == "<unknown line number>":
        return Position(text, 0, None)
    head, _, last = text.rpartition(":")
    file, _, middle = head.rpartition(":")
    # isdecimal() is the grammar's \d: isdigit() would take a superscript "²", which int() refuses. A
    # number has at most 10 digits, as in the grammar: a longer run of digits is part of the path.
    if file and middle.isdecimal() and len(middle) <= 10:
        return Position(file, int(middle), int(last))
    return Position(head, int(last), None)


# --- grammar -> message objects ------------------------------------------------------------------


class MessageReductions:
    """Builds message objects from a rule's tokens, one method per named alternative of the grammar.

    Lark calls these (as the parser's embedded Transformer, `_lark_transformer`) with the tokens of a
    reduction inline; the matchers call them with the same arguments, as plain strings.
    """

    # explanations
    def escape_header(self, subject, function):
        return EscapeHeader(str(subject), _opt(function))

    def leak_header(self, param, sink, function, derefs):
        return LeakHeader(str(param), str(sink), _opt(function), int(derefs))

    def flow(self, sink, _arrow, derefs, source):
        if derefs is None:
            count = 0
        elif derefs == "&":
            count = -1
        else:
            count = len(derefs)
        return FlowLine(str(sink), str(source), count)

    def flow_step(self, expr, reason, _position):
        return StepLine(str(expr), str(reason))

    def truncated_explanation(self, _issue):
        return TruncatedExplanation()

    # summaries
    def escape_summary(self, expr):
        return Summary(EventKind.ESCAPE, str(expr))

    def noescape_summary(self, expr, detail):
        return Summary(EventKind.NOESCAPE, str(expr), detail=str(detail)[2:] if detail else None)

    def moved_summary(self, name):
        return Summary(EventKind.MOVED, str(name))

    def leak_to_heap(self, name):
        return Summary(EventKind.LEAK, str(name), LeakDetail(LeakKind.HEAP))

    def leak_content(self, name):
        return Summary(EventKind.LEAK, str(name), LeakDetail(LeakKind.CONTENT))

    def leak_to_result(self, name, result, level):
        return Summary(EventKind.LEAK, str(name), LeakDetail(LeakKind.RESULT, str(result), int(level)))

    # parameter effects
    def mutates_param(self, name, derefs):
        return RemarkMessage("mutates_param", subject=str(name), detail=f"derefs={derefs}")

    def calls_param(self, name, derefs):
        return RemarkMessage("calls_param", subject=str(name), detail=f"derefs={derefs}")

    def unsafe_uintptr(self, name):
        return RemarkMessage("unsafe_uintptr", subject=str(name))

    def escaping_uintptr(self, name):
        return RemarkMessage("escaping_uintptr", subject=str(name))

    def escaping_uintptr_variadic(self, name):
        return RemarkMessage("escaping_uintptr", subject=str(name), detail="...uintptr")

    # inliner
    def can_inline(self, function, cost, body):
        detail = None if cost is None else f"cost {cost}"
        return RemarkMessage("can_inline", function=str(function), detail=detail, subject=_opt(body))

    def cannot_inline(self, function, reason):
        return RemarkMessage("cannot_inline", function=str(function), detail=str(reason))

    def cannot_inline_cycle(self, callee, caller):
        return RemarkMessage(
            "cannot_inline_call", function=str(caller), subject=str(callee), detail="repeated recursive cycle"
        )

    def inline_call(self, callee, score):
        return RemarkMessage("inline_call", subject=str(callee), detail=None if score is None else f"score {score}")

    def big_function(self, function):
        return RemarkMessage("big_function", function=str(function))

    def capture(self, function, mode, var, addr, assign, width):
        return RemarkMessage(
            "capture",
            function=str(function),
            subject=str(var),
            detail=f"by {mode} (addr={addr} assign={assign} width={width})",
        )

    # other remarks
    def self_assignment(self, function, stmt):
        return RemarkMessage("self_assignment", function=str(function), subject=str(stmt))

    def zero_copy_conversion(self):
        return RemarkMessage("zero_copy_conversion")

    def bounds_check_elided(self):
        return RemarkMessage("bounds_check_elided")

    def devirtualized(self, call, target):
        return RemarkMessage("devirtualized", subject=str(call), detail=str(target))

    def partially_devirtualized(self, call, target):
        return RemarkMessage("partially_devirtualized", subject=str(call), detail=str(target))

    def not_devirtualized(self, call, shape_kind, typ):
        return RemarkMessage("not_devirtualized", subject=str(call), detail=f"shaped {shape_kind} {typ}")

    def not_devirtualized_old(self, call, why):
        return RemarkMessage("not_devirtualized", subject=str(call), detail=str(why))

    def pgo_devirtualized(self, kind, call, target):
        return RemarkMessage("pgo_devirtualized", subject=str(call), detail=f"{kind} call to {target}")

    def pgo_not_devirtualized(self, function, reason):
        return RemarkMessage("pgo_not_devirtualized", function=str(function), detail=str(reason))

    def pgo_not_devirtualized_go_defer(self, call):
        return RemarkMessage("pgo_not_devirtualized", subject=str(call), detail="go/defer call")

    def imprecise_interface_call(self):
        return RemarkMessage("imprecise_interface_call")

    def closure_to_global(self):
        return RemarkMessage("closure_to_global")

    def closure_vars(self, place, vars_):
        return RemarkMessage("closure_vars", subject=str(vars_), detail=str(place))

    def kept_alive(self, what):
        return RemarkMessage("kept_alive", subject=str(what))

    def bloop_unknown(self):
        return RemarkMessage("kept_alive", detail="expr is unknown to bloop pass")

    def non_aliased_append(self, expr, function):
        return RemarkMessage("non_aliased_append", function=str(function), subject=str(expr))

    # debug flags (-d=escapedebug=1, -d=loopvar=2, -d=ssa/check_bce/debug=1)
    def static_conversion(self, kind, node):
        # detail: which static data the data word points to (walk/convert.go dataWord's cases)
        where = "read-only global" if kind is None else str(kind).strip()
        return RemarkMessage("interface_conversion", subject=str(node), detail=where)

    def stack_conversion(self, node):
        return RemarkMessage("interface_conversion", subject=str(node), detail="stack temporary")

    def loop_variable(self, name, place, outer):
        detail = str(place) if outer is None else f"{place} (loop inlined into {outer})"
        return RemarkMessage("loop_variable", subject=str(name), detail=detail)

    def loop_modified(self, kind, line, column, outer):
        detail = f"{kind} loop ending at {line}:{column}"
        return RemarkMessage("loop_modified", detail=detail if outer is None else f"{detail} (loop inlined into {outer})")

    def bounds_check(self, op):
        return RemarkMessage("bounds_check", detail=str(op))

    # errors and go-command lines
    def compile_error(self, text):
        return ErrorMessage(str(text))

    def package_header(self, token):
        text = str(token)[2:]
        path, _, variant = text.partition(" ")
        return PackageHeader(path, variant[1:-1] if variant else None)

    def tool_message(self, token):
        return ToolMessage(str(token))

    def error_continuation(self, token):
        return ErrorContinuation(str(token))

    def test_status(self, token):
        return RemarkMessage("go_test_status", detail=str(token))


def _opt(token) -> str | None:
    return None if token is None else str(token)


def _lark_transformer():
    """MessageReductions as the Lark Transformer the parser embeds (its methods take the tokens inline)."""
    from lark import Transformer, v_args

    methods = {name: value for name, value in vars(MessageReductions).items() if not name.startswith("_")}
    return v_args(inline=True)(type("_ToMessage", (Transformer,), methods))()


# --- parser factory ------------------------------------------------------------------------------


def grammar_text() -> str:
    """The grammar shipped inside the package (the wheel maps grammars/ to escapelint/grammars/).

    In a source checkout or an editable install the package has no copy, so the repository's
    grammars/ beside the package is read instead: the same file, never a second definition.
    """
    # Files first, without importlib.resources (and zipfile): the wheel installs the grammar beside
    # this package's modules, a source checkout has it in grammars/ beside the package.
    here = Path(__file__).resolve().parents[1]
    for candidate in (here / "grammars" / GRAMMAR_FILE, here.parent / "grammars" / GRAMMAR_FILE):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    from importlib import resources  # a package imported from a zip file

    return resources.files("escapelint").joinpath("grammars", GRAMMAR_FILE).read_text(encoding="utf-8")


def _analysis_cache(grammar: str) -> str | bool:
    """Where Lark keeps its grammar analysis between runs: the user's cache folder, else none.

    Building the LALR tables takes 40 ms, or seconds when Lark finds `interegular` installed and runs
    its terminal-collision analysis; a short pre-commit run should not pay that every time.
    """
    import lark

    base = cache_directory()
    if base is None:
        return False
    key = hashlib.sha256(f"{lark.__version__}\0{grammar}".encode()).hexdigest()[:20]
    return str(base / f"grammar-{key}.lark-cache")


@functools.lru_cache(maxsize=1)
def build_parser() -> Lark:
    from lark import Lark

    import lark.lexer

    grammar = grammar_text()
    # Lark checks every pair of terminals for overlaps with interegular when it is installed, only to
    # warn, and that check takes seconds: a cost every cold start would pay for a warning the tests
    # already give (tests/test_grammar.py runs it), so the parser is built without it.
    checked, lark.lexer.has_interegular = lark.lexer.has_interegular, False
    try:
        return Lark(
            grammar,
            cache=_analysis_cache(grammar),
            parser="lalr",
            lexer="contextual",
            transformer=_lark_transformer(),
            start=["message", "tool_line"],
            maybe_placeholders=True,
            propagate_positions=False,
        )
    finally:
        lark.lexer.has_interegular = checked


def position_pattern() -> str:
    """The grammar's POSITION terminal as a Python regular expression."""
    return build_parser().get_terminal("POSITION").pattern.to_regexp()


class MessageSyntaxError(ValueError):
    """The text is not a sentence of the grammar."""


def parse_message(text: str) -> Message:
    """Parse the text after a position prefix (or a bare compiler message)."""
    parser = build_parser()
    from lark.exceptions import LarkError

    try:
        return parser.parse(text, start="message")
    except LarkError as exc:
        raise MessageSyntaxError(str(exc)) from None


def parse_tool_line(text: str) -> Message:
    """Parse a line `go build` prints itself: "# pkg", "go: ...", a tab-indented error detail."""
    parser = build_parser()
    from lark.exceptions import LarkError

    try:
        return parser.parse(text, start="tool_line")
    except LarkError as exc:
        raise MessageSyntaxError(str(exc)) from None
