"""The versioned JSON document (`escapelint.report/1`), written while the input is still being read.

Layout (documented in docs/json-report.md):

    {"schema": "escapelint.report/1", "generator": {...}, "input": "...",
     "packages": [{"path", "test_variant", "header_line", "source_files", "events": [...], "remarks": [...],
                   "errors": [...], "unclaimed_explanations": [...]}],
     (each event with its finding: "function", "declared_in", "category", "category_reason",
      "decided_by", "inlined_from", "fingerprint", "allocates", "allocates_reason")
     "unrecognized": [{"line", "text", "package"}],
     "warnings": [{"code", "message"}],   (only when there is one: escapelint.report.warnings)
     "stats": {"lines", "roles", "events", "remarks", "packages", "balanced"}}

Packages are written as they are read, so memory holds one package at a time. The document holds
everything the other reports are made from, so that escapelint.report.json_input can read it back
(`escapelint report a.json b.json`, the shards of one build). Flows and positions recur across
the explanations of a package and are shared objects, so their JSON text is built once each.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from collections.abc import Iterable
from json.encoder import (
    encode_basestring as _quote,  # the C string encoder json.dumps uses
)
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TextIO

from escapelint import __version__
from escapelint.events import (
    BuildStats,
    Explanation,
    Flow,
    FlowStep,
    LineRole,
    Position,
    UnrecognizedLine,
)
from escapelint.gc_pause import paused
from escapelint.report.warnings import InputWarning

if TYPE_CHECKING:  # annotations only: the analysis is not loaded to copy results from the cache
    from escapelint.analyze.cost import CostAttribution
    from escapelint.analyze.findings import Finding, PackageFindings

SCHEMA = "escapelint.report/1"


def _str(value: str | None) -> str:
    return "null" if value is None else _quote(value)


def _int(value: int | None) -> str:
    return "null" if value is None else str(value)


def _position_fields(position: Position | None) -> str:
    if position is None:
        return '"file": null, "line": null, "column": null'
    return f'"file": {_quote(position.file)}, "line": {position.line}, "column": {_int(position.column)}'


class JsonReportWriter:
    """Writes one report document to `out`: `begin()`, `package()` per package, `end()`."""

    def __init__(self, out: TextIO, input_name: str, costs: CostAttribution | None = None) -> None:
        self._out = out
        self.costs = costs  # a heap profile's figures (escapelint.analyze.cost): "profile" fields
        self._input_name = input_name
        self._first_package = True
        self.packages_written = 0
        self._unrecognized: list[tuple[UnrecognizedLine, str | None]] = []
        self._position_json: dict[int, str] = {}
        self._flow_json: dict[int, str] = {}

    def begin(self) -> None:
        generator = json.dumps({"name": "escapelint", "version": __version__})
        self._out.write(
            f'{{"schema": {_quote(SCHEMA)}, "generator": {generator}, '
            f'"input": {_quote(self._input_name)},\n"packages": [\n'
        )

    def package(self, package: PackageFindings) -> None:
        """Write one package. Events are written one by one: one package can hold millions of lines."""
        output = package.output
        # Positions and flows are shared within a package; their ids are safe while it is alive.
        self._position_json = {}
        self._flow_json = {}
        write = self._out.write
        write("" if self._first_package else ",\n")
        self._first_package = False
        self.packages_written += 1
        write(
            f'{{"path": {_str(output.path)}, "test_variant": {_str(output.test_variant)}, '
            f'"header_line": {_int(output.header_line)}, "source_files": {package.source_files},\n"events": ['
        )
        separator = ""
        for finding in package.findings:
            write(separator)
            write(self._event(finding))
            separator = ",\n"
        write('],\n"remarks": [')
        write(
            ",\n".join(
                f'{{"kind": {_quote(r.kind)}, {_position_fields(r.position)}, "function": {_str(r.function)}, '
                f'"subject": {_str(r.subject)}, "detail": {_str(r.detail)}, "input_line": {r.line}}}'
                for r in output.remarks
            )
        )
        write('],\n"errors": [')
        write(
            ",\n".join(
                f'{{{_position_fields(e.position)}, "message": {_quote(e.message)}, "input_line": {e.line}}}'
                for e in output.errors
            )
        )
        write('],\n"unclaimed_explanations": [')
        separator = ""
        for explanation in output.unclaimed:
            write(separator)
            write(self._explanation(explanation, with_flows=True))
            separator = ",\n"
        write("]}")
        self._unrecognized.extend((u, output.path) for u in output.unrecognized)

    @property
    def unrecognized(self) -> list[tuple[UnrecognizedLine, str | None]]:
        """The unrecognized lines of the packages written so far, with their package's path."""
        return self._unrecognized

    def splice(
        self,
        fragment: Path | BinaryIO,
        packages: int,
        unrecognized: Iterable[tuple[UnrecognizedLine, str | None]],
        length: int | None = None,
    ) -> None:
        """Copy in `packages` packages that another JsonReportWriter wrote to `fragment` (escapelint.workflows.parallel),
        or to its first `length` bytes (a result cache entry: escapelint.workflows.cache); a file, or one open.

        The copy goes file to file in the kernel where it can: a fragment can be hundreds of megabytes.
        """
        self._unrecognized.extend(unrecognized)
        if not packages:
            return
        self._out.write("" if self._first_package else ",\n")
        self._first_package = False
        self.packages_written += packages
        _copy_file_into(fragment, self._out, length)

    def end(self, stats: BuildStats, warnings: Iterable[InputWarning] = ()) -> None:
        """Close the document; `warnings` (escapelint.report.warnings), if any, go in a "warnings" list."""
        unrecognized = ",\n".join(
            f'{{"line": {u.line}, "text": {_quote(u.text)}, "package": {_str(path)}}}'
            for u, path in self._unrecognized
        )
        stats_json = json.dumps(
            {
                "lines": stats.lines,
                "roles": {role.value: stats.roles[role] for role in LineRole},
                "events": {str(k.value): v for k, v in sorted(stats.events.items())},
                "remarks": dict(sorted(stats.remarks.items())),
                "packages": stats.packages,
                "balanced": stats.balanced(),
            }
        )
        listed = ",\n".join(f'{{"code": {_quote(w.code)}, "message": {_quote(w.message)}}}' for w in warnings)
        warnings_json = f'"warnings": [{listed}],\n' if listed else ""  # only when there is one
        profile_json = f'"profile": {json.dumps(profile_document(self.costs))},\n' if self.costs is not None else ""
        self._out.write(
            f'\n],\n"unrecognized": [{unrecognized}],\n{warnings_json}{profile_json}"stats": {stats_json}}}\n'
        )

    # --- pieces ----------------------------------------------------------------------------------

    def _event(self, finding: Finding) -> str:
        event = finding.event
        leak = event.leak
        leak_json = (
            "null"
            if leak is None
            else f'{{"kind": {_quote(leak.kind.value)}, "result": {_str(leak.result)}, "level": {_int(leak.level)}}}'
        )
        # Most flows are shared, so their text is known: look it up here, encode only the others.
        known, encode = self._flow_json.get, self._flow
        flows = ", ".join(
            [known(id(flow)) or encode(flow) for explanation in event.explanations for flow in explanation.flows]
        )
        explanations = ", ".join([self._explanation(x, with_flows=False) for x in event.explanations])
        step = finding.step
        decided_by = "null" if step is None else self._step(step)
        return (
            f'{{"kind": {_quote(event.kind.value)}, {_position_fields(event.position)}, '
            f'"expr": {_quote(event.expr)}, "function": {_str(finding.function)}, '
            f'"declared_in": {_str(finding.declared_in)}, "category": {_str(finding.category)}, '
            f'"category_reason": {_str(finding.reason)}, "decided_by": {decided_by}, '
            f'"inlined_from": {_str(finding.inlined_from)}, "fingerprint": {_quote(finding.fingerprint)}, '
            f'{_allocation_fields(finding)}'
            f'"detail": {_str(event.detail)}, "leak": {leak_json}, "input_line": {event.line}, '
            f'"flows": [{flows}], "explanations": [{explanations}]{self._followed(finding)}{self._profile(finding)}}}'
        )

    def _profile(self, finding: Finding) -> str:
        """`, "profile": {...}` for a heap site when a profile was given (only then: the document is unchanged without)."""
        if self.costs is None:
            return ""
        cost = self.costs.of(finding)
        return "" if cost is None else f', "profile": {json.dumps(site_profile(cost, self.costs))}'

    def _followed(self, finding: Finding) -> str:
        """`, "followed": [...]` for a site whose callees' leak explanations decided, else nothing.

        No input lines: a worker process knows another package's explanation only from the leak scan
        (escapelint.read.leak_scan), and the document must not depend on how many read it.
        """
        if not finding.followed:
            return ""
        calls = []
        for call in finding.followed:
            explanation = call.explanation
            flows = ", ".join([self._flow(flow) for flow in explanation.flows])
            calls.append(
                f'{{"callee": {_quote(call.callee)}, "package": {_str(call.package)}, '
                f'"parameter": {_quote(call.parameter)}, "call": {self._step(call.call)}, '
                f'"explanation": {{"subject": {_quote(explanation.subject)}, "function": {_str(explanation.function)}, '
                f'"sink": {_str(explanation.sink)}, "derefs": {_int(explanation.derefs)}, '
                f'{_position_fields(explanation.position)}, "flows": [{flows}]}}}}'
            )
        return f', "followed": [{", ".join(calls)}]'

    def _explanation(self, explanation: Explanation, *, with_flows: bool) -> str:
        text = (
            f'{{"subject": {_quote(explanation.subject)}, "function": {_str(explanation.function)}, '
            f'"sink": {_str(explanation.sink)}, "derefs": {_int(explanation.derefs)}, '
            f'"truncated": {"true" if explanation.truncated else "false"}, '
            f'"input_line": {explanation.first_line}, "line_count": {explanation.line_count}, '
            f'"flow_count": {len(explanation.flows)}'
        )
        if with_flows:
            flows = ", ".join([self._flow(flow) for flow in explanation.flows])
            text += f', {_position_fields(explanation.position)}, "flows": [{flows}]'
        return text + "}"

    def _flow(self, flow: Flow) -> str:
        # Flows are shared between the explanations of a package (escapelint.read.assembler): encode each once.
        text = self._flow_json.get(id(flow))
        if text is None:
            steps = ", ".join([self._step(s) for s in flow.steps])
            text = self._flow_json[id(flow)] = (
                f'{{"sink": {_quote(flow.sink)}, "source": {_quote(flow.source)}, "derefs": {flow.derefs}, '
                f'"steps": [{steps}]}}'
            )
        return text

    def _step(self, step: FlowStep) -> str:
        at = step.at
        position = self._position_json.get(id(at))
        if position is None:
            position = self._position_json[id(at)] = _position_fields(at)
        return f'{{"expr": {_quote(step.expr)}, "reason": {_quote(step.reason)}, {position}}}'


