"""What a Go developer expects of a linter's command line (golangci-lint, ruff, staticcheck): issue 11.

One test (or a few) per row of the issue: -h, --version/-V, completion, --color, -v, --config,
//nolint:escapelint, check --format, "did you mean", help without Python types, and start-up imports.
The rows that need a real Go toolchain are marked `toolchain`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from escapelint import __version__
from escapelint.workflows.config import ConfigError, load_config_file
from escapelint.workflows.suppressions import Suppression, Suppressions

from .conftest import FIXTURES, RECORDED, ROOT, analysed, toolchain_or_skip

EXAMPLE = RECORDED / "go1.27.3" / "example.m2.txt"
COMMANDS = ["report", "audit", "baseline", "check", "diff", "rules", "explain", "version"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run(*args, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "COLUMNS": "120", **(env or {})}
    for name in ("NO_COLOR", "FORCE_COLOR", "PY_COLORS", "GITHUB_ACTIONS", "_TYPER_FORCE_DISABLE_TERMINAL"):
        if env is None or name not in env:
            environ.pop(name, None)
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "escapelint", *args], capture_output=True, text=True, env=environ, cwd=cwd, check=False
    )


def typer_is_pinned() -> bool:
    """Whether the installed typer is in pyproject.toml's range (below 0.29, which prints <bool> whatever the metavar)."""
    import typer

    major, minor = (int(part) for part in typer.__version__.split(".")[:2])
    return (major, minor) < (0, 29)


# --- -h and --help ---------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["-h", "--help"])
@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_with_h_and_help_on_the_app_and_every_command(flag, command):
    result = run(*([command] if command else []), flag)
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    assert "-h" in result.stdout and "--help" in result.stdout


# --- --version, -V and the version command ---------------------------------------------------------


