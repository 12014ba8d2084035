"""The backtester's semantics, on small hand-made quote files with known answers."""

from __future__ import annotations

import msgspec
import pytest

from actors.arbitrage.config import StrategyConfig
from actors.arbitrage.pricing import pnl_pct
from actors.backtest.engine import BacktestConfig, BacktestSection, FuturesRulesConfig, run_backtest
from actors.backtest.quote_files import (
    QuoteFileError,
    QuoteFileWriter,
    funding_rate_row,
    funding_settled_row,
)
from actors.risk.config import RiskConfig
from protocols.model import BookDepth, RiskMode
from tests.unit.arbitrage.spec import round_trip_pnl_usdt

FEE = 0.0005
CHEAP = (99.9, 100.0, 100.0, 100.1)  # (sb, sa, fb, fa): entry cost 0 %
WIDE = (101.0, 101.1, 100.0, 100.1)  # spot up 1 %: exit at sb 101, fa 100.1, about +0.7 %


def rows_file(tmp_path, rows):
    path = tmp_path / "q.csv"
    with QuoteFileWriter(path) as writer:
        for row in rows:
            writer.write(row)
    return path


def quotes(tmp_path, events):
    """``events`` are (ts_s, symbol, (sb, sa, fb, fa)); each becomes a spot and a futures row."""
    rows = []
    for ts, symbol, (sb, sa, fb, fa) in events:
        ms = round(ts * 1000)
        rows.append((ms, "spot", symbol, sb, 1000.0, sa, 1000.0))
        rows.append((ms, "futures", symbol, fb, 1000.0, fa, 1000.0))
    return rows_file(tmp_path, rows)


def config(**strategy):
    return BacktestConfig(strategy=StrategyConfig(**strategy))


def test_a_cycle_fills_at_the_quoted_prices_and_books_the_spec_pnl(tmp_path):
    path = quotes(tmp_path, [(0, "BTC/USDT", CHEAP), (5, "BTC/USDT", CHEAP), (9, "BTC/USDT", WIDE)])
    result = run_backtest(str(path), config())
    assert result.events == 6
    [trade] = result.trades
    q = 100.0 / 100.0
    expected = round_trip_pnl_usdt(q, 100.0, 100.0, 101.0, 100.1, FEE, FEE)
    assert (trade.entry_spot_price, trade.entry_futures_price) == (100.0, 100.0)
    assert (trade.exit_spot_price, trade.exit_futures_price) == (101.0, 100.1)
    assert trade.qty == pytest.approx(q)
    assert trade.pnl_usdt == pytest.approx(expected)
    assert trade.pnl_pct == pytest.approx(pnl_pct(expected, q, 100.0))
    assert (trade.entry_ts, trade.exit_ts, trade.exit_reason) == (0.0, 9.0, "profit")
    assert result.total_pnl_usdt == pytest.approx(expected)


def test_funding_rows_gate_entries_and_settle_on_the_backtests_own_short(tmp_path):
    def both(ts, prices):
        sb, sa, fb, fa = prices
        ms = round(ts * 1000)
        return [
            (ms, "spot", "BTC/USDT", sb, 1000.0, sa, 1000.0),
            (ms, "futures", "BTC/USDT", fb, 1000.0, fa, 1000.0),
        ]

    rows = [
        funding_rate_row(0, "BTC/USDT", -0.0001, 3600.0, 8.0),
        *both(0, CHEAP),  # the short would pay: no entry
        funding_rate_row(1_000, "BTC/USDT", 0.0001, 3600.0, 8.0),
        *both(2, CHEAP),  # enters
        funding_settled_row(8_000, "BTC/USDT", 0.0001),
        *both(9, WIDE),  # exits
    ]
    result = run_backtest(str(rows_file(tmp_path, rows)), config(require_non_negative_funding=True))
    [trade] = result.trades
    assert trade.entry_ts == 2.0
    received = 0.0001 * 1.0 * (100.0 + 100.1) / 2  # rate x short x futures mid
    assert trade.funding_usdt == pytest.approx(received)
    spec = round_trip_pnl_usdt(1.0, 100.0, 100.0, 101.0, 100.1, FEE, FEE)
    assert trade.pnl_usdt == pytest.approx(spec + received)
    assert result.symbols[0].funding_usdt == pytest.approx(received)