def _figures(figures) -> dict:
    document = {"bytes": figures.bytes, "objects": figures.objects}
    if figures.inuse_bytes is not None:
        document["inuse_bytes"] = figures.inuse_bytes
        document["inuse_objects"] = figures.inuse_objects
    return document


def site_profile(cost, costs: CostAttribution) -> dict:
    """One heap event's "profile": its figures, share of the profiles' bytes, and the sites it shares a line with."""
    document = _figures(cost.figures)
    document["share"] = round(cost.share, 6)
    document["exercised"] = cost.exercised
    shared = []
    for line in cost.shared_with:
        other = costs.heap_sites[line]
        position = other.event.position
        shared.append({"file": position.file, "line": position.line, "column": position.column,
                       "expr": other.event.expr, "input_line": line})  # fmt: skip
    document["shared_with"] = shared
    if shared:
        document["line_bytes"] = cost.line.bytes
        document["line_objects"] = cost.line.objects
    return document


def profile_document(costs: CostAttribution) -> dict:
    """The document's "profile": the profiles' facts, totals per function, package and category, and the
    bytes at lines without a site (docs/json-report.md)."""
    facts = costs.facts

    def totals(rows, name):
        return [{name: t.key, **({"package": t.package} if name == "function" else {}), **_figures(t.figures),
                 "sites": t.sites, "exercised": t.exercised} for t in rows]  # fmt: skip

    exercised = sum(1 for c in costs.sites.values() if c.exercised)
    return {
        "files": list(facts.files),
        "sample_types": list(facts.sample_types),
        "durations": list(facts.durations),
        "periods": list(facts.periods),
        "samples": facts.samples,
        "total": _figures(facts.total),
        "attributed": _figures(facts.attributed),
        "unmatched": _figures(facts.unmatched),
        "unmapped": _figures(facts.unmapped),
        "unmapped_samples": facts.unmapped_samples,
        "runtime_samples": facts.runtime_samples,
        "sites": {"exercised": exercised, "not_exercised": len(costs.sites) - exercised},
        "functions": totals(costs.functions, "function"),
        "packages": totals(costs.packages, "package"),
        "categories": totals(costs.categories, "category"),
        "unmatched_lines": [
            {"file": u.file, "line": u.line, "function": u.function, **_figures(u.figures), "slice_growth": u.slice_growth}
            for u in costs.unmatched
        ],
    }


