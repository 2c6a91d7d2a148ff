"""The GitHub action (action.yml and its step scripts in .github/action/), run locally.

tests/action_runner.py runs action.yml's `run` steps as the Actions runner would, with a stand-in
`gh` (tests/action/gh) that records every call and answers from files: what GitHub's side does is
not run here (actions/setup-python, actions/setup-go, github/codeql-action/upload-sarif are `uses`
steps, recorded with their inputs). The comments the action posts are `escapelint diff` comments,
made from recorded compiler output (fast tests) or by a real toolchain (the toolchain test).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .action_runner import evaluate, run_action
from .conftest import FIXTURES, ROOT, analysed, toolchain_or_skip

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
STAND_IN_GH = Path(__file__).resolve().parent / "action"
REPOSITORY = "octo/kv"
BOT = "github-actions[bot]"


# --- action.yml itself ---------------------------------------------------------------------------


def test_the_action_is_a_composite_action_whose_inputs_are_all_declared_and_used():
    assert ACTION["runs"]["using"] == "composite"
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"\binputs\.([A-Za-z0-9_-]+)", text))
    declared = set(ACTION["inputs"])
    assert used - declared == set(), "used but not declared"
    assert declared - used == set(), "declared but never used"
    for name, spec in ACTION["inputs"].items():
        assert spec.get("description"), name
        assert "default" in spec, f"{name}: every input has a default (the action works with none given)"


def test_every_step_reference_names_a_step_before_it_and_every_script_exists():
    seen = set()
    for step in ACTION["runs"]["steps"]:
        for key in ("if", "env", "with", "working-directory"):
            for referenced in re.findall(r"\bsteps\.([A-Za-z0-9_-]+)\.", json.dumps(step.get(key))):
                assert referenced in seen, f"{step['name']}: steps.{referenced} is not an earlier step"
        if "run" in step:
            assert step.get("shell") == "bash", step["name"]
            # No expression inside a script (GitHub would paste its text into the shell: injection);
            # values reach the scripts through `env`.
            assert "${{" not in step["run"], step["name"]
            for script in re.findall(r"\$GITHUB_ACTION_PATH/([\w./-]+\.py)", step["run"]):
                assert (ROOT / script).is_file(), script
        seen.add(step.get("id", ""))
    for name, output in ACTION["outputs"].items():
        (step,) = re.findall(r"steps\.([A-Za-z0-9_-]+)\.outputs", output["value"])
        assert step in seen, name


def test_the_comment_script_looks_for_the_marker_escapelint_writes():
    from escapelint.report.diff import COMMENT_MARKER

    comment = (ROOT / ".github" / "action" / "comment.py").read_text(encoding="utf-8")
    assert f'MARKER = "{COMMENT_MARKER}"' in comment


def test_the_runner_evaluates_the_expressions_the_action_uses():
    context = {"inputs": {"go-version": "", "go-version-file": "", "working-directory": "svc"}}
    setup_go = next(s for s in ACTION["runs"]["steps"] if s.get("uses", "").startswith("actions/setup-go"))
    assert evaluate(setup_go["with"]["go-version-file"], context) == "svc/go.mod"
    context["inputs"]["go-version-file"] = "go.work"
    assert evaluate(setup_go["with"]["go-version-file"], context) == "go.work"
    context["inputs"]["go-version"] = "1.27.3"
    assert evaluate(setup_go["with"]["go-version-file"], context) == ""


# --- running the steps ---------------------------------------------------------------------------


def git(args, cwd, env=None):
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def world(tmp_path):
    """A checkout (one commit), an event, the stand-in gh's state and the runner's environment."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME="t", GIT_COMMITTER_NAME="t", GIT_AUTHOR_EMAIL="t@escapelint.invalid",
        GIT_COMMITTER_EMAIL="t@escapelint.invalid", GIT_CONFIG_GLOBAL=str(tmp_path / "gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
    )  # fmt: skip
    git(["init", "-q", "-b", "main"], workspace, env)
    (workspace / "README").write_text("x\n")
    git(["add", "-A"], workspace, env)
    git(["commit", "-qm", "base"], workspace, env)
    base = git(["rev-parse", "HEAD"], workspace, env).strip()
    state = tmp_path / "gh"
    state.mkdir()
    summary = tmp_path / "step-summary.md"
    summary.write_text("")
    env.update(
        PATH=f"{STAND_IN_GH}{os.pathsep}{env['PATH']}", FAKE_GH_DIR=str(state), GITHUB_REPOSITORY=REPOSITORY,
        GITHUB_EVENT_NAME="pull_request", GITHUB_EVENT_PATH=str(tmp_path / "event.json"), GITHUB_ACTOR="alice",
        GITHUB_STEP_SUMMARY=str(summary),
    )  # fmt: skip
    env.pop("GH", None)
    world = World(tmp_path, workspace, env, state, summary, base)
    world.event(fork=False)
    return world


