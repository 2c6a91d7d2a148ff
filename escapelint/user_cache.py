"""escapelint's folder in the user's cache: what start-up keeps between runs (issue 11).

Lark's grammar analysis and the grammar's matcher tables (escapelint.read.messages, .matchers) and the
compiled report templates (escapelint.report.jinja). Everything there is made again when it is
missing, damaged or made from other sources, so the folder may be removed at any time.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_directory(*parts: str) -> Path | None:
    """$XDG_CACHE_HOME/escapelint (else ~/.cache/escapelint), or a folder under it, made if needed;
    None if it cannot be made (a read-only home): then nothing is kept."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "escapelint"
    folder = base.joinpath(*parts)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder
