"""The HTML report: the same store gives the same bytes (a checked-in page), the page
needs nothing from elsewhere, text from the store is escaped, an empty window says so,
and the file is written whole or not at all."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.analytics import charts
from actors.analytics.history import History, Window, read_history
from actors.analytics.page import NO_DATA, report_html, write_report
from tests.unit.analytics.builders import D, H, trade
from tests.unit.analytics.sample_store import SPAN_S, T0, build_sample_store, sample_chart_names

BTC = "BTC/USDT"
GOLDEN = Path(__file__).parents[2] / "data" / "report_golden.html"
REGENERATE = "BASIS_REGENERATE_GOLDEN"
"""Set to 1 to write the golden page afresh from the sample store (after a change to the
report meant to change it: review the new page in a browser before committing it)."""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_store(tmp_path_factory.mktemp("store") / "basis.db")


@pytest.fixture(scope="module")
def page(store: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("report") / "report.html"
    write_report(store, out, Window())
    return out.read_bytes()


def test_the_same_store_gives_the_golden_page_byte_for_byte(
    store: Path, page: bytes, tmp_path: Path
) -> None:
    again = tmp_path / "again.html"
    write_report(store, again, Window())
    assert again.read_bytes() == page
    if os.environ.get(REGENERATE) == "1":
        GOLDEN.write_bytes(page)
    assert GOLDEN.exists(), f"no {GOLDEN}: run the test with {REGENERATE}=1 to write it"
    assert page == GOLDEN.read_bytes(), (
        f"the report differs from {GOLDEN}; if the change is meant, run this test with "
        f"{REGENERATE}=1 and review the new page in a browser"
    )


def test_the_page_needs_nothing_from_elsewhere(page: bytes) -> None:
    text = page.decode()
    assert (
        "http:" not in text
        and "https:" not in text
        and "//" not in text.replace("<!DOCTYPE html>", "")
    )
    assert "<script" not in text.lower()
    assert " src=" not in text and "@import" not in text and "@font-face" not in text
    # the only references are to ids in the page itself, each defined once
    ids = re.findall(r' id="([^"]+)"', text)
    assert len(ids) == len(set(ids))
    for ref in re.findall(r'(?:href="|url\()#([^")]+)', text):
        assert ref in ids, ref


def test_every_chart_is_a_figure_with_inline_svg(page: bytes) -> None:
    text = page.decode()
    figures = re.findall(r'<figure[^>]* data-chart="([^"]+)"><svg [^>]*viewBox="([^"]+)"', text)
    assert {name for name, _ in figures} == sample_chart_names()
    for _, box in figures:
        _, _, width, height = (float(v) for v in box.split())
        assert width > 0 and height > 0
    assert text.count("<figure") == len(figures)


def test_text_from_the_store_is_escaped(page: bytes) -> None:
    text = page.decode()
    assert "mexc feed stale &lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "stop_loss &lt;cut&gt; &amp; &#x27;out&#x27;" in text
    assert "<cut>" not in text


def test_the_summary_gives_a_unit_with_every_number(page: bytes) -> None:
    cards = re.findall(r"<dt>([^<]*)</dt><dd[^>]*>([^<]*)</dd>", page.decode())
    assert len(cards) >= 15
    units = ("USDT", "%", "cycles", " d ", " h ", " min", " s", "days", "annualised ratio", "n/a")
    for label, value in cards:
        if re.search(r"\d", value):
            assert any(unit in value for unit in units), (label, value)
    assert ("Realised P&amp;L", "+390.27 USDT") in cards


def test_an_empty_window_says_so_in_every_section(store: Path) -> None:
    before = Window(start=T0 - 2 * SPAN_S, end=T0 - SPAN_S)
    text = report_html(read_history(store, before))
    assert "<figure" not in text and "<svg" not in text
    assert text.count(NO_DATA) == 6  # equity, symbols, cycles, holding, exits, per symbol
    assert "No incidents in this window." in text
    assert "0 cycles" in text


def test_a_report_that_cannot_be_made_leaves_the_old_file_and_no_scratch(
    tmp_path: Path,
) -> None:
    out = tmp_path / "report.html"
    out.write_text("the old report")
    not_a_store = tmp_path / "basis.db"
    not_a_store.write_text("not a database")
    with pytest.raises(Exception, match=str(not_a_store)):  # what reading it raises
        write_report(not_a_store, out, Window())
    assert out.read_text() == "the old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["basis.db", "report.html"]


def test_a_report_that_cannot_be_put_in_place_leaves_no_scratch(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "report.html"
    out.write_text("the old report")

    def refuse(source: object, target: object) -> None:
        raise PermissionError(f"cannot replace {target}")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        write_report(store, out, Window(start=T0 + 2 * SPAN_S))
    assert out.read_text() == "the old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


@given(
    st.lists(
        st.floats(min_value=-5.0, max_value=5.0) | st.just(math.nan),
        min_size=1,
        max_size=4 * charts.MAX_POINTS,
    )
)
def test_a_long_series_is_drawn_thinned_keeping_its_extremes(values: list[float]) -> None:
    ts = [float(i) for i in range(len(values))]
    thin_ts, lowest, highest = charts._thin(ts, (values, min), (values, max))
    assert len(thin_ts) == len(lowest) == len(highest) <= charts.MAX_POINTS
    assert thin_ts[0] == 0.0 and thin_ts == sorted(thin_ts)
    real = [v for v in values if not math.isnan(v)]
    assert min((v for v in lowest if not math.isnan(v)), default=None) == min(real, default=None)
    assert max((v for v in highest if not math.isnan(v)), default=None) == max(real, default=None)


def test_a_thinned_pnl_keeps_how_far_under_water_a_position_went() -> None:
    # One dip to -40 % among thousands of points near +1 %: the thinned chart still
    # reaches down to it (its axis is labelled there).
    n = 3 * charts.MAX_POINTS
    pnl = [1.0 + (i % 7) * 0.01 for i in range(n)]
    pnl[n // 2 + 1] = -40.0
    pnl[10] = math.nan
    svg = charts.entry_cost(
        [1.7e9 + i for i in range(n)], [0.1] * n, pnl, pnl,
        entry_threshold_pct=None, exit_threshold_pct=None, entries=[], exits=[],
        span=None, name="dip",
    )  # fmt: skip
    assert "\N{MINUS SIGN}40" in svg


def test_sortino_without_a_losing_day_says_so(store: Path) -> None:
    gaining = History(
        Window(0.0, 2 * D),
        [trade(BTC, 1 * H, 2 * H, 1.0), trade(BTC, D + 1 * H, D + 2 * H, 3.0, cycle=2)],
        [], [], {}, {}, [], [],
    )  # fmt: skip
    page = report_html(gaining)
    assert "<dt>Sortino of daily P&amp;L</dt><dd>n/a (no losing day)</dd>" in page
    one_day = History(Window(0.0, D), [trade(BTC, 1 * H, 2 * H, 1.0)], [], [], {}, {}, [], [])
    assert "<dd>n/a (needs 2 days of daily P&amp;L that varies)</dd>" in report_html(one_day)
    assert "no losing day" not in report_html(one_day)


def test_alerts_shown_for_one_symbol_are_said_to_be_every_symbols(store: Path) -> None:
    note = "Alerts are listed for every symbol"
    assert note in report_html(read_history(store, Window(symbol="ETH/USDT")))
    assert note not in report_html(read_history(store, Window()))
