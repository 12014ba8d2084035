"""Funding-aware trading over a synthetic month: ``spot_futures_arbitrage`` with and
without the funding in its entries and its exits timed around settlements, and
``funding_carry``, each backtested on the same synthetic file, for several seeds.

Run: ``.venv/bin/python -m bench.funding_bench`` (``--seeds``, ``--days``,
``--interval`` to change the data; ``--exits`` to see, under each run, the entry cost
its cycles were entered at and how they ended).

The data: ``basis synth``'s market (``synthesize``) for the three default symbols, BTC
settling every 8 h, ETH every 4 h and SOL every hour, with each symbol's default
funding (persistent, mean-reverting, now and then negative), one quote per leg every
``INTERVAL_S`` seconds. 10 s resolves what the strategies trade on: a dislocation
decays with the fast gap's half-life of 15 minutes, and funding moves over hours, so a
finer grid changes which second an entry is made, not which entries are made. A
month at 10 s is 1.7 M rows, which ``synthesize`` writes in 40 s or so and the
backtester runs in under 10 s, so the whole bench (three seeds, six runs each) takes
about five minutes on one core.

Each run is the backtester with ``[strategy]``, ``[risk]`` and ``[funding_carry]`` as
the run says, every other setting at its default (fills at the quoted prices, no
latency). For each run:

- **P&L**: the P&L of every cycle closed (``TradeRecord.pnl_usdt``: fees and funding
  included) plus, for a position still open when the data ends, what closing it at the
  last quotes sampled (``SAMPLE_S`` before the end at most) would make
  (``pnl_if_closed``: what its cycle realised, funding included, and its legs' exit at
  the best prices, fees included). USDT.
- **cycles**: cycles closed.
- **funding**: the funding settled on every short over the whole data, open positions
  included (``SymbolSummary.funding_usdt``), and its share of the P&L (funding / P&L;
  shown as ``-`` when the P&L is not positive, where a share means nothing).
- **max drawdown**: the largest fall of the portfolio's P&L from a high reached
  before it, ``max over t of (max over s <= t of E(s)) - E(t)``, where ``E(t)``, the P&L
  at ``t``, is the P&L of the cycles closed by ``t`` plus, for each symbol with a
  position open, what closing it at ``t`` would make (as for the P&L above). ``E`` is
  sampled every ``SAMPLE_S`` seconds of the data and at every cycle's close, and starts
  at 0 (the peak is never below 0), so a run that only ever loses has the loss as its
  drawdown.
- **fees**: the venues' fees of every cycle closed and those the open cycle has paid.
- **volume**: both legs' traded notional (``SymbolSummary.volume_usdt``), in USDT.

Every run trades ``base_position_size_usdt`` (100 USDT) a symbol: P&L is in USDT on
that size, and the funding share does not depend on it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import attrs

from actors.arbitrage.config import FundingCarryConfig, StrategyConfig
from actors.backtest.engine import Backtest, BacktestConfig
from actors.backtest.quote_files import QuoteFile, QuoteFileWriter
from actors.cli.synth import DEFAULT_SYMBOL_NAMES, synthesize
from protocols.history import SeriesPoint
from protocols.messages import TradeRecord

DAYS = 30.0
INTERVAL_S = 10.0
SEEDS = (1, 2, 3)
START_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC: settlements on the venues' clock
SAMPLE_S = 60.0
SETTLEMENT_WINDOW_S = 900.0
"""The exits' settlement window in the runs that time them: the carry's own default
``exit_window_s``, a quarter of the shortest interval the venues list."""
CARRY_ALONE = "SOL/USDT"
"""The symbol run (f) gives to the carry: the one settling every hour."""


COMPARED = (("b", "a"), ("c", "a"), ("d", "b"), ("d", "a"))
"""Each run against the one it differs from by a single option (and both against none)."""


@attrs.frozen
class Run:
    key: str
    label: str
    config: BacktestConfig


def runs() -> list[Run]:
    every = tuple(DEFAULT_SYMBOL_NAMES)
    return [
        Run("a", "arbitrage, default", BacktestConfig()),
        Run(
            "b",
            "arbitrage, funding-aware entry",
            BacktestConfig(strategy=StrategyConfig(funding_aware_entry=True)),
        ),
        Run(
            "c",
            "arbitrage, exits around settlements",
            BacktestConfig(strategy=StrategyConfig(settlement_window_s=SETTLEMENT_WINDOW_S)),
        ),
        Run(
            "d",
            "arbitrage, both",
            BacktestConfig(
                strategy=StrategyConfig(
                    funding_aware_entry=True, settlement_window_s=SETTLEMENT_WINDOW_S
                )
            ),
        ),
        Run("e", "carry, every symbol", BacktestConfig(funding_carry=FundingCarryConfig(every))),
        Run(
            "f",
            f"carry {CARRY_ALONE.split('/')[0]}, arbitrage others",
            BacktestConfig(funding_carry=FundingCarryConfig((CARRY_ALONE,))),
        ),
    ]


@attrs.frozen
class Figures:
    pnl: float
    cycles: int
    funding: float
    drawdown: float
    fees: float
    volume: float
    elapsed_s: float
    exits: dict[str, tuple[int, float]]
    """Cycles closed by exit reason: how many, and their P&L."""
    entry_cost_pct: float
    """The entry cost % the cycles closed were entered at, on average."""

    @property
    def share(self) -> float | None:
        return self.funding / self.pnl if self.pnl > 0.0 else None


@attrs.define
class _Equity:
    """The portfolio's P&L over the data, as the backtest's history hands it: cycles
    closed, and each symbol's open cycle valued when sampled."""

    closed: dict[tuple[str, float, float], float] = attrs.field(factory=dict)
    closed_total: float = 0.0
    open_by_symbol: dict[str, float] = attrs.field(factory=dict)
    peak: float = 0.0
    drawdown: float = 0.0

    def __call__(self, record: object) -> None:
        if isinstance(record, SeriesPoint):
            self.open_by_symbol[record.symbol] = record.pnl_usdt or 0.0
        elif isinstance(record, TradeRecord):
            # An amended cycle replaces the record kept under the same key.
            key = (record.symbol, record.entry_ts, record.exit_ts)
            self.closed_total += record.pnl_usdt - self.closed.get(key, 0.0)
            self.closed[key] = record.pnl_usdt
            self.open_by_symbol[record.symbol] = 0.0
        else:
            return
        equity = self.value
        if equity > self.peak:
            self.peak = equity
        elif self.peak - equity > self.drawdown:
            self.drawdown = self.peak - equity

    @property
    def value(self) -> float:
        return self.closed_total + sum(self.open_by_symbol.values())


