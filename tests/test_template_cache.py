"""The compiled report templates kept in the user's cache folder (issue 11): the same pages from a
cold and a warm cache, and a damaged entry compiled again."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from .conftest import RECORDED, module_of

EXAMPLE = RECORDED / "go1.27.3" / "example.m2.txt"
_DATE = re.compile(r"\d{4}-\d\d-\d\d(?:T[\d:.]+\+00:00| \d\d:\d\d UTC)")


def _site(tmp_path, cache, name: str) -> dict[str, str]:
    out = tmp_path / name
    done = subprocess.run(
        [sys.executable, "-m", "escapelint", "report", str(EXAMPLE), "--format", "html:" + str(out / "html"),
         "--format", "md:" + str(out / "md"), "--source-root", str(module_of(EXAMPLE)), "-q"],
        env=dict(os.environ, XDG_CACHE_HOME=str(cache)), capture_output=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return {p.relative_to(out).as_posix(): _DATE.sub("DATE", p.read_text()) for p in out.rglob("*") if p.is_file()}


def test_pages_from_a_warm_template_cache_are_those_of_a_cold_one(tmp_path):
    cache = tmp_path / "cache"
    cold = _site(tmp_path, cache, "cold")
    entries = sorted((cache / "escapelint" / "templates").rglob("*.cache"))
    assert {p.parent.name.split("-")[0] for p in entries} == {"html", "markdown"}
    assert _site(tmp_path, cache, "warm") == cold
    for entry in entries:
        entry.write_bytes(b"damaged by hand")
    assert _site(tmp_path, cache, "damaged") == cold
