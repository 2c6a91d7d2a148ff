"""Helpers for the report tests: render recorded fixtures through formats.write_reports."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

from escapelint import __version__
from escapelint.report.facts import BuildFacts
from escapelint.report.formats import write_reports

from .conftest import RECORDED, analysed_file, module_of

__all__ = ["FIXED_DATE", "PageLinks", "broken_links", "module_of", "parse_page", "render_fixture", "scrub"]

#: A fixed date, so that only the scrubbed parts of a report vary between runs.
FIXED_DATE = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def render_fixture(recording: Path, targets: list[tuple[str, Path]], *, overwrite: bool = False) -> BuildFacts:
    """Write `targets` for a recorded build (analysed once per run, see conftest.analysed_file)."""
    build = analysed_file(recording)
    facts = BuildFacts.for_input(str(recording), now=FIXED_DATE)
    facts = BuildFacts(recording.relative_to(RECORDED).as_posix(), facts.go_version, facts.command, FIXED_DATE)
    write_reports(iter(build.packages), facts, lambda: build.stats, targets, overwrite=overwrite, sources=build.sources)
    return facts


_ASSET = re.compile(r"\b(style|report)_[0-9a-f]{12}\.(css|js)\b")


def scrub(text: str) -> str:
    """The volatile parts of a report page: escapelint's version and the assets' content hashes."""
    text = _ASSET.sub(r"\1_HASH.\2", text)
    return text.replace(f"escapelint {__version__}", "escapelint VERSION")


class PageLinks(HTMLParser):
    """Ids, local links and every element of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        for name in ("href", "src"):
            if attributes.get(name):
                self.links.append(attributes[name])


def parse_page(path: Path) -> PageLinks:
    parser = PageLinks()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def broken_links(site: Path, pages: list[Path], ids_of) -> list[str]:
    """Every local link (file and #fragment) of `pages` that does not resolve inside `site`."""
    broken = []
    for page in pages:
        for link in ids_of(page).links:
            if re.match(r"^[a-z][a-z0-9+.-]*:", link):
                broken.append(f"{page.name}: external link {link}")  # the site must be self-contained
                continue
            target, _, fragment = link.partition("#")
            target_path = page if not target else (page.parent / target)
            if not target_path.resolve().is_relative_to(site.resolve()) or not target_path.is_file():
                broken.append(f"{page.name}: {link} (no such file)")
                continue
            if fragment and fragment not in ids_of(target_path).ids:
                broken.append(f"{page.name}: {link} (no such anchor)")
    return broken