def backtest(path: Path, config: BacktestConfig) -> Figures:
    began = time.perf_counter()
    equity = _Equity()
    runner = Backtest(config, equity, SAMPLE_S)
    with QuoteFile(path) as source:
        runner.feed(source)
    runner.finish()
    result = runner.result(0, 0.0)
    open_fees = sum(
        ctx.cycle.fees_usdt
        for ctx, s in zip(result.contexts, result.symbols, strict=True)
        if s.open_position
    )
    exits: dict[str, tuple[int, float]] = {}
    for trade in result.trades:
        count, pnl = exits.get(trade.exit_reason, (0, 0.0))
        exits[trade.exit_reason] = (count + 1, pnl + trade.pnl_usdt)
    costs = [t.entry_cost_pct for t in result.trades if t.entry_cost_pct is not None]
    return Figures(
        pnl=equity.value,
        cycles=result.cycles,
        funding=sum(s.funding_usdt for s in result.symbols),
        drawdown=equity.drawdown,
        fees=sum(t.fees_usdt for t in result.trades) + open_fees,
        volume=sum(s.volume_usdt for s in result.symbols),
        elapsed_s=time.perf_counter() - began,
        exits=exits,
        entry_cost_pct=statistics.fmean(costs) if costs else 0.0,
    )


