"""Every spot venue paired with every perpetual venue, each pair whole on loopback: a
paper session trades a cycle whose profit is what the pair's own ledgers filled, and a
chaos run of the riskiest faults on the pair keeps every promise. (MEXC with Gate.io,
the default pair, is played at length by the rest of the suite.)"""

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

BTC = Symbol("BTC", "USDT")
PAIRS = list(itertools.product(SPOT_VENUES, FUTURES_VENUES))
SEED = 20261205


def on_pair(spot: str, futures: str, **more) -> SystemConfig:
    return msgspec.convert(
        {
            "symbols": ["BTC/USDT", "ETH/USDT"],
            "http": {"port": 0},
            "venues": {"spot": {"kind": spot}, "futures": {"kind": futures}},
            "strategy": {"base_position_size_usdt": 200.0, "cooldown_s": 3600.0},
            **more,
        },
        SystemConfig,
    )


def implied_pnl(entries) -> float:
    """What a venue's fills of BTC imply in USDT: sells' proceeds less buys' cost, less
    the fees charged in USDT (a fee taken in the coin bought is coin not sold later)."""
    total = 0.0
    for entry in entries:
        if not isinstance(entry, FillExecuted) or entry.fill.symbol != BTC:
            continue
        fill = entry.fill
        value = fill.qty * fill.price
        total += value if fill.side is Side.SELL else -value
        if fill.fee_asset != BTC.base:
            total -= fill.fee_usdt
    return total


async def test_a_paper_session_on_each_pair_completes_a_cycle_the_venues_filled(tmp_path):
    # The four sessions side by side, each with its own venues and store.
    async with trio.open_nursery() as nursery:
        for spot, futures in PAIRS:
            data_dir = tmp_path / f"{spot}-{futures}"
            data_dir.mkdir()
            nursery.start_soon(a_cycle, spot, futures, data_dir)


async def a_cycle(spot: str, futures: str, data_dir) -> None:
    async with paper_run(on_pair(spot, futures), data_dir) as (system, sim):
        btc = next(h for h in system.strategies.values() if h.symbol == BTC)
        await wait_until(lambda: btc.actor.ctx.state is ArbitrageState.POSITION_OPEN, 20)
        # The perpetual drops 1.5 % below spot: the short gains, the exit is profitable.
        sim.dislocate(BTC, -0.015)
        await wait_until(lambda: btc.actor.ctx.arbitrage_cycles == 1, 20)
        ctx = btc.actor.ctx
        names = (SPOT_VENUES[spot].exchange, FUTURES_VENUES[futures].exchange)
        ledgers = msgspec.structs.asdict(sim.ledgers())
        spot_pnl, futures_pnl = (implied_pnl(ledgers[name]) for name in names)
        assert ctx.realized_pnl_usdt > 0, (spot, futures)
        # Funding, when a settlement fell within the run, is the rest.
        assert ctx.realized_pnl_usdt - ctx.funding_usdt == pytest.approx(
            spot_pnl + futures_pnl, abs=0.01
        ), (spot, futures)
        assert {r.name for r in system.statistics().routers} == {
            f"router-{spot}",
            f"router-{futures}",
        }


async def test_chaos_on_each_pair_keeps_every_promise(tmp_path):
    # Side by side, each run with its own venues and trading process.
    pairs = [pair for pair in PAIRS if pair != ("mexc", "gateio_futures")]
    reports = {}

    async def play(spot: str, futures: str) -> None:
        data_dir = tmp_path / f"{spot}-{futures}"
        data_dir.mkdir()
        options = ChaosOptions(("mixed",), duration_s=8.0, seed=SEED, data_dir=data_dir)
        reports[spot, futures] = await run_chaos(on_pair(spot, futures), options)

    async with trio.open_nursery() as nursery:
        for spot, futures in pairs:
            nursery.start_soon(play, spot, futures)
    failed = [render(report) for report in reports.values() if not report.passed]
    assert not failed, "\n\n".join(failed) + f"\n(replay with seed {SEED})"
