"""Synthetic quote files, for users without recorded data: ``basis synth OUT``.

Quotes come from the very market the simulated venues serve (``SimMarket``: the same
price process, books and seed handling), so a backtest of a synthetic file behaves like
the default paper run.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from actors.backtest.quote_files import QuoteFileWriter
from actors.sim.config import DEFAULT_SYMBOLS, SimConfig, symbol_config
from actors.sim.market import SimMarket
from protocols.model import Leg, Symbol

DEFAULT_SYMBOL_NAMES = tuple(str(config.symbol) for config in DEFAULT_SYMBOLS)


def synthesize(
    writer: QuoteFileWriter,
    symbols: Sequence[str],
    duration_s: float,
    interval_s: float,
    seed: int,
    start_ms: int,
    dislocations_per_hour: float | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> int:
    """Write one spot and one futures quote per symbol every ``interval_s``; returns rows.

    ``on_progress`` is told the fraction done now and then.
    """
    config = SimConfig(
        seed=seed,
        symbols=tuple(symbol_config(Symbol.parse(s), dislocations_per_hour) for s in symbols),
    )
    start = start_ms / 1000.0
    market = SimMarket(config, random.Random(seed), start)
    names = [(c.symbol, str(c.symbol)) for c in config.symbols]
    steps = int(duration_s / interval_s)
    for index in range(steps + 1):
        if on_progress is not None and not index & 0x3FF:
            on_progress(index / steps if steps else 1.0)
        ts = start_ms + round(index * interval_s * 1000)
        market.advance(ts / 1000.0)
        for symbol, name in names:
            for leg in (Leg.SPOT, Leg.FUTURES):
                q = market.quote(symbol, leg)
                writer.write((ts, leg.value, name, q.bid, q.bid_qty, q.ask, q.ask_qty))
    return writer.rows
