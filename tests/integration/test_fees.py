"""Fees as the venue charges them, in paper runs: the simulated MEXC takes its fees in
the base coin or in MX, and the strategy holds, sells and books what the venues say."""

from __future__ import annotations

import msgspec
import pytest

from actors.arbitrage.context import ArbitrageState
from actors.cli.paper import open_paper_system
from actors.runtime.persistence.store import Store
from actors.runtime.system import TradingSystem
from actors.sim.ledger import FillExecuted, OrderRefused
from actors.sim.servers import SimServers
from actors.system_config import SystemConfig
from protocols.model import Side, Symbol
from tests.integration.paper_runs import paper_run
from tests.integration.polling import wait_until

BTC = Symbol("BTC", "USDT")


def paper(spot: dict) -> SystemConfig:
    # A long cooldown keeps the strategy from entering again: the ledgers hold one cycle.
    # Market orders fill whole on the simulated books, so each leg takes one order in
    # and one out.
    return msgspec.convert(
        {
            "symbols": ["BTC/USDT"],
            "http": {"port": 0},
            "strategy": {
                "base_position_size_usdt": 200.0,
                "cooldown_s": 3600.0,
                "order_type": "market",
            },
            "sim": {"spot": spot},
        },
        SystemConfig,
    )


BASE_FEES = paper({"fee_asset": "base"})
MX_FEES = paper({"fee_asset": "mx", "balances": {"USDT": 10_000.0, "MX": 100.0}})


def fills(entries, symbol: Symbol = BTC) -> list:
    return [e.fill for e in entries if isinstance(e, FillExecuted) and e.fill.symbol == symbol]


def cash_flow_usdt(venue_fills) -> float:
    """The USDT the fills moved: sales in, purchases out, fees charged in USDT out."""
    total = 0.0
    for fill in venue_fills:
        value = fill.qty * fill.price
        total += value if fill.side is Side.SELL else -value
        if fill.fee_asset == "USDT":
            total -= fill.fee
    return total


async def one_cycle(system: TradingSystem, sim: SimServers):
    [handle] = system.strategies.values()
    await wait_until(lambda: handle.actor.ctx.state is ArbitrageState.POSITION_OPEN, 20)
    # The perpetual drops 1.5 % below spot: the short gains, the exit is profitable.
    sim.dislocate(BTC, -0.015)
    await wait_until(lambda: handle.actor.ctx.arbitrage_cycles == 1, 20)
    return handle


async def test_a_buy_whose_fee_is_in_the_base_coin_holds_less_and_its_exit_sells_what_is_held(
    tmp_path, caplog
):
    async with paper_run(BASE_FEES, tmp_path) as (system, sim):
        [handle] = system.strategies.values()
        await wait_until(lambda: handle.actor.ctx.state is ArbitrageState.POSITION_OPEN, 20)
        [buy] = fills(sim.ledgers().mexc)
        assert buy.fee_asset == "BTC" and buy.fee > 0.0
        positions = handle.actor.ctx.positions
        # What the account holds, not what it bought; the short is what was sold.
        assert positions.spot.qty == pytest.approx(buy.qty - buy.fee, abs=1e-12)
        assert positions.spot.qty == pytest.approx(sim.venues.spot.balance("BTC").free, abs=1e-12)
        assert positions.futures.qty == pytest.approx(buy.qty)
        sim.dislocate(BTC, -0.015)
        await wait_until(lambda: handle.actor.ctx.arbitrage_cycles == 1, 20)
        ctx = handle.actor.ctx
        [trade] = handle.actor.trades
        ledgers = sim.ledgers()
    assert ctx.state is ArbitrageState.MONITORING
    # Nothing refused for want of the coin, no imbalance to correct: two orders a leg.
    assert not [e for e in ledgers.mexc if isinstance(e, OrderRefused)]
    assert ctx.last_error is None and ctx.order_seq == 4
    assert "legs differ" not in caplog.text
    spot_fills = fills(ledgers.mexc)
    sold = sum(f.qty for f in spot_fills if f.side is Side.SELL)
    step = BASE_FEES.simulated().symbols[0].spot_rules.qty_step
    # The exit sold what was held, down to the step; the rest is dust, recorded as such.
    assert sold == pytest.approx(positions.spot.qty - positions.spot.qty % step, abs=1e-12)
    dust = sim.venues.spot.balance("BTC").free
    assert 0.0 < dust < step
    assert trade.spot_dust_qty == pytest.approx(dust, abs=1e-12)
    assert ctx.positions.spot.qty == pytest.approx(dust, abs=1e-12)
    assert ctx.positions.futures.qty == 0.0
    # P&L: the USDT the fills moved, plus the dust the account still holds, at its cost.
    implied = cash_flow_usdt(spot_fills) + cash_flow_usdt(fills(ledgers.gateio))
    held_at_cost = ctx.positions.spot.qty * ctx.positions.spot.avg_price
    assert ctx.realized_pnl_usdt == pytest.approx(implied + held_at_cost, abs=1e-6)
    # Fees: what the venues charged, each valued in USDT at its fill's price.
    charged = sum(f.fee_usdt for f in spot_fills + fills(ledgers.gateio))
    assert trade.fees_usdt == pytest.approx(charged, abs=1e-9)


async def test_fees_paid_in_mx_are_valued_in_usdt_at_the_mx_price(tmp_path):
    async with paper_run(MX_FEES, tmp_path) as (system, sim):
        handle = await one_cycle(system, sim)
        ctx = handle.actor.ctx
        [trade] = handle.actor.trades
        ledgers = sim.ledgers()
        mx_left = sim.venues.spot.balance("MX").free
    spot_fills = fills(ledgers.mexc)
    assert {f.fee_asset for f in spot_fills} == {"MX"}
    mx_price = MX_FEES.sim.spot.mx_price_usdt
    assert 100.0 - mx_left == pytest.approx(sum(f.fee for f in spot_fills))
    charged = sum(f.fee * mx_price for f in spot_fills) + sum(f.fee for f in fills(ledgers.gateio))
    assert trade.fees_usdt == pytest.approx(charged, abs=1e-9)
    # The coin is held whole and sold whole: P&L is the USDT the fills moved, less the MX.
    assert ctx.positions.spot.qty == 0.0
    implied = cash_flow_usdt(spot_fills) + cash_flow_usdt(fills(ledgers.gateio))
    mx_spent = sum(f.fee * mx_price for f in spot_fills)
    assert ctx.realized_pnl_usdt == pytest.approx(implied - mx_spent, abs=1e-6)


async def test_a_restart_finds_the_position_fees_in_the_base_coin_left_held(nursery, tmp_path):
    sim = SimServers(BASE_FEES.simulated())
    urls = await nursery.start(sim.run)
    async with open_paper_system(BASE_FEES, tmp_path, venues=urls) as first:
        [handle] = first.strategies.values()
        await wait_until(lambda: handle.actor.ctx.state is ArbitrageState.POSITION_OPEN, 20)
        task_id = handle.task_id
        held = handle.actor.ctx.positions
    assert held.spot.qty < held.futures.qty  # the fee came out of the coin bought
    async with open_paper_system(BASE_FEES, tmp_path, venues=urls) as second:
        [handle] = second.strategies.values()
        # The venue holds what the record says: resumed, not quarantined.
        assert handle.task_id == task_id
        assert handle.actor.ctx.state is ArbitrageState.POSITION_OPEN
        assert handle.actor.ctx.positions == held
    store = Store(tmp_path / "basis.db")
    assert store.quarantined() == []
    store.close()
