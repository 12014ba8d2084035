"""The report in a real browser (headless Chromium): it opens from the file with no
script error, no request beyond the file itself, every chart drawn at a size, and on a
phone's width the page fits (tables and wide charts scroll sideways in their place)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from actors.analytics.history import Window
from actors.analytics.page import NO_DATA, write_report
from tests.integration.chromium import launch
from tests.unit.analytics.sample_store import SPAN_S, T0, build_sample_store, sample_chart_names

LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("reports")
    store = build_sample_store(folder / "basis.db")
    before = Window(start=T0 - 2 * SPAN_S, end=T0 - SPAN_S)
    for name, window in (("full", Window()), ("empty", before)):
        write_report(store, folder / f"{name}.html", window)
    return {name: folder / f"{name}.html" for name in ("full", "empty")}


def open_page(browser: Browser, report: Path, viewport: dict[str, int]) -> tuple[Page, list[str]]:
    """The report opened at ``viewport``, and what went wrong while it loaded: console
    errors, page errors, and any request for something other than the file itself."""
    page = browser.new_page(viewport=viewport)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    url = report.as_uri()
    page.on(
        "request",
        lambda r: None if r.url == url else problems.append(f"request: {r.url}"),
    )
    page.goto(url, wait_until="load")
    return page, problems


def test_the_report_opens_with_every_chart_drawn(browser: Browser, reports: dict) -> None:
    page, problems = open_page(browser, reports["full"], LAPTOP)
    assert problems == []
    names = page.eval_on_selector_all(
        "figure[data-chart]", "figures => figures.map(f => f.dataset.chart)"
    )
    assert sorted(names) == sorted(sample_chart_names())
    for name in names:
        svg = page.locator(f'figure[data-chart="{name}"] > svg')
        assert svg.count() == 1
        box = svg.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 50, (name, box)
        assert svg.is_visible()
    page.close()


def test_on_a_phone_the_page_fits_and_wide_charts_keep_their_text_legible(
    browser: Browser, reports: dict
) -> None:
    page, problems = open_page(browser, reports["full"], PHONE)
    assert problems == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for figure in page.locator("figure[data-chart]").all():
        size = figure.bounding_box()
        assert size is not None and 0 < size["width"] <= PHONE["width"]
    smallest_text = page.evaluate(
        "Math.min(...[...document.querySelectorAll('figure.wide svg text')]"
        ".map(t => t.getBoundingClientRect().height).filter(h => h > 0))"
    )
    assert smallest_text >= 7.0
    page.close()


def test_an_empty_report_opens_and_says_so(browser: Browser, reports: dict) -> None:
    page, problems = open_page(browser, reports["empty"], LAPTOP)
    assert problems == []
    assert page.locator("figure").count() == 0
    assert page.get_by_text(NO_DATA).count() == 6
    page.close()
