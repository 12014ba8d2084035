"""Synthetic quote files, for users without recorded data: ``basis synth OUT``.

Quotes come from the same price process the simulated venues trade on, so a backtest of a
synthetic file behaves like the default paper run.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from actors.arbitrage.pricing import round_down, step_decimals
from actors.quote_files import QuoteFileWriter
from actors.sim.price_process import PairPriceProcess, natural_tick

START_PRICES = {"BTC/USDT": 60_000.0, "ETH/USDT": 3_000.0, "SOL/USDT": 150.0}
"""Where each default symbol starts; other symbols start at 100."""


def synthesize(
    writer: QuoteFileWriter,
    symbols: list[str],
    duration_s: float,
    interval_s: float,
    seed: int,
    start_ms: int,
    on_progress: Callable[[float], None] | None = None,
) -> int:
    """Write one spot and one futures quote per symbol every ``interval_s``; returns rows.

    ``on_progress`` is told the fraction done now and then.
    """
    rng = random.Random(seed)
    processes = {
        symbol: PairPriceProcess(START_PRICES.get(symbol, 100.0), random.Random(rng.random()))
        for symbol in symbols
    }
    steps = int(duration_s / interval_s)
    for index in range(steps + 1):
        ts = start_ms + round(index * interval_s * 1000)
        if on_progress is not None and not index & 0x3FF:
            on_progress(index / steps if steps else 1.0)
        for symbol, process in processes.items():
            if index:
                process.advance(interval_s)
            tick = natural_tick(process.spot_mid)
            decimals = step_decimals(tick)
            for leg, mid in (("spot", process.spot_mid), ("futures", process.futures_mid)):
                bid, ask = process.touch(mid, tick)
                bid_qty = round_down(rng.uniform(2_000.0, 40_000.0) / mid, 1e-4)
                ask_qty = round_down(rng.uniform(2_000.0, 40_000.0) / mid, 1e-4)
                writer.write(
                    (ts, leg, symbol, round(bid, decimals), bid_qty, round(ask, decimals), ask_qty)
                )
    return writer.rows
