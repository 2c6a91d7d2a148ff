"""A real browser opens the HTML report from disk: Debian's chromium, headless, through chromedriver.

Checks the rendered DOM (chart drawn, table sorts, category and text filters hide and show sites, no
console errors, nothing fetched from the network); the navigation of issue 13 (functions sorted and
folded, the state kept in the URL, search from the index, keyboard shortcuts, a site followed to its
line in the source view, dark mode through an emulated `prefers-color-scheme`, print, no sideways
scroll at 600 px); and, on the standard library (marked slow and toolchain: Go 1.27.3 builds runtime,
net/http and crypto/tls), each page's weight and first render against the budgets in
docs/reports.md. Screenshots go to $ESCAPELINT_ARTIFACTS when it is set, else the test's tmp_path
(printed). `.ci/run` installs chromium and chromium-driver; locally the test skips without them, in
CI (CI=true or ESCAPELINT_REQUIRE_TOOLCHAINS=1) it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import RECORDED, REQUIRE_TOOLCHAINS, toolchain_or_skip
from .reporting import render_fixture

pytestmark = pytest.mark.browser

REQUIRE_BROWSER = REQUIRE_TOOLCHAINS or os.environ.get("CI", "").lower() == "true"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,1000",
]  # fmt: skip


def _missing(reason: str):
    if REQUIRE_BROWSER:
        pytest.fail(f"{reason} (required in CI: apt-get install chromium chromium-driver)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed (pip install -e '.[test]')")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        _missing("chromium and chromedriver not found on PATH (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _artifacts(tmp_path: Path) -> Path:
    """Where screenshots go: $ESCAPELINT_ARTIFACTS (CI keeps it), else the test's own tmp_path."""
    folder = os.environ.get("ESCAPELINT_ARTIFACTS")
    if not folder:
        return tmp_path
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _open(driver, path, fragment=""):
    driver.get(path.resolve().as_uri() + fragment)
    assert _ready(driver), "report.js did not run"


