"""A package page's data for report.js: its explanation chains, and the function sections it draws
only when they are opened (lazy rendering of long lists).

A chain drawn as HTML costs ~70 bytes of markup per step; crypto/tls's 1,758 sites made 1.1 MB of
its 3.9 MB page. As JSON the chains are about half that and are drawn only when a "Why" is opened
(or all of them, before printing); the page keeps each chain's summary, its path from the allocation
to the sink. The function sections after the first OPEN_FUNCTIONS (most heap sites first) start
collapsed; their content is here, as the HTML the page would have held, and report.js puts it in
place when one is opened, filtered, searched or walked with j/k. So the page itself stays under its
budget (docs/reports.md) and renders fast whatever the size of the package.

    window.ESCAPELINT_CHAINS = {"s-<fingerprint>": [CHAIN, ...], ...}
    CHAIN = [[HOP, ...], omitted_steps, truncated (0/1), final sink]
    HOP   = [source, sink, [[reason, expression, position, decisive (0/1)], ...]]
    window.ESCAPELINT_SECTIONS = {"f-<function anchor>": "<html of the section's content>", ...}
    window.ESCAPELINT_LINES = {"L<line>": "<html of the line's sites>", ...}   (data_<view stem>.js)

Positions are as the page shows them (`Place.short`). The chains of a site are in its page order,
so `<details class="why" data-chain="N">` of site ANCHOR is chains[ANCHOR][N]. The file is loaded by
a <script> of the page (the Content-Security-Policy allows the report's own scripts): JSON is
JavaScript, and every "<" is written escaped, so no "</script" or "<!--" appears in it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from escapelint.report.page import Chain, PackagePage


def page_data_name(page_stem: str) -> str:
    """The file a package page's data is written to, beside it."""
    return f"data_{page_stem}.js"


def chain_data(chain: Chain) -> list:
    hops = [[hop.source, hop.sink, [[s.reason, s.expr, s.at.short, int(s.decisive)] for s in hop.steps]] for hop in chain.hops]
    return [hops, chain.omitted_steps, int(chain.truncated), chain.sink]


def page_data_script(page: PackagePage, sections: Mapping[str, str]) -> str:
    """The script that gives report.js every chain of `page`'s sites and the HTML of the `sections`
    (function anchor -> content) the page leaves out."""
    chains = {site.anchor: [chain_data(c) for c in site.chains] for site in page.sites if site.chains}
    return _assignment("ESCAPELINT_CHAINS", chains) + _assignment("ESCAPELINT_SECTIONS", dict(sections))


def view_data_script(lines: Mapping[str, str]) -> str:
    """A source view's data when it has more than LAZY_VIEW_SITES sites: the HTML of each marked
    line's sites (line anchor "L12" -> content), for report.js to put in place when the line opens."""
    return _assignment("ESCAPELINT_LINES", dict(lines))


def _assignment(name: str, value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    return f"window.{name} = {text};\n"