class World:
    def __init__(self, root, workspace, env, state, summary, base):
        self.root, self.workspace, self.env, self.state, self.summary, self.base = root, workspace, env, state, summary, base

    def event(self, *, fork: bool, name: str = "pull_request") -> None:
        head_repo = {"full_name": "mallory/kv" if fork else REPOSITORY}
        payload = {
            "number": 7,
            "pull_request": {
                "number": 7,
                "base": {"sha": self.base, "repo": {"full_name": REPOSITORY}},
                "head": {"sha": "0" * 40, "repo": head_repo},
            },
        }
        Path(self.env["GITHUB_EVENT_PATH"]).write_text(json.dumps(payload))
        self.env["GITHUB_EVENT_NAME"] = name

    def comments(self, *pages) -> None:
        (self.state / "pages.json").write_text(json.dumps(list(pages)))

    def calls(self) -> list[dict]:
        log = self.state / "calls.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def run(self, *, inputs=None, diff=None, workspace=None):
        """The action, with the install step (and, given `diff`, the diff step) standing in."""
        temp = self.root / "runner-temp"
        temp.mkdir(exist_ok=True)
        given = {
            "actions/setup-python": {"python-path": sys.executable},
            "install": {"escapelint": str(escapelint_shim(self.root))},
        }
        if diff is not None:
            given["diff"] = diff
        return run_action(
            ROOT, inputs=inputs or {}, github={"token": "t0k3n", "event_name": self.env["GITHUB_EVENT_NAME"]},
            workspace=workspace or self.workspace, env=self.env, temp=temp, given=given,
        )  # fmt: skip


def escapelint_shim(folder: Path) -> Path:
    """`escapelint` as the install step leaves it: this checkout's code, run by this interpreter."""
    shim = folder / "bin" / "escapelint"
    if not shim.exists():
        shim.parent.mkdir(parents=True, exist_ok=True)
        shim.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m escapelint "$@"\n')
        shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return shim


def recorded_comment(folder: Path, added: int = 2) -> Path:
    """The comment `escapelint diff` writes for a PR that adds `added` of the example module's heap
    escapes (Go 1.27.3's recorded output)."""
    from escapelint.analyze.compare import compare
    from escapelint.report.diff import markdown_comment

    recording = analysed("1.27.3", "example")
    heap = list(recording.build_result().heap_findings())
    result = compare(heap[:-added], heap, "origin/main", recording.go_version)
    path = folder / "comment.md"
    path.write_text(markdown_comment(result), encoding="utf-8")
    return path


def a_comment(number: int, login: str, body: str) -> dict:
    return {"id": number, "user": {"login": login, "type": "Bot" if login.endswith("[bot]") else "User"},
            "body": body, "html_url": f"https://github.invalid/comment/{number}"}  # fmt: skip


def writes(calls):
    return [c for c in calls if "--method" in c["argv"]]


def test_the_actions_own_comment_is_updated_not_a_persons_quote_of_it(world):
    comment = recorded_comment(world.root)
    body = comment.read_text()
    quote = "> " + body.replace("\n", "\n> ")  # a person quoting the bot, marker and all
    world.comments(
        [a_comment(11, "alice", "looks good"), a_comment(12, BOT, body)],
        [a_comment(13, "bob", quote), a_comment(14, "bob", body)],  # bob pasted it whole, too
    )
    run = world.run(diff={"status": "0", "comment": str(comment)})
    assert run.status == "success", run.log
    (write,) = writes(world.calls())
    assert write["argv"][:4] == ["api", "--method", "PATCH", f"repos/{REPOSITORY}/issues/comments/12"]
    assert json.loads(write["input"]) == {"body": body}
    assert run.step("comment").outputs["url"] == "https://github.invalid/comment/12"


