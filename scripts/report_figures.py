"""Measure the reports on a recorded build: render time, peak memory, page weight, browser load time.

For one `go build -gcflags=-m=2` output file this runs, each in a child process (peak RSS from
``os.wait4``):

1. ``none``: reading and analysing only (BuildReader + findings.analyze), the baseline;
2. one run per format set given with ``--formats`` (default: ``html``, ``md``, ``sarif`` and all
   of html,md,md-summary,sarif,github,rdjsonl together), through ``formats.write_reports``;

then prints seconds, the time above the baseline, peak RSS, and the HTML and Markdown page weight
(total, median, largest pages). With ``--browser`` it also opens the largest HTML pages in headless
chromium (selenium + chromedriver) and reports DOMContentLoaded, load and the time one text filter
takes.

Usage::

    python scripts/report_figures.py /tmp/corpus/std-1.22.10.txt [--browser] [--keep DIR]
    python scripts/report_figures.py std-1.27.3.txt --formats html --browser --package runtime \
        --package net/http --package crypto/tls
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, sys, time
from pathlib import Path
from escapelint.read.assembler import BuildReader
from escapelint.analyze.source import SourceLocator
from escapelint.analyze.findings import analyze
from escapelint.analyze.leaks import LeakSummaries
from escapelint.report.formats import parse_format_targets, write_reports
from escapelint.report.facts import BuildFacts
source, out, formats = sys.argv[1], Path(sys.argv[2]), [f for f in sys.argv[3].split(",") if f]
reader = BuildReader()
sources = SourceLocator(None)  # the standard library's paths are absolute
start = time.perf_counter()
with open(source, encoding="utf-8", errors="replace", newline="") as handle:
    leaks = LeakSummaries()
    packages = (analyze(output, sources, leaks) for output in reader.packages(handle) if leaks.add_output(output) is not None)
    if formats:
        targets = parse_format_targets(formats, out)
        write_reports(packages, BuildFacts.for_input(source), lambda: reader.stats, targets, sources=sources)
    else:
        for _ in packages:
            pass
print(json.dumps({"seconds": time.perf_counter() - start, "lines": reader.stats.lines}))
"""


def run(source: Path, out: Path, formats: str) -> dict:
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(source), str(out), formats], stdout=subprocess.PIPE, text=True
    )
    stdout = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"escapelint failed for --formats {formats!r}")
    result = json.loads(stdout)
    result["peak_mib"] = usage.ru_maxrss / 1024
    return result


def weights(directory: Path, suffix: str) -> dict:
    sizes = sorted(((p.stat().st_size, p.name) for p in directory.glob(f"*{suffix}")), reverse=True)
    return {
        "pages": len(sizes),
        "total_mib": sum(s for s, _ in sizes) / 2**20,
        "median_kib": statistics.median(s for s, _ in sizes) / 1024 if sizes else 0,
        "largest": [(name, size / 2**20) for size, name in sizes[:3]],
    }


def browser_times(pages: list[Path]) -> list[tuple[str, float, float, float, float]]:
    """(page, first contentful paint, DOMContentLoaded, load, one text filter) in ms, best of 3 by load."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,1000"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    times = []
    try:
        for page in pages:
            best = None
            for _ in range(3):
                driver.get(page.resolve().as_uri())
                paint, dcl, load = driver.execute_script(
                    "const n = performance.getEntriesByType('navigation')[0];"
                    "const p = performance.getEntriesByName('first-contentful-paint')[0];"
                    "return [p ? p.startTime : -1, n.domContentLoadedEventEnd, n.loadEventEnd]"
                )
                start = time.perf_counter()
                driver.execute_script(  # a source view has no filter: nothing to time
                    "const i = document.getElementById('filter-text'); if (i) { i.value = 'err';"
                    "i.dispatchEvent(new Event('input')); document.body.offsetHeight; }"
                )
                filtered = (time.perf_counter() - start) * 1000
                sample = (page.name, paint, dcl, load, filtered)
                best = sample if best is None or sample[2] < best[2] else best
            times.append(best)
    finally:
        driver.quit()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path)
    parser.add_argument("--formats", action="append", help="comma-separated format set; repeatable")
    parser.add_argument("--browser", action="store_true", help="also time the largest HTML pages in chromium")
    parser.add_argument("--keep", type=Path, help="write the reports here instead of a temporary directory")
    parser.add_argument("--package", action="append", default=[],
                        help="with --browser, also time this package's page (an import path); repeatable")
    args = parser.parse_args()
    sets = args.formats or ["html", "md", "sarif", "html,md,md-summary,sarif,github,rdjsonl"]
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        baseline = run(args.source, base / "none", "")
        print(f"{args.source.name}: {baseline['lines']:,} lines")
        print(f"{'formats':<42} {'seconds':>8} {'+ over read':>12} {'peak RSS':>10}")
        print(f"{'(read and analyse only)':<42} {baseline['seconds']:8.2f} {'':>12} {baseline['peak_mib']:7.0f} MiB")
        for formats in sets:
            out = base / formats.replace(",", "+")
            result = run(args.source, out, formats)
            extra = result["seconds"] - baseline["seconds"]
            print(f"{formats:<42} {result['seconds']:8.2f} {extra:11.2f}s {result['peak_mib']:7.0f} MiB")
        for formats in sets:
            out = base / formats.replace(",", "+")
            names = formats.split(",")
            for name, suffix in (("html", ".html"), ("md", ".md")):
                if name in names:
                    directory = out if len(names) == 1 else out / name
                    w = weights(directory, suffix)
                    largest = ", ".join(f"{n} {s:.1f} MiB" for n, s in w["largest"])
                    print(f"{name} pages ({formats}): {w['pages']} files, {w['total_mib']:.1f} MiB in all, "
                          f"median {w['median_kib']:.0f} KiB; largest: {largest}")  # fmt: skip
            if "sarif" in names:
                sarif = out if len(names) == 1 else out / "escapelint.sarif"
                print(f"sarif ({formats}): {sarif.stat().st_size / 2**20:.1f} MiB")
        if args.browser:
            from escapelint.report.page import page_stem

            html = base / "html"
            named = [html / f"{page_stem(path)}.html" for path in args.package]
            pages = named + [html / name for name, _ in weights(html, ".html")["largest"]] + [html / "index.html"]
            for name, paint, dcl, load, filtered in browser_times(pages):
                size = (html / name).stat().st_size / 2**20
                print(f"chromium {name} ({size:.2f} MiB): first paint {paint:.0f} ms, DOMContentLoaded {dcl:.0f} ms, "
                      f"load {load:.0f} ms, text filter {filtered:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