def _problems(driver) -> list[str]:
    """Console errors and warnings, and any resource that is not a local file."""
    logs = [f"{e['level']}: {e['message']}" for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    resources = driver.execute_script("return performance.getEntriesByType('resource').map(r => r.name)")
    return logs + [f"fetched {url}" for url in resources if not url.startswith("file://")]


def _visible_sites(driver) -> int:
    return driver.execute_script(
        "return [...document.querySelectorAll('article.site')].filter(s => s.offsetParent !== null).length"
    )


def test_index_and_package_page_in_chromium(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    site = tmp_path / "site"
    render_fixture(RECORDED / "go1.27.3" / "example.m2.txt", [("html", site)])

    _open(browser, site / "index.html")
    chart = browser.find_element(By.ID, "chart")
    bars = chart.find_elements(By.CSS_SELECTOR, "rect.bar")
    assert len(bars) == 6 and all(float(b.get_attribute("width")) > 0 for b in bars)
    assert bars[0].value_of_css_property("fill") != bars[1].value_of_css_property("fill")  # colours per category
    packages = lambda: [r.find_element(By.CSS_SELECTOR, "td.name a").text for r in browser.find_elements(By.CSS_SELECTOR, "#packages tbody tr")]
    assert packages() == ["example.com/escapelint/example/kv", "example.com/escapelint/example/cmd/kvdemo"]
    browser.find_element(By.CSS_SELECTOR, "#packages thead th.name button").click()  # sort by name
    assert packages() == ["example.com/escapelint/example/cmd/kvdemo", "example.com/escapelint/example/kv"]
    browser.save_screenshot(str(tmp_path / "index.png"))
    assert _problems(browser) == []

    browser.find_element(By.LINK_TEXT, "example.com/escapelint/example/kv").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "example.com/escapelint/example/kv"
    total = _visible_sites(browser)
    assert total == 17
    toggle = browser.find_element(By.CSS_SELECTOR, '.toggle[data-cat="interface-boxing"]')
    toggle.click()
    assert _visible_sites(browser) == total - 5
    assert browser.find_element(By.ID, "shown").text == "12 of 17 shown"
    toggle.click()
    search = browser.find_element(By.ID, "filter-text")
    search.send_keys("errorString")
    assert _visible_sites(browser) == 3  # the inlined copies of errors.New
    inlined = browser.find_element(By.CSS_SELECTOR, ".inlined h3")
    assert inlined.is_displayed() and "errors.New" in inlined.text
    search.send_keys(Keys.ESCAPE)  # clears the filter
    assert _visible_sites(browser) == total and search.get_attribute("value") == ""

    why = browser.find_element(By.CSS_SELECTOR, "article.site details.why")
    why.find_element(By.TAG_NAME, "summary").click()
    steps = why.find_elements(By.CSS_SELECTOR, "ol.chain li")
    assert steps[0].text.startswith("&{storage for &Command{...}}") and steps[-1].text.startswith("~r0")
    browser.save_screenshot(str(tmp_path / "package.png"))
    assert _problems(browser) == []
    print(f"screenshots: {tmp_path / 'index.png'} {tmp_path / 'package.png'}")
    assert (tmp_path / "index.png").stat().st_size > 10_000


def test_hostile_page_runs_nothing_in_chromium(browser, tmp_path):
    from selenium.webdriver.common.by import By

    site = tmp_path / "site"
    render_fixture(RECORDED / "go1.27.3" / "hostile.m2.txt", [("html", site)])
    page = next(site.glob("example_com_escapelint_hostile_[0-9a-f]*.html"))
    _open(browser, page)
    assert browser.execute_script("return document.querySelectorAll('img, iframe').length + [...document.querySelectorAll('b')].filter(b => b.textContent === 'bold').length") == 0
    assert browser.execute_script("return document.scripts.length") == 2  # report.js and the page's data (chains, sections)
    assert "<script>alert(1)</script>" in browser.find_element(By.TAG_NAME, "main").text
    assert _problems(browser) == []
    browser.save_screenshot(str(tmp_path / "hostile.png"))


# --- Navigation (issue 13) -------------------------------------------------------------------------

KV_PAGE = "example_com_escapelint_example_kv_645a152605d3.html"


@pytest.fixture(scope="module")
def example_site(tmp_path_factory):
    site = tmp_path_factory.mktemp("example") / "site"
    render_fixture(RECORDED / "go1.27.3" / "example.m2.txt", [("html", site)])
    return site


def _ready(driver) -> bool:
    """The page has loaded and report.js has run on it."""
    return driver.execute_script(
        "return document.readyState === 'complete' && document.documentElement.getAttribute('data-ready') === 'true'")


def _first_paint(driver) -> float | None:
    """The page's first contentful paint in ms from navigation. Chromium may enter it in the performance
    timeline a little after the load event: waited for (the figure is when it painted, not when asked)."""
    script = "const p = performance.getEntriesByName('first-contentful-paint')[0]; return p ? p.startTime : null"
    try:
        return _wait(driver, lambda d: d.execute_script(script))
    except Exception:  # selenium's TimeoutException: the assertions below say what is missing
        return None


def _wait(driver, condition, timeout=15):
    """Until `condition(driver)` holds: for what report.js does after loading a data script."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.02).until(condition)


def _window(driver, width, height=1000):
    driver.set_window_size(width, height)


def _sections(driver) -> list[str]:
    return driver.execute_script("return [...document.querySelectorAll('#functions > details.fn h2 code')].map(c => c.textContent)")


def _no_sideways_scroll(driver) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def _below_sticky_panel(driver, element) -> bool:
    """The element's top is in the window and not under the sticky filter panel."""
    return driver.execute_script(
        "const r = arguments[0].getBoundingClientRect(), p = document.querySelector('.filters');"
        "const bottom = p ? p.getBoundingClientRect().bottom : 0;"
        "return r.top >= bottom - 1 && r.top < window.innerHeight;", element)


def test_functions_sort_fold_and_keep_their_order_in_the_url(browser, example_site, tmp_path):
    from selenium.webdriver.common.by import By

    _window(browser, 1280)
    _open(browser, example_site / KV_PAGE)
    most_first = ["Parse", "(*Store).Set", "Apply", "New", "(*Store).Keys", "(*Store).Get", "(*Store).Delete"]
    assert _sections(browser) == most_first
    browser.find_element(By.CSS_SELECTOR, '#fn-sort button[data-sort="name"]').click()
    by_name = sorted(most_first, key=str.lower)
    assert _sections(browser) == by_name
    toc = browser.execute_script("return [...document.querySelectorAll('#toc li code')].map(c => c.textContent)")
    assert toc == by_name
    assert "sort=name" in browser.current_url
    browser.find_element(By.CSS_SELECTOR, '.toggle[data-cat="interface-boxing"]').click()
    browser.refresh()  # the filter state survives a reload
    assert browser.execute_script("return document.documentElement.getAttribute('data-ready')") == "true"
    assert _sections(browser)[0] == by_name[0]
    assert browser.find_element(By.CSS_SELECTOR, '.toggle[data-cat="interface-boxing"]').get_attribute("aria-pressed") == "false"
    assert browser.find_element(By.ID, "shown").text == "12 of 17 shown"
    browser.find_element(By.CSS_SELECTOR, 'button.fold[data-fold="close"]').click()
    assert browser.execute_script("return document.querySelectorAll('details.fn[open]').length") == 0
    browser.find_element(By.CSS_SELECTOR, 'button.fold[data-fold="open"]').click()
    assert browser.execute_script("return document.querySelectorAll('details.fn:not([open])').length") == 0
    assert _problems(browser) == []


def test_keys_move_between_sites_and_anchors_clear_the_sticky_panel(browser, example_site, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains

    _window(browser, 1280, 800)
    _open(browser, example_site / KV_PAGE)
    keys = ActionChains(browser)
    keys.send_keys("j").perform()
    sites = browser.find_elements("css selector", "article.site")
    focused = browser.switch_to.active_element
    assert focused == sites[0] and "current" in focused.get_attribute("class")
    keys.send_keys("j").perform()
    focused = browser.switch_to.active_element
    assert focused == sites[1] and _below_sticky_panel(browser, focused)
    keys.send_keys("k").perform()
    assert browser.switch_to.active_element == sites[0]
    keys.send_keys("o").perform()  # opens the focused site's explanation
    assert browser.execute_script("return arguments[0].querySelectorAll('details.why[open] ol.chain li').length", sites[0]) > 0
    keys.send_keys("n").perform()  # the next function
    assert browser.switch_to.active_element.get_attribute("id") == browser.execute_script(
        "return document.querySelectorAll('#functions > details.fn')[1].id")
    keys.send_keys("?").perform()
    assert browser.find_element("id", "keys-help").is_displayed()
    keys.send_keys("?").perform()
    assert not browser.find_element("id", "keys-help").is_displayed()
    # A link to a site lands below the sticky filter panel, not under it.
    anchor = sites[5].get_attribute("id")
    _open(browser, example_site / KV_PAGE, f"#{anchor}")
    assert _below_sticky_panel(browser, browser.find_element("id", anchor))
    keys.send_keys("]").perform()  # the next package page, in the index's order (pages.js, loaded now)
    _wait(browser, lambda d: d.current_url.endswith("example_com_escapelint_example_cmd_kvdemo_26539cde73fb.html"))
    assert _problems(browser) == []


def test_search_from_the_index_and_follow_a_site_to_its_source_line(browser, example_site, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    _window(browser, 1280)
    _open(browser, example_site / "index.html")
    assert browser.execute_script("return window.ESCAPELINT_SEARCH === undefined")  # loaded only when asked
    ActionChains(browser).send_keys("s").perform()
    search = browser.switch_to.active_element
    assert search.get_attribute("id") == "search-sites"
    search.send_keys("errorString")
    results = lambda: browser.find_elements(By.CSS_SELECTOR, "#search-results li")
    _wait(browser, lambda d: results())  # search-index.js is loaded on the first key
    assert len(results()) == 3  # the three inlined copies of errors.New in kv.Parse
    assert "3 sites" in browser.find_element(By.ID, "search-status").text
    assert "s=errorString" in browser.current_url
    target = results()[0].find_element(By.TAG_NAME, "a")
    anchor = target.get_attribute("href").split("#")[1]
    target.click()
    # Each click below loads a page: wait for it (and for report.js's scroll) rather than race it.
    _wait(browser, lambda d: d.current_url.endswith(f"{KV_PAGE}#{anchor}") and _ready(d))
    site = browser.find_element(By.ID, anchor)
    _wait(browser, lambda d: _below_sticky_panel(d, site))

    # The site's position opens its line in the source view, with the line's sites.
    site.find_element(By.CSS_SELECTOR, ".site-head a.at").click()
    _wait(browser, lambda d: "src_parse_go_" in d.current_url and d.current_url.endswith("#L18") and _ready(d))
    line = browser.find_element(By.ID, "L18")
    _wait(browser, lambda d: line.get_attribute("open") == "true")
    assert anchor in [a.get_attribute("id") for a in line.find_elements(By.CSS_SELECTOR, "article.site")]
    _wait(browser, lambda d: d.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight", line))
    # j and k walk the marked lines; n goes to the next file.
    ActionChains(browser).send_keys("j").perform()
    _wait(browser, lambda d: d.switch_to.active_element.get_attribute("id") == "L20")
    browser.save_screenshot(str(_artifacts(tmp_path) / "source-view.png"))
    ActionChains(browser).send_keys("n").perform()
    _wait(browser, lambda d: "src_store_go_" in d.current_url and _ready(d))
    # An inlined copy in kvdemo links to its callee's declaration in kv/store.go.
    _open(browser, example_site / "example_com_escapelint_example_cmd_kvdemo_26539cde73fb.html")
    browser.find_element(By.CSS_SELECTOR, ".inlined h3 a").click()
    _wait(browser, lambda d: d.current_url.endswith("#L16") and _ready(d))
    assert browser.find_element(By.ID, "L16").text.startswith("16")
    assert _problems(browser) == []


def _background_luminance(driver) -> float:
    rgb = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    r, g, b = (int(x) for x in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_dark_mode_print_and_a_600px_window(browser, example_site, tmp_path):
    from selenium.webdriver.common.by import By

    artifacts = _artifacts(tmp_path)
    pages = [example_site / "index.html", example_site / KV_PAGE, next(example_site.glob("src_parse_go_*.html"))]
    try:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
        for page in pages:
            _open(browser, page)
            assert _background_luminance(browser) < 40, page.name
            code = browser.execute_script("return getComputedStyle(document.querySelector('.src, main')).backgroundColor")
            assert code != "rgb(255, 255, 255)"
        browser.save_screenshot(str(artifacts / "source-view-dark.png"))
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "light"}]})
        _open(browser, pages[0])
        assert _background_luminance(browser) > 200
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "", "features": []})

    # Print: every chain drawn and shown, the controls hidden.
    _open(browser, pages[1])
    browser.execute_script("window.dispatchEvent(new Event('beforeprint'))")
    try:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        shown = browser.execute_script(
            "return [...document.querySelectorAll('details.why')].filter(d => d.open && d.querySelector('ol.chain')"
            " && d.querySelector('ol.chain').getBoundingClientRect().height > 0).length")
        assert shown == browser.execute_script("return document.querySelectorAll('details.why').length") > 0
        assert not browser.find_element(By.CSS_SELECTOR, ".filters").is_displayed()
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "", "features": []})

    # 600 px: no sideways scroll, package names not broken inside a word.
    _window(browser, 600)
    for page in pages[:2]:
        _open(browser, page)
        assert _no_sideways_scroll(browser), page.name
    _open(browser, pages[0])
    browser.save_screenshot(str(artifacts / "index-600px.png"))
    link = browser.find_element(By.CSS_SELECTOR, "#packages td.name a")
    assert "<wbr>" in link.get_attribute("innerHTML")
    assert browser.execute_script("return getComputedStyle(arguments[0].parentElement).overflowWrap", link) != "anywhere"
    _window(browser, 1280)
    assert _problems(browser) == []