def test_with_only_other_peoples_comments_holding_the_marker_a_new_comment_is_posted(world):
    comment = recorded_comment(world.root)
    body = comment.read_text()
    world.comments([a_comment(21, "bob", body), a_comment(22, "other-bot[bot]", body)])
    run = world.run(diff={"status": "0", "comment": str(comment)})
    assert run.status == "success", run.log
    (write,) = writes(world.calls())
    assert write["argv"][:4] == ["api", "--method", "POST", f"repos/{REPOSITORY}/issues/7/comments"]
    assert json.loads(write["input"])["body"].startswith("<!-- escapelint:diff -->")


def test_a_personal_token_is_matched_by_its_own_login(world):
    """`gh api user` answers for a personal access token: its login is the author looked for."""
    (world.state / "user.json").write_text(json.dumps({"login": "kv-ci"}))
    comment = recorded_comment(world.root)
    world.comments([a_comment(31, BOT, comment.read_text()), a_comment(32, "kv-ci", comment.read_text())])
    run = world.run(diff={"status": "0", "comment": str(comment)})
    assert writes(world.calls())[0]["argv"][3].endswith("/comments/32"), run.log
    world.state.joinpath("calls.jsonl").unlink()
    run = world.run(inputs={"comment-author": BOT}, diff={"status": "0", "comment": str(comment)})
    (write,) = writes(world.calls())
    assert write["argv"][3].endswith("/comments/31"), run.log
    assert ["api", "user", "--jq", ".login"] not in [c["argv"] for c in world.calls()]


def test_a_fork_gets_the_summary_and_annotations_but_no_comment_no_sarif_and_no_gh_call(world):
    world.event(fork=True)
    comment = recorded_comment(world.root)
    run = world.run(diff={"status": "1", "comment": str(comment), "sarif": str(world.root / "x.sarif")})
    assert world.calls() == [], "no gh call on a fork's read-only run"
    assert not run.step("comment").ran
    assert not run.step("Upload the new sites to code scanning").with_, "the upload step is skipped"
    assert "fork" in run.step("context").stdout and "::notice" in run.step("context").stdout
    assert world.summary.read_text() == comment.read_text()
    gate = run.step("Fail on new heap escapes")
    assert gate.ran and gate.returncode == 1 and run.status == "failure", "the gate decides, fork or not"


def test_pull_request_target_on_a_fork_may_comment(world):
    """pull_request_target runs with a token that can write (docs/github-actions.md says what that costs)."""
    world.event(fork=True, name="pull_request_target")
    comment = recorded_comment(world.root)
    world.comments([])
    world.run(diff={"status": "0", "comment": str(comment)})
    assert [c["argv"][2] for c in writes(world.calls())] == ["POST"]


def test_dependabot_runs_have_a_read_only_token_too(world):
    world.env["GITHUB_ACTOR"] = "dependabot[bot]"
    run = world.run(diff={"status": "0", "comment": str(recorded_comment(world.root))})
    assert world.calls() == [] and run.status == "success"
    assert "Dependabot" in run.step("context").stdout


def test_a_403_is_a_warning_and_the_comment_step_does_not_fail_the_check(world):
    (world.state / "fail-writes").touch()
    world.comments([])
    comment = recorded_comment(world.root)
    run = world.run(diff={"status": "0", "comment": str(comment)})
    step = run.step("comment")
    assert step.ran and step.returncode == 0, step.stderr
    assert "::warning title=escapelint::the pull-request comment was not posted" in step.stdout
    assert "HTTP 403" in step.stdout and "pull-requests: write" in step.stdout
    assert step.outputs["url"] == ""
    assert run.status == "success", "only the gate fails the check"
    assert world.summary.read_text() == comment.read_text()


def test_the_comment_step_survives_a_missing_gh(world):
    world.env["GH"] = str(world.root / "no-such-gh")
    run = world.run(diff={"status": "0", "comment": str(recorded_comment(world.root))})
    assert run.step("comment").returncode == 0 and "cannot run" in run.step("comment").stdout
    assert run.status == "success"


def test_comment_off_posts_nothing_but_still_writes_the_summary(world):
    comment = recorded_comment(world.root)
    run = world.run(inputs={"comment": "false", "sarif": "false"}, diff={"status": "0", "comment": str(comment)})
    assert world.calls() == [] and not run.step("comment").ran
    assert world.summary.read_text() == comment.read_text()


def test_a_diff_that_failed_is_said_in_the_summary_and_fails_the_check_with_its_status(world):
    run = world.run(diff={"status": "3", "comment": ""})
    assert "exited 3 without a comment (the Go build failed)" in world.summary.read_text()
    assert world.calls() == [], "nothing to post"
    assert run.step("Fail on new heap escapes").returncode == 3 and run.status == "failure"


