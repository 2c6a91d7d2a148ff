"""Step `context` of escapelint's action: which pull request, which base, and what the token may do.

Outputs:
  base     the revision `escapelint diff --base` compares with: the `base` input, else the pull
           request's base commit (pull_request.base.sha), else a push's previous commit; fetched
           into the clone when a shallow checkout (actions/checkout's default) does not hold it
  pr       the pull request's number ('' outside a pull request)
  fork     'true' when the pull request comes from another repository
  comment  'true' when the comment step should post: the `comment` input is on, there is a pull
           request, and the token can write to it (not a fork's or Dependabot's `pull_request` run,
           whose GITHUB_TOKEN is read-only; a 403 there would only turn the check red)
  sarif    'true' when the SARIF upload step should run: the `sarif` input is on and the token can
           write security events (not a read-only run)

With INPUT_POST_COMMENT (the action's `post-comment` mode, in a workflow_run workflow that posts
what a read-only pull_request run wrote) nothing is built: `pr` is INPUT_PULL_REQUEST, which must be
a number, `base` is empty, and `comment` is the `comment` input.

Inputs, from the environment: INPUT_BASE, INPUT_COMMENT, INPUT_SARIF, INPUT_POST_COMMENT,
INPUT_PULL_REQUEST, and GitHub's own variables.
"""

from __future__ import annotations

import os
import re
import subprocess

from actionkit import event, fail, flag, notice, set_output

PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target")
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_NO_COMMIT = re.compile(r"0+")


def pull_request(payload: dict, event_name: str) -> dict | None:
    return payload.get("pull_request") if event_name in PULL_REQUEST_EVENTS else None


def is_fork(pr: dict) -> bool:
    """A pull request whose head is in another repository (or in one since deleted: head.repo null)."""
    head = (pr.get("head") or {}).get("repo") or {}
    base = (pr.get("base") or {}).get("repo") or {}
    return not head or head.get("full_name") != base.get("full_name")


def read_only_reason(pr: dict | None, event_name: str, actor: str) -> str | None:
    """Why GITHUB_TOKEN cannot write in this run, or None.

    A `pull_request` run for a fork gets a read-only token, as does one started by Dependabot;
    `pull_request_target` runs in the base repository with a token that can write (see the
    documentation's warning about building untrusted code there).
    """
    if event_name != "pull_request" or pr is None:
        return None
    if is_fork(pr):
        return "this pull request comes from a fork, and its run has a read-only token"
    if actor == "dependabot[bot]":
        return "Dependabot's pull-request runs have a read-only token"
    return None


def base_revision(given: str, pr: dict | None, payload: dict) -> str | None:
    if given.strip():
        return given.strip()
    if pr is not None:
        return ((pr.get("base") or {}).get("sha")) or None
    before = payload.get("before") or ""
    return before if before and not _NO_COMMIT.fullmatch(before) else None


def _has_commit(revision: str) -> bool:
    found = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return found.returncode == 0


def ensure_commit(revision: str) -> None:
    """Fetch `revision` when the clone lacks it: actions/checkout fetches one commit by default."""
    if _has_commit(revision):
        return
    if _SHA.fullmatch(revision):
        subprocess.run(["git", "fetch", "--no-tags", "--quiet", "--depth=1", "origin", revision], check=False)
        if _has_commit(revision):
            return
    fail(
        f"the base revision {revision!r} is not in the clone; use actions/checkout with `fetch-depth: 0`, "
        "or give the action's `base` input a commit"
    )


def post_only(pr: str) -> None:
    """The `post-comment` mode: the pull request is given (from an artifact: untrusted, so checked)."""
    if not re.fullmatch(r"[1-9][0-9]{0,9}", pr.strip()):
        fail(f"pull-request: {pr.strip()!r} is not a pull request's number")
    set_output("base", "")
    set_output("pr", pr.strip())
    set_output("fork", "false")
    set_output("comment", "true" if flag("INPUT_COMMENT", True) else "false")
    set_output("sarif", "false")


def main() -> None:
    if os.environ.get("INPUT_POST_COMMENT", "").strip():
        post_only(os.environ.get("INPUT_PULL_REQUEST", ""))
        return
    payload = event()
    event_name = os.environ.get("GITHUB_EVENT_NAME", "")
    pr = pull_request(payload, event_name)
    base = base_revision(os.environ.get("INPUT_BASE", ""), pr, payload)
    if base is None:
        fail(f"no base revision to compare with on a {event_name or 'local'} run; set the action's `base` input")
    ensure_commit(base)
    read_only = read_only_reason(pr, event_name, os.environ.get("GITHUB_ACTOR", ""))
    comment = flag("INPUT_COMMENT", True) and pr is not None and read_only is None
    sarif = flag("INPUT_SARIF", True) and read_only is None
    if read_only is not None:
        notice(f"{read_only}: no pull-request comment and no SARIF upload; the step summary and the annotations show the result")
    set_output("base", base)
    set_output("pr", str(pr["number"]) if pr is not None else "")
    set_output("fork", "true" if pr is not None and is_fork(pr) else "false")
    set_output("comment", "true" if comment else "false")
    set_output("sarif", "true" if sarif else "false")


if __name__ == "__main__":
    main()
