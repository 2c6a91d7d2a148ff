"""escapelint's JSON reports as input: read back exactly, and merged (the shards of one build) into the
reports one input of all their compiler output gives (issue 11).

The shards are a recorded build's own output cut at its package header lines, as a CI job per package
group would record it; nothing here is typed by hand except the deliberately malformed documents.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from escapelint import __version__
from escapelint.read.input import InputError
from escapelint.report.json import write_json_report
from escapelint.report.json_input import read_report

from .conftest import RECORDED, analysed_file, fixture_id, module_of, recorded_files

EXAMPLE = RECORDED / "go1.27.3" / "example.m2.txt"
#: The report date, the one part of two runs' HTML and Markdown that differs.
_DATE = re.compile(r"\d{4}-\d\d-\d\d(?:T[\d:.]+(?:\+00:00|Z)| \d\d:\d\d UTC)")


def run(*args, cwd, stdin: bytes | None = None):
    return subprocess.run(
        [sys.executable, "-m", "escapelint", *args], input=stdin, capture_output=True, cwd=cwd, check=False
    )


def _json_text(packages, stats, name="in.txt") -> str:
    out = io.StringIO()
    write_json_report(packages, stats, out, name)
    return out.getvalue()


@pytest.mark.parametrize("path", recorded_files(), ids=fixture_id)
def test_a_json_report_reads_back_into_the_model_it_was_written_from(path):
    """Written, read, written again: the same document, for every recorded build."""
    build = analysed_file(path)
    text = _json_text(iter(build.packages), build.stats)
    document = read_report(text, "in.json")
    assert _json_text(document.packages(), document.stats) == text


def test_line_numbers_move_on_by_the_offset():
    build = analysed_file(EXAMPLE)
    document = read_report(_json_text(iter(build.packages), build.stats), "in.json")
    moved = list(document.packages(1000))
    assert [p.output.header_line for p in moved] == [p.output.header_line + 1000 for p in build.packages]
    assert [e.line for p in moved for e in p.output.events] == [e.line + 1000 for p in build.packages for e in p.output.events]


def _split_by_package(recording: Path, parts: int) -> list[str]:
    """The recorded output cut at its "# package" header lines into `parts` runs of whole packages."""
    lines = recording.read_text(encoding="utf-8").splitlines(keepends=True)
    headers = [i for i, line in enumerate(lines) if line.startswith("# ")]
    assert len(headers) >= parts and headers[0] == 0, "a recording with a package per shard"
    cuts = [headers[round(k * len(headers) / parts)] for k in range(parts)] + [len(lines)]
    return ["".join(lines[cuts[k] : cuts[k + 1]]) for k in range(parts)]


def _site(directory: Path) -> dict[str, str]:
    return {
        p.relative_to(directory).as_posix(): _DATE.sub("DATE", p.read_text(encoding="utf-8"))
        for p in sorted(directory.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


FORMATS = ["json:report.json", "html:html", "md:md", "md-summary:summary.md", "sarif:report.sarif"]


@pytest.mark.parametrize(
    "recording", [RECORDED / "go1.27.3" / "categories.m2.txt", RECORDED / "go1.22.10" / "categories.m2.txt"], ids=fixture_id
)
def test_the_shards_json_reports_merge_into_the_reports_of_the_whole_build(recording, tmp_path):
    """Every format from `report a.json b.json` is byte for byte that of `report whole.txt`: shards of the
    one input, each in its own job's directory under the same name, as CI writes them. (Shards whose
    packages call into each other's differ where a leak is followed: see the test below.)"""
    module = module_of(recording)
    whole = tmp_path / "whole"
    whole.mkdir()
    (whole / "build.txt").write_bytes(recording.read_bytes())
    shards = []
    for index, text in enumerate(_split_by_package(recording, 2)):
        job = tmp_path / f"job{index}"
        job.mkdir()
        (job / "build.txt").write_text(text, encoding="utf-8")
        done = run("report", "build.txt", "--format", "json", "-o", f"../shard{index}.json", "--source-root", str(module), "-q", cwd=job)
        assert done.returncode == 0, done.stderr
        shards.append(f"shard{index}.json")
    args = [arg for target in FORMATS for arg in ("--format", target)]
    expected = run("report", "build.txt", *args, "--source-root", str(module), "-q", cwd=whole)
    assert expected.returncode == 0, expected.stderr
    merged = tmp_path / "merged"
    merged.mkdir()
    done = run("report", *(f"../{s}" for s in shards), *args, "--source-root", str(module), "-q", cwd=merged)
    assert done.returncode == 0, done.stderr
    assert done.stderr == expected.stderr  # the same warnings, if any
    produced, wanted = _site(merged), _site(whole)
    assert set(produced) == set(wanted) - {"build.txt"}
    for name, text in produced.items():
        assert text == wanted[name], f"{name} differs from the report of the whole build"
    document = json.loads((merged / "report.json").read_text(encoding="utf-8"))
    assert document["input"] == "build.txt"  # the shards' own input name, as they all agree


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> Path:
    """Two shards' JSON reports of the example build, and the whole build's."""
    directory = tmp_path_factory.mktemp("shards")
    module = module_of(EXAMPLE)
    for name, text in [*zip(("a", "b"), _split_by_package(EXAMPLE, 2)), ("whole", EXAMPLE.read_text(encoding="utf-8"))]:
        (directory / f"{name}.txt").write_text(text, encoding="utf-8")
        done = run("report", f"{name}.txt", "-o", f"{name}.json", "--source-root", str(module), "-q", cwd=directory)
        assert done.returncode == 0, done.stderr
    return directory


