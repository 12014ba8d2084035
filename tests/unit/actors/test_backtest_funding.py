"""Funding in a backtest: each settlement of the file applied at its own time, on the
short held at that moment, at its rate and mark price; a cycle's funding is the sum of
the settlements it held through, a partial exit's included on what was left.

The property test draws quote files with entries, exits that the visible size lets fill
only in part, and settlements in between, and checks the backtest against funding worked
out independently: from the fills the backtest reports, the short held at each
settlement's time.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.arbitrage.config import StrategyConfig
from actors.backtest.engine import BacktestConfig, BacktestSection, run_backtest
from actors.backtest.quote_files import (
    FUNDING_SETTLED,
    QuoteFile,
    QuoteFileWriter,
    funding_settled_row,
)
from actors.cli.synth import synthesize
from protocols.history import FillRecord, FundingRecord

SYMBOL = "BTC/USDT"
ENTER = (99.9, 100.0, 100.0, 100.1)  # (sb, sa, fb, fa): entry cost 0 %
HOLD = (100.4, 101.0, 100.0, 100.1)  # entry cost 1 %, exit about +0.1 %: neither
EXIT = (101.0, 101.1, 100.0, 100.1)  # exit about +0.7 %
PRICES = {"enter": ENTER, "hold": HOLD, "exit": EXIT}


def write(path, events) -> None:
    """``events``: (ts_s, kind, args): a quote pair (``args`` the visible size) or a
    settlement (``args`` (rate, mark price or 0))."""
    with QuoteFileWriter(path) as writer:
        for ts, kind, args in events:
            ms = round(ts * 1000)
            if kind == "settle":
                rate, mark = args
                writer.write(funding_settled_row(ms, SYMBOL, rate, mark))
                continue
            sb, sa, fb, fa = PRICES[kind]
            # Futures first: the decision falls on the spot row, with both legs' new
            # quotes (and sizes) in force.
            writer.write((ms, "futures", SYMBOL, fb, args, fa, args))
            writer.write((ms, "spot", SYMBOL, sb, args, sa, args))


def backtest(path, partial_fills=True):
    history: list = []
    config = BacktestConfig(
        strategy=StrategyConfig(base_position_size_usdt=100.0),
        backtest=BacktestSection(partial_fills=partial_fills),
    )
    result = run_backtest(str(path), config, history=history.append)
    return result, history


def expected_funding(events, history) -> list[tuple[float, int, float]]:
    """(time, cycle, amount) of each settlement the backtest's short held through, from
    its fills alone: the short at the settlement's time, the cycle of the latest fill
    before it, the mark price of the row or the futures mid of the latest quote."""
    fills = sorted(
        (r for r in history if isinstance(r, FillRecord) and r.leg == "futures"),
        key=lambda r: r.ts,
    )
    out = []
    mid = None
    for ts, kind, args in events:
        if kind != "settle":
            _, _, fb, fa = PRICES[kind]
            mid = (fb + fa) / 2.0
            continue
        before = [f for f in fills if f.ts < ts]
        short = math.fsum(f.qty if f.side == "sell" else -f.qty for f in before)
        if short <= 1e-12 or mid is None:
            continue
        rate, mark = args
        out.append((ts, before[-1].cycle, rate * short * (mark or mid)))
    return out


KINDS = st.sampled_from(["enter", "hold", "exit", "settle"])


@st.composite
def funding_files(draw):
    """Quote pairs a second apart, with a settlement half a second after some of them."""
    events = []
    for second in range(draw(st.integers(4, 40))):
        kind = draw(KINDS)
        if kind == "settle":
            events.append((second, "hold", 1000.0))
            rate = draw(st.floats(-0.003, 0.003, allow_subnormal=False))
            mark = draw(st.sampled_from([0.0, 99.5, 100.05, 103.25]))
            events.append((second + 0.5, "settle", (rate, mark)))
        else:
            # Exits often see less than the position: they fill in parts.
            size = draw(st.sampled_from([0.25, 0.4, 1000.0])) if kind == "exit" else 1000.0
            events.append((second, kind, size))
    return events


@settings(max_examples=60, deadline=None)
@given(events=funding_files())
def test_each_cycle_earns_the_settlements_it_held_through_on_what_it_held(tmp_path_factory, events):
    path = tmp_path_factory.mktemp("funding") / "q.csv"
    write(path, events)
    result, history = backtest(path)
    expected = expected_funding(events, history)
    records = [r for r in history if isinstance(r, FundingRecord)]
    # Every settlement the short held through, at its own time, once, and no other.
    assert [(r.ts, r.cycle) for r in records] == [(ts, cycle) for ts, cycle, _ in expected]
    for record, (_, _, amount) in zip(records, expected, strict=True):
        assert record.amount_usdt == pytest.approx(amount, rel=1e-12, abs=1e-15)
    # Each cycle's funding is the sum of its settlements: closed cycles in their
    # records, the open one (if any) in the strategy's.
    by_cycle: dict[int, list[float]] = {}
    for _, cycle, amount in expected:
        by_cycle.setdefault(cycle, []).append(amount)
    closed = {trade.cycle: trade.funding_usdt for trade in result.trades}
    [ctx] = result.contexts
    for cycle, amounts in by_cycle.items():
        got = closed.get(cycle, ctx.cycle.funding_usdt)
        # A running sum of the same products in the same order as the engine's: only
        # the summing's rounding differs, under 1e-12 of the largest amount each.
        assert got == pytest.approx(math.fsum(amounts), rel=1e-12, abs=1e-15)
    for cycle, funding in closed.items():
        if cycle not in by_cycle:
            assert funding == 0.0
    total = math.fsum(amount for _, _, amount in expected)
    assert result.symbols[0].funding_usdt == pytest.approx(total, rel=1e-12, abs=1e-15)


def test_a_partial_exit_before_a_settlement_pays_on_what_is_left(tmp_path):
    path = tmp_path / "q.csv"
    events = [
        (0, "enter", 1000.0),  # short 1.0 at 100
        (1, "hold", 1000.0),
        (1.5, "settle", (0.001, 0.0)),  # on 1.0 at the mid 100.05
        (2, "exit", 0.25),  # a quarter bought back
        (2.5, "settle", (0.002, 101.0)),  # on 0.75 at the row's mark
        (3, "exit", 1000.0),  # the rest
        (3.5, "settle", (0.003, 0.0)),  # nothing held: nothing paid
    ]
    write(path, events)
    result, history = backtest(path)
    [trade] = result.trades
    paid = 0.001 * 1.0 * 100.05 + 0.002 * 0.75 * 101.0
    assert trade.funding_usdt == pytest.approx(paid, rel=1e-12)
    assert [r.ts for r in history if isinstance(r, FundingRecord)] == [1.5, 2.5]


def test_synthetic_settlements_are_replayed_at_their_own_times_on_their_mark(tmp_path):
    # Hourly settlements at a premium held at 0.2 % (0.15 % per 8 h, an eighth of it per
    # hour), quotes 7 s apart so that no quote falls on a settlement. The file has each
    # settlement at its own time with its mark price; a backtest replays them there.
    path = tmp_path / "synth.csv"
    with QuoteFileWriter(path) as writer:
        synthesize(
            writer,
            [SYMBOL],
            duration_s=4 * 3600.0,
            interval_s=7.0,
            seed=5,
            start_ms=1_700_000_000_000,
            dislocations_per_hour=0.0,
            funding_interval_s=3600.0,
            funding_mean=0.002,
            funding_stdev=0.0,
        )
    with QuoteFile(path) as source:
        settled = [row for row in source if row[1] == FUNDING_SETTLED]
    assert [row[0] % 3_600_000 for row in settled] == [0] * 4
    for _, _, _, rate, _, mark, _ in settled:
        # The fast gap averages out to about 0.034 % over an hour: 3 of those either way.
        assert rate == pytest.approx(0.0015 / 8, abs=0.001 / 8)
        assert mark == pytest.approx(65_000.0, rel=0.05)
    history: list = []
    run_backtest(str(path), BacktestConfig(), history=history.append)
    for record in (r for r in history if isinstance(r, FundingRecord)):
        assert record.ts * 1000 % 3_600_000 == 0.0


@pytest.mark.parametrize(("latency_ms", "paid_on"), [(300.0, 0.0), (700.0, 1.0)])
def test_an_exit_on_its_way_pays_on_what_is_held_when_the_settlement_comes(
    tmp_path, latency_ms, paid_on
):
    # The exit is decided at 2 s and reaches the venues latency_ms later: before the
    # settlement at 2.5 s, nothing is held then; after it, the whole short is.
    path = tmp_path / "q.csv"
    events = [
        (0, "enter", 1000.0),
        (1, "hold", 1000.0),
        (2, "exit", 1000.0),
        (2.5, "settle", (0.001, 100.0)),
        (3, "exit", 1000.0),
    ]
    write(path, events)
    config = BacktestConfig(backtest=BacktestSection(latency_ms=latency_ms))
    result = run_backtest(str(path), config)
    [trade] = result.trades
    assert trade.funding_usdt == pytest.approx(0.001 * paid_on * 100.0, rel=1e-12)
