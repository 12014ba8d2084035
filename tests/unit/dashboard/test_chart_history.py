"""The chart's first draw, read from a store: the series of a stretch of time, at most
a thousand points a symbol, and the entries and exits in it."""

from __future__ import annotations

import sqlite3

import pytest

from actors.dashboard.chart_history import CHART_POINTS, read_chart_history
from tests.unit.analytics.sample_store import HOUR, SPAN_S, T0, build_sample_store, sample_cycles


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_sample_store(tmp_path_factory.mktemp("chart") / "basis.db")


def test_marks_are_the_entries_and_exits_in_the_stretch(store):
    since, until = T0 + 25 * HOUR, T0 + SPAN_S
    found = read_chart_history(store, since, until)
    expected = [
        {"symbol": t.symbol, "ts": ts, "kind": kind, "task_id": t.task_id, "cycle": t.cycle}
        for t in sample_cycles()
        for ts, kind in ((t.entry_ts, "entry"), (t.exit_ts, "exit"))
        if ts >= since
    ]
    # ETH's position, open since hour 60 (the store's active record), is an entry too.
    expected.append(
        {"symbol": "ETH/USDT", "ts": T0 + 60 * HOUR, "kind": "entry", "task_id": "eth1", "cycle": 3}
    )
    key = lambda m: (m["ts"], m["task_id"], m["kind"])  # noqa: E731
    assert found["marks"] == sorted(expected, key=key)


def test_the_series_is_the_stored_points_or_their_lowest_per_slice(store):
    db = sqlite3.connect(store)
    stored = db.execute(
        "SELECT symbol, ts, entry_cost_pct FROM series WHERE ts >= ? ORDER BY symbol, ts",
        (T0 + 70 * HOUR,),
    ).fetchall()
    db.close()
    # Fewer points than the limit: every one as stored.
    found = read_chart_history(store, T0 + 70 * HOUR, T0 + 72 * HOUR)["series"]
    assert [(s, ts, c) for s, points in found.items() for ts, c in points] == stored
    # Three days at a point every 20 minutes, read with slices of 15 minutes or less, is
    # still every point; read as slices of two hours, each slice its lowest.
    whole = read_chart_history(store, T0, T0 + SPAN_S)["series"]
    assert len(whole["BTC/USDT"]) == SPAN_S // 1200 <= CHART_POINTS
    wide = read_chart_history(store, T0, T0 + CHART_POINTS * 2 * HOUR)["series"]["BTC/USDT"]
    assert len(wide) == SPAN_S // (2 * HOUR)
    points = whole["BTC/USDT"]
    for n, (ts, cost) in enumerate(wide):
        chunk = [c for t, c in points if n * 2 * HOUR <= t - T0 < (n + 1) * 2 * HOUR]
        assert cost == min(chunk) and ts == max(
            t for t, _ in points if n * 2 * HOUR <= t - T0 < (n + 1) * 2 * HOUR
        )


def test_a_store_that_is_not_there_is_an_error(tmp_path):
    with pytest.raises(sqlite3.Error):
        read_chart_history(tmp_path / "none.db", T0, T0 + 1)
