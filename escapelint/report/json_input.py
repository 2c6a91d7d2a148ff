"""escapelint's own JSON report (escapelint.report.json) read back into the model it was written from.

`escapelint report a.json b.json` merges the reports of the shards of one build (a monorepo's CI
runs one `go build` per job): each document becomes the `PackageFindings` and `BuildStats` that
reading its compiler output gave, and escapelint.workflows.report writes them as one input.

Why here, in the report stage, and not in read/: the document holds findings (function, category,
reason, deciding step, fingerprint), which are the analyze stage's model; reading may not know of
them (tests/test_layering.py), and they cannot be decided again without the build's sources. The
format is the report stage's own, so its reader sits beside its writer. The verdicts are taken as
they are written: a document is only merged by the escapelint version that wrote it.

Every problem with a document (not JSON, another schema or version, a field missing or of the wrong
type) is an InputError naming the file: exit 2, one line.
"""

from __future__ import annotations

import bisect
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from json.decoder import scanstring

from escapelint import __version__
from escapelint.analyze.findings import Finding, FollowedCall, PackageFindings
from escapelint.events import (
    BuildStats,
    CompilerError,
    EscapeEvent,
    EventKind,
    Explanation,
    Flow,
    FlowStep,
    LeakDetail,
    LeakKind,
    LineRole,
    PackageOutput,
    Position,
    Remark,
    UnrecognizedLine,
)
from escapelint.read.input import InputError
from escapelint.report.json import SCHEMA

_SPACE = re.compile(r"[ \t\n\r]*")
#: The members a document starts with (escapelint.report.json writes them first).
_HEAD_KEYS = ("schema", "generator", "input")


@dataclass(frozen=True, slots=True)
class JsonReportHead:
    """What a document says about itself, read before anything is written: which build it is of."""

    name: str  # the file as given on the command line ("<stdin>" for -)
    input: str  # the "input" of the build the document reports on


def read_head(text: str, name: str) -> JsonReportHead:
    """The head of a JSON report, checked: its schema and the escapelint version that wrote it.

    Only the first members are decoded (the writer puts them first), so that every input is checked
    before the first package of the first one is written; a document with its members in another
    order is decoded whole.
    """
    members = _leading_members(text, name)
    schema = members.get("schema")
    if not isinstance(schema, str):
        raise InputError(f'{name}: a JSON document, but not an escapelint report (no "schema" {SCHEMA!r})')
    if schema != SCHEMA:
        what = "not a report" if not schema.startswith("escapelint.report/") else "another version of the report"
        raise InputError(f"{name}: a {schema!r} document is {what}; escapelint {__version__} reads {SCHEMA!r}")
    generator = members.get("generator")
    version = generator.get("version") if isinstance(generator, dict) else None
    if version != __version__:
        raise InputError(
            f"{name}: written by escapelint {version or '(no version)'}, this is escapelint {__version__}: "
            "reports are merged only by the version that wrote them (categories and fingerprints may "
            "differ between versions); write every shard's report with this one"
        )
    source = members.get("input")
    if not isinstance(source, str):
        raise InputError(f'{name}: not a valid {SCHEMA} document: "input" is not a string')
    return JsonReportHead(name, source)


def _leading_members(text: str, name: str) -> dict:
    """The top-level members up to the last of _HEAD_KEYS (all of them if the order is another)."""
    decoder = json.JSONDecoder()
    members: dict = {}
    try:
        at = _SPACE.match(text, 0).end()
        if text[at : at + 1] != "{":
            raise ValueError("it does not start with {")
        at = _SPACE.match(text, at + 1).end()
        if text[at : at + 1] == "}":
            return members
        while True:
            if text[at : at + 1] != '"':
                raise ValueError(f"a member name was expected at character {at}")
            key, at = scanstring(text, at + 1)
            at = _SPACE.match(text, at).end()
            if text[at : at + 1] != ":":
                raise ValueError(f"':' was expected at character {at}")
            value, at = decoder.raw_decode(text, _SPACE.match(text, at + 1).end())
            members[key] = value
            if all(k in members for k in _HEAD_KEYS):
                return members
            at = _SPACE.match(text, at).end()
            if text[at : at + 1] == "}":
                return members
            if text[at : at + 1] != ",":
                raise ValueError(f"',' was expected at character {at}")
            at = _SPACE.match(text, at + 1).end()
    except ValueError as exc:  # json.JSONDecodeError too
        raise InputError(f"{name}: not valid JSON: {exc}") from None


@dataclass(frozen=True)
class JsonReport:
    """One document decoded: its packages (as `PackageFindings`, when iterated) and its line accounting."""

    head: JsonReportHead
    stats: BuildStats
    document: dict

    def packages(self, line_offset: int = 0) -> Iterator[PackageFindings]:
        """The packages in document order, every input line number moved on by `line_offset`: the lines
        of the shards before this one, so that a merge numbers its lines as one input of them all would."""
        name = self.head.name
        packages = self.document["packages"]
        starts = [raw["header_line"] or 0 for raw in packages]
        if starts != sorted(starts):
            raise InputError(f"{name}: not a valid {SCHEMA} document: packages are not in input order")
        unrecognized: list[list[UnrecognizedLine]] = [[] for _ in packages]
        for entry in self.document["unrecognized"]:
            index = bisect.bisect_right(starts, entry["line"]) - 1
            if index < 0 or packages[index]["path"] != entry["package"]:
                raise InputError(
                    f"{name}: not a valid {SCHEMA} document: unrecognized line {entry['line']} "
                    f"is not of package {entry['package']!r}"
                )
            unrecognized[index].append(UnrecognizedLine(entry["line"] + line_offset, entry["text"]))
        for index, raw in enumerate(packages):
            try:
                yield _package(raw, tuple(unrecognized[index]), line_offset)
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
                raise InputError(
                    f"{name}: not a valid {SCHEMA} document: package {index + 1} "
                    f"({raw.get('path') if isinstance(raw, dict) else raw!r}): {_problem(exc)}"
                ) from None


