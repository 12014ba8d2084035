"""A backtest's history: the records a live strategy hands the store, on the quotes'
clock, and ``basis backtest --data-dir`` keeping them in a store of its own."""

from __future__ import annotations

import json
import os
from pathlib import Path

import msgspec
import pytest

from actors.analytics.history import Window, read_history
from actors.analytics.page import report_html
from actors.backtest.engine import run_backtest
from actors.cli.main import main
from actors.cli.run import claim_data_dir
from actors.cli.user_error import UserError
from actors.runtime.persistence.store import Store
from protocols.history import SeriesPoint
from protocols.messages import TradeRecord
from tests.unit.actors.test_backtest import CHEAP, FEE, WIDE, config, quotes
from tests.unit.arbitrage.spec import round_trip_pnl_usdt

ROOT = Path(__file__).parents[3]
SAMPLE = ROOT / "tests" / "data" / "sample_quotes.csv"


def test_the_sink_gets_each_cycle_and_a_point_a_second_of_the_data(tmp_path: Path) -> None:
    events = [(t, "BTC/USDT", CHEAP) for t in (0.0, 0.3, 0.6, 1.0, 5.0)]
    path = quotes(tmp_path, [*events, (9.0, "BTC/USDT", WIDE)])
    told: list[object] = []
    result = run_backtest(str(path), config(), history=told.append)
    trades = [r for r in told if isinstance(r, TradeRecord)]
    assert trades == result.trades and len(trades) == 1
    points = [r for r in told if isinstance(r, SeriesPoint)]
    assert [p.ts for p in points] == [0.0, 1.0, 5.0, 9.0]
    # Entered at t=0 (sa 100, fb 100, filled at once), valued at sb 99.9, fa 100.1.
    expected = round_trip_pnl_usdt(1.0, 100, 100, 99.9, 100.1, FEE, FEE)
    for held in points[:3]:
        assert held.entry_cost_pct == 0.0
        assert held.pnl_usdt == pytest.approx(expected)
        assert held.unrealized_usdt == pytest.approx(expected + 2 * 100.0 * FEE)
    assert points[3].pnl_usdt is None  # exited at t=9


def test_without_a_sink_the_result_is_the_same(tmp_path: Path) -> None:
    path = quotes(tmp_path, [(0.0, "BTC/USDT", CHEAP), (9.0, "BTC/USDT", WIDE)])
    assert run_backtest(str(path), config(), history=[].append).trades == (
        run_backtest(str(path), config()).trades
    )


def quote_times(path: Path) -> dict[str, int]:
    """How many times each symbol is quoted in the quote file at ``path``."""
    times: dict[str, set[str]] = {}
    for row in path.read_text().splitlines()[1:]:
        ts, leg, symbol = row.split(",")[:3]
        if leg in ("spot", "futures"):
            times.setdefault(symbol, set()).add(ts)
    return {symbol: len(seen) for symbol, seen in times.items()}


def backtest(*args: str) -> int:
    return main(["backtest", *args])


def test_data_dir_keeps_the_history_in_a_new_store(tmp_path: Path, capsys) -> None:
    target = tmp_path / "runs" / "first"
    page = tmp_path / "report.html"
    assert backtest(str(SAMPLE), "--json", "--data-dir", str(target), "--report", str(page)) == 0
    report = json.loads(capsys.readouterr().out)
    assert os.listdir(target) == ["basis.db"]
    with Store(target / "basis.db") as store:
        db = store._db
        stored = [
            msgspec.json.decode(record, type=TradeRecord)
            for (record,) in db.execute("SELECT record FROM cycles")
        ]
        reported = {(t["symbol"], t["exit_ts_ms"], t["pnl_usdt"]) for t in report["trades"]}
        assert len(stored) == len(report["trades"]) > 0
        assert {(t.symbol, round(t.exit_ts * 1000), t.pnl_usdt) for t in stored} == reported
        fees = dict(
            db.execute("SELECT task_id || '/' || cycle, sum(fee_usdt) FROM fills GROUP BY 1")
        )
        for t in stored:
            # Each cycle's P&L decomposes exactly, and its fills' fees are its fees.
            assert abs(t.decomposed_usdt - t.pnl_usdt) <= 1e-9
            assert fees[f"{t.task_id}/{t.cycle}"] == pytest.approx(t.fees_usdt, abs=1e-9)
        by_symbol = dict(db.execute("SELECT symbol, count(*) FROM series GROUP BY symbol"))
        assert set(by_symbol) == {"BTC/USDT", "ETH/USDT", "SOL/USDT"}
        # The sample's quotes of a symbol come 2 s apart: a point on each.
        assert by_symbol == quote_times(SAMPLE)
        # The strategies as the data left them: their settings for the report.
        assert sorted(t.symbol for t in store.tasks()) == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    # The report of the same store, written as the backtest ended.
    assert page.read_text() == report_html(read_history(target / "basis.db", Window()))
    # No system trades on it: recovery would take its tasks for ones the venues know.
    with pytest.raises(UserError, match="a backtest's history, not a trading system's store"):
        claim_data_dir(target)


def test_data_dir_holding_a_store_is_refused_and_left_as_it_is(tmp_path: Path, capsys) -> None:
    with Store(tmp_path / "basis.db") as store:
        store.write_batch((), (), (), [SeriesPoint("BTC/USDT", 1.0, 0.2)])
    before = (tmp_path / "basis.db").read_bytes()
    assert backtest(str(SAMPLE), "--data-dir", str(tmp_path)) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line == (
        f"basis backtest: --data-dir {tmp_path} already holds a store ({tmp_path / 'basis.db'}); "
        "a backtest writes a new one: name another directory, or remove that one"
    )
    assert (tmp_path / "basis.db").read_bytes() == before


def test_a_refused_quote_file_leaves_no_store_behind(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "ts_ms,leg,symbol,bid,bid_qty,ask,ask_qty\n5,spot,A/B,1,1,2,1\n4,spot,A/B,1,1,2,1\n"
    )
    target = tmp_path / "new"
    assert backtest(str(bad), "--data-dir", str(target)) == 2
    assert "goes back in time" in capsys.readouterr().err
    assert not target.exists()
    assert sorted(os.listdir(tmp_path)) == ["bad.csv"]


def test_data_dir_naming_a_file_is_refused(tmp_path: Path, capsys) -> None:
    file = tmp_path / "f"
    file.write_text("")
    assert backtest(str(SAMPLE), "--data-dir", str(file)) == 2
    assert capsys.readouterr().err.strip() == (
        f"basis backtest: --data-dir {file} is a file; name a directory"
    )
    assert file.read_text() == ""
    assert os.listdir(tmp_path) == ["f"]
