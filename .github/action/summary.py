"""Step `summary` of escapelint's action: the PR comment, or why there is none, in $GITHUB_STEP_SUMMARY.

It runs for every pull request, forks included: a fork's read-only run gets no comment, and the
summary (on the run's page) is where its result is read.

Inputs, from the environment: COMMENT (the diff step's comment file, '' when none was written),
STATUS (the diff's exit status, or `posted` in the post-comment mode), GITHUB_STEP_SUMMARY.
"""

from __future__ import annotations

import os
from pathlib import Path

from actionkit import warning

#: What an exit status of `escapelint diff` means, when it wrote no comment.
WHY = {"2": "a usage or configuration error", "3": "the Go build failed"}


def summary_text(comment: str, status: str) -> str:
    if comment and Path(comment).is_file():
        return Path(comment).read_text(encoding="utf-8")
    if status == "posted":  # the post-comment mode: nothing was built
        return f"## escapelint\n\nThe comment to post, `{comment}`, does not exist: was the artifact downloaded?\n"
    why = WHY.get(status, "see the step's log")
    if not status:
        return "## escapelint\n\n`escapelint diff` did not run: see the log of the action's steps.\n"
    return f"## escapelint\n\n`escapelint diff` exited {status} without a comment ({why}): its errors are in the step's log.\n"


def main() -> None:
    text = summary_text(os.environ.get("COMMENT", ""), os.environ.get("STATUS", ""))
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        warning("GITHUB_STEP_SUMMARY is not set: no step summary written")
        print(text)
        return
    with open(path, "a", encoding="utf-8") as out:
        out.write(text if text.endswith("\n") else text + "\n")


if __name__ == "__main__":
    main()
