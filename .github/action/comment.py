"""Step `comment` of escapelint's action: post the PR comment, or update the action's own earlier one.

"Own" means both: the body starts with escapelint's hidden marker, and the comment's author is the
token's user. The marker alone is not enough: a person who quotes the comment, or another bot
that copies it, holds the marker too, and their comment must never be overwritten.

The author is the `comment-author` input if given, else what `gh api user` answers for the token (a
personal access token), else `github-actions[bot]`: GITHUB_TOKEN is a GitHub App installation token,
for which /user answers 403, and the comments it writes are by github-actions[bot]. A token of
another GitHub App writes as `APP-SLUG[bot]`: give that as `comment-author`.

This step never fails the job: a token that cannot write (403), a network error or a missing `gh`
is a warning, and the exit status is 0. The gate is the action's last step.

With HEAD_SHA (the `post-comment` mode's `head-sha`), the comment is posted only if the pull
request's head is that commit: the number came from an artifact that the untrusted run could write,
and must not steer the bot's comment onto another pull request.

Outputs: url (the comment's address, '' when none was posted).
Inputs, from the environment: SHOULD_COMMENT (step `context`), COMMENT (the file), PR, HEAD_SHA,
GITHUB_REPOSITORY, GH_TOKEN, INPUT_COMMENT_AUTHOR, GH (the gh executable, default `gh`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from actionkit import notice, set_output, warning

#: escapelint.report.diff.COMMENT_MARKER: the first line of every comment `escapelint diff` writes.
MARKER = "<!-- escapelint:diff -->"
#: Who writes the comments of a run's GITHUB_TOKEN.
ACTIONS_BOT = "github-actions[bot]"


class GhError(Exception):
    pass


def gh(args: list[str]) -> str:
    executable = os.environ.get("GH") or "gh"
    try:
        done = subprocess.run([executable, *args], capture_output=True, text=True, check=False)
    except OSError as exc:
        raise GhError(f"cannot run {executable}: {exc.strerror}") from None
    if done.returncode != 0:
        message = (done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}").splitlines()[0]
        raise GhError(f"gh {' '.join(args[:3])}: {message}")
    return done.stdout


def json_values(text: str) -> list:
    """Every JSON value in `text`: `gh api --paginate` prints one array per page, back to back."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return values
        value, at = decoder.raw_decode(text, at)
        values.append(value)


def comments_of(text: str) -> list[dict]:
    found = []
    for value in json_values(text):
        found.extend(value if isinstance(value, list) else [value])
    return [c for c in found if isinstance(c, dict)]


def own_comment(comments: list[dict], author: str) -> dict | None:
    """The newest comment that is the action's own: the marker first, and written by `author`."""
    own = [
        c for c in comments
        if ((c.get("user") or {}).get("login") == author and (c.get("body") or "").lstrip().startswith(MARKER))
    ]  # fmt: skip
    return own[-1] if own else None  # the API lists comments oldest first


def token_user() -> str:
    """The login comments will be written by (see the module's docstring)."""
    given = os.environ.get("INPUT_COMMENT_AUTHOR", "").strip()
    if given:
        return given
    try:
        login = gh(["api", "user", "--jq", ".login"]).strip()
    except GhError:
        return ACTIONS_BOT  # an installation token (GITHUB_TOKEN): /user is not for apps
    return login or ACTIONS_BOT


class WrongPullRequest(Exception):
    pass


def check_head(repository: str, pr: str, head_sha: str) -> None:
    head = gh(["api", f"repos/{repository}/pulls/{pr}", "--jq", ".head.sha"]).strip()
    if head != head_sha:
        raise WrongPullRequest(f"pull request #{pr}'s head is {head or 'unknown'}, not {head_sha}: not posted")


def post(repository: str, pr: str, body: str, head_sha: str = "") -> str:
    """Update the action's own comment, or add one; the comment's address."""
    if head_sha:
        check_head(repository, pr, head_sha)
    author = token_user()
    listing = gh(["api", "--paginate", f"repos/{repository}/issues/{pr}/comments?per_page=100"])
    mine = own_comment(comments_of(listing), author)
    with tempfile.TemporaryDirectory(prefix="escapelint-comment-") as folder:
        payload = Path(folder) / "payload.json"
        payload.write_text(json.dumps({"body": body}), encoding="utf-8")
        if mine is not None:
            answer = gh(["api", "--method", "PATCH", f"repos/{repository}/issues/comments/{mine['id']}", "--input", str(payload)])
        else:
            answer = gh(["api", "--method", "POST", f"repos/{repository}/issues/{pr}/comments", "--input", str(payload)])
    values = json_values(answer) if answer.strip() else []
    url = values[0].get("html_url", "") if values and isinstance(values[0], dict) else ""
    print(f"escapelint: {'updated' if mine is not None else 'posted'} the comment {url}".rstrip(), flush=True)
    return url


def main() -> int:
    if os.environ.get("SHOULD_COMMENT") != "true":
        print("escapelint: no pull-request comment in this run (see the context step)", flush=True)
        set_output("url", "")
        return 0
    comment = os.environ.get("COMMENT", "")
    if not comment or not Path(comment).is_file():
        notice("escapelint diff wrote no comment (see its step's log): nothing to post")
        set_output("url", "")
        return 0
    body = Path(comment).read_text(encoding="utf-8")
    if not body.startswith(MARKER):
        warning(f"{comment} does not start with {MARKER}: not posted, so that it could never be found again")
        set_output("url", "")
        return 0
    try:
        url = post(os.environ["GITHUB_REPOSITORY"], os.environ["PR"], body, os.environ.get("HEAD_SHA", "").strip())
    except WrongPullRequest as exc:
        warning(str(exc))
        url = ""
    except (GhError, KeyError, ValueError) as exc:
        hint = ""
        if "403" in str(exc) or "not accessible" in str(exc):
            hint = " (the token cannot write comments: give the job `permissions: pull-requests: write`)"
        warning(f"the pull-request comment was not posted: {exc}{hint}")
        url = ""
    set_output("url", url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
