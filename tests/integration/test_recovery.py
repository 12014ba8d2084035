"""A system stopped and started again resumes its strategies from the store, against
venues that kept their state meanwhile."""

from __future__ import annotations

import time

import msgspec
import pytest
import trio

from actors.arbitrage.context import ArbitrageState, new_context
from actors.cli.paper import open_paper_system
from actors.runtime.controls import ControlRefused
from actors.runtime.ops.status import build_status
from actors.runtime.persistence.store import (
    IntentRecord,
    OrderEventRecord,
    SnapshotRecord,
    Store,
)
from actors.runtime.recovery import Recovery
from actors.sim.ledger import FillExecuted
from actors.sim.servers import SimServers
from actors.system_config import SystemConfig
from protocols.messages import ReconcileOrder
from protocols.model import Leg, Order, OrderType, Side, Symbol
from supervision import Mailbox
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


def venue_net(entries, symbol) -> float:
    return sum(
        (e.fill.qty if e.fill.side is Side.BUY else -e.fill.qty)
        for e in entries
        if isinstance(e, FillExecuted) and e.fill.symbol == symbol
    )


async def test_a_restarted_system_resumes_the_open_position_and_closes_it(nursery, tmp_path):
    sim = SimServers(config().simulated())
    urls = await nursery.start(sim.run)
    async with open_paper_system(config(), tmp_path, venues=urls) as first:
        [handle] = first.strategies.values()
        await wait_until(lambda: handle.actor.ctx.state is ArbitrageState.POSITION_OPEN, 20)
        held = handle.actor.ctx.positions
        task_id = handle.task_id
    async with open_paper_system(config(), tmp_path, venues=urls) as second:
        [handle] = second.strategies.values()
        assert handle.task_id == task_id
        assert handle.actor.ctx.state is ArbitrageState.POSITION_OPEN
        assert handle.actor.ctx.positions == held
        sim.dislocate(BTC, -0.015)
        await wait_until(lambda: handle.actor.ctx.arbitrage_cycles == 1, 20)
        assert handle.actor.ctx.positions.spot.qty == 0.0
    ledgers = sim.ledgers()
    assert abs(venue_net(ledgers.mexc, BTC)) < 1e-12
    assert abs(venue_net(ledgers.gateio, BTC)) < 1e-12


async def test_without_recovery_a_new_task_starts(nursery, tmp_path):
    sim = SimServers(config().simulated())
    urls = await nursery.start(sim.run)
    async with open_paper_system(config(), tmp_path, venues=urls) as first:
        [old] = first.strategies
        await trio.sleep(1.0)  # a distinct start time makes a distinct task id
    async with open_paper_system(config(), tmp_path, venues=urls, recover=False) as second:
        [new] = second.strategies
    assert new != old


async def test_a_snapshot_that_does_not_decode_holds_its_symbol_until_the_operator_forgets_it(
    nursery, tmp_path
):
    sim = SimServers(config().simulated())
    urls = await nursery.start(sim.run)
    store = Store(tmp_path / "basis.db")
    store.write_batch(
        [
            SnapshotRecord(
                "btc_broken",
                "spot_futures_arbitrage",
                "BTC/USDT",
                "position_open",
                b'{"task_id": 3',
                1.0,
                False,
            )
        ],
        [],
        [],
    )
    store.close()
    async with open_paper_system(config(), tmp_path, venues=urls) as system:
        # Whatever position the record held, nothing trades on top of it.
        assert system.strategies == {}
        assert [(q.task_id, q.symbol) for q in system.quarantined] == [("btc_broken", "BTC/USDT")]
        await wait_until(lambda: system.store_counts.get("quarantined") == 1, 20)
        persistence = build_status(system).persistence
        assert persistence.quarantined == 1
        assert persistence.quarantine_reasons[0].startswith("btc_broken: snapshot does not")
        [listed] = await system.controls.quarantine_list()
        assert (listed.symbol, listed.record_spot_qty) == ("BTC/USDT", None)
        with pytest.raises(ControlRefused, match="close the position at the venues by hand"):
            await system.controls.resolve("BTC/USDT", "flatten", who="ann")
        assert "trades it" in await system.controls.resolve("BTC/USDT", "forget", who="ann")
        [handle] = system.strategies.values()
        assert handle.task_id != "btc_broken"
        assert system.quarantined == []
        assert not any(s.key.startswith("quarantine") for s in build_status(system).health_signals)
    store = Store(tmp_path / "basis.db")
    assert store.quarantined() == []
    assert store.task("btc_broken").snapshot == b'{"task_id": 3'  # kept for inspection
    store.close()


async def test_a_paper_run_does_not_resume_positions_its_new_venues_never_held(tmp_path):
    async with open_paper_system(config(), tmp_path) as first:
        [handle] = first.strategies.values()
        await wait_until(lambda: handle.actor.ctx.state is ArbitrageState.POSITION_OPEN, 20)
    async with open_paper_system(config(), tmp_path) as second:
        [fresh] = second.strategies.values()
        assert fresh.task_id != handle.task_id
        assert fresh.actor.ctx.positions.spot.qty == 0.0
    store = Store(tmp_path / "basis.db")
    assert store.task(handle.task_id).state == "abandoned"
    store.close()