def test_a_json_report_on_standard_input_merges_too(shards):
    module = str(module_of(EXAMPLE))
    from_files = run("report", "a.json", "b.json", "--source-root", module, "-q", cwd=shards)
    from_stdin = run("report", "-", "b.json", "--source-root", module, "-q", cwd=shards, stdin=(shards / "a.json").read_bytes())
    assert from_files.returncode == from_stdin.returncode == 0, from_stdin.stderr
    document, piped = json.loads(from_files.stdout), json.loads(from_stdin.stdout)
    assert piped["packages"] == document["packages"]
    assert piped["input"] == "a.txt, b.txt"  # shards that name different inputs: all of them, in order


def test_a_json_report_is_known_by_its_content_not_its_name(shards, tmp_path):
    (tmp_path / "shard.txt").write_bytes((shards / "whole.json").read_bytes())
    (tmp_path / "output.json").write_bytes(EXAMPLE.read_bytes())  # compiler output, whatever its name
    module = str(module_of(EXAMPLE))
    as_report = run("report", "shard.txt", "--source-root", module, "-q", cwd=tmp_path)
    as_text = run("report", "output.json", "--source-root", module, "-q", cwd=tmp_path)
    assert as_report.returncode == as_text.returncode == 0, (as_report.stderr, as_text.stderr)
    assert json.loads(as_report.stdout)["packages"] == json.loads(as_text.stdout)["packages"]


def _refused(shards: Path, *inputs: str, output: str = "merged.json") -> str:
    target = shards / output
    target.write_text("the previous report")
    done = run("report", *inputs, "-o", output, cwd=shards)
    assert done.returncode == 2, done.stderr
    assert target.read_text() == "the previous report"
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("escapelint: error: "), lines
    return lines[0]


def test_a_package_in_two_shards_is_an_error(shards):
    (shards / "again.json").write_bytes((shards / "a.json").read_bytes())
    message = _refused(shards, "a.json", "b.json", "again.json")
    assert "again.json: package example.com/escapelint/example/kv is also in a.json" in message


def test_one_report_given_twice_is_an_error(shards):
    assert "a.json and ./a.json are the same file" in _refused(shards, "a.json", "./a.json")