@pytest.mark.parametrize("args", [["--version"], ["-V"], ["version"], ["--color", "never", "--version"]])
def test_version(args):
    result = run(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{__version__}\n"


def test_version_alone_does_not_import_typer():
    """The fast path of escapelint/__main__.py: `escapelint --version` pays only for starting Python."""
    code = (
        "import runpy, sys; sys.argv = ['escapelint', '--version']; runpy.run_module('escapelint', run_name='__main__'); "
        "print(sorted(m for m in ('typer', 'rich', 'escapelint.cli') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout == f"{__version__}\n[]\n"


# --- shell completion: typer's own --install-completion / --show-completion -----------------------


def test_show_completion_prints_the_script_for_the_shell_it_runs_in():
    """typer detects the shell from the parent processes: run it from bash (which must not exec it)."""
    import shutil

    if shutil.which("bash") is None:
        pytest.skip("no bash")
    code = "import sys; sys.argv[0] = 'escapelint'; from escapelint.cli import main; main()"
    result = subprocess.run(
        ["bash", "-c", '"$0" -c "$1" --show-completion; exit $?', sys.executable, code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "_ESCAPELINT_COMPLETE" in result.stdout
    assert "complete" in result.stdout


def test_the_app_help_lists_the_completion_options():
    assert "--install-completion" in run("-h").stdout
    assert "--show-completion" in run("-h").stdout


# --- --color beside NO_COLOR and FORCE_COLOR ---------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "coloured"),
    [
        ([], {}, False),  # not a terminal
        ([], {"FORCE_COLOR": "1"}, True),
        ([], {"NO_COLOR": "1"}, False),
        (["--color", "always"], {}, True),
        (["--color", "always"], {"NO_COLOR": "1"}, True),
        (["--color", "never"], {"FORCE_COLOR": "1"}, False),
        (["--color", "NEVER"], {"FORCE_COLOR": "1"}, False),
        (["--color", "auto"], {"FORCE_COLOR": "1"}, True),
    ],
)
def test_color_decides_the_help_colours(args, env, coloured):
    result = run(*args, "report", "--help", env=env)
    assert result.returncode == 0, result.stderr
    assert bool(ANSI.search(result.stdout)) is coloured


def test_an_unknown_color_is_a_usage_error():
    result = run("--color", "sometimes", "version")
    assert result.returncode == 2
    assert "--color" in result.stderr


def test_apply_color_sets_what_rich_and_typer_read():
    from escapelint.cli import Color, apply_color

    environ = {"FORCE_COLOR": "1", "PY_COLORS": "1"}
    apply_color(Color.never, environ)
    assert environ == {"NO_COLOR": "1", "_TYPER_FORCE_DISABLE_TERMINAL": "1"}
    apply_color(Color.always, environ)
    assert environ == {"FORCE_COLOR": "1"}
    apply_color(Color.auto, environ)
    assert environ == {"FORCE_COLOR": "1"}


# --- -v/--verbose ----------------------------------------------------------------------------------


def test_verbose_report_says_what_it_read_on_stderr(tmp_path):
    result = run("report", str(EXAMPLE), "-v", "-q", "--output", str(tmp_path / "r.json"))
    assert result.returncode == 0, result.stderr
    assert f"reading {EXAMPLE}" in result.stderr
    assert re.search(r"\[ *\d+\.\d{3} s\] read \d+ lines, \d+ packages", result.stderr)
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["report", "audit", "baseline", "check", "diff"])
def test_verbose_is_on_the_commands_that_build_or_read(command):
    assert "--verbose" in run(command, "-h").stdout


# --- --config FILE ----------------------------------------------------------------------------------


def test_config_file_dedicated(tmp_path):
    path = tmp_path / "lint.toml"
    path.write_text('fail-on = ["returned-pointer"]\nmax-new = 3\n')
    config = load_config_file(path)
    assert config.fail_on == {"returned-pointer"} and config.max_new == 3 and config.origin == path


def test_config_file_pyproject_needs_its_table(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.escapelint]\nmax-new = 2\n")
    assert load_config_file(path).max_new == 2
    path.write_text("[project]\nname = 'x'\n")
    with pytest.raises(ConfigError, match=r"no \[tool.escapelint\] table"):
        load_config_file(path)


def test_config_file_missing_is_named(tmp_path):
    with pytest.raises(ConfigError, match="nope.toml: no such configuration file"):
        load_config_file(tmp_path / "nope.toml")


@pytest.mark.parametrize("command", ["audit", "baseline", "check", "diff"])
def test_config_is_on_the_commands_that_read_configuration(command):
    assert "--config" in run(command, "-h").stdout


# --- //nolint:escapelint beside //escapelint:ignore ---------------------------------------------


def read_suppressions(tmp_path, text: str) -> Suppressions:
    path = tmp_path / "a.go"
    path.write_text(text, encoding="utf-8")
    suppressions = Suppressions()
    suppressions.read("a.go", path)
    return suppressions


NOLINT = """package p

func F() *int {
	x := 1 //nolint:escapelint // callers keep it
	//nolint:errcheck,escapelint // a list of linters, golangci-lint's form
	sink = &x
	y := 2 //nolint:errcheck // another linter's: not ours
	z := 3 //nolint:escapelint
	w := 4 //nolint:escapelint because
	return &x
}
"""


def test_nolint_escapelint_silences_every_category_with_its_reason(tmp_path):
    suppressions = read_suppressions(tmp_path, NOLINT)
    assert suppressions.find("a.go", 4, "returned-pointer") == Suppression("a.go", 4, "all", "callers keep it", (4,))
    assert suppressions.find("a.go", 4, "interface-boxing") is not None
    alone = suppressions.find("a.go", 6, "global-assignment")
    assert alone is not None and alone.line == 5 and alone.reason == "a list of linters, golangci-lint's form"


def test_nolint_of_another_linter_is_not_ours(tmp_path):
    suppressions = read_suppressions(tmp_path, NOLINT)
    assert suppressions.find("a.go", 7, "returned-pointer") is None


def test_nolint_escapelint_needs_a_reason_and_malformed_ones_are_reported(tmp_path):
    suppressions = read_suppressions(tmp_path, NOLINT)
    assert suppressions.find("a.go", 8, "returned-pointer") is None
    assert suppressions.find("a.go", 9, "returned-pointer") is None
    assert [(p.line, "reason" in p.message or "malformed" in p.message) for p in suppressions.problems] == [
        (8, True),
        (9, True),
    ]


# --- check --format json|github|sarif -----------------------------------------------------------------


def heap_findings():
    return [f for f in analysed("1.27.3", "example").findings() if f.category is not None]


def test_check_json_lists_the_new_sites_with_fingerprints():
    from escapelint.report.check import render_check

    new = heap_findings()[:3]
    document = json.loads(
        render_check("json", new, suppressed=[], known=5, problems=[], compared_with="baseline b.json", go_version="go1.27.3")
    )
    assert document["schema"] == "escapelint.check/1"
    assert document["verdict"] == "fail" and document["known"] == 5
    assert {f["fingerprint"] for f in document["new"]} == {f.fingerprint for f in new}
    ok = json.loads(render_check("json", [], suppressed=[], known=5, problems=[], compared_with="b", go_version=None))
    assert ok["verdict"] == "ok" and ok["new"] == []


def test_check_github_annotates_each_new_site_and_problem_as_an_error():
    from escapelint.report.check import render_check

    new = heap_findings()[:2]
    text = render_check(
        "github", new, suppressed=[], known=0, problems=["./kv/a.go:7: bad"], compared_with="b", go_version=None
    )
    lines = text.splitlines()
    assert len(lines) == 3 and all(line.startswith("::error ") for line in lines)
    assert "file=kv/a.go,line=7" in lines[2] and lines[2].endswith("::bad")


def test_check_github_annotates_a_problem_in_a_file_whose_name_holds_colons():
    from escapelint.report.check import render_check

    text = render_check("github", [], suppressed=[], known=0, problems=["./a:b.go:7: needs: a reason"],
                        compared_with="b", go_version=None)  # fmt: skip
    assert text.startswith("::error ") and "file=a%3Ab.go,line=7" in text and text.rstrip().endswith("::needs: a reason")


def test_check_sarif_is_valid_and_holds_the_new_sites_only(sarif_validator):
    from escapelint.report.check import render_check

    new = heap_findings()[:4]
    document = json.loads(render_check("sarif", new, suppressed=[], known=9, problems=[], compared_with="b", go_version="go1.27.3"))
    sarif_validator.validate(document)
    results = document["runs"][0]["results"]
    assert sorted(r["partialFingerprints"]["escapelint/v1"] for r in results) == sorted(f.fingerprint for f in new)


def test_check_format_is_declared_with_its_choices():
    help_text = run("check", "-h").stdout
    for name in ("text", "json", "github", "sarif"):
        assert name in help_text


# --- a suggestion for a mistyped category id -----------------------------------------------------------


def test_explain_suggests_the_closest_category():
    result = run("explain", "retuned-pointer")
    assert result.returncode == 2
    assert "did you mean returned-pointer?" in result.stderr


def test_explain_without_a_close_category_lists_them():
    result = run("explain", "zzzzzz")
    assert result.returncode == 2
    assert "did you mean" not in result.stderr and "returned-pointer" in result.stderr


def test_config_fail_on_suggests_the_closest_category(tmp_path):
    path = tmp_path / ".escapelint.toml"
    path.write_text('fail-on = ["retuned-pointer"]\n')
    with pytest.raises(ConfigError, match=r"unknown category 'retuned-pointer' \(did you mean returned-pointer\?\); known: "):
        load_config_file(path)


# --- help shows defaults and no Python types ---------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_help_prints_no_python_types(command):
    if not typer_is_pinned():
        pytest.skip("typer >= 0.29 prints <bool> and <list[str]> whatever the metavar; pyproject.toml pins below it")
    text = run(command, "-h").stdout
    for python_type in ("<list[str]>", "<bool>", "<path>", "<int", "<text>", "list[", "Optional"):
        assert python_type not in text, (command, python_type)


@pytest.mark.parametrize(
    ("command", "default"),
    [("report", "json"), ("audit", "html"), ("audit", "escapelint-report"), ("diff", "md"), ("check", "text")],
)
def test_help_shows_defaults(command, default):
    text = run(command, "-h").stdout
    assert re.search(rf"\[default: \(?{re.escape(default)}\)?\]", text), text


# --- start-up: what a command imports ------------------------------------------------------------------

HEAVY = ("jinja2", "pygments", "markdown_it", "rich", "pydantic")


def imported(*modules: str) -> set[str]:
    code = f"import sys; import {', '.join(modules)}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(result.stdout.split())


def test_the_cli_module_imports_typer_and_nothing_heavy():
    loaded = imported("escapelint.cli")
    assert not loaded & {*HEAVY, "lark"}


def test_check_loads_no_report_writer_templates_or_highlighter():
    loaded = imported(
        "escapelint.cli",
        "escapelint.terminal",
        "escapelint.workflows.gate",
        "escapelint.workflows.baseline",
        "escapelint.workflows.git",
        "escapelint.workflows.audit",
        "escapelint.report.check",
    )
    assert not loaded & set(HEAVY)


# --- the rows that need Go ----------------------------------------------------------------------------------


@pytest.fixture
def go_module(tmp_path):
    toolchain = toolchain_or_skip("1.27.3")
    env = toolchain.env()
    env["PATH"] = f"{toolchain.goroot / 'bin'}{os.pathsep}{env['PATH']}"
    module = tmp_path / "example"
    import shutil

    shutil.copytree(FIXTURES / "modules" / "example", module)
    return module, env


LEAK = "\n// Leak returns the address of a local: a new heap escape.\nfunc Leak() *int {\n\tx := 42\n\treturn &x\n}\n"


@pytest.mark.toolchain
def test_check_verbose_format_json_and_config_on_a_real_build(go_module, tmp_path):
    module, env = go_module
    assert run("baseline", "-q", cwd=module, env=env).returncode == 0
    with (module / "kv" / "store.go").open("a") as handle:
        handle.write(LEAK)
    config = tmp_path / "lint.toml"
    config.write_text('fail-on = ["returned-pointer"]\n')
    result = run("check", "kv/store.go", "-v", "--format", "json", "--config", str(config), cwd=module, env=env)
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert [(f["function"], f["category"]) for f in document["new"]] == [("Leak", "returned-pointer")]
    assert "go build '-gcflags=./kv=-m=2 -d=escapedebug=1' ./kv" in result.stderr  # Go 1.27: the convert: lines too
    assert f"configuration: {config}" in result.stderr
    assert re.search(r"build and analysis: \d+\.\d{3} s", result.stderr)


@pytest.mark.toolchain
def test_check_with_a_missing_config_file_exits_2(go_module, tmp_path):
    module, env = go_module
    result = run("check", "--config", str(tmp_path / "nope.toml"), cwd=module, env=env)
    assert result.returncode == 2
    assert "nope.toml: no such configuration file" in result.stderr


@pytest.mark.toolchain
def test_check_github_annotations_on_a_real_build(go_module):
    module, env = go_module
    assert run("baseline", "-q", cwd=module, env=env).returncode == 0
    with (module / "kv" / "store.go").open("a") as handle:
        handle.write(LEAK)
    result = run("check", "kv/store.go", "--format", "github", cwd=module, env=env)
    assert result.returncode == 1
    assert result.stdout.startswith("::error file=kv/store.go,line=")
    assert "title=escapelint%3A new returned-pointer::" in result.stdout


def test_readme_documents_the_conventions():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for text in ("--show-completion", "--color", "NO_COLOR", "//nolint:escapelint", "--config", "-v", "check --format"):
        assert text in readme, text
    assert Path(ROOT / "scripts" / "benchmark.py").read_text().count("--startup") >= 2