def test_the_base_is_the_pull_requests_base_commit_and_a_missing_one_is_an_error(world):
    run = world.run(diff={"status": "0", "comment": ""})
    assert run.step("context").outputs["base"] == world.base
    assert run.step("context").outputs["pr"] == "7"
    run = world.run(inputs={"base": "origin/no-such-branch"}, diff={"status": "0", "comment": ""})
    context = run.step("context")
    assert context.returncode == 2 and "::error" in context.stdout and "fetch-depth: 0" in context.stdout
    assert run.status == "failure"


def test_a_shallow_checkout_gets_the_base_commit_fetched(world):
    """actions/checkout fetches one commit by default: the base is fetched by its SHA."""
    origin = world.workspace
    (origin / "README").write_text("y\n")
    git(["commit", "-qam", "head"], origin, world.env)
    clone = world.root / "shallow"
    git(["clone", "-q", "--depth=1", f"file://{origin}", str(clone)], world.root, world.env)
    missing = subprocess.run(["git", "cat-file", "-e", f"{world.base}^{{commit}}"], cwd=clone, capture_output=True)
    assert missing.returncode != 0, "the clone lacks the base"
    run = world.run(diff={"status": "0", "comment": ""}, workspace=clone)
    assert run.step("context").returncode == 0, run.step("context").stdout
    assert run.step("context").outputs["base"] == world.base
    git(["cat-file", "-e", f"{world.base}^{{commit}}"], clone, world.env)


def test_unknown_formats_and_a_bad_max_new_are_errors_of_the_diff_step(world):
    run = world.run(inputs={"formats": "md html"})
    assert run.step("diff").returncode == 2 and "unknown 'html'" in run.step("diff").stdout
    run = world.run(inputs={"max-new": "lots"})
    assert run.step("diff").returncode == 2 and "max-new" in run.step("diff").stdout


# --- the whole action, with a real Go toolchain --------------------------------------------------

LEAK = """
// Leak returns the address of a local: a new heap escape.
func Leak() *int {
	x := 42
	return &x
}
"""