def test_an_event_that_closes_a_position_does_not_also_open_one(tmp_path):
    # With entries allowed up to 2 %, the quote at t=1 both exits at a profit (sb 101 against
    # fa 100.1) and is cheap enough to enter on (entry cost 1.09 %).
    exit_and_cheap = (1_000, "spot", "BTC/USDT", 101.0, 10.0, 101.1, 10.0)
    start = [
        (0, "spot", "BTC/USDT", 99.9, 10.0, 100.0, 10.0),
        (0, "futures", "BTC/USDT", 100.0, 10.0, 100.1, 10.0),
    ]

    def run(rows):
        return run_backtest(str(rows_file(tmp_path, rows)), config(max_entry_cost_pct=2.0))

    closed = run([*start, exit_and_cheap])
    [trade] = closed.trades
    assert (trade.exit_ts, trade.exit_reason) == (1.0, "profit")
    assert closed.open_positions == []
    # The same quote on the next event does open one.
    reopened = run([*start, exit_and_cheap, (2_000, *exit_and_cheap[1:])])
    assert reopened.open_positions == ["BTC/USDT"]


def test_no_entry_on_a_stale_quote(tmp_path):
    path = rows_file(
        tmp_path,
        [
            (0, "spot", "BTC/USDT", 99.9, 10.0, 100.0, 10.0),
            # The futures quote arrives 11 s later: the spot quote is older than 10 s by then.
            (11_000, "futures", "BTC/USDT", 100.0, 10.0, 100.1, 10.0),
            (12_000, "spot", "BTC/USDT", 99.9, 10.0, 100.0, 10.0),
        ],
    )
    result = run_backtest(str(path), config(max_quote_age_s=10.0))
    [summary] = result.symbols
    assert summary.volume_usdt == pytest.approx(200.0)  # entered only at t=12, fresh on both
    assert result.open_positions == ["BTC/USDT"]


def test_no_profit_exit_on_a_stale_quote_but_the_timeout_does_not_wait(tmp_path):
    path = rows_file(
        tmp_path,
        [
            (0, "spot", "BTC/USDT", 99.9, 10.0, 100.0, 10.0),
            (0, "futures", "BTC/USDT", 100.0, 10.0, 100.1, 10.0),
            (1_000, "futures", "BTC/USDT", 100.0, 10.0, 100.1, 10.0),
            # Spot moves to a profitable exit, but the futures quote is 20 s old by then.
            (21_000, "spot", "BTC/USDT", 102.0, 10.0, 102.1, 10.0),
            # One hour on, past max_hours: the timeout exits at the latest quotes, stale or not.
            (3_600_000, "spot", "BTC/USDT", 100.5, 10.0, 100.6, 10.0),
            (3_700_000, "spot", "BTC/USDT", 100.4, 10.0, 100.5, 10.0),
        ],
    )
    result = run_backtest(str(path), config(max_quote_age_s=10.0, max_hours=1.0))
    [trade] = result.trades
    assert trade.exit_reason == "timeout"
    assert trade.exit_ts == 3600.0  # the first event at or after the deadline
    assert (trade.exit_spot_price, trade.exit_futures_price) == (100.5, 100.1)


def test_rules_round_the_size_down_to_whole_contracts(tmp_path):
    path = quotes(tmp_path, [(0, "BTC/USDT", CHEAP), (1, "BTC/USDT", WIDE)])
    rules = BacktestConfig(
        strategy=StrategyConfig(base_position_size_usdt=150.0),
        backtest=BacktestSection(futures=FuturesRulesConfig(contract_size=0.4)),
    )
    [trade] = run_backtest(str(path), rules).trades
    assert trade.qty == pytest.approx(1.2)  # 1.5 wanted, 3 contracts of 0.4


def test_latency_fills_at_the_quotes_after_the_delay(tmp_path):
    better_futures = (99.9, 100.0, 100.2, 100.3)
    path = quotes(
        tmp_path,
        [(0, "BTC/USDT", CHEAP), (0.1, "BTC/USDT", better_futures), (0.5, "BTC/USDT", CHEAP)],
    )
    latency = BacktestConfig(backtest=BacktestSection(latency_ms=250))
    result = run_backtest(str(path), latency)
    [summary] = result.symbols
    # Decided at t=0, arriving at t=0.25, where the quotes in force are t=0.1's: spot buys at
    # its ask 100.0, the futures limit SELL at 100.0 meets the better bid 100.2.
    assert summary.volume_usdt == pytest.approx(200.2)
    assert result.open_positions == ["BTC/USDT"]


def test_with_latency_a_limit_price_no_longer_there_expires_and_is_corrected(tmp_path):
    spot_moved_up = (100.4, 100.5, 100.0, 100.1)
    path = quotes(
        tmp_path,
        [(0, "BTC/USDT", CHEAP), (0.2, "BTC/USDT", spot_moved_up), (1, "BTC/USDT", spot_moved_up)],
    )
    latency = BacktestConfig(backtest=BacktestSection(latency_ms=500))
    result = run_backtest(str(path), latency)
    # The spot buy at 100.0 met an ask of 100.5 at t=0.5 and expired; the futures sell filled.
    # The machine finished the lagging leg: a spot buy at 100.5, filled at t=1.
    [summary] = result.symbols
    assert summary.volume_usdt == pytest.approx(100.0 + 100.5)
    assert result.open_positions == ["BTC/USDT"]


