"""Line-per-finding formats for CI: GitHub Actions workflow commands and reviewdog's rdjsonl.

Both print one line per heap allocation. Headline categories are warnings, the others notices (INFO
for reviewdog). File names are given as the compiler printed them, without a leading "./": relative to
the directory `go build` ran in, which should be the repository root for the annotations to land on
the right file.
"""

from __future__ import annotations

import json

from escapelint.report.categories import CATEGORY_BY_ID
from escapelint.report.index import IndexPage
from escapelint.report.page import PackagePage, Site
from escapelint.report.writer import StreamReportWriter


def _path(file: str | None) -> str | None:
    if file is None or file.startswith("<"):
        return None
    while file.startswith("./"):
        file = file[2:]
    return file


def escape_data(text: str) -> str:
    """A workflow command's message, as the Actions runner unescapes it (%, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: also ':' and ',' which end it."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotation(site: Site) -> str:
    category = CATEGORY_BY_ID[site.category]
    command = "warning" if category.headline else "notice"
    properties = []
    file = _path(site.at.file)
    if file is not None:
        properties.append(f"file={escape_property(file)}")
        properties.append(f"line={site.at.line}")
        if site.at.column is not None:
            properties.append(f"col={site.at.column}")
    properties.append(f"title={escape_property(f'escapelint {category.id}: {category.title}')}")
    message = f"{site.message}\nFix: {category.fix}"
    return f"::{command} {','.join(properties)}::{escape_data(message)}\n"


class GithubAnnotationsWriter(StreamReportWriter):
    def package(self, page: PackagePage) -> None:
        for site in page.sites:
            self.out.write(github_annotation(site))

    def end(self, index: IndexPage) -> None:
        self.out.flush()


def rdjson_diagnostic(site: Site) -> dict | None:
    """reviewdog's Diagnostic (rdjson) for one site; None when it has no file to point at."""
    file = _path(site.at.file)
    if file is None:
        return None
    category = CATEGORY_BY_ID[site.category]
    start = {"line": site.at.line}
    if site.at.column is not None:
        start["column"] = site.at.column
    return {
        "message": f"{site.message}\nFix: {category.fix}",
        "location": {"path": file, "range": {"start": start}},
        "severity": "WARNING" if category.headline else "INFO",
        "source": {"name": "escapelint"},
        "code": {"value": category.id},
    }


class RdjsonlWriter(StreamReportWriter):
    def package(self, page: PackagePage) -> None:
        for site in page.sites:
            diagnostic = rdjson_diagnostic(site)
            if diagnostic is not None:
                self.out.write(json.dumps(diagnostic, ensure_ascii=False) + "\n")

    def end(self, index: IndexPage) -> None:
        self.out.flush()