# --- The standard library: budgets per page --------------------------------------------------------

#: docs/reports.md: a page's HTML at most 2 MB and its first render (first contentful paint) at most
#: 500 ms in headless chromium on the 2-core CI machine.
PAGE_BUDGET_BYTES = 2_000_000
FIRST_RENDER_BUDGET_MS = 500
STD_PACKAGES = ("runtime", "net/http", "crypto/tls")


@pytest.mark.slow
@pytest.mark.toolchain
def test_std_pages_keep_their_budgets_and_show_sites_on_the_first_screen(browser, tmp_path):
    from escapelint.report.page import page_stem
    from escapelint.workflows.report import report

    toolchain = toolchain_or_skip("1.27.3")
    build = tmp_path / "build"
    build.mkdir()
    output = tmp_path / "std.txt"
    # -gcflags without a pattern applies to the packages named: only these three are analysed.
    with output.open("wb") as out:
        subprocess.run([str(toolchain.go), "build", "-gcflags=-m=2", *STD_PACKAGES], cwd=build, env=toolchain.env(),
                       stdout=out, stderr=subprocess.STDOUT, check=True, timeout=1800)  # fmt: skip
    site = tmp_path / "site"
    report(str(output), [("html", site)], source_root=build)
    artifacts = _artifacts(tmp_path)
    figures = {}
    for package in STD_PACKAGES:
        page = site / f"{page_stem(package)}.html"
        size = page.stat().st_size
        _window(browser, 1280, 1000)
        _open(browser, page)
        paint = [_first_paint(browser), *browser.execute_script(
            "const n = performance.getEntriesByType('navigation')[0];"
            "return [n.domContentLoadedEventEnd, n.loadEventEnd]")]
        first_site = browser.execute_script("const s = document.querySelector('article.site'); return s && s.getBoundingClientRect().top")
        browser.save_screenshot(str(artifacts / f"std-{package.replace('/', '-')}.png"))
        views = [(v, v.stat().st_size) for v in site.glob("src_*.html")]
        figures[package] = {"bytes": size, "first_paint_ms": paint[0], "dom_content_loaded_ms": paint[1],
                            "load_ms": paint[2], "first_site_top_px": first_site}  # fmt: skip
        assert size <= PAGE_BUDGET_BYTES, (package, size)
        assert paint[0] is not None and paint[0] <= FIRST_RENDER_BUDGET_MS, (package, paint)
        assert first_site is not None and first_site < 1000, (package, first_site)  # a site on the first screen
        assert _problems(browser) == []
    largest_view, largest_size = max(views, key=lambda v: v[1])
    _open(browser, largest_view)
    paint = _first_paint(browser)
    figures["largest source view"] = {"name": largest_view.name, "bytes": largest_size, "first_paint_ms": paint}
    print(json.dumps(figures, indent=1))
    (artifacts / "std-page-figures.json").write_text(json.dumps(figures, indent=1), encoding="utf-8")
    assert largest_size <= PAGE_BUDGET_BYTES and paint is not None and paint <= FIRST_RENDER_BUDGET_MS, figures


