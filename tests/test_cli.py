"""The command line: exit codes, stdin, never overwriting, odd input that must not be lost."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import MODULES, RECORDED

EXAMPLE = RECORDED / "go1.27.3" / "example.m2.txt"
EXAMPLE_MODULE = MODULES / "example"


def run(*args, stdin: bytes | None = None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "escapelint", *args], input=stdin, capture_output=True, cwd=cwd, check=False
    )


def test_report_to_stdout():
    result = run("report", str(EXAMPLE), "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["schema"] == "escapelint.report/1"
    assert document["stats"]["balanced"] is True
    assert b"unrecognized lines" in result.stderr


def test_report_from_stdin_equals_report_from_file():
    from_file = json.loads(run("report", str(EXAMPLE), "-q").stdout)
    from_stdin = json.loads(run("report", "-", "-q", stdin=EXAMPLE.read_bytes()).stdout)
    assert from_stdin["input"] == "<stdin>"
    assert from_stdin["packages"] == from_file["packages"]


def test_missing_input_exits_2_with_message(tmp_path):
    result = run("report", str(tmp_path / "nope.txt"))
    assert result.returncode == 2
    assert b"nope.txt: no such file" in result.stderr


def test_directory_input_exits_2(tmp_path):
    result = run("report", str(tmp_path))
    assert result.returncode == 2
    assert b"is a directory" in result.stderr


@pytest.mark.parametrize("target", ["r.json", "json:r.json", "sarif:r.sarif", "md-summary:r.md", "github:r.txt"])
def test_the_same_report_twice_replaces_its_file(tmp_path, target):
    """Issue 11 (changed behaviour): naming an output file asks for it, so a second run needs no --force."""
    args = ["--output", target] if ":" not in target else ["--format", target]
    path = tmp_path / target.rpartition(":")[2]
    path.write_text("an older report")
    first = run("report", str(EXAMPLE), *args, "-q", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    content = path.read_bytes()
    assert content != b"an older report"
    second = run("report", str(EXAMPLE), *args, "-q", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert path.read_bytes().splitlines()[0] == content.splitlines()[0]  # SARIF's timestamp varies
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_two_targets_naming_one_file_are_refused_before_anything_is_written(tmp_path):
    result = run("report", str(EXAMPLE), "-f", "sarif:same.out", "-f", f"github:{tmp_path}/same.out", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == [
        "escapelint: error: --format sarif and --format github would both write same.out"
    ]
    assert list(tmp_path.iterdir()) == []


def test_an_output_that_is_the_input_is_refused(tmp_path):
    source = tmp_path / "in.txt"
    source.write_bytes(EXAMPLE.read_bytes())
    for args in (["-f", "sarif:in.txt"], ["-o", str(source)]):
        result = run("report", "in.txt", *args, cwd=tmp_path)
        assert result.returncode == 2
        assert b"would write over the input in.txt" in result.stderr
        assert source.read_bytes() == EXAMPLE.read_bytes()


def test_targets_are_checked_before_the_input_is_read(tmp_path):
    (tmp_path / "r.sarif").mkdir()
    result = run("report", str(tmp_path / "nope.txt"), "-f", f"sarif:{tmp_path / 'r.sarif'}")
    assert result.returncode == 2
    assert b"r.sarif is a directory" in result.stderr


def test_a_pipe_as_output(tmp_path):
    """As `--output /dev/null` does, without touching the real one."""
    import os
    import threading

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()), daemon=True)
    reader.start()
    result = run("report", str(EXAMPLE), "--output", str(pipe), "-q")
    reader.join(timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(received[0])["stats"]["balanced"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_audit_checks_its_targets_before_looking_for_go(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "notes.txt").write_text("mine")
    result = run("audit", "--go", str(tmp_path / "no-go"), "-f", f"html:{site}", cwd=tmp_path)
    assert result.returncode == 2
    assert b"holds files escapelint did not write" in result.stderr


@pytest.mark.parametrize(
    "formats, message",
    [
        (["-f", "yaml"], "unknown diff format 'yaml' in --format 'yaml'; known: md, json, github, sarif"),
        (["-f", "md:a", "-f", "json:a"], "--format md and --format json would both write a"),
        (["-f", "md", "-f", "json"], "--format md and --format json would both write standard output"),
        (["-f", "md:adir"], "adir is a directory; this format writes one file"),
    ],
)
def test_diff_checks_its_targets_before_building(tmp_path, formats, message):
    (tmp_path / "adir").mkdir()
    result = run("diff", "--base", "HEAD", "--go", str(tmp_path / "no-go"), *formats, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == [f"escapelint: error: {message}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir"]


def test_a_failed_report_leaves_the_previous_one_and_no_partial_file(tmp_path):
    target = tmp_path / "report.json"
    assert run("report", str(EXAMPLE), "--output", str(target), "-q").returncode == 0
    before = target.read_bytes()
    target.chmod(0o640)
    result = run("report", str(tmp_path / "nope.txt"), "--output", str(target), "--force")
    assert result.returncode == 2
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
    # A replacement keeps the old file's permissions.
    assert run("report", str(EXAMPLE), "--output", str(target), "--force", "-q").returncode == 0
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_a_symlinked_output_is_written_through(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "report.json"
    link.symlink_to(real)
    assert run("report", str(EXAMPLE), "--output", str(link), "--force", "-q").returncode == 0
    assert link.is_symlink()
    assert json.loads(real.read_text())["stats"]["balanced"]


def test_unknown_format_is_a_usage_error():
    assert run("report", str(EXAMPLE), "--format", "yaml").returncode == 2


def test_crlf_input_gives_the_same_events():
    lf = json.loads(run("report", "-", "-q", stdin=EXAMPLE.read_bytes()).stdout)
    crlf = json.loads(run("report", "-", "-q", stdin=EXAMPLE.read_bytes().replace(b"\n", b"\r\n")).stdout)
    assert crlf["packages"] == lf["packages"]
    assert crlf["stats"] == lf["stats"]


def test_windows_paths_with_spaces():
    """Real output with its paths rewritten to a Windows drive and a folder with a space (transformed)."""
    text = EXAMPLE.read_text().replace("kv/", "C:\\src\\my kv\\")
    result = json.loads(run("report", "-", "-q", stdin=text.encode()).stdout)
    assert result["unrecognized"] == []
    files = {e["file"] for p in result["packages"] for e in p["events"]}
    assert any(f.startswith("C:\\src\\my kv\\") for f in files)


def test_unrecognized_lines_are_reported_with_line_numbers():
    """Hand-made malformed lines mixed into real output: each is listed, none is lost."""
    lines = EXAMPLE.read_text().splitlines(keepends=True)
    lines.insert(3, "this is not compiler output\n")
    lines.insert(7, "./kv/store.go:1:1: x flies to heap\n")
    lines.append("\x00\xff binary junk " + "z" * 100_000 + "\n")
    result = json.loads(run("report", "-", "-q", stdin="".join(lines).encode("utf-8", "surrogateescape")).stdout)
    unrecognized = [(u["line"], u["text"][:30]) for u in result["unrecognized"]]
    assert unrecognized[0] == (4, "this is not compiler output")
    assert unrecognized[1] == (8, "./kv/store.go:1:1: x flies to ")
    assert unrecognized[2][0] == len(lines)
    assert result["stats"]["lines"] == len(lines)
    assert result["stats"]["balanced"]


def test_empty_input():
    result = run("report", "-", "-q", stdin=b"")
    assert result.returncode == 0
    assert json.loads(result.stdout)["stats"]["lines"] == 0


@pytest.mark.parametrize("args", [["--help"], ["report", "--help"]])
def test_help(args):
    result = run(*args)
    assert result.returncode == 0
    assert b"Usage" in result.stdout


def test_several_formats_in_one_run(tmp_path):
    result = run(
        "report", str(EXAMPLE), "-q",
        "--source-root", str(RECORDED.parent / "modules" / "example"),
        "-f", f"json:{tmp_path / 'r.json'}", "-f", f"html:{tmp_path / 'html'}",
        "-f", f"sarif:{tmp_path / 'r.sarif'}", "-f", f"md-summary:{tmp_path / 'summary.md'}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "r.json").read_text())
    heap = [e for p in document["packages"] for e in p["events"] if e["kind"] in ("escape", "moved")]
    assert heap and all(e["category"] and e["fingerprint"] and e["function"] for e in heap)
    assert (tmp_path / "html" / "index.html").is_file()
    assert json.loads((tmp_path / "r.sarif").read_text())["version"] == "2.1.0"
    assert "example.com/escapelint/example/kv" in (tmp_path / "summary.md").read_text()


def test_two_formats_cannot_both_use_stdout():
    result = run("report", str(EXAMPLE), "-f", "json", "-f", "sarif")
    assert result.returncode == 2
    assert b"would both write standard output" in result.stderr


def test_html_options_are_checked_before_anything_is_written(tmp_path):
    out = tmp_path / "html"
    for option, value, words in (("--editor-url", "javascript:alert({path})", b"javascript: scheme"),
                                 ("--editor-url", "vscode://file/{file}", b"unknown placeholder {file}"),
                                 ("--source-pages", "some", b"choose one of module, all, none")):  # fmt: skip
        result = run("report", str(EXAMPLE), "-f", "html", "-o", str(out), option, value)
        assert result.returncode == 2 and result.stderr.startswith(b"escapelint: error: --") and words in result.stderr
        assert not out.exists()
    result = run("report", str(EXAMPLE), "-f", "html", "-o", str(out), "--source-pages", "none", "-q",
                 "--editor-url", "vscode://file/{path}:{line}:{col}", cwd=EXAMPLE_MODULE)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert not list(out.glob("src_*.html")) and "vscode://file/" in next(out.glob("example_com_*kv_*.html")).read_text(encoding="utf-8")
