"""Simulated venues: what one market tick and one order cost, at stress-demo scale.

Run: ``.venv/bin/python -m bench.sim_bench``
"""

from __future__ import annotations

import time

import msgspec

from actors.sim import DEFAULT_SYMBOLS, DepthProfile, SimConfig, SimVenues
from bench.stats import median, percentile, us
from protocols.model import OrderType, Side, Symbol

SYMBOLS = 60
TICKS = 300
ORDERS = 3_000
START = 1_700_000_000.0


def venues(levels: int) -> SimVenues:
    template = DEFAULT_SYMBOLS[0]
    symbols = tuple(
        msgspec.structs.replace(template, symbol=Symbol(f"C{i}", "USDT")) for i in range(SYMBOLS)
    )
    config = SimConfig(
        symbols=symbols,
        spot=msgspec.structs.replace(SimConfig().spot, balances={"USDT": 1e12}),
        futures=msgspec.structs.replace(SimConfig().futures, balance_usdt=1e12),
        depth=DepthProfile(levels=levels),
    )
    return SimVenues(config, START)


def advance_cost(levels: int, resting_per_symbol: int) -> list[float]:
    v = venues(levels)
    for symbol in v.market.symbols:
        bid = v.market.quote(symbol, v.spot.leg).bid
        for k in range(resting_per_symbol):
            price = round(bid * (1 - 0.001 * (k + 1)), 2)
            v.spot.place_order(symbol, Side.BUY, OrderType.LIMIT, 0.001, price=price, now=START)
    samples = []
    for i in range(1, TICKS + 1):
        began = time.perf_counter()
        v.advance(START + 0.1 * i)
        samples.append(time.perf_counter() - began)
    return samples


def order_cost() -> tuple[list[float], list[float]]:
    v = venues(10)
    symbol = v.market.symbols[0]
    spot, futures = [], []
    for i in range(ORDERS):
        side = Side.BUY if i % 2 == 0 else Side.SELL
        began = time.perf_counter()
        v.spot.place_order(symbol, Side.BUY, OrderType.MARKET, 0.001, now=START)
        spot.append(time.perf_counter() - began)
        began = time.perf_counter()
        v.futures.place_order(symbol, side, OrderType.MARKET, 10, now=START)
        futures.append(time.perf_counter() - began)
    return spot, futures


def line(label: str, samples: list[float]) -> str:
    return f"  {label:<34}: p50 {us(median(samples))}  p99 {us(percentile(samples, 0.99))}"


def main() -> None:
    print(f"== simulated venues: {SYMBOLS} symbols, spot + perpetual book each")
    print(f"advance (one market tick), {TICKS} ticks of 0.1 s:")
    for levels, resting in ((10, 0), (20, 0), (10, 5)):
        label = f"{levels} levels, {resting} resting orders/symbol"
        print(line(label, advance_cost(levels, resting)))
    spot, futures = order_cost()
    print(f"market order taking one level, {ORDERS} each:")
    print(line("spot", spot))
    print(line("futures", futures))


if __name__ == "__main__":
    main()