async def test_a_record_the_venues_contradict_is_quarantined_and_the_rest_trades(nursery, tmp_path):
    two = msgspec.structs.replace(config(), symbols=("BTC/USDT", "ETH/USDT"))
    sim = SimServers(two.simulated())
    urls = await nursery.start(sim.run)
    async with open_paper_system(two, tmp_path, venues=urls) as first:
        btc = next(h for h in first.strategies.values() if h.symbol == BTC)
        # Both settled, so that nothing is in flight when this run stops.
        await wait_until(
            lambda: all(
                h.actor.ctx.state is ArbitrageState.POSITION_OPEN for h in first.strategies.values()
            ),
            20,
        )
    # Someone trades the account by hand while Basis is down: the short grows.
    sim.venues.futures.place_order(BTC, Side.SELL, OrderType.MARKET, 5, now=sim.clock.now())
    async with open_paper_system(two, tmp_path, venues=urls) as second:
        assert [h.symbol for h in second.strategies.values()] == [Symbol("ETH", "USDT")]
        [quarantined] = second.quarantined
        assert quarantined.task_id == btc.task_id
        assert "contradicts the venues: the futures short is" in quarantined.reason
        eth = next(iter(second.strategies.values()))
        assert eth.actor.ctx.state is ArbitrageState.POSITION_OPEN  # restored, not touched
        await wait_until(lambda: eth.actor.spot is not None and eth.actor.futures is not None, 20)


async def test_orders_in_flight_are_handed_over_with_the_venue_ids_the_journal_holds(tmp_path):
    """An order the venue acknowledged before the stop is settled by its venue id: Gate.io
    finds an order by its client id only until a minute after it ended."""
    acknowledged = Order("btc_t1-1f", Leg.FUTURES, BTC, Side.SELL, 0.001, 60_000.0)
    unanswered = Order("btc_t1-2s", Leg.SPOT, BTC, Side.BUY, 0.001, 60_000.0)
    ctx = msgspec.structs.replace(
        new_context("btc_t1", BTC, now=1.0),
        active_orders={
            "futures": {acknowledged.client_id: acknowledged},
            "spot": {unanswered.client_id: unanswered},
        },
    )
    store = Store(tmp_path / "basis.db")
    intents = [
        IntentRecord(
            o.client_id, "btc_t1", "venue", o.leg.value, "BTC/USDT", "buy", 0.001, 1.0, 1.0
        )
        for o in (acknowledged, unanswered)
    ]
    accepted = OrderEventRecord(
        acknowledged.client_id, "accepted", b"", 2.0, "new", venue_order_id="77"
    )
    store.write_batch([], intents, [accepted])
    store.close()
    recovery = Recovery(tmp_path / "basis.db", None, {}, {})  # type: ignore[arg-type]
    spot, futures = Mailbox("spot-router"), Mailbox("futures-router")
    await recovery.reconcile_in_flight(ctx, {Leg.SPOT: spot.address, Leg.FUTURES: futures.address})
    assert futures.receive_nowait() == ReconcileOrder(
        Leg.FUTURES, acknowledged.client_id, BTC, "77"
    )
    assert spot.receive_nowait() == ReconcileOrder(Leg.SPOT, unanswered.client_id, BTC, None)


async def test_a_snapshot_from_before_instance_ids_restores_and_its_orders_are_settled(
    nursery, tmp_path
):
    """A store an older Basis wrote: its snapshot has no instance, its orders in flight
    carry ids without one. They are settled by those ids; new orders carry the instance."""
    now = time.time()
    old = [
        Order("btc_old1-1s", Leg.SPOT, BTC, Side.BUY, 0.001, 60_000.0),
        Order("btc_old1-2f", Leg.FUTURES, BTC, Side.SELL, 0.001, 60_000.0),
    ]
    ctx = msgspec.structs.replace(
        new_context("btc_old1", BTC, now=now),
        state=ArbitrageState.ENTERING,
        active_orders={o.leg.value: {o.client_id: o} for o in old},
        order_seq=2,
        deadline=now + 5.0,
    )
    snapshot = msgspec.json.decode(msgspec.json.encode(ctx))
    del snapshot["instance"]
    store = Store(tmp_path / "basis.db")
    record = SnapshotRecord(
        "btc_old1", ctx.task_type, "BTC/USDT", "entering", msgspec.json.encode(snapshot), now, False
    )
    store.write_batch([record], [], [])
    store.close()
    eager = msgspec.convert(
        {"symbols": ["BTC/USDT"], "http": {"port": 0}, "strategy": {"cooldown_s": 0.0}},
        SystemConfig,
    )
    sim = SimServers(eager.simulated())
    urls = await nursery.start(sim.run)
    async with open_paper_system(eager, tmp_path, venues=urls) as system:
        [handle] = system.strategies.values()
        assert handle.task_id == "btc_old1" and not system.quarantined
        assert handle.actor.ctx.instance == system.instance
        # Neither reached the venue: both are reported so, and the entry ends.
        await wait_until(lambda: not handle.actor.ctx.active_orders, 20)
        await wait_until(lambda: handle.actor.ctx.state is ArbitrageState.POSITION_OPEN, 20)
        placed = [c for links in system.venues.values() for c in links.router.orders]
        assert all(
            c.endswith(f"-{system.instance}") for c in placed if not c.startswith("btc_old1-")
        )
        assert any(c.endswith(f"-{system.instance}") for c in placed)
