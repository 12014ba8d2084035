"""Backtest throughput on a 1M-event file against a parse-only loop, and the machine's
cost per quote event.

Run: ``.venv/bin/python -m bench.backtest_bench``
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from actors.arbitrage.context import (
    ArbitrageContext,
    ArbitrageParams,
    ArbitrageState,
    new_context,
)
from actors.arbitrage.machine import on_market
from actors.backtest.engine import BacktestConfig, run_backtest
from actors.backtest.quote_files import QuoteFile, QuoteFileWriter
from actors.cli.synth import DEFAULT_SYMBOL_NAMES, synthesize
from bench.stats import median, percentile
from protocols.model import Quote, Symbol

EVENTS = 1_000_000
ROUNDS = 3


def make_file(directory: Path) -> Path:
    path = directory / "quotes.csv"
    symbols = list(DEFAULT_SYMBOL_NAMES)
    steps = EVENTS // (2 * len(symbols))
    with QuoteFileWriter(path) as writer:
        synthesize(writer, symbols, steps * 0.5 - 0.5, 0.5, seed=42, start_ms=1_700_000_000_000)
    return path


def parse_only(path: Path) -> tuple[int, float]:
    """The bare loop: decode each row into a Quote and compare it with the last one."""
    began = time.perf_counter()
    latest: dict[tuple[str, str], Quote] = {}
    symbols: dict[str, Symbol] = {}
    events = 0
    crossed = 0
    with QuoteFile(path) as source:
        for ts, leg, text, bid, bid_qty, ask, ask_qty in source:
            events += 1
            symbol = symbols.get(text)
            if symbol is None:
                symbol = symbols[text] = Symbol.parse(text)
            now = ts / 1000.0
            quote = Quote(symbol, bid, bid_qty, ask, ask_qty, now, now)
            other = latest.get((text, "futures" if leg == "spot" else "spot"))
            if other is not None and quote.ask < other.bid:
                crossed += 1
            latest[(text, leg)] = quote
    return events, time.perf_counter() - began


def full(path: Path) -> tuple[int, float, int]:
    result = run_backtest(str(path), BacktestConfig())
    return result.events, result.elapsed_s, result.cycles


def machine_per_event(path: Path, holding: bool, limit: int = 200_000) -> list[float]:
    """Each ``on_market`` call's time, in seconds, over the file's first ``limit`` events.

    The machine decides nothing here, which is what almost every quote costs live: either
    watching for an entry that never comes (``holding`` false) or holding a position whose
    exit never comes (``holding`` true).
    """
    if holding:
        params = ArbitrageParams(min_profit_pct=1e9, max_hours=1e9)
    else:
        params = ArbitrageParams(max_entry_cost_pct=-1e9)
    contexts: dict[str, ArbitrageContext] = {}
    latest: dict[tuple[str, str], Quote] = {}
    samples: list[float] = []
    clock = time.perf_counter_ns
    with QuoteFile(path) as source:
        for index, (ts, leg, text, bid, bid_qty, ask, ask_qty) in enumerate(source):
            if index >= limit:
                break
            now = ts / 1000.0
            symbol = Symbol.parse(text)
            latest[(text, leg)] = Quote(symbol, bid, bid_qty, ask, ask_qty, now, now)
            spot = latest.get((text, "spot"))
            futures = latest.get((text, "futures"))
            if spot is None or futures is None:
                continue
            ctx = contexts.get(text)
            if ctx is None:
                ctx = new_context(f"b{len(contexts)}", symbol, now=now, params=params)
                if holding:
                    qty = 100.0 / spot.ask
                    ctx = ctx.evolve(
                        state=ArbitrageState.POSITION_OPEN,
                        position_opened_at=now,
                        positions__spot__qty=qty,
                        positions__spot__avg_price=spot.ask,
                        positions__futures__qty=qty,
                        positions__futures__avg_price=futures.bid,
                    )
                contexts[text] = ctx
            began = clock()
            decided, commands = on_market(ctx, now, spot, futures)
            samples.append((clock() - began) / 1e9)
            assert not commands
            contexts[text] = decided
    return samples


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        began = time.perf_counter()
        path = make_file(Path(directory))
        size_mb = path.stat().st_size / 1e6
        print(
            f"== backtest: {EVENTS:,} events, {size_mb:.0f} MB CSV (made in "
            f"{time.perf_counter() - began:.1f} s), median of {ROUNDS}"
        )
        # Interleaved, so that whatever else the machine does weighs on both alike.
        baseline, runs = [], []
        for _ in range(ROUNDS):
            baseline.append(parse_only(path))
            runs.append(full(path))
        base_rate = median([events / elapsed for events, elapsed in baseline])
        full_rate = median([events / elapsed for events, elapsed, _ in runs])
        print(f"  parse-only loop : {base_rate:>10,.0f} events/s")
        print(
            f"  backtest        : {full_rate:>10,.0f} events/s  ({runs[0][2]} cycles)"
            "  (goal >= 300,000)"
        )
        print(f"  ratio backtest/parse-only: {full_rate / base_rate:.2f}")
        per_event = (1.0 / full_rate - 1.0 / base_rate) * 1e6
        print(f"  machine and fills per event, backtest minus parse-only: {per_event:.2f} µs")
        for holding in (False, True):
            samples = machine_per_event(path, holding)
            print(
                f"  on_market, {'holding' if holding else 'watching'}, {len(samples):,} calls: "
                f"p50 {percentile(samples, 0.5) * 1e6:.2f} µs  "
                f"p99 {percentile(samples, 0.99) * 1e6:.2f} µs"
            )


if __name__ == "__main__":
    main()