@pytest.mark.toolchain
def test_the_whole_action_on_a_pull_request_adding_an_escape_in_a_module_in_a_subfolder(world):
    toolchain = toolchain_or_skip("1.27.3")
    env = world.env
    env.update(toolchain.env())
    env["PATH"] = f"{STAND_IN_GH}{os.pathsep}{toolchain.goroot / 'bin'}{os.pathsep}{os.environ['PATH']}"
    shutil.copytree(FIXTURES / "modules" / "example", world.workspace / "svc")
    git(["add", "-A"], world.workspace, env)
    git(["commit", "-qm", "the module"], world.workspace, env)
    world.base = git(["rev-parse", "HEAD"], world.workspace, env).strip()
    world.event(fork=False)
    store = world.workspace / "svc" / "kv" / "store.go"
    store.write_text(store.read_text() + LEAK)
    git(["commit", "-qam", "add Leak"], world.workspace, env)  # the PR's head, checked out
    world.comments([])

    run = world.run(inputs={"working-directory": "svc"})
    diff = run.step("diff")
    assert diff.returncode == 0, diff.stdout + diff.stderr
    assert diff.outputs["status"] == "1" and diff.outputs["added"] == "1" and diff.outputs["removed"] == "0"
    assert "::warning file=svc/kv/store.go,line=" in diff.stdout, "annotations name the repository's path"
    assert "1 new heap escape, 0 removed" in world.summary.read_text()
    (write,) = writes(world.calls())
    assert write["argv"][2] == "POST" and "<code>Leak</code>" in json.loads(write["input"])["body"]
    upload = run.step("Upload the new sites to code scanning")
    assert upload.uses.startswith("github/codeql-action/upload-sarif@")
    sarif = json.loads(Path(upload.with_["sarif_file"]).read_text())
    (result,) = sarif["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "svc/kv/store.go"
    setup_go = next(s for s in run.steps if (s.uses or "").startswith("actions/setup-go"))
    assert setup_go.with_ == {"go-version": "", "go-version-file": "svc/go.mod"}
    assert run.step("Fail on new heap escapes").returncode == 1 and run.status == "failure"

    allowed = world.run(inputs={"working-directory": "svc", "max-new": "1", "formats": "md github"})
    assert allowed.step("diff").outputs["status"] == "0" and allowed.status == "success", allowed.log
    assert allowed.step("diff").outputs["sarif"] == "" and not allowed.step("Upload the new sites to code scanning").with_
    assert [w["argv"][2] for w in writes(world.calls())] == ["POST", "PATCH"], "the second run updates its comment"


# --- the post-comment mode: the workflow_run half of the two-workflow pattern ----------------------


def test_post_comment_posts_a_downloaded_comment_without_building(world):
    comment = recorded_comment(world.root)
    (world.state / "pull.json").write_text(json.dumps({"head": {"sha": "c0ffee" * 6 + "c0ff"}}))
    world.comments([a_comment(41, BOT, comment.read_text())])
    world.env["GITHUB_EVENT_NAME"] = "workflow_run"
    run = world.run(inputs={"post-comment": str(comment), "pull-request": "7", "head-sha": "c0ffee" * 6 + "c0ff"})
    assert run.status == "success", run.log
    ran = [s.name for s in run.steps if s.ran]
    assert ran == ["Pull request, base and permissions", "Step summary", "Sticky pull-request comment"], ran
    (write,) = writes(world.calls())
    assert write["argv"][2:4] == ["PATCH", f"repos/{REPOSITORY}/issues/comments/41"]
    assert world.summary.read_text() == comment.read_text()


def test_post_comment_refuses_a_pull_request_whose_head_is_another_commit(world):
    """The number comes from an artifact the untrusted run wrote: it must not steer the comment elsewhere."""
    comment = recorded_comment(world.root)
    (world.state / "pull.json").write_text(json.dumps({"head": {"sha": "1" * 40}}))
    world.comments([])
    run = world.run(inputs={"post-comment": str(comment), "pull-request": "7", "head-sha": "2" * 40})
    assert writes(world.calls()) == [] and run.status == "success"
    assert "head is 1111111111111111111111111111111111111111, not 2222" in run.step("comment").stdout
    run = world.run(inputs={"post-comment": str(world.root / "not-downloaded.md"), "pull-request": "7"})
    assert "does not exist: was the artifact downloaded?" in world.summary.read_text()
    assert writes(world.calls()) == [] and run.status == "success"
    run = world.run(inputs={"post-comment": str(comment), "pull-request": "7; rm -rf /"})
    assert run.step("context").returncode == 2 and "is not a pull request's number" in run.step("context").stdout


def test_the_documented_workflows_parse_and_give_the_action_only_its_inputs():
    """docs/github-actions.md's workflows: valid YAML, and every `with:` of the action is an input."""
    docs = (ROOT / "docs" / "github-actions.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```yaml\n(.*?)^```", docs, re.MULTILINE | re.DOTALL)
    used = 0
    for block in blocks:
        workflow = yaml.safe_load(block)
        for job in workflow["jobs"].values():
            for step in job["steps"]:
                if step.get("uses", "").startswith("OWNER/escapelint@"):
                    used += 1
                    assert set(step.get("with") or {}) <= set(ACTION["inputs"]), step
    assert used == 3
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "uses: OWNER/escapelint@COMMIT" in readme


@pytest.mark.slow
def test_the_install_step_installs_escapelint_from_the_actions_own_files(tmp_path):
    """The runner downloads the action as files (no .git): the install step pip-installs them."""
    action = tmp_path / "action"
    action.mkdir()
    for name in ("pyproject.toml", "README.md", "action.yml", "escapelint", "grammars", ".github"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, action / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, action / name)
    (step,) = [s for s in ACTION["runs"]["steps"] if s.get("id") == "install"]
    output = tmp_path / "output"
    output.write_text("")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PYTHON=sys.executable, GITHUB_ACTION_PATH=str(action), RUNNER_TEMP=str(tmp_path), GITHUB_OUTPUT=str(output))
    done = subprocess.run(["bash", "-eo", "pipefail", "-c", step["run"]], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    (line,) = output.read_text().splitlines()
    name, executable = line.split("=", 1)
    assert name == "escapelint"
    version = subprocess.run([executable, "--version"], env=env, capture_output=True, text=True, check=False)
    from escapelint import __version__

    assert version.returncode == 0 and version.stdout.strip() == __version__, version.stderr
    rules = subprocess.run([executable, "rules"], env=env, capture_output=True, text=True, check=False)
    assert rules.returncode == 0 and "returned-pointer" in rules.stdout, "the grammar and rules are installed"