def make_file(path: Path, seed: int, days: float, interval_s: float) -> int:
    with QuoteFileWriter(path) as writer:
        return synthesize(
            writer,
            list(DEFAULT_SYMBOL_NAMES),
            days * 86_400.0,
            interval_s,
            seed=seed,
            start_ms=START_MS,
        )


HEADER = (
    f"  {'run':<40} {'P&L':>8} {'cycles':>6} {'funding':>8} {'share':>6} "
    f"{'max DD':>7} {'fees':>7} {'volume':>9} {'run in':>7}"
)


def _share(share: float | None) -> str:
    return "-" if share is None else f"{share:.0%}"


def row(run: Run, figures: Figures) -> str:
    return (
        f"  ({run.key}) {run.label:<36} {figures.pnl:>8.2f} {figures.cycles:>6} "
        f"{figures.funding:>8.2f} {_share(figures.share):>6} {figures.drawdown:>7.2f} "
        f"{figures.fees:>7.2f} {figures.volume:>9,.0f} {figures.elapsed_s:>5.1f} s"
    )


def exits_row(figures: Figures) -> str:
    exits = ", ".join(
        f"{count} {reason} ({pnl:+.2f})" for reason, (count, pnl) in sorted(figures.exits.items())
    )
    if not exits:
        return "      no cycle closed"
    return f"      entered at {figures.entry_cost_pct:+.2f} % on average; exits: {exits}"


def _spread(values: Iterable[float]) -> str:
    values = list(values)
    mean = statistics.fmean(values)
    low, high = min(values), max(values)
    return f"{mean:>8.2f} [{low:.2f} .. {high:.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.funding_bench")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--days", type=float, default=DAYS)
    parser.add_argument("--interval", type=float, default=INTERVAL_S)
    parser.add_argument(
        "--exits",
        action="store_true",
        help="under each run, the mean entry cost and the cycles closed by exit reason",
    )
    options = parser.parse_args()
    plan = runs()
    by_run: dict[str, list[Figures]] = {run.key: [] for run in plan}
    print(
        f"== funding-aware trading: {options.days:g} days of {', '.join(DEFAULT_SYMBOL_NAMES)} "
        f"(8 h, 4 h, 1 h funding), a quote per leg every {options.interval:g} s, "
        f"100 USDT a symbol"
    )
    with tempfile.TemporaryDirectory() as directory:
        for seed in options.seeds:
            path = Path(directory) / f"month-{seed}.csv"
            began = time.perf_counter()
            rows = make_file(path, seed, options.days, options.interval)
            made = time.perf_counter() - began
            print(f"seed {seed}: {rows:,} rows (made in {made:.1f} s); USDT")
            print(HEADER)
            for run in plan:
                figures = backtest(path, run.config)
                by_run[run.key].append(figures)
                print(row(run, figures))
                if options.exits:
                    print(exits_row(figures))
            os.remove(path)
    if len(options.seeds) > 1:
        print(f"mean [min .. max] over seeds {', '.join(map(str, options.seeds))}:")
        print(f"  {'run':<40} {'P&L':>25} {'cycles':>8} {'funding':>25} {'max DD':>25}")
        for run in plan:
            figures = by_run[run.key]
            cycles = statistics.fmean(f.cycles for f in figures)
            print(
                f"  ({run.key}) {run.label:<36} {_spread(f.pnl for f in figures):>25} "
                f"{cycles:>8.0f} {_spread(f.funding for f in figures):>25} "
                f"{_spread(f.drawdown for f in figures):>25}"
            )
        for key, against in COMPARED:
            better = sum(
                1 for f, a in zip(by_run[key], by_run[against], strict=True) if f.pnl >= a.pnl
            )
            print(f"  ({key}) P&L at least ({against})'s on {better} of {len(options.seeds)} seeds")


if __name__ == "__main__":
    main()