def _copy_file_into(fragment: Path | BinaryIO, out: TextIO, length: int | None = None) -> None:
    """Append the UTF-8 file `fragment` (its first `length` bytes; a path, or a file open for reading,
    from its start) to `out`: in the kernel when `out` is a UTF-8 file, else as text."""
    try:
        descriptor = out.fileno()
    except (AttributeError, OSError, ValueError):  # a StringIO, or a stream without a file behind it
        descriptor = None
    encoding = (getattr(out, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    with fragment.open("rb") if isinstance(fragment, Path) else contextlib.nullcontext(fragment) as whole:
        whole.seek(0)
        source = whole if length is None else _Prefix(whole, length)
        if descriptor is not None and encoding == "utf8":
            out.flush()
            offset = _copy_in_kernel(whole.fileno(), descriptor, length)
            if offset < 0:
                return
            if offset > 0:  # the rest byte for byte: the text layer might start inside a character
                whole.seek(offset)
                shutil.copyfileobj(source, out.buffer, 1 << 20)  # type: ignore[attr-defined]
                out.buffer.flush()  # type: ignore[attr-defined]
                return
        # Through the text layer, so that the output's own encoding (or a StringIO) is honoured.
        shutil.copyfileobj(io.TextIOWrapper(source, encoding="utf-8", newline=""), out, 1 << 20)


class _Prefix(io.RawIOBase):
    """The first `length` bytes of an open binary file, from where it stands."""

    def __init__(self, file, length: int) -> None:
        self._file = file
        self._length = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        left = self._length - self._file.tell()
        if left <= 0:
            return 0
        with memoryview(buffer) as view:
            return self._file.readinto(view[:left]) or 0


def _copy_in_kernel(source: int, target: int, length: int | None = None) -> int:
    """Copy the file `source` (its first `length` bytes) to the end of `target` without passing it through Python.

    -1 when done; otherwise how far it got (0 when the kernel cannot copy between these two).
    copy_file_range(2) is tried first (between regular files), then sendfile(2) (to anything).
    """
    size = os.fstat(source).st_size if length is None else length
    offset = 0
    for copy in (_copy_file_range, _sendfile):
        try:
            while offset < size:
                copied = copy(source, target, offset, size - offset)
                if copied == 0:
                    break
                offset += copied
        except OSError:
            if offset:  # failed part-way: what is left goes through Python
                return offset
        if offset >= size:
            return -1
    return offset


def _copy_file_range(source: int, target: int, offset: int, count: int) -> int:
    if not hasattr(os, "copy_file_range"):
        raise OSError("no copy_file_range")
    return os.copy_file_range(source, target, count, offset)


def _sendfile(source: int, target: int, offset: int, count: int) -> int:
    if not hasattr(os, "sendfile"):
        raise OSError("no sendfile")
    return os.sendfile(target, source, offset, count)


def write_json_report(
    packages: Iterable[PackageFindings], stats: BuildStats, out: TextIO, input_name: str
) -> None:
    """Write the whole document; `packages` may be a generator that is still reading the input."""
    # Writing makes strings and short-lived lists, no reference cycles, while each package read holds
    # hundreds of thousands of objects the cyclic garbage collector would walk again for nothing (like
    # BuildReader, which pauses it while it reads): it waits until the document is written.
    with paused():
        writer = JsonReportWriter(out, input_name)
        writer.begin()
        for output in packages:
            writer.package(output)
        writer.end(stats)


def _allocation_fields(finding: Finding) -> str:
    """"allocates" (null for noescape and leak events) and "allocates_reason" (null unless false)."""
    if finding.category is None:
        return '"allocates": null, "allocates_reason": null, '
    if finding.allocates:
        return '"allocates": true, "allocates_reason": null, '
    return f'"allocates": false, "allocates_reason": {_str(finding.allocates_reason)}, '
