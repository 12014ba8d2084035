"""The store's history: cycles, fills, funding and the sampled series, each stored once
under its key, and the series thinned to a minute."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.runtime.persistence.store import SERIES_THINNED, Store, Thinned
from protocols.history import FillRecord, FundingRecord, SeriesPoint
from protocols.messages import TradeRecord


def _trade(pnl: float, funding: float = 0.0) -> TradeRecord:
    return TradeRecord(
        symbol="BTC/USDT", entry_ts=100.0, exit_ts=200.0, qty=1.0, entry_spot_price=50000.0,
        entry_futures_price=49750.0, exit_spot_price=50350.0, exit_futures_price=49650.0,
        pnl_usdt=pnl, pnl_pct=pnl / 500.0, exit_reason="profit", fees_usdt=99.875,
        funding_usdt=funding, task_id="t1", cycle=1,
    )  # fmt: skip


def _fill(trade_id: str, qty: float) -> FillRecord:
    return FillRecord(
        "t1", 1, "BTC/USDT", "mexc", "spot", "buy", "entry", "c1", trade_id, 100.0, qty,
        50000.0, 50000.0, 25.0 * qty, 0.0005 * qty, "BTC",
    )  # fmt: skip


def test_each_record_is_stored_once_and_an_amended_cycle_replaces_its_record(
    tmp_path: Path,
) -> None:
    with Store(tmp_path / "basis.db") as store:
        store.write_batch((), (), (), [_trade(350.125), _fill("a", 0.5), _fill("b", 0.5)])
        # A replay after a restart tells the same fill and settlement again.
        settlement = FundingRecord("t1", 1, "BTC/USDT", "gateio_futures", "L1", 150.0, 1.5)
        store.write_batch((), (), (), [_fill("a", 0.5), settlement, settlement])
        store.write_batch((), (), (), [_trade(351.625, 1.5)])
        db = store._db
        assert db.execute("SELECT count(*) FROM fills").fetchone() == (2,)
        assert db.execute("SELECT count(*) FROM funding").fetchone() == (1,)
        (record,) = db.execute("SELECT record FROM cycles").fetchall()
        assert msgspec.json.decode(record[0], type=TradeRecord) == _trade(351.625, 1.5)


def test_the_series_is_thinned_to_a_minute_once_and_keeps_each_minutes_best_entry_cost(
    tmp_path: Path,
) -> None:
    points = [
        SeriesPoint("BTC/USDT", 60.0 * 10 + s, 0.6 - s / 1000.0, None if s < 30 else float(s))
        for s in range(60)
    ] + [SeriesPoint("BTC/USDT", 60.0 * 11 + 5, 0.7), SeriesPoint("ETH/USDT", 60.0 * 10, 0.4)]
    with Store(tmp_path / "basis.db") as store:
        store.write_batch((), (), (), points)
        # Up to 11:30 rounds down to 11:00: the minute from 11:00 is left as it is.
        assert store.thin_series(60.0 * 11 + 30) == Thinned(59, more=False)
        assert store.thin_series(60.0 * 11 + 30) == Thinned(0, more=False)
        with pytest.raises(ValueError, match="max_points must be at least 1, not 0"):
            store.thin_series(60.0 * 12, max_points=0)
        rows = store._db.execute(
            "SELECT symbol, ts, entry_cost_pct, pnl_usdt FROM series ORDER BY symbol, ts"
        ).fetchall()
    assert rows == [
        ("BTC/USDT", 600.0, 0.6 - 59 / 1000.0, sum(range(30, 60)) / 30),
        ("BTC/USDT", 665.0, 0.7, None),
        ("ETH/USDT", 600.0, 0.4, None),
    ]


Row = tuple[str, float, float, float | None, float | None, float | None]
MINUTES = 20


def _rows(store: Store) -> list[Row]:
    return store._db.execute("SELECT * FROM series ORDER BY symbol, ts").fetchall()


def _thinned_until(store: Store) -> float:
    row = store._db.execute("SELECT value FROM meta WHERE key = ?", (SERIES_THINNED,)).fetchone()
    return -math.inf if row is None else float(row[0])


def _minute(ts: float) -> float:
    return math.floor(ts / 60.0) * 60.0


_pnl = st.none() | st.floats(-1e6, 1e6, allow_nan=False)
_point = st.builds(
    SeriesPoint,
    st.sampled_from(["BTC/USDT", "ETH/USDT", "SOL/USDT"]),
    st.floats(0.0, 60.0 * MINUTES, exclude_max=True) | st.integers(0, MINUTES - 1).map(float),
    st.floats(-5.0, 5.0, allow_nan=False),
    _pnl,
    _pnl,
    _pnl,
)


@settings(max_examples=40, deadline=None)
@given(
    points=st.lists(_point, max_size=120, unique_by=lambda p: (p.symbol, p.ts)),
    befores=st.lists(st.floats(0.0, 60.0 * (MINUTES + 2)), min_size=1, max_size=3).map(sorted),
    max_points=st.integers(1, 40),
)
def test_thinning_in_slices_gives_the_series_one_pass_gives_never_splitting_a_minute(
    points: list[SeriesPoint], befores: list[float], max_points: int
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        whole, sliced = Store(Path(scratch) / "whole.db"), Store(Path(scratch) / "sliced.db")
        with whole, sliced:
            whole.write_batch((), (), (), points)
            sliced.write_batch((), (), (), points)
            for before in befores:
                expected = whole.thin_series(before)
                removed, more = 0, True
                while more:
                    since, rows = _thinned_until(sliced), _rows(sliced)
                    thinned = sliced.thin_series(before, max_points)
                    removed, more = removed + thinned.removed, thinned.more
                    until = _thinned_until(sliced)
                    # (A store with nothing old enough to thin is left unmarked.)
                    assert until == -math.inf or until % 60.0 == 0.0
                    assert until <= _minute(before)
                    # The slice held at most max_points points, or one minute of them.
                    taken = [r for r in rows if since <= r[1] < until]
                    assert len(taken) <= max_points or len({_minute(r[1]) for r in taken}) == 1
                    assert not more or taken  # a slice that says more took something
                    # Behind the mark every minute is one point at its start; past it,
                    # nothing was touched.
                    after = _rows(sliced)
                    behind = [(r[0], r[1]) for r in after if r[1] < until]
                    assert all(ts == _minute(ts) for _, ts in behind)
                    assert len(set(behind)) == len(behind)
                    assert [r for r in after if r[1] >= until] == [r for r in rows if r[1] >= until]
                assert removed == expected.removed and not expected.more
                assert _rows(sliced) == _rows(whole)
