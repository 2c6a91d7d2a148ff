"""A real browser opens the HTML report from disk: Debian's chromium, headless, through chromedriver.

Checks the rendered DOM (chart drawn, table sorts, category and text filters hide and show sites, no
console errors, nothing fetched from the network) and saves screenshots of the index and a package page
in the test's output folder (pytest's tmp_path; the path is printed). `.ci/run` installs chromium and
chromium-driver; locally the test skips without them, in CI (CI=true or
ESCAPELINT_REQUIRE_TOOLCHAINS=1) it fails.
"""

from __future__ import annotations

import os
import shutil

import pytest

from .conftest import RECORDED, REQUIRE_TOOLCHAINS
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


def _open(driver, path):
    driver.get(path.resolve().as_uri())
    ready = driver.execute_script("return document.documentElement.getAttribute('data-ready')")
    assert ready == "true", "report.js did not run"


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
    packages = lambda: [r.find_element(By.CSS_SELECTOR, "td.name a").text for r in browser.find_elements(By.CSS_SELECTOR, "#packages tbody tr")]  # noqa: E731
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
    assert browser.execute_script("return document.scripts.length") == 1
    assert "<script>alert(1)</script>" in browser.find_element(By.TAG_NAME, "main").text
    assert _problems(browser) == []
    browser.save_screenshot(str(tmp_path / "hostile.png"))