def test_compiler_output_and_json_reports_do_not_mix(shards):
    message = _refused(shards, "a.json", "b.txt")
    assert "b.txt is compiler output and a.json an escapelint JSON report" in message
    assert "several inputs are merged only as escapelint JSON reports" in _refused(shards, "a.txt", "b.txt")


def _edited(shards: Path, name: str, edit) -> str:
    document = json.loads((shards / "a.json").read_text(encoding="utf-8"))
    edit(document)
    (shards / name).write_text(json.dumps(document), encoding="utf-8")
    return name


def test_a_report_of_another_escapelint_version_is_refused(shards):
    other = _edited(shards, "old.json", lambda d: d["generator"].update(version="0.0.1"))
    message = _refused(shards, other, "b.json")
    assert f"old.json: written by escapelint 0.0.1, this is escapelint {__version__}" in message


def test_another_schema_is_refused(shards):
    newer = _edited(shards, "newer.json", lambda d: d.update(schema="escapelint.report/2"))
    assert "newer.json: a 'escapelint.report/2' document is another version of the report" in _refused(shards, newer)
    diff = _edited(shards, "diff.json", lambda d: d.update(schema="escapelint.diff/1"))
    assert "is not a report" in _refused(shards, diff)
    none = _edited(shards, "none.json", lambda d: d.pop("schema"))
    assert "none.json: a JSON document, but not an escapelint report" in _refused(shards, none)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        # Deliberately malformed documents, made here by hand.
        ('{"schema": "escapelint.report/1", "generator": ', "not valid JSON"),
        ("{\n", "not valid JSON"),
        ("{}", "not an escapelint report"),
    ],
)
def test_malformed_json_is_refused_with_one_line(shards, text, problem):
    (shards / "broken.json").write_text(text, encoding="utf-8")
    assert problem in _refused(shards, "broken.json")


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["packages"][0].pop("source_files"),
        lambda d: d["packages"][0]["events"][0].update(kind="exploded"),
        lambda d: d["packages"][0]["events"][0].update(input_line="12"),
        lambda d: d["stats"].update(lines=-1),
        lambda d: d.pop("unrecognized"),
        lambda d: d["packages"][0]["events"][1]["explanations"][0].update(flow_count=99),
    ],
    ids=["no-field", "unknown-kind", "line-not-a-number", "negative-count", "no-list", "flows-miscounted"],
)
def test_a_document_with_a_wrong_field_is_refused(shards, edit):
    broken = _edited(shards, "wrong.json", edit)
    assert "wrong.json: not a valid escapelint.report/1 document" in _refused(shards, broken)


def test_read_report_raises_input_error_naming_the_file():
    with pytest.raises(InputError, match=r"^x\.json: not valid JSON"):
        read_report("{", "x.json")


def test_a_shard_does_not_follow_leaks_into_another_shards_packages(tmp_path):
    """The example's command calls kv.Apply, whose parameter leaks: the whole build follows the call into
    kv (escapelint.analyze.leaks), a shard holding only the command cannot, and the merge keeps the
    shards' verdicts as they are (docs/json-report.md says so)."""
    whole = json.loads(_json_text(iter(analysed_file(EXAMPLE).packages), analysed_file(EXAMPLE).stats))
    followed_whole = {e["fingerprint"] for p in whole["packages"] for e in p["events"] if e.get("followed")}
    assert followed_whole, "the example's command follows a call into kv"
    texts = _split_by_package(EXAMPLE, 2)
    shard = tmp_path / "shard.txt"
    shard.write_text(texts[1], encoding="utf-8")
    done = run("report", str(shard), "--format", "json", "-o", str(tmp_path / "s.json"), "--source-root",
               str(module_of(EXAMPLE)), "-q", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    alone = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    events = {e["fingerprint"]: e for p in alone["packages"] for e in p["events"]}
    lost = [events[f] for f in followed_whole if f in events]
    assert lost and all(not e.get("followed") for e in lost)