def test_partial_fills_never_exceed_the_visible_size(tmp_path):
    path = rows_file(
        tmp_path,
        [
            (0, "spot", "BTC/USDT", 99.9, 10.0, 100.0, 0.4),
            (0, "futures", "BTC/USDT", 100.0, 10.0, 100.1, 10.0),
        ],
    )
    sized = BacktestConfig(backtest=BacktestSection(partial_fills=True))
    result = run_backtest(str(path), sized)
    [summary] = result.symbols
    # Sizing already caps at the visible 0.4 on spot: both legs fill 0.4 and stay hedged.
    assert summary.volume_usdt == pytest.approx(0.4 * 100.0 * 2)


def test_a_symbol_that_is_not_base_slash_quote_names_the_file(tmp_path):
    path = rows_file(
        tmp_path,
        [
            (0, "spot", "BTCUSDT", 1.0, 1.0, 2.0, 1.0),
        ],
    )
    with pytest.raises(QuoteFileError, match=r"q\.csv:2: symbol 'BTCUSDT' is not of the form"):
        run_backtest(str(path), config())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ts_ms,leg,symbol,bid,bid_qty,ask,ask_qty\n",
        "ts_ms,leg,symbol,bid,bid_qty,ask,ask_qty\n1,funding_settled,BTC/USDT,0.0001,0,0,0\n",
    ],
)
def test_a_file_without_a_quote_is_refused_not_reported_as_a_success(tmp_path, text):
    path = tmp_path / "q.csv"
    path.write_text(text)
    with pytest.raises(QuoteFileError, match=r"q\.csv: no quotes in it"):
        run_backtest(str(path), config())


def test_symbols_run_independently(tmp_path):
    path = quotes(
        tmp_path,
        [
            (0, "BTC/USDT", CHEAP),
            (0, "ETH/USDT", (99.0, 101.0, 99.0, 101.0)),  # entry cost 1.98 %: no entry
            (1, "BTC/USDT", WIDE),
        ],
    )
    result = run_backtest(str(path), config())
    assert [t.symbol for t in result.trades] == ["BTC/USDT"]
    assert {s.symbol: s.cycles for s in result.symbols} == {"BTC/USDT": 1, "ETH/USDT": 0}


def test_the_sample_file_trades_and_the_result_is_reproducible():
    from pathlib import Path

    sample = Path(__file__).parents[2] / "data" / "sample_quotes.csv"
    first = run_backtest(str(sample), config())
    second = run_backtest(str(sample), config())
    assert first.cycles >= 3
    assert msgspec.json.encode(first.trades) == msgspec.json.encode(second.trades)


def test_a_partial_fill_is_corrected_by_the_machine(tmp_path):
    path = rows_file(
        tmp_path,
        [
            (0, "spot", "BTC/USDT", 99.9, 10.0, 100.0, 10.0),
            (0, "futures", "BTC/USDT", 100.0, 10.0, 100.1, 10.0),
            # When the orders arrive only 0.3 is offered on spot; the futures leg fills whole.
            (100, "spot", "BTC/USDT", 99.9, 10.0, 100.0, 0.3),
            (1_000, "spot", "BTC/USDT", 99.9, 10.0, 100.0, 10.0),
            (2_000, "spot", "BTC/USDT", 99.9, 10.0, 100.0, 10.0),
        ],
    )
    realistic = BacktestConfig(backtest=BacktestSection(latency_ms=50, partial_fills=True))
    result = run_backtest(str(path), realistic)
    [summary] = result.symbols
    # 0.3 + the 0.7 the correction bought on spot, 1.0 sold on futures: hedged, 200 traded.
    assert summary.volume_usdt == pytest.approx(30.0 + 70.0 + 100.0)
    assert result.open_positions == ["BTC/USDT"]


def test_a_position_opened_at_the_epoch_keeps_its_open_time_through_a_partial_exit(tmp_path):
    # Entered at 0 s (a file starting at the epoch), the exit fills only a quarter of the
    # spot leg at 2 s and the rest at 3 s: the record's entry is the entry's, not 2 s.
    path = rows_file(
        tmp_path,
        [
            (ms, leg, "BTC/USDT", bid, size, ask, size)
            for ms, size, (sb, sa, fb, fa) in (
                (0, 1000.0, CHEAP),
                (1_000, 1000.0, (100.4, 101.0, 100.0, 100.1)),
                (2_000, 0.25, WIDE),
                (3_000, 1000.0, WIDE),
            )
            for leg, bid, ask in (("futures", fb, fa), ("spot", sb, sa))
        ],
    )
    partial = BacktestConfig(
        strategy=StrategyConfig(base_position_size_usdt=100.0),
        backtest=BacktestSection(partial_fills=True),
    )
    [trade] = run_backtest(str(path), partial).trades
    assert (trade.entry_ts, trade.exit_ts, trade.qty) == (0.0, 3.0, 1.0)


