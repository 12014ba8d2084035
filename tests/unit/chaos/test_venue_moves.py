"""What a chaos run can make the simulated perpetual do by itself, and how the run
counts it: an auto-deleveraging of the short and a price run to its liquidation, both
part of the position the venue's ledger adds up to."""

from __future__ import annotations

import pytest

from actors.chaos.runner import ChaosOptions, ChaosRun
from actors.sim.servers import SimServers
from actors.sim.views import SimUrls
from actors.system_config import SystemConfig
from protocols.model import OrderType, Side
from tests.unit.sim.helpers import COIN, config

URLS = SimUrls("http://127.0.0.1:1", "ws://127.0.0.1:1/ws", "http://127.0.0.1:2", "ws://x/2", "")


def run_with_a_short(tmp_path, contracts: int, leverage: float) -> ChaosRun:
    sim = SimServers(config())
    futures = sim.venues.futures
    futures.set_leverage(COIN, leverage)
    futures.place_order(COIN, Side.SELL, OrderType.MARKET, contracts, now=sim.venues.now)
    options = ChaosOptions((), 1.0, 1, tmp_path)
    return ChaosRun(SystemConfig(), options, sim, URLS, None, False)


def test_an_auto_deleveraging_shrinks_the_short_the_ledger_adds_up_to(tmp_path):
    run = run_with_a_short(tmp_path, 30, 1.0)
    assert run.venue_positions()["COIN/USDT"][1] == pytest.approx(3.0)
    assert run.auto_deleverage(COIN, 10).position_contracts == -20
    assert run.venue_positions()["COIN/USDT"][1] == pytest.approx(2.0)


def test_a_run_past_the_liquidation_price_liquidates_the_short(tmp_path):
    run = run_with_a_short(tmp_path, 30, 10.0)
    venues = run.sim.venues
    liquidation_at = venues.futures.position(COIN).liq_price
    target = run.run_towards_liquidation(COIN, 1.2, 2.0)
    assert target > liquidation_at
    start = venues.now
    for second in (1.0, 2.0, 3.0):
        venues.advance(start + second)
    [liquidation] = venues.futures.ledger.liquidations(COIN)
    assert liquidation.contracts == -30
    assert run.venue_positions()["COIN/USDT"][1] == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="no futures position"):
        run.run_towards_liquidation(COIN, 0.5, 1.0)
