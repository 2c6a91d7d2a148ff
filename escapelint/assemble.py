"""Assemble classified lines into per-package events, streaming.

The compiler prints, per function batch, the `-m=2` explanations first (a header line, then flow and
step lines carrying the header's position) and the summary lines ("moved to heap: x", "leaking param:
p", ...) afterwards, possibly after other explanations. An explanation therefore belongs to the summary
line with the same position and subject, not to whatever line came last: closed explanations wait in a
table keyed by position until their summary claims them. Explanations no summary claims by the end of
the package (the compiler suppresses summaries for wrappers and go/defer closures) are kept apart.

`go build` prints each package's output as one block under a "# import/path" line, so one package is
held in memory at a time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from .lines import UNRECOGNIZED, LineClassifier
from .messages import (
    ErrorContinuation,
    ErrorMessage,
    EscapeHeader,
    FlowLine,
    LeakHeader,
    PackageHeader,
    RemarkMessage,
    Summary,
    ToolMessage,
    TruncatedExplanation,
)
from .model import (
    UNKNOWN_POSITION,
    CompilerError,
    EscapeEvent,
    EventKind,
    Explanation,
    Flow,
    FlowStep,
    LeakKind,
    LineRole,
    PackageOutput,
    Position,
    Remark,
    UnrecognizedLine,
)


@dataclass
class BuildStats:
    """Line accounting for one input: every line has exactly one role."""

    lines: int = 0
    roles: Counter = field(default_factory=Counter)
    events: Counter = field(default_factory=Counter)
    remarks: Counter = field(default_factory=Counter)
    packages: int = 0

    def balanced(self) -> bool:
        return sum(self.roles.values()) == self.lines


class _OpenExplanation:
    """An explanation still reading its flow lines."""

    __slots__ = ("position", "header", "flows", "sink", "source", "derefs", "steps", "truncated", "first_line", "count")

    def __init__(self, position: Position, header: EscapeHeader | LeakHeader, line: int) -> None:
        self.position = position
        self.header = header
        self.flows: list[Flow] = []
        self.sink: str | None = None
        self.source = ""
        self.derefs = 0
        self.steps: list[FlowStep] = []
        self.truncated = False
        self.first_line = line
        self.count = 1

    def close_flow(self) -> None:
        if self.sink is not None:
            self.flows.append(Flow(self.sink, self.source, self.derefs, tuple(self.steps)))
            self.sink = None
            self.steps = []

    def freeze(self) -> Explanation:
        self.close_flow()
        header = self.header
        if isinstance(header, EscapeHeader):
            subject, sink, derefs = header.subject, None, None
        else:
            subject, sink, derefs = header.param, header.sink, header.derefs
        return Explanation(
            self.position,
            subject,
            header.function,
            sink,
            derefs,
            tuple(self.flows),
            self.truncated,
            self.first_line,
            self.count,
        )


class _PackageBuilder:
    def __init__(self, header: PackageHeader | None, line: int | None) -> None:
        self.header = header
        self.header_line = line
        self.events: list[EscapeEvent] = []
        self.remarks: list[Remark] = []
        self.errors: list[list] = []  # [position, text, line], open for continuation lines
        self.unrecognized: list[UnrecognizedLine] = []
        # Closed explanations waiting for their summary line, by position.
        self.pending: dict[Position, list[Explanation]] = {}
        self.explanation_lines = 0
        self.open: _OpenExplanation | None = None

    @property
    def path(self) -> str | None:
        return None if self.header is None else self.header.path

    def close_explanation(self) -> None:
        open_ = self.open
        if open_ is not None:
            self.open = None
            self.pending.setdefault(open_.position, []).append(open_.freeze())

    def claim(self, position: Position, summary: Summary) -> tuple[Explanation, ...]:
        """Take the waiting explanations this summary line sums up."""
        waiting = self.pending.get(position)
        if not waiting:
            return ()
        mine = [e for e in waiting if _explains(e, summary)]
        if mine:
            rest = [e for e in waiting if not _explains(e, summary)]
            if rest:
                self.pending[position] = rest
            else:
                del self.pending[position]
        return tuple(mine)

    def finish(self, stats: BuildStats) -> PackageOutput:
        self.close_explanation()
        unclaimed = self._attach_late_explanations()
        unclaimed_lines = sum(e.line_count for e in unclaimed)
        stats.roles[LineRole.UNCLAIMED] += unclaimed_lines
        stats.roles[LineRole.EXPLANATION] += self.explanation_lines - unclaimed_lines
        stats.packages += self.header is not None
        return PackageOutput(
            path=self.path,
            test_variant=None if self.header is None else self.header.test_variant,
            header_line=self.header_line,
            events=tuple(self.events),
            remarks=tuple(self.remarks),
            errors=tuple(CompilerError(p, t, n) for p, t, n in self.errors),
            unclaimed=unclaimed,
            unrecognized=tuple(self.unrecognized),
        )


    def _attach_late_explanations(self) -> tuple[Explanation, ...]:
        """Give each event the explanations of its own site that came after its summary line.

        The compiler prints a header per leak destination, but sums a parameter up once: a leak to a
        result that a leak to the heap dominates is explained and never summarized (Go 1.19 prints tens of
        thousands of these in std). Wrappers re-analysed later re-explain the same parameter too. Such an
        explanation has the position and subject of an event already read, so it belongs to that event.
        What matches no event (generic instantiations, go/defer closures) stays unclaimed.
        """
        leftover = [e for waiting in self.pending.values() for e in waiting]
        if not leftover:
            return ()
        by_site: dict[tuple[Position, str, bool], int] = {}
        for index, event in enumerate(self.events):
            if event.kind is not EventKind.NOESCAPE:
                by_site.setdefault((event.position, event.expr, event.kind is EventKind.LEAK), index)
        late: dict[int, list[Explanation]] = {}
        unclaimed = []
        for explanation in leftover:
            index = by_site.get((explanation.position, explanation.subject, explanation.sink is not None))
            if index is None:
                unclaimed.append(explanation)
            else:
                late.setdefault(index, []).append(explanation)
        for index, extra in late.items():
            event = self.events[index]
            function = event.function or next((e.function for e in extra if e.function), None)
            self.events[index] = replace(event, explanations=event.explanations + tuple(extra), function=function)
        return tuple(unclaimed)


def _explains(explanation: Explanation, summary: Summary) -> bool:
    """Whether an explanation block is one of the reasons for this summary line."""
    kind = summary.kind
    if kind is EventKind.LEAK:
        if explanation.sink is None or explanation.subject != summary.expr:
            return False
        if summary.leak.kind is LeakKind.RESULT:
            return explanation.sink == summary.leak.result
        return explanation.sink == "{heap}"
    if explanation.sink is not None:
        return False
    if kind is EventKind.ESCAPE and summary.expr == "append":
        # Go 1.25+ sums up an append site as "append escapes to heap"; its header names the call.
        return explanation.subject.startswith("append(")
    return explanation.subject == summary.expr


class BuildReader:
    """Reads `go build -gcflags=-m...` output line by line and yields one PackageOutput per package."""

    def __init__(self) -> None:
        self.stats = BuildStats()
        self._classifier = LineClassifier()

    def packages(self, lines: Iterable[str]) -> Iterator[PackageOutput]:
        stats = self.stats
        roles = stats.roles
        classify = self._classifier.classify
        pkg = _PackageBuilder(None, None)
        line_no = 0
        for raw in lines:
            line_no += 1
            text = raw.rstrip("\r\n")
            position, message = classify(text)
            kind = type(message)

            if kind is FlowStep:
                open_ = pkg.open
                if open_ is not None and open_.sink is not None and position == open_.position:
                    open_.steps.append(message)
                    open_.count += 1
                    pkg.explanation_lines += 1
                    continue
                message = UNRECOGNIZED  # a step outside any flow: report it, never attach it elsewhere
                kind = type(message)
            elif kind is FlowLine:
                open_ = pkg.open
                if open_ is not None and position == open_.position:
                    open_.close_flow()
                    open_.sink, open_.source, open_.derefs = message.sink, message.source, message.derefs
                    open_.count += 1
                    pkg.explanation_lines += 1
                    continue
                message = UNRECOGNIZED
                kind = type(message)
            elif kind is TruncatedExplanation:
                open_ = pkg.open
                if open_ is not None and position == open_.position:
                    open_.truncated = True
                    open_.count += 1
                    pkg.explanation_lines += 1
                    continue
                message = UNRECOGNIZED
                kind = type(message)

            pkg.close_explanation()

            if kind is EscapeHeader or kind is LeakHeader:
                pkg.open = _OpenExplanation(position or UNKNOWN_POSITION, message, line_no)
                pkg.explanation_lines += 1
            elif kind is Summary:
                where = position or UNKNOWN_POSITION
                explanations = pkg.claim(where, message)
                function = None
                for explanation in explanations:
                    if explanation.function is not None:
                        function = explanation.function
                        break
                pkg.events.append(
                    EscapeEvent(
                        message.kind,
                        pkg.path,
                        where,
                        message.expr,
                        function,
                        explanations,
                        message.leak,
                        line_no,
                        message.detail,
                    )
                )
                stats.events[message.kind] += 1
                roles[LineRole.EVENT] += 1
            elif kind is RemarkMessage:
                pkg.remarks.append(
                    Remark(message.kind, position, message.function, message.subject, message.detail, line_no)
                )
                stats.remarks[message.kind] += 1
                roles[LineRole.REMARK] += 1
            elif kind is PackageHeader:
                output = pkg.finish(stats)
                if output.path is not None or not _is_empty(output):
                    yield output
                self._classifier.start_package()
                pkg = _PackageBuilder(message, line_no)
                roles[LineRole.HEADER] += 1
            elif kind is ErrorMessage or kind is ToolMessage:
                pkg.errors.append([position, message.text, line_no])
                roles[LineRole.ERROR] += 1
            elif kind is ErrorContinuation and pkg.errors:
                pkg.errors[-1][1] += "\n" + message.text
                roles[LineRole.ERROR] += 1
            elif message is None:
                roles[LineRole.BLANK] += 1
            elif position is not None and pkg.errors:
                # The package failed to type-check, so escape analysis never ran on it: any other
                # located line is one more error from the type checker's open-ended catalogue.
                pkg.errors.append([position, self._classifier.body(text), line_no])
                roles[LineRole.ERROR] += 1
            else:
                pkg.unrecognized.append(UnrecognizedLine(line_no, text))
                roles[LineRole.UNRECOGNIZED] += 1
        stats.lines = line_no
        output = pkg.finish(stats)
        if output.path is not None or not _is_empty(output):
            yield output


def _is_empty(output: PackageOutput) -> bool:
    return not (output.events or output.remarks or output.errors or output.unclaimed or output.unrecognized)


def read_build_output(lines: Iterable[str]) -> tuple[list[PackageOutput], BuildStats]:
    """Read a whole build's output at once (tests, small inputs); see BuildReader for streaming."""
    reader = BuildReader()
    packages = list(reader.packages(lines))
    return packages, reader.stats
