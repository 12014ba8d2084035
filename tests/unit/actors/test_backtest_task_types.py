"""The backtester runs ``funding_carry`` on the symbols ``[funding_carry]`` lists and
``spot_futures_arbitrage`` on the others, and reports each task type's totals."""

from __future__ import annotations

import msgspec
import pytest

from actors.arbitrage.config import FundingCarryConfig, StrategyConfig
from actors.arbitrage.context import FUNDING_CARRY, TASK_TYPE, CarryParams
from actors.backtest.engine import BacktestConfig, run_backtest
from actors.backtest.quote_files import QuoteFileWriter, funding_rate_row, funding_settled_row
from actors.backtest.report import by_task_type, render_table, to_json

CHEAP = (99.9, 100.0, 100.0, 100.1)  # (sb, sa, fb, fa): entry cost 0 %
WIDE = (101.0, 101.1, 100.0, 100.1)  # spot up 1 %: a profit exit for the arbitrage
H = 3600.0


def both(ts: float, symbol: str, prices) -> list:
    sb, sa, fb, fa = prices
    ms = round(ts * 1000)
    return [
        (ms, "spot", symbol, sb, 1000.0, sa, 1000.0),
        (ms, "futures", symbol, fb, 1000.0, fa, 1000.0),
    ]


def run(tmp_path, carry: FundingCarryConfig | None):
    rows = []
    for symbol in ("BTC/USDT", "ETH/USDT"):
        rows.append(funding_rate_row(0, symbol, 0.003, H, H))
    rows += both(1, "BTC/USDT", CHEAP) + both(1, "ETH/USDT", CHEAP)
    for n in range(1, 25):  # hourly settlements, each followed by the next rate
        settles = n * H
        for symbol in ("BTC/USDT", "ETH/USDT"):
            rows.append(funding_settled_row(round(settles * 1000), symbol, 0.003))
            rows.append(funding_rate_row(round(settles * 1000) + 1, symbol, 0.003, H, settles + H))
        rows += both(settles + 2, "BTC/USDT", WIDE) + both(settles + 2, "ETH/USDT", CHEAP)
    rows.sort(key=lambda row: row[0])
    path = tmp_path / "q.csv"
    with QuoteFileWriter(path) as writer:
        for row in rows:
            writer.write(row)
    config = BacktestConfig(strategy=StrategyConfig(max_hours=48.0), funding_carry=carry)
    return run_backtest(str(path), config)


def test_the_listed_symbols_run_the_carry_and_the_others_the_arbitrage(tmp_path):
    carry = FundingCarryConfig(symbols=("btc/usdt",), horizon_h=12.0, exit_window_s=0.0)
    result = run(tmp_path, carry)
    types = {s.symbol: s.task_type for s in result.symbols}
    assert types == {"BTC/USDT": FUNDING_CARRY, "ETH/USDT": TASK_TYPE}
    ctx = {str(c.symbol): c for c in result.contexts}
    assert ctx["BTC/USDT"].params.carry == CarryParams(horizon_h=12.0, exit_window_s=0.0)
    assert ctx["ETH/USDT"].params.carry is None
    btc = [t for t in result.trades if t.symbol == "BTC/USDT"]
    # The carry held through the profit the arbitrage would have taken, to its horizon,
    # receiving each settlement; then entered again.
    assert btc[0].exit_reason == "horizon"
    assert btc[0].exit_ts - btc[0].entry_ts == pytest.approx(12 * H, abs=3.0)
    assert btc[0].funding_usdt == pytest.approx(12 * 0.003 * 1.0 * 100.05, rel=1e-6)
    totals = by_task_type(result)
    assert set(totals) == {FUNDING_CARRY, TASK_TYPE}
    assert totals[FUNDING_CARRY].funding_usdt > 0.0
    assert totals[FUNDING_CARRY].pnl_usdt == pytest.approx(
        sum(s.pnl_usdt for s in result.symbols if s.task_type == FUNDING_CARRY)
    )
    report = msgspec.json.decode(to_json(result))
    assert report["task_types"][FUNDING_CARRY]["cycles"] == totals[FUNDING_CARRY].cycles
    table = render_table(result)
    assert f"{FUNDING_CARRY}: 1 symbol(s)" in table
    assert f"{TASK_TYPE}: 1 symbol(s)" in table


def test_without_the_table_every_symbol_runs_the_arbitrage(tmp_path):
    result = run(tmp_path, None)
    assert {s.task_type for s in result.symbols} == {TASK_TYPE}
    assert set(by_task_type(result)) == {TASK_TYPE}


def test_a_carry_symbol_not_of_the_form_base_slash_quote_is_refused():
    with pytest.raises(msgspec.ValidationError, match="BTCUSDT"):
        msgspec.convert({"symbols": ["BTCUSDT"]}, FundingCarryConfig)
