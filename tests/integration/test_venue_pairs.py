"""Every spot venue paired with every perpetual venue, in one instance on loopback, a
symbol at each pair: a paper session trades a cycle of each symbol whose profit is what
its pair's own ledgers filled, and a chaos run of the riskiest faults keeps every promise
at every pair, with a funding carry among the tasks. (MEXC with Gate.io, the default
pair, is played at length by the rest of the suite.)"""

from __future__ import annotations

import itertools

import msgspec
import pytest
import trio

from actors.arbitrage.context import ArbitrageState
from actors.chaos.report import render
from actors.chaos.runner import ChaosOptions, run_chaos
from actors.sim.ledger import FillExecuted
from actors.system_config import SystemConfig
from actors.venues.kinds import FUTURES_VENUES, SPOT_VENUES
from protocols.model import Side, Symbol
from tests.integration.paper_runs import paper_run
from tests.integration.polling import wait_until

PAIRS = list(itertools.product(SPOT_VENUES, FUTURES_VENUES))
SYMBOLS = [Symbol.parse(text) for text in ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT")]
SEED = 20261205


def every_pair(**more) -> SystemConfig:
    """One instance trading a symbol at each pair of venues: the first at ``[venues.spot]``
    and ``[venues.futures]``, the others at ``[[venues.pairs]]`` of their own (so that each
    venue but one serves two symbols, one with each of the other leg's venues)."""
    (spot, futures), *others = PAIRS
    return msgspec.convert(
        {
            "symbols": [str(symbol) for symbol in SYMBOLS],
            "http": {"port": 0},
            "venues": {
                "spot": {"kind": spot},
                "futures": {"kind": futures},
                "pairs": [
                    {"symbols": [str(symbol)], "spot": {"kind": s}, "futures": {"kind": f}}
                    for symbol, (s, f) in zip(SYMBOLS[1:], others, strict=True)
                ],
            },
            "strategy": {"base_position_size_usdt": 200.0, "cooldown_s": 3600.0},
            **more,
        },
        SystemConfig,
    )


def implied_pnl(entries, symbol: Symbol) -> float:
    """What a venue's fills of ``symbol`` imply in USDT: sells' proceeds less buys' cost,
    less the fees charged in USDT (a fee taken in the coin bought is coin not sold later)."""
    total = 0.0
    for entry in entries:
        if not isinstance(entry, FillExecuted) or entry.fill.symbol != symbol:
            continue
        fill = entry.fill
        value = fill.qty * fill.price
        total += value if fill.side is Side.SELL else -value
        if fill.fee_asset != symbol.base:
            total -= fill.fee_usdt
    return total


async def test_one_instance_completes_a_cycle_at_every_pair_the_venues_filled(tmp_path):
    config = every_pair()
    async with paper_run(config, tmp_path) as (system, sim):
        assert {r.name for r in system.statistics().routers} == {
            f"router-{kind}" for kind in (*SPOT_VENUES, *FUTURES_VENUES)
        }
        async with trio.open_nursery() as nursery:
            for symbol, pair in zip(SYMBOLS, PAIRS, strict=True):
                nursery.start_soon(a_cycle, system, sim, symbol, pair)


async def a_cycle(system, sim, symbol: Symbol, pair: tuple[str, str]) -> None:
    spot, futures = pair
    handle = next(h for h in system.strategies.values() if h.symbol == symbol)
    assert (handle.actor.ctx.spot_venue, handle.actor.ctx.futures_venue) == pair
    await wait_until(lambda: handle.actor.ctx.state is ArbitrageState.POSITION_OPEN, 20)
    # The perpetual drops 1.5 % below spot: the short gains, the exit is profitable.
    sim.dislocate(symbol, -0.015)
    await wait_until(lambda: handle.actor.ctx.arbitrage_cycles == 1, 20)
    ctx = handle.actor.ctx
    names = (SPOT_VENUES[spot].exchange, FUTURES_VENUES[futures].exchange)
    ledgers = msgspec.structs.asdict(sim.ledgers())
    spot_pnl, futures_pnl = (implied_pnl(ledgers[name], symbol) for name in names)
    assert ctx.realized_pnl_usdt > 0, pair
    # What the spot leg still holds, less than a step that can be sold, was paid for but
    # is not lost: the ledgers count its cost, the cycle's profit does not. Funding, when
    # a settlement fell within the run, is the rest.
    dust = ctx.positions.spot.qty * ctx.positions.spot.avg_price
    assert ctx.realized_pnl_usdt - ctx.funding_usdt == pytest.approx(
        spot_pnl + futures_pnl + dust, abs=0.001
    ), pair
    # Its orders went to its pair's venues alone.
    for name, entries in ledgers.items():
        traded = any(isinstance(e, FillExecuted) and e.fill.symbol == symbol for e in entries)
        assert traded is (name in names), (symbol, name)


async def test_chaos_on_every_pair_in_one_instance_keeps_every_promise(tmp_path):
    # The last symbol's task a funding carry: both task types in the mix.
    carry = {"symbols": [str(SYMBOLS[-1])]}
    options = ChaosOptions(("mixed",), duration_s=10.0, seed=SEED, data_dir=tmp_path)
    report = await run_chaos(every_pair(funding_carry=carry), options)
    assert report.passed, render(report) + f"\n(replay with seed {SEED})"