# ------------------------------------------------------------------------- risk


def test_the_caps_shared_by_every_symbol_resize_and_then_skip_entries(tmp_path):
    # 100 USDT a leg per entry; 300 in total across both legs of every symbol.
    path = quotes(
        tmp_path, [(0, "BTC/USDT", CHEAP), (1, "ETH/USDT", CHEAP), (2, "SOL/USDT", CHEAP)]
    )
    capped = BacktestConfig(
        risk=RiskConfig(
            max_symbol_notional_usdt=300.0,
            max_venue_notional_usdt=300.0,
            max_total_notional_usdt=300.0,
        )
    )
    result = run_backtest(str(path), capped)
    [resize] = result.resizes
    assert (resize.symbol, resize.wanted_qty, resize.qty) == ("ETH/USDT", 1.0, 0.5)
    assert resize.reason == "no room: max_total_notional_usdt 300"
    assert result.skips == {"no room": 1}  # SOL/USDT: nothing left


def test_a_starting_balance_limits_entries_by_what_the_account_has_free(tmp_path):
    path = quotes(tmp_path, [(0, "BTC/USDT", CHEAP)])
    poor = BacktestConfig(backtest=BacktestSection(spot_balance_usdt=50.025))
    [resize] = run_backtest(str(path), poor).resizes
    assert resize.qty == pytest.approx(0.5)  # 50 USDT and its 0.05 % fee
    assert resize.reason == "no room: free USDT on mexc"


def test_a_tripped_drawdown_stop_puts_every_strategy_in_reducing(tmp_path):
    crash = (80.0, 80.1, 100.0, 100.1)  # spot down 20 %: about -20 USDT on the position
    path = quotes(
        tmp_path,
        [(0, "BTC/USDT", CHEAP), (30, "BTC/USDT", crash), (200, "BTC/USDT", CHEAP),
         (300, "ETH/USDT", CHEAP)],
    )  # fmt: skip
    stopped = BacktestConfig(
        risk=RiskConfig(
            max_drawdown_usdt=10.0, daily_loss_limit_usdt=None, cycle_stop_loss_pct=None
        )
    )
    result = run_backtest(str(path), stopped)
    [change] = result.mode_changes
    assert change.mode is RiskMode.REDUCING and "max_drawdown_usdt 10" in change.reason
    # BTC/USDT's position stays (no stop of its own); ETH/USDT never enters.
    assert {s.symbol: s.open_position for s in result.symbols} == {
        "BTC/USDT": True,
        "ETH/USDT": False,
    }
    assert {s.symbol: s.volume_usdt for s in result.symbols}["ETH/USDT"] == 0.0


def test_the_cycle_stop_loss_closes_a_losing_cycle(tmp_path):
    crash = (97.0, 97.1, 100.0, 100.1)  # spot down 3 %: below the 2 % stop
    path = quotes(tmp_path, [(0, "BTC/USDT", CHEAP), (30, "BTC/USDT", crash)])
    [trade] = run_backtest(str(path), config()).trades
    assert trade.exit_reason == "stop_loss" and trade.pnl_usdt < -2.0


def test_orders_fill_through_the_depth_their_limit_reaches(tmp_path):
    path = tmp_path / "q.csv"
    asks = BookDepth(asks=((100.0, 0.5), (100.05, 0.5), (100.5, 5.0)))
    bids = BookDepth(bids=((100.0, 0.4), (99.95, 5.0)))
    with QuoteFileWriter(path, depth=True) as writer:
        writer.write((0, "spot", "BTC/USDT", 99.9, 10.0, 100.0, 0.5), asks)
        writer.write((0, "futures", "BTC/USDT", 100.0, 0.4, 100.1, 10.0), bids)
    result = run_backtest(str(path), config())
    [summary] = result.symbols
    # 1.0 within 0.1 % of the best on both books: 0.5 + 0.5 on spot, 0.4 + 0.6 on futures.
    spot_paid = 0.5 * 100.0 + 0.5 * 100.05
    futures_got = 0.4 * 100.0 + 0.6 * 99.95
    assert summary.volume_usdt == pytest.approx(spot_paid + futures_got)
    assert result.resizes == []
