"""Step `diff` of escapelint's action: run `escapelint diff` once, writing every format asked for.

The diff's own exit status (0 within max-new, 1 above it, 2 a usage or configuration error, 3 a
failed Go build) is not this step's: it is the `status` output, which the action's last step exits
with, so that the summary, the comment and the SARIF upload run in between whatever it is.

Outputs: status; comment, sarif, json (the files written, '' for a format not asked for or not
written); added and removed (from the JSON, '' without it).
Inputs, from the environment: BASE (step `context`), INPUT_FORMATS (words among md, github, sarif,
json), INPUT_MAX_NEW, INPUT_PACKAGES, ESCAPELINT (the executable), RUNNER_TEMP.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

from actionkit import fail, set_output

#: format → the file it is written to in the step's output folder (github goes to the log: annotations).
FILES = {"md": "comment.md", "sarif": "escapelint.sarif", "json": "escapelint-diff.json", "github": None}


def formats(text: str) -> list[str]:
    """The `formats` input: words separated by spaces, commas or newlines, each once, in FILES."""
    words = [w for w in re.split(r"[\s,]+", text.strip()) if w]
    unknown = [w for w in words if w not in FILES]
    if unknown:
        fail(f"formats: unknown {', '.join(map(repr, unknown))}; known: {', '.join(FILES)}")
    return list(dict.fromkeys(words))


def command(escapelint: str, base: str, chosen: list[str], folder: Path, max_new: str, packages: str) -> list[str]:
    args = [escapelint, "diff", "--base", base]
    for name in chosen:
        file = FILES[name]
        args += ["--format", name if file is None else f"{name}:{folder / file}"]
    if max_new.strip():
        if not max_new.strip().isdigit():
            fail(f"max-new: {max_new.strip()!r} is not a whole number >= 0")
        args += ["--max-new", max_new.strip()]
    args += packages.split()
    return args


def main() -> None:
    base = os.environ.get("BASE", "")
    if not base:
        fail("no base revision (the context step's `base` output is empty)")
    chosen = formats(os.environ.get("INPUT_FORMATS", "md github sarif json"))
    folder = Path(tempfile.mkdtemp(prefix="escapelint-", dir=os.environ.get("RUNNER_TEMP") or None))
    args = command(
        os.environ.get("ESCAPELINT") or "escapelint", base, chosen, folder,
        os.environ.get("INPUT_MAX_NEW", ""), os.environ.get("INPUT_PACKAGES", ""),
    )  # fmt: skip
    print("+ " + " ".join(args), flush=True)
    try:
        status = subprocess.run(args, check=False).returncode  # annotations and messages go to the log
    except OSError as exc:
        fail(f"cannot run {args[0]}: {exc.strerror}")
    set_output("status", str(status))
    written = {name: folder / file for name, file in FILES.items() if file is not None and name in chosen}
    for name in ("md", "sarif", "json"):
        path = written.get(name)
        set_output("comment" if name == "md" else name, str(path) if path is not None and path.is_file() else "")
    added = removed = ""
    if "json" in written and written["json"].is_file():
        document = json.loads(written["json"].read_text(encoding="utf-8"))
        added, removed = str(len(document["added"])), str(len(document["removed"]))
    set_output("added", added)
    set_output("removed", removed)


if __name__ == "__main__":
    main()
