"""What every step script of escapelint's GitHub action needs: its outputs, workflow commands, the event.

Standard library only: the scripts run before (and beside) escapelint's own installation.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path


def set_output(name: str, value: str) -> None:
    """A step output, appended to $GITHUB_OUTPUT (a heredoc, so a value may hold newlines)."""
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        print(f"{name}={value}")  # run by hand: show it
        return
    delimiter = f"escapelint_{uuid.uuid4().hex}"
    with open(path, "a", encoding="utf-8") as out:
        out.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def _escaped(message: str) -> str:
    return message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def notice(message: str) -> None:
    print(f"::notice title=escapelint::{_escaped(message)}", flush=True)


def warning(message: str) -> None:
    print(f"::warning title=escapelint::{_escaped(message)}", flush=True)


def error(message: str) -> None:
    print(f"::error title=escapelint::{_escaped(message)}", flush=True)


def event() -> dict:
    """The webhook payload of the run ($GITHUB_EVENT_PATH), {} when there is none."""
    path = os.environ.get("GITHUB_EVENT_PATH")
    if not path or not Path(path).is_file():
        return {}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def flag(name: str, default: bool = False) -> bool:
    """A boolean input passed in the environment: "true"/"false" (as `inputs.x` gives it), any case."""
    value = os.environ.get(name, "").strip().lower()
    if value in ("true", "yes", "on", "1"):
        return True
    if value in ("false", "no", "off", "0"):
        return False
    if value:
        input_name = name.removeprefix("INPUT_").lower().replace("_", "-")
        warning(f"{input_name}: {value!r} is not true or false; using {str(default).lower()}")
    return default


def fail(message: str, code: int = 2) -> None:
    error(message)
    sys.exit(code)
