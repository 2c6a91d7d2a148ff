"""What a report says about the build itself: the input, the Go version, the command, the date."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

_VERSION = r"\d+\.\d+(?:\.\d+)?(?:(?:rc|beta)\d+)?"
#: A GOROOT inside a path, followed by /src/: go1.22.10/, go-1.19/ (Debian), 1.27.3/go/ (toolchain
#: caches such as escapelint's own), golang.org/toolchain@v0.0.1-go1.22.10.linux-amd64/ (GOTOOLCHAIN).
_GOROOT_VERSION = re.compile(
    rf"(?:^|/)(?:go(?P<a>{_VERSION})|go-(?P<b>{_VERSION})|(?P<c>{_VERSION})/go"
    rf"|toolchain@v[\w.]+-go(?P<d>{_VERSION})\.[\w-]+)/src/"
)


def go_version_from_path(path: str) -> str | None:
    """The Go version named by a GOROOT path such as ".../go1.22.10/src/fmt/print.go", else None."""
    match = _GOROOT_VERSION.search(path.replace("\\", "/"))
    if match is None:
        return None
    return next(v for v in match.groups() if v is not None)


@dataclass(frozen=True, slots=True)
class BuildFacts:
    """What the index says about the build: the input, the Go version and command when known, the date."""

    input_name: str
    go_version: str | None
    command: str | None
    generated_at: datetime

    @property
    def reports_append_growth(self) -> bool:
        """Whether the compiler reports append growth ("append escapes to heap"): Go 1.25 and later.

        Older compilers print nothing for it, so the reports say that slice-growth cannot be seen
        rather than show an empty category as if there were none.
        """
        match = re.search(r"(\d+)\.(\d+)", self.go_version or "")
        return match is not None and (int(match.group(1)), int(match.group(2))) >= (1, 25)

    @classmethod
    def for_input(cls, input_name: str, *, now: datetime | None = None) -> BuildFacts:
        """Facts for an input file, with Go version and command from its `.meta.json` sidecar if any.

        `scripts/record_fixtures.py` writes `X.m2.meta.json` beside each `X.m2.txt`; for other inputs
        the Go version is inferred from GOROOT paths in the output while the report is written.
        """
        go_version = command = None
        path = Path(input_name)
        sidecar = path.with_name(path.name.removesuffix(".txt") + ".meta.json")
        if input_name != "-" and sidecar.is_file():
            try:
                meta = json.loads(sidecar.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                meta = {}
            if isinstance(meta, dict):
                go_version = meta.get("go_version") if isinstance(meta.get("go_version"), str) else None
                command = meta.get("command") if isinstance(meta.get("command"), str) else None
        return cls(
            input_name="<stdin>" if input_name == "-" else input_name,
            go_version=go_version,
            command=command,
            generated_at=now or datetime.now(timezone.utc),
        )
