"""A package's explanation chains as data, for report.js to draw when a "Why" is opened.

A chain drawn as HTML costs ~70 bytes of markup per step; crypto/tls's 1,758 sites made 1.1 MB of
the page's 3.9 MB. As JSON the same chains are about half that, parsed in a few milliseconds, and
drawn only for the chains someone opens (or all of them, before printing). The page keeps each
chain's summary (its path from the allocation to the sink), so it reads the same without JavaScript.

    window.ESCAPELINT_CHAINS = {"s-<fingerprint>": [CHAIN, ...], ...}
    CHAIN = [[HOP, ...], omitted_steps, truncated (0/1), final sink]
    HOP   = [source, sink, [[reason, expression, position, decisive (0/1)], ...]]

Positions are as the page shows them (`Place.short`). The chains of a site are in its page order,
so `<details class="why" data-chain="N">` of site ANCHOR is chains[ANCHOR][N].
"""

from __future__ import annotations

import json

from escapelint.report.page import Chain, PackagePage


def chain_data_name(page_stem: str) -> str:
    """The file a package page's chains are written to, beside it."""
    return f"chains_{page_stem}.js"


def chain_data(chain: Chain) -> list:
    hops = [[hop.source, hop.sink, [[s.reason, s.expr, s.at.short, int(s.decisive)] for s in hop.steps]] for hop in chain.hops]
    return [hops, chain.omitted_steps, int(chain.truncated), chain.sink]


def chain_data_script(page: PackagePage) -> str:
    """The script that gives report.js every chain of `page`'s sites."""
    chains = {site.anchor: [chain_data(c) for c in site.chains] for site in page.sites if site.chains}
    # JSON is JavaScript; "<" escaped, so that no "</script" or "<!--" can appear in the text.
    text = json.dumps(chains, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    return f"window.ESCAPELINT_CHAINS = {text};\n"