def test_sections_left_out_of_a_long_page_come_in_when_needed(browser, tmp_path, monkeypatch):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    import escapelint.report.page
    import escapelint.report.source_view

    monkeypatch.setattr(escapelint.report.page, "OPEN_FUNCTIONS", 1)  # as the runtime's 701 functions past the 40th
    monkeypatch.setattr(escapelint.report.source_view, "LAZY_VIEW_SITES", 0)  # as wycheproof's schema.go
    site = tmp_path / "site"
    render_fixture(RECORDED / "go1.27.3" / "example.m2.txt", [("html", site)])
    html = (site / KV_PAGE).read_text(encoding="utf-8")
    assert html.count("<article class=\"site\"") == 9 and html.count('data-lazy="true"') == 6  # Parse's 9 only
    _window(browser, 1280)
    _open(browser, site / KV_PAGE)
    count = lambda: browser.execute_script("return document.querySelectorAll('article.site').length")
    assert count() == 9
    browser.find_element(By.CSS_SELECTOR, "#functions > details.fn:nth-child(2) > summary").click()  # (*Store).Set
    assert count() == 12
    new = browser.find_element(By.CSS_SELECTOR, "#functions > details.fn:nth-child(4)")
    assert new.get_attribute("data-lazy") == "true"
    # A link to a site of a section not drawn yet draws it, opens it and lands on the site.
    search = json.loads((site / "search-index.js").read_text(encoding="utf-8").split(" = ", 1)[1].rstrip(";\n"))
    anchor = [s for s in search["sites"] if search["packages"][s[0]][1] + ".html" == KV_PAGE][-1][5]  # New's last
    _open(browser, site / KV_PAGE, f"#{anchor}")
    assert count() == 17 and _below_sticky_panel(browser, browser.find_element(By.ID, anchor))
    # A filter and j/k see every site.
    _open(browser, site / KV_PAGE)
    for _ in range(17):
        ActionChains(browser).send_keys("j").perform()
    assert browser.switch_to.active_element.get_attribute("id") == browser.execute_script(
        "const s = document.querySelectorAll('article.site'); return s[s.length - 1].id")
    _open(browser, site / KV_PAGE)
    browser.find_element(By.ID, "filter-text").send_keys("make")
    assert browser.find_element(By.ID, "shown").text.endswith("of 17 shown") and _visible_sites(browser) >= 2
    # A source view's line draws its sites when opened, or when a link names it.
    view = next(site.glob("src_parse_go_*.html"))
    assert "<article" not in view.read_text(encoding="utf-8")
    _open(browser, view, "#L26")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#L26 article.site")) == 4
    browser.find_element(By.CSS_SELECTOR, "#L20 > summary").click()
    assert len(browser.find_elements(By.CSS_SELECTOR, "#L20 article.site")) == 1
    assert _problems(browser) == []