def read_report(text: str, name: str) -> JsonReport:
    """Decode a whole document (its head already checked by `read_head`, or checked here)."""
    head = read_head(text, name)
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{name}: not valid JSON: {exc}") from None
    try:
        stats = _stats(document["stats"])
        if not isinstance(document["packages"], list) or not isinstance(document["unrecognized"], list):
            raise TypeError('"packages" and "unrecognized" must be lists')
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{name}: not a valid {SCHEMA} document: {_problem(exc)}") from None
    if not stats.balanced():
        raise InputError(f"{name}: not a valid {SCHEMA} document: its line roles do not add up to its {stats.lines} lines")
    return JsonReport(head, stats, document)


def _problem(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"no {exc.args[0]!r} field"
    return str(exc) or type(exc).__name__


def _stats(raw: dict) -> BuildStats:
    stats = BuildStats(lines=_count(raw["lines"]), packages=_count(raw["packages"]))
    stats.roles = Counter({LineRole(role): _count(n) for role, n in raw["roles"].items()})
    stats.events = Counter({EventKind(kind): _count(n) for kind, n in raw["events"].items()})
    stats.remarks = Counter({str(kind): _count(n) for kind, n in raw["remarks"].items()})
    return stats


def _count(value) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"{value!r} is not a count")
    return value


def _line(value, offset: int) -> int:
    if type(value) is not int:
        raise TypeError(f"line {value!r} is not a number")
    return value + offset


def _position(raw: dict) -> Position | None:
    if raw["file"] is None:
        return None
    return Position(raw["file"], raw["line"], raw["column"])


def _step(raw: dict) -> FlowStep:
    return FlowStep(raw["expr"], raw["reason"], _position(raw))


def _flow(raw: dict) -> Flow:
    return Flow(raw["sink"], raw["source"], raw["derefs"], tuple(_step(s) for s in raw["steps"]))


def _explanation(raw: dict, position: Position, flows: tuple[Flow, ...], offset: int) -> Explanation:
    return Explanation(
        position, raw["subject"], raw["function"], raw["sink"], raw["derefs"], flows, raw["truncated"],
        _line(raw["input_line"], offset), raw["line_count"],
    )  # fmt: skip


def _followed(raw: list | None) -> tuple[FollowedCall, ...]:
    """The callees a site was followed into ("followed"): the document keeps of each callee's
    explanation what the pages and the document show (no input lines: see escapelint.report.json)."""
    calls = []
    for call in raw or ():
        x = call["explanation"]
        explanation = Explanation(
            _position(x), x["subject"], x["function"], x["sink"], x["derefs"], tuple(_flow(f) for f in x["flows"]),
            False, 0, 0,
        )  # fmt: skip
        calls.append(FollowedCall(call["callee"], call["package"], call["parameter"], _step(call["call"]), explanation))
    return tuple(calls)


def _package(raw: dict, unrecognized: tuple[UnrecognizedLine, ...], offset: int) -> PackageFindings:
    path = raw["path"]
    header_line = raw["header_line"]
    events = []
    findings = []
    for item in raw["events"]:
        # An event's explanations are at its own position (escapelint.read.assembler claims them by it).
        position = _position(item)
        if position is None:
            raise ValueError("an event without a position")
        flows = tuple(_flow(f) for f in item["flows"])
        explanations = []
        first = 0
        for x in item["explanations"]:
            count = x["flow_count"]
            explanations.append(_explanation(x, position, flows[first : first + count], offset))
            first += count
        if first != len(flows):
            raise ValueError(f"the explanations of line {item['input_line']} count {first} flows, it has {len(flows)}")
        leak = item["leak"]
        event = EscapeEvent(
            EventKind(item["kind"]),
            path,
            position,
            item["expr"],
            # What the compiler named (Go 1.25+): the first explanation that names a function, as read.
            next((x.function for x in explanations if x.function is not None), None),
            tuple(explanations),
            None if leak is None else LeakDetail(LeakKind(leak["kind"]), leak["result"], leak["level"]),
            _line(item["input_line"], offset),
            item["detail"],
        )
        events.append(event)
        decided_by = item["decided_by"]
        findings.append(
            Finding(
                event, item["function"], item["declared_in"], item["category"], item["category_reason"],
                None if decided_by is None else _step(decided_by), item["inlined_from"], item["fingerprint"],
                followed=_followed(item.get("followed")),
                allocates=item["allocates"] is not False,
                allocates_reason=item["allocates_reason"],
            )
        )  # fmt: skip
    output = PackageOutput(
        path,
        raw["test_variant"],
        None if header_line is None else _line(header_line, offset),
        tuple(events),
        tuple(
            Remark(r["kind"], _position(r), r["function"], r["subject"], r["detail"], _line(r["input_line"], offset))
            for r in raw["remarks"]
        ),
        tuple(CompilerError(_position(e), e["message"], _line(e["input_line"], offset)) for e in raw["errors"]),
        tuple(
            _explanation(x, _position(x), tuple(_flow(f) for f in x["flows"]), offset)
            for x in raw["unclaimed_explanations"]
        ),
        unrecognized,
    )
    return PackageFindings(output, tuple(findings), _count(raw["source_files"]))
