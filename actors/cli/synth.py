"""Synthetic quote files, for users without recorded data: ``basis synth OUT``.

Quotes come from the very market the simulated venues serve (``SimMarket``: the same
price process, books and seed handling), so a backtest of a synthetic file behaves like
the default paper run. So does the perpetual's funding: each symbol's published rate
(when an interval starts, when its sign changes, and every ``FUNDING_ROW_EVERY_S``) and
each settlement, at its own time with its mark price. The funding's statistics are each
symbol's (``SymbolConfig``) unless chosen: the premium's long-run mean, its spread, how
fast it reverts, the interval between settlements.
"""

from __future__ import annotations

import argparse
import math
import random
from collections.abc import Callable, Sequence

import msgspec

from actors.backtest.quote_files import QuoteFileWriter, funding_rate_row, funding_settled_row
from actors.sim.config import (
    DEFAULT_SYMBOLS,
    FUNDING_MEAN_LIMIT,
    FUNDING_STDEV_LIMIT,
    SimConfig,
    symbol_config,
)
from actors.sim.market import SimMarket
from protocols.model import Leg, Symbol

DEFAULT_SYMBOL_NAMES = tuple(str(config.symbol) for config in DEFAULT_SYMBOLS)
FUNDING_ROW_EVERY_S = 60.0


def _fraction(text: str, example: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(
            f"expected a fraction of the price like {example}, got {text!r}"
        )
    return value


def funding_mean(text: str) -> float:
    """``--funding-mean``: the premium's long-run mean, a fraction of the price."""
    value = _fraction(text, "0.0001 (0.01 % per 8 h)")
    if not -FUNDING_MEAN_LIMIT <= value <= FUNDING_MEAN_LIMIT:
        raise argparse.ArgumentTypeError(
            f"{text} is a premium of {value:.2%}; it is a fraction of the price "
            f"(0.0001 pays 0.01 % per 8 h): give one within -{FUNDING_MEAN_LIMIT} and "
            f"{FUNDING_MEAN_LIMIT}"
        )
    return value


def funding_vol(text: str) -> float:
    """``--funding-vol``: the premium's stationary spread, a fraction of the price."""
    value = _fraction(text, "0.0004")
    if not 0.0 <= value <= FUNDING_STDEV_LIMIT:
        raise argparse.ArgumentTypeError(
            f"{text} is not a spread of the premium: give a fraction of the price within 0 "
            f"(a steady rate) and {FUNDING_STDEV_LIMIT}, like 0.0004"
        )
    return value


def synthesize(
    writer: QuoteFileWriter,
    symbols: Sequence[str],
    duration_s: float,
    interval_s: float,
    seed: int,
    start_ms: int,
    dislocations_per_hour: float | None = None,
    funding_interval_s: float | None = None,
    on_progress: Callable[[float], None] | None = None,
    funding_mean: float | None = None,
    funding_stdev: float | None = None,
    funding_half_life_s: float | None = None,
) -> int:
    """Write one spot and one futures quote per symbol every ``interval_s``, and the
    funding rows; returns the rows. ``funding_interval_s``, ``funding_mean``,
    ``funding_stdev`` and ``funding_half_life_s`` override each symbol's (see
    ``SymbolConfig``).

    ``on_progress`` is told the fraction done now and then.
    """
    chosen = {
        "funding_interval_s": funding_interval_s,
        "funding_mean": funding_mean,
        "funding_stdev": funding_stdev,
        "funding_half_life_s": funding_half_life_s,
    }
    overrides = {name: value for name, value in chosen.items() if value is not None}
    configs = [
        msgspec.structs.replace(symbol_config(Symbol.parse(s), dislocations_per_hour), **overrides)
        for s in symbols
    ]
    config = SimConfig(seed=seed, symbols=tuple(configs))
    start = start_ms / 1000.0
    market = SimMarket(config, random.Random(seed), start)
    names = [(c.symbol, str(c.symbol)) for c in config.symbols]
    written: dict[Symbol, tuple[float, float, float]] = {}
    """Each symbol's last funding row: (time, rate, next settlement)."""
    steps = int(duration_s / interval_s)
    for index in range(steps + 1):
        if on_progress is not None and not index & 0x3FF:
            on_progress(index / steps if steps else 1.0)
        ts = start_ms + round(index * interval_s * 1000)
        now = ts / 1000.0
        for settlement in market.advance(now):
            # At its own time, which falls between the quotes before and those at ``ts``.
            writer.write(
                funding_settled_row(
                    round(settlement.ts * 1000),
                    str(settlement.symbol),
                    settlement.rate,
                    settlement.mark_price,
                )
            )
        for symbol, name in names:
            funding = market.funding_rate(symbol)
            last = written.get(symbol)
            if (
                last is None
                or last[2] != funding.next_ts
                or (last[1] < 0.0) != (funding.rate < 0.0)
                or now - last[0] >= FUNDING_ROW_EVERY_S
            ):
                written[symbol] = (now, funding.rate, funding.next_ts)
                writer.write(
                    funding_rate_row(ts, name, funding.rate, funding.interval_s, funding.next_ts)
                )
            for leg in (Leg.SPOT, Leg.FUTURES):
                q = market.quote(symbol, leg)
                writer.write((ts, leg.value, name, q.bid, q.bid_qty, q.ask, q.ask_qty))
    return writer.rows
