"""What the person running escapelint chose for the HTML pages: which files get a source view, and an
editor link per site. One frozen value, handed from the command line to `write_reports`."""

from __future__ import annotations

import re
import string
import urllib.parse
from dataclasses import dataclass


#: The placeholders an --editor-url template may use.
EDITOR_FIELDS = ("path", "line", "col")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
#: Schemes that would run code or embed content where a link to an editor is meant.
_REFUSED_SCHEMES = frozenset({"javascript", "data", "vbscript", "blob"})


class ReportOptionError(ValueError):
    """An --editor-url or --source-pages value escapelint cannot use; the message names it."""


#: Which Go files get a source view page (`--source-pages`): "module", the files under the source root
#: and those in a package's own directory (so that a standard-library build gets one for each
#: package's files, and a module's report none for the GOROOT code inlined into it); "all", every
#: file a site is in that may be quoted; "none".
SOURCE_PAGE_CHOICES = ("module", "all", "none")


@dataclass(frozen=True, slots=True)
class ReportOptions:
    source_pages: str = "module"  # SOURCE_PAGE_CHOICES
    editor_url: str | None = None  # e.g. "vscode://file/{path}:{line}:{col}"; None: no editor links

    def __post_init__(self) -> None:
        if self.source_pages not in SOURCE_PAGE_CHOICES:
            raise ReportOptionError(
                f"--source-pages {self.source_pages!r}: choose one of {', '.join(SOURCE_PAGE_CHOICES)}"
            )
        if self.editor_url is not None:
            check_editor_url(self.editor_url)


def check_editor_url(template: str) -> None:
    """Refuse a template that names no {path}, uses another placeholder, has no URL scheme or one that
    runs code (javascript:, data:)."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise ReportOptionError(f"--editor-url {template!r}: {exc}") from None
    unknown = sorted({f for f in fields if f not in EDITOR_FIELDS})
    if unknown:
        known = ", ".join("{" + f + "}" for f in EDITOR_FIELDS)
        raise ReportOptionError(f"--editor-url {template!r}: unknown placeholder {{{unknown[0]}}}; use {known}")
    if "path" not in fields:
        raise ReportOptionError(f"--editor-url {template!r} has no {{path}}, e.g. 'vscode://file/{{path}}:{{line}}:{{col}}'")
    scheme = _SCHEME.match(template)
    if scheme is None:
        raise ReportOptionError(f"--editor-url {template!r} has no URL scheme, e.g. 'vscode://file/{{path}}:{{line}}'")
    if scheme.group(1).lower() in _REFUSED_SCHEMES:
        raise ReportOptionError(f"--editor-url {template!r}: the {scheme.group(1)}: scheme is not an editor link")


def editor_href(template: str, path: str, line: int, column: int | None) -> str:
    """The editor link of a file position; the path is percent-encoded but for its separators, so that
    a space, `#` or `?` in a file name cannot end or change the link."""
    return template.format(path=urllib.parse.quote(path, safe="/\\:"), line=line, col=column or 1)
