"""The store's history: cycles, fills, funding and the sampled series, each stored once
under its key, and the series thinned to a minute."""

from __future__ import annotations

from pathlib import Path

import msgspec

from actors.runtime.persistence.store import Store
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
        assert store.thin_series(60.0 * 11 + 30) == 59
        assert store.thin_series(60.0 * 11 + 30) == 0
        rows = store._db.execute(
            "SELECT symbol, ts, entry_cost_pct, pnl_usdt FROM series ORDER BY symbol, ts"
        ).fetchall()
    assert rows == [
        ("BTC/USDT", 600.0, 0.6 - 59 / 1000.0, sum(range(30, 60)) / 30),
        ("BTC/USDT", 665.0, 0.7, None),
        ("ETH/USDT", 600.0, 0.4, None),
    ]
