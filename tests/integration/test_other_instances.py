"""Two Basis instances, each with a data directory of its own (hence an instance id of
its own), trading one symbol on one set of venue accounts: each recognises the other's
orders at start, reports them and leaves them alone, and a restarted one does not take
the other's share of the futures short for a contradiction of its record."""

from __future__ import annotations

import math

import msgspec
import pytest

from actors.arbitrage.context import ArbitrageState
from actors.cli.paper import open_paper_system
from actors.runtime.controls import ControlRefused
from actors.runtime.ops.status import build_status
from actors.sim.ledger import FillExecuted
from actors.sim.servers import SimServers
from actors.system_config import SystemConfig
from protocols.client_ids import client_order_id, parse_client_id
from protocols.model import Leg, OrderStatus, OrderType, Side, Symbol
from tests.integration.polling import wait_until

BTC = Symbol("BTC", "USDT")


def config() -> SystemConfig:
    return msgspec.convert(
        {
            "symbols": ["BTC/USDT"],
            "http": {"port": 0},
            "strategy": {"base_position_size_usdt": 200.0, "cooldown_s": 3600.0},
        },
        SystemConfig,
    )


def resting_price(sim: SimServers, leg: Leg) -> float:
    """A buy price well under the market, on the venue's tick: the order rests."""
    exchange = sim.venues.spot if leg is Leg.SPOT else sim.venues.futures
    tick = exchange.rules(BTC).price_tick
    return math.floor(sim.venues.market.spot_mid(BTC) * 0.9 / tick) * tick


async def open_position(sim_urls, data_dir) -> tuple[str, str]:
    """A run in ``data_dir`` until its BTC position is open; its instance and task ids."""
    async with open_paper_system(config(), data_dir, venues=sim_urls) as system:
        [handle] = system.strategies.values()
        await wait_until(lambda: handle.actor.ctx.state is ArbitrageState.POSITION_OPEN, 20)
        return system.instance, handle.task_id


async def test_a_restarted_instance_trades_on_its_record_beside_another_and_leaves_its_orders(
    nursery, tmp_path
):
    sim = SimServers(config().simulated())
    urls = await nursery.start(sim.run)
    b_instance, b_task = await open_position(urls, tmp_path / "b")
    a_instance, a_task = await open_position(urls, tmp_path / "a")
    assert a_instance != b_instance and a_task != b_task
    # Both shorts sit in the one futures account; instance a also has orders resting.
    now = sim.clock.now()
    spot_id = client_order_id(a_task, 90, Leg.SPOT, a_instance)
    futures_id = client_order_id(a_task, 91, Leg.FUTURES, a_instance)
    resting = [
        sim.venues.spot.place_order(
            BTC, Side.BUY, OrderType.LIMIT, 0.001,
            price=resting_price(sim, Leg.SPOT), client_id=spot_id, now=now,
        ),
        sim.venues.futures.place_order(
            BTC, Side.BUY, OrderType.LIMIT, 1,
            price=resting_price(sim, Leg.FUTURES), client_id=f"t-{futures_id}", now=now,
        ),
    ]  # fmt: skip
    async with open_paper_system(config(), tmp_path / "b", venues=urls) as b:
        assert b.instance == b_instance
        [handle] = b.strategies.values()
        assert handle.task_id == b_task and not b.quarantined
        assert handle.actor.ctx.state is ArbitrageState.POSITION_OPEN
        [other] = b.other_instances[BTC]
        assert other.instance == a_instance
        assert {o.client_id for o in other.open_orders} == {spot_id, futures_id}
        assert other.recent_orders >= 2  # its entry's two orders, at least
        assert other.shared_position is not None
        assert f"shared with instance {a_instance}" in other.shared_position
        status = build_status(b)
        assert status.instance == b_instance and status.other_instances == [other]
        assert f"foreign-instance:{a_instance}:BTC/USDT" in [s.key for s in status.health_signals]
        actor = handle.actor
        await wait_until(lambda: actor.spot is not None and actor.futures is not None, 20)
        for router in (links.router for links in b.venues.values()):
            assert not any(parse_client_id(c).instance == a_instance for c in router.orders)
    # Neither cancelled nor touched: both still rest at the venues as placed.
    for exchange, placed in zip((sim.venues.spot, sim.venues.futures), resting, strict=True):
        order = exchange.order(venue_order_id=placed.venue_order_id, now=sim.clock.now())
        assert (order.status, order.filled_qty) == (OrderStatus.NEW, 0.0)


async def test_a_futures_short_smaller_than_the_record_is_a_contradiction_all_the_same(
    nursery, tmp_path
):
    sim = SimServers(config().simulated())
    urls = await nursery.start(sim.run)
    _, b_task = await open_position(urls, tmp_path / "b")
    # Another instance buys a contract back on the shared account: the short is now less
    # than b's record, which no other instance's trading can explain.
    sim.venues.futures.place_order(
        BTC, Side.BUY, OrderType.MARKET, 1,
        client_id=f"t-{client_order_id('btc_other', 1, Leg.FUTURES, 'zz01')}",
        now=sim.clock.now(),
    )  # fmt: skip
    async with open_paper_system(config(), tmp_path / "b", venues=urls) as b:
        [quarantined] = b.quarantined
        assert quarantined.task_id == b_task
        assert "contradicts the venues: the futures short is" in quarantined.reason
        [other] = b.other_instances[BTC]
        assert (other.instance, other.open_orders, other.shared_position) == ("zz01", (), None)


async def test_a_resolution_leaves_another_instances_share_of_the_short_alone(nursery, tmp_path):
    sim = SimServers(config().simulated())
    urls = await nursery.start(sim.run)
    _, b_task = await open_position(urls, tmp_path / "b")
    # Another instance on the shared account sells the coin and shorts 5 contracts more:
    # b's spot leg is gone (a contradiction), and the extra short is the other's.
    now, ledgers = sim.clock.now(), sim.ledgers()
    step = sim.venues.spot.rules(BTC).qty_step
    held = math.floor(sum_of(ledgers.mexc) / step) * step
    sim.venues.spot.place_order(
        BTC, Side.SELL, OrderType.MARKET, held,
        client_id=client_order_id("btc_other", 1, Leg.SPOT, "zz01"), now=now,
    )  # fmt: skip
    sim.venues.futures.place_order(
        BTC, Side.SELL, OrderType.MARKET, 5,
        client_id=f"t-{client_order_id('btc_other', 2, Leg.FUTURES, 'zz01')}", now=now,
    )  # fmt: skip
    contract = sim.venues.futures.rules(BTC).contract_size
    async with open_paper_system(config(), tmp_path / "b", venues=urls) as b:
        [quarantined] = b.quarantined
        assert quarantined.task_id == b_task
        controls = b.controls
        with pytest.raises(ControlRefused, match="other Basis instances trade it"):
            await controls.resolve("BTC/USDT", "adopt", who="ann")
        result = await controls.resolve("BTC/USDT", "flatten", who="ann")
        assert "flattened" in result
    # b's short is bought back; the other instance's 5 contracts stay short.
    assert -sum_of(sim.ledgers().gateio) == pytest.approx(5 * contract)


def sum_of(entries) -> float:
    """The account's net holding of BTC from a venue's fills (buys less sales)."""
    return sum(
        (e.fill.qty if e.fill.side is Side.BUY else -e.fill.qty)
        for e in entries
        if isinstance(e, FillExecuted) and e.fill.symbol == BTC
    )
