"""What a real build says beyond the module's own code (issue 11), with a real Go toolchain under tmp_path:

* the PR comment keeps the standard library's sites (GOROOT files: slices.Insert instantiated in the
  module's package, its appends reported at slices.go) apart from the module's own, in a collapsed section;
* a module of generic functions only, which the compiler analyses only where they are instantiated,
  gets a hint instead of a bare "0 heap escapes in 0 packages".
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import toolchain_or_skip

pytestmark = pytest.mark.toolchain

GO_VERSION = "1.27.3"
OWN = '''package std

type item struct{ a, b int }

// Leak is the module's own heap escape.
func Leak() *item { return &item{1, 2} }
'''
INSERT = '''
// Insert instantiates slices.Insert: its allocations are reported at GOROOT's slices.go.
func Insert(s []item, v item) []item { return slices.Insert(s, 0, v) }
'''


@pytest.fixture
def go_env():
    toolchain = toolchain_or_skip(GO_VERSION)
    env = toolchain.env()
    env["PATH"] = f"{toolchain.goroot / 'bin'}{os.pathsep}{env['PATH']}"
    env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "escapelint tests"
    env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "tests@escapelint.invalid"
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    return env


def escapelint(args: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "escapelint", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def module(tmp_path: Path, env: dict, files: dict[str, str]) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "go.mod").write_text("module example.com/std\n\ngo 1.22\n")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True)
    return root


def test_the_pr_comment_lists_inlined_standard_library_sites_apart(tmp_path, go_env):
    root = module(tmp_path, go_env, {"s.go": OWN})
    (root / "s.go").write_text(OWN.replace("package std\n", 'package std\n\nimport "slices"\n') + INSERT + OWN.replace(
        "package std\n\ntype item struct{ a, b int }\n", "").replace("Leak", "Leak2"))  # fmt: skip
    result = escapelint(["diff", "--base", "HEAD", "-q"], root, go_env)
    assert result.returncode == 1, result.stderr
    comment = result.stdout
    own, _, rest = comment.partition("<details><summary>New heap escapes in inlined standard-library code")
    assert rest, comment
    assert "<details open><summary>New heap escapes (1)</summary>" in own
    assert "<code>s.go:" in own and "slices.go" not in own
    std_rows = [line for line in rest.split("</details>")[0].splitlines() if line.startswith("| <code>")]
    assert std_rows and all("/src/slices/slices.go:" in row for row in std_rows)
    assert all("<code>Insert&#91;go.shape." in row for row in std_rows), "slices.Insert, instantiated here"
    assert f"Of these, {len(std_rows)} new and 0 removed are in standard-library code (GOROOT files)" in comment
    head = comment.splitlines()[1]
    assert head.startswith(f"### escapelint: {1 + len(std_rows)} new heap escapes, 0 removed")


GENERIC = '''package generic

// Map is generic: the compiler analyses it only where it is instantiated.
func Map[T, U any](in []T, f func(T) U) []U {
	out := make([]U, 0, len(in))
	for _, v := range in {
		out = append(out, f(v))
	}
	return out
}

// Ptr returns a pointer to a copy of v.
func Ptr[T any](v T) *T { return &v }
'''
GENERIC_TEST = '''package generic

import "testing"

func TestPtr(t *testing.T) {
	if *Ptr(3) != 3 || len(Map([]int{1}, func(i int) string { return "" })) != 1 {
		t.Fatal()
	}
}
'''


def test_a_generics_only_module_gets_a_hint_not_just_zero(tmp_path, go_env):
    root = module(tmp_path, go_env, {"generic/generic.go": GENERIC, "generic/generic_test.go": GENERIC_TEST})
    plain = escapelint(["audit", "-f", "json:r.json"], root, go_env)
    assert plain.returncode == 0, plain.stderr
    assert "escapelint: 0 heap allocations in 0 packages" in plain.stderr
    assert (
        "escapelint: note: the compiler reports escapes of a generic function only where it is instantiated, and "
        "the packages built declare 2 generic functions or types (generic/generic.go:4: Map) but instantiate "
        "none of them here: pass --tests if the tests instantiate them, or build a package that does"
    ) in plain.stderr
    with_tests = escapelint(["audit", "--tests", "-f", "json:r.json"], root, go_env)
    assert with_tests.returncode == 0, with_tests.stderr
    assert "escapelint: 0 heap escapes" not in with_tests.stderr and "note:" not in with_tests.stderr
