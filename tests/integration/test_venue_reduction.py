"""The futures short reduced without an order of the strategy, in paper mode on loopback:
another client of the same simulated Gate.io account buys part of it back over REST (a
trade by hand, reduce-only, its own client text), then the rest. The strategy sells its
spot leg down to match, then whole, and the cycle ends as ``venue_reduced``; the
operator is alerted each time."""

from __future__ import annotations

import logging
import time

import msgspec
import pytest

from actors.arbitrage.context import ArbitrageState
from actors.arbitrage.machine import VENUE_REDUCED
from actors.sim.ledger import FillExecuted
from actors.sim.servers import SimServers
from actors.system_config import SystemConfig
from actors.venues.rest import RestClient
from protocols import gateio_rest
from protocols.model import Leg, Order, OrderType, Side, Symbol
from tests.integration.paper_runs import paper_run
from tests.integration.polling import wait_until

BTC = Symbol("BTC", "USDT")
CHECK_S = 30.0
"""Longer than the test: what finds the reduction here is the position push (the
periodic check has tests of its own, tests/unit/actors/test_short_check.py)."""


def config() -> SystemConfig:
    return msgspec.convert(
        {
            "symbols": ["BTC/USDT"],
            "http": {"port": 0},
            "venues": {"futures": {"kind": "gateio_futures", "position_check_s": CHECK_S}},
            # Enter once, on the dislocation, and hold: no profit exit, no second entry.
            # An IOC sell at the bid just quoted misses now and then while the simulated
            # market moves: the correction tries again at the next quote, here long
            # enough that it never gives up (flattening) within the test.
            "strategy": {
                "base_position_size_usdt": 200.0,
                "min_profit_pct": 50.0,
                "cooldown_s": 3600.0,
                "max_correction_attempts": 20,
            },
            # The venue's buy-back is realized at its mark and counts against the smaller
            # position left: a drifting simulated market would trip the cycle's stop-loss.
            "risk": {"cycle_stop_loss_pct": 50.0},
            "alerts": {"observe_every_s": 0.2},
        },
        SystemConfig,
    )


def venue_net(entries, symbol: Symbol) -> float:
    return sum(
        (e.fill.qty if e.fill.side is Side.BUY else -e.fill.qty)
        for e in entries
        if isinstance(e, FillExecuted) and e.fill.symbol == symbol
    )


async def buy_back_by_hand(sim: SimServers, system, contracts: int, text: str) -> float:
    """A reduce-only market buy of ``contracts`` by another client of the account;
    returns when the venue filled it (its time)."""
    contract = system.venues["gateio_futures"].router.rules[BTC].contract_size
    keys = system.config.simulated_credentials()["gateio_futures"]
    order = Order(
        text, Leg.FUTURES, BTC, Side.BUY, contracts * contract, 0.0, OrderType.MARKET,
        reduce_only=True,
    )  # fmt: skip
    rest = RestClient(sim.urls.gateio_rest)
    try:
        request = gateio_rest.place_order_request(order, contract, keys, int(time.time()))
        response = await rest.send(request)
    finally:
        await rest.aclose()
    assert response.status < 300, response.body
    [fill] = [
        e.fill
        for e in sim.ledgers().gateio
        if isinstance(e, FillExecuted) and e.fill.client_id == f"t-{text}"
    ]
    return fill.ts


def alerted(caplog) -> list[logging.LogRecord]:
    """The alerts raised about the venue reducing the short."""
    return [
        r
        for r in caplog.records
        if r.name == "basis.alerts" and "alert event venue-reduced:" in r.getMessage()
    ]


async def test_a_short_reduced_by_hand_has_the_spot_leg_sold_to_match(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    async with paper_run(config(), tmp_path) as (system, sim):
        [handle] = system.strategies.values()
        actor = handle.actor
        await wait_until(lambda: actor.spot is not None and actor.futures is not None, 20)
        sim.dislocate(BTC, 0.012)
        await wait_until(lambda: actor.ctx.state is ArbitrageState.POSITION_OPEN, 20)
        contract = system.venues["gateio_futures"].router.rules[BTC].contract_size
        short = round(actor.ctx.positions.futures.qty / contract)
        assert short >= 3
        spot_step = system.venues["mexc"].router.rules[BTC].qty_step

        # A third of the short bought back by hand.
        taken = short // 3
        by_hand = await buy_back_by_hand(sim, system, taken, "byhand1")
        left = (short - taken) * contract
        await wait_until(
            lambda: (
                actor.ctx.state is ArbitrageState.POSITION_OPEN
                and actor.ctx.positions.futures.qty == pytest.approx(left)
            ),
            10,
        )
        ledgers = sim.ledgers()
        assert -venue_net(ledgers.gateio, BTC) == pytest.approx(left)
        # The spot account holds what hedges the short left, to within a spot step.
        assert venue_net(ledgers.mexc, BTC) == pytest.approx(left, abs=spot_step + 1e-9)
        [sold] = [
            e.fill for e in ledgers.mexc if isinstance(e, FillExecuted) and e.fill.side is Side.SELL
        ]
        assert by_hand < sold.ts
        # Found by the position push: the spot sale followed the push, its confirmation
        # over REST and the next quote or tick.
        reduction = actor.ctx.venue_reduction
        assert reduction is not None and "a position push" in reduction.cause
        assert actor.ctx.arbitrage_cycles == 0  # the position stays open, smaller
        await wait_until(lambda: len(alerted(caplog)) == 1, 5)

        # The rest bought back by hand: the spot leg is sold whole and the cycle ends.
        await buy_back_by_hand(sim, system, short - taken, "byhand2")
        await wait_until(lambda: actor.ctx.arbitrage_cycles == 1, 10)
        assert actor.ctx.state is ArbitrageState.MONITORING
        [trade] = actor.trades
        assert trade.exit_reason == VENUE_REDUCED
        ledgers = sim.ledgers()
        assert venue_net(ledgers.gateio, BTC) == pytest.approx(0.0, abs=1e-12)
        assert venue_net(ledgers.mexc, BTC) == pytest.approx(0.0, abs=spot_step + 1e-9)
        # Only the entry's orders and the spot sells are the strategy's: it never traded
        # the futures leg to follow the venue.
        ours = [
            e.fill
            for e in ledgers.gateio
            if isinstance(e, FillExecuted) and e.fill.client_id.startswith(f"t-{handle.task_id}")
        ]
        assert {fill.side for fill in ours} == {Side.SELL}

        # The operator was told each time: the strategy's line and the alert's.
        await wait_until(lambda: len(alerted(caplog)) == 2, 5)
    strategy_lines = [
        r.getMessage()
        for r in caplog.records
        if r.name == "basis.strategy" and "without an order of ours" in r.getMessage()
    ]
    assert len(strategy_lines) == 2
    assert all(r.levelno == logging.ERROR for r in alerted(caplog))
    assert f"went from {short * contract:g} to {left:g}" in alerted(caplog)[0].getMessage()
    assert f"went from {short * contract:g} to {left:g}" in strategy_lines[0]