# --- The cost ranking of a heap profile (issue 12) -------------------------------------------------

PROFILED_PROTOBUF = RECORDED / "go1.27.3" / "profiles" / "profiled.hot.pb.gz"


@pytest.fixture(scope="module")
def profiled_site(tmp_path_factory):
    """`escapelint report` of the profiled module's build with its recorded protobuf profile, and the
    attribution the reports are made from (computed again here, to hold the pages to)."""
    from typer.testing import CliRunner

    from escapelint.cli import app
    from escapelint.workflows.profile import attribute_build, read_profile

    from .conftest import MODULES, analysed

    site = tmp_path_factory.mktemp("profiled") / "site"
    result = CliRunner().invoke(app, [
        "report", str(RECORDED / "go1.27.3" / "profiled.m2.txt"), "--source-root", str(MODULES / "profiled"),
        "--profile", str(PROFILED_PROTOBUF), "--format", "html", "--output", str(site), "-q",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    recording = analysed("1.27.3", "profiled")
    costs = attribute_build(list(recording.packages), [read_profile(PROFILED_PROTOBUF, None)], MODULES / "profiled")
    return site, costs


def _bars(driver, selector: str) -> list[dict]:
    """Each matching element's data-bytes and its cost bar's fill and track widths (SVG units)."""
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => {"
        "  const bar = e.querySelector('svg.cost-bar');"
        "  return {name: (e.querySelector('code') || e).textContent, bytes: Number(e.getAttribute('data-bytes')),"
        "          fill: bar ? Number(bar.querySelector('rect.fill').getAttribute('width')) : null,"
        "          track: bar ? Number(bar.querySelector('rect.track').getAttribute('width')) : null,"
        "          idle: !!e.querySelector('.cost.idle'), shown: e.offsetParent !== null}; })",
        selector,
    )


def _in_proportion(bars: list[dict]) -> bool:
    """Every exercised bar is its bytes' share of the largest, of the track (to 0.1, at least 1 unit)."""
    largest = max(b["bytes"] for b in bars)
    return all(
        b["fill"] == round(max(b["bytes"] / largest * b["track"], 1.0), 1) for b in bars if not b["idle"]
    ) and all(b["fill"] is None for b in bars if b["idle"])


def test_the_cost_ranking_sorts_by_bytes_with_bars_in_proportion(browser, profiled_site, tmp_path):
    from selenium.webdriver.common.by import By

    site, costs = profiled_site
    artifacts = _artifacts(tmp_path)
    _open(browser, site / "index.html")
    # The index's chart: one bar per category with bytes, longest first, lengths in proportion.
    chart = browser.execute_script(
        "return [...document.querySelectorAll('#cost-chart rect.bar')].map(r => ({"
        "  cls: r.getAttribute('class'), width: Number(r.getAttribute('width')), shown: r.getBoundingClientRect().width > 0}))"
    )
    expected = [t for t in costs.categories if t.figures.bytes]
    assert [c["cls"] for c in chart] == [f"bar cat-{t.key}" for t in expected] and all(c["shown"] for c in chart)
    longest = expected[0].figures.bytes
    for bar, total in zip(chart, expected):
        assert bar["width"] == round(max(total.figures.bytes / longest * chart[0]["width"], 2), 1)
    assert browser.find_element(By.ID, "cost-chart-title").get_attribute("textContent") == "Bytes allocated per category"
    assert "not exercised by this profile" in browser.find_element(By.ID, "profile").text
    browser.save_screenshot(str(artifacts / "profile-index.png"))
    assert _problems(browser) == []

    browser.find_element(By.LINK_TEXT, "example.com/escapelint/profiled/hot").click()
    _wait(browser, _ready)
    # Functions, in the contents and in the page, most bytes first, each bar its share of the costliest.
    for selector in ("#toc li[data-fn]", "#functions > details.fn"):
        functions = _bars(browser, selector)
        assert [f["bytes"] for f in functions] == sorted((f["bytes"] for f in functions), reverse=True)
        assert functions[0]["name"] == "NewBuffer" and _in_proportion(functions)
    by_function = {t.key.rsplit(".", 1)[-1]: t.figures.bytes for t in costs.functions}
    assert {f["name"]: f["bytes"] for f in functions if f["bytes"]} == {k: v for k, v in by_function.items() if v}
    # The sort buttons say so: "bytes" is the one pressed, and sorting by another key and back by
    # bytes gives the page's order again.
    pressed = browser.execute_script(
        "return [...document.querySelectorAll('#fn-sort button[aria-pressed=\"true\"]')].map(b => b.dataset.sort)"
    )
    assert pressed == ["bytes"]
    ranked = [f["name"] for f in functions]
    browser.find_element(By.CSS_SELECTOR, '#fn-sort button[data-sort="name"]').click()
    assert [f["name"] for f in _bars(browser, "#functions > details.fn")] != ranked
    browser.find_element(By.CSS_SELECTOR, '#fn-sort button[data-sort="bytes"]').click()
    assert [f["name"] for f in _bars(browser, "#functions > details.fn")] == ranked
    # Sites: in each function most bytes first, bars in proportion to the page's costliest site.
    browser.find_element(By.CSS_SELECTOR, 'button.fold[data-fold="open"]').click()
    sites = _bars(browser, "#functions article.site")
    assert _in_proportion(sites) and sites[0]["bytes"] == max(s["bytes"] for s in sites) > 8_000_000
    per_function = browser.execute_script(
        "return [...document.querySelectorAll('#functions > details.fn')].map(f =>"
        "  [...f.querySelectorAll(':scope > .sites > article.site, :scope article.site')].map(s => Number(s.getAttribute('data-bytes'))))"
    )
    assert all(b == sorted(b, reverse=True) for b in per_function if b)
    # The sites the profile never saw allocate: 0 bytes, no bar, and listed apart after the ranking.
    idle = browser.find_element(By.ID, "not-exercised")
    assert idle.is_displayed() and idle.find_element(By.TAG_NAME, "h2").text == "Not exercised by this profile"
    listed = [a.get_attribute("hash") for a in idle.find_elements(By.CSS_SELECTOR, 'li a[href^="#"]')]  # not the badges
    idle_sites = [s for s in sites if s["idle"]]
    assert len(listed) == len(idle_sites) == 2 and all(s["bytes"] == 0 for s in idle_sites)
    assert browser.execute_script(
        "const idle = document.getElementById('not-exercised'), fns = document.getElementById('functions');"
        "return !!(fns.compareDocumentPosition(idle) & Node.DOCUMENT_POSITION_FOLLOWING) && arguments[0].every(h => document.querySelector(h));",
        listed,
    )
    browser.execute_script("arguments[0].scrollIntoView()", idle)
    browser.save_screenshot(str(artifacts / "profile-package.png"))
    browser.execute_script("window.scrollTo(0, 0)")
    browser.save_screenshot(str(artifacts / "profile-package-top.png"))
    assert _problems(browser) == []
    print(f"screenshots: {artifacts / 'profile-index.png'} {artifacts / 'profile-package-top.png'} {artifacts / 'profile-package.png'}")
    assert (artifacts / "profile-package-top.png").stat().st_size > 10_000
