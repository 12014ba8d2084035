"""Instances sharing the symbols over a real PostgreSQL store, trading on simulated venues
they share, all on loopback in this process: the symbols split evenly, a graceful stop
hands its symbols over with their tasks, a lease lost stops its symbol and fences its
writes off, and the orders carry their lease's epoch."""

from __future__ import annotations

import math
from contextlib import AsyncExitStack
from itertools import pairwise

import msgspec
import psycopg
import pytest
import trio

from actors.chaos.db_proxy import DbProxy, through, upstream_of
from actors.runtime.system import TradingSystem, running
from actors.sim.servers import SimServers
from actors.system_config import SystemConfig
from protocols.client_ids import client_order_id, epoch_tag, parse_client_id
from protocols.model import Leg, OrderStatus, OrderType, Side, Symbol
from supervision.supervisor import SupervisorNotRunning
from tests.integration.polling import wait_until

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"]
TTL_S = 3.0
RENEW_S = 0.5
DSN_ENV = "BASIS_TEST_CLUSTER_DSN"


def cluster_config(name: str) -> SystemConfig:
    return msgspec.convert(
        {
            "symbols": SYMBOLS,
            "http": {"port": 0},
            "strategy": {"base_position_size_usdt": 200.0},
            "persistence": {"backend": "postgresql", "dsn_env": DSN_ENV},
            "cluster": {
                "name": name,
                "capacity": len(SYMBOLS),
                "lease_ttl_s": TTL_S,
                "renew_every_s": RENEW_S,
            },
        },
        SystemConfig,
    )


def instance(name: str, urls, tmp_path) -> TradingSystem:
    config = cluster_config(name)
    return TradingSystem(
        config.at_simulated_venues(urls),
        tmp_path / name,
        credentials=config.simulated_credentials(),
    )


def held(system: TradingSystem) -> set[str]:
    return {str(handle.symbol) for handle in system.strategies.values()}


@pytest.fixture
def shared_dsn(postgres_dsn, monkeypatch):
    monkeypatch.setenv(DSN_ENV, postgres_dsn)
    return postgres_dsn


async def test_instances_split_the_symbols_and_a_graceful_stop_hands_them_over(
    shared_dsn, tmp_path
):
    sim = SimServers(cluster_config("sim").simulated())
    async with trio.open_nursery() as nursery, AsyncExitStack() as stack:
        urls = await nursery.start(sim.run)
        a = await stack.enter_async_context(running(instance("node-a", urls, tmp_path)))
        async with running(instance("node-b", urls, tmp_path)) as b:
            await wait_until(lambda: len(held(a)) == 2 and len(held(b)) == 2, 20)
            assert held(a).isdisjoint(held(b))
            b_tasks = {str(h.symbol): h.task_id for h in b.strategies.values()}
            b_epochs = dict(b.keeper.epochs())
            # Each strategy makes its orders under its lease's epoch.
            for handle in b.strategies.values():
                assert handle.actor.ctx.instance == epoch_tag(b_epochs[str(handle.symbol)])
        # node-b stopped: its symbols are handed back and node-a takes them over, their
        # tasks restored from the shared store, under new epochs.
        await wait_until(lambda: held(a) == set(SYMBOLS), 10)
        taken = {str(h.symbol): h for h in a.strategies.values() if str(h.symbol) in b_tasks}
        assert {s: h.task_id for s, h in taken.items()} == b_tasks
        for symbol, handle in taken.items():
            epoch = a.keeper.epochs()[symbol]
            assert epoch > b_epochs[symbol]
            assert handle.actor.ctx.instance == epoch_tag(epoch)
        status = a.statistics().cluster
        assert status is not None and status.renewal_failing is None
        assert set(status.held) == set(SYMBOLS)
        nursery.cancel_scope.cancel()
    with psycopg.connect(shared_dsn) as db:
        # Every lease handed back at the stops; no symbol ever granted twice at once.
        assert db.execute("SELECT count(*) FROM leases WHERE holder IS NOT NULL").fetchone() == (0,)
        spans = db.execute(
            "SELECT symbol, granted_at, ended_at FROM lease_grants ORDER BY symbol, epoch"
        ).fetchall()
    for (s1, _, end1), (s2, start2, _) in pairwise(spans):
        if s1 == s2:
            assert end1 is not None and end1 <= start2


async def test_a_lease_taken_away_stops_its_symbol_and_the_store_refuses_its_writes(
    shared_dsn, tmp_path
):
    sim = SimServers(cluster_config("sim").simulated())
    async with trio.open_nursery() as nursery:
        urls = await nursery.start(sim.run)
        async with running(instance("node-a", urls, tmp_path)) as a:
            await wait_until(lambda: held(a) == set(SYMBOLS), 20)
            btc = next(h for h in a.strategies.values() if str(h.symbol) == "BTC/USDT")
            epoch = a.keeper.epochs()["BTC/USDT"]
            # Another instance holds BTC's lease now (as after an expiry and a claim).
            with psycopg.connect(shared_dsn, autocommit=True) as db:
                db.execute(
                    "INSERT INTO cluster_instances (name, instance_id, capacity) "
                    "VALUES ('intruder', 'zzzz', 1)"
                )
                db.execute(
                    "UPDATE leases SET holder = 'intruder', epoch = nextval('lease_epochs'), "
                    "expires_at = clock_timestamp() + interval '1 hour' "
                    "WHERE symbol = 'BTC/USDT'"
                )
            # Meanwhile its writes are refused: a snapshot of the old epoch lands nowhere.
            a.writer_client.save(btc.actor.ctx.evolve(last_update=123.0))
            await a.writer_client.flush()
            await wait_until(lambda: "BTC/USDT" not in held(a), RENEW_S * 4)
            assert held(a) == set(SYMBOLS) - {"BTC/USDT"}
            assert a.writer.statistics().fenced >= 1
            with psycopg.connect(shared_dsn) as db:
                (updated,) = db.execute(
                    "SELECT updated_at FROM tasks WHERE task_id = %s", (btc.task_id,)
                ).fetchone()
                orders = db.execute(
                    "SELECT client_id, epoch FROM orders WHERE symbol = 'BTC/USDT'"
                ).fetchall()
            assert updated != 123.0
            for client_id, order_epoch in orders:
                assert order_epoch <= epoch
                assert parse_client_id(client_id).instance == epoch_tag(order_epoch)
        nursery.cancel_scope.cancel()


async def test_a_takeover_cancels_the_orders_of_earlier_grants_and_leaves_other_instances(
    shared_dsn, tmp_path
):
    sim = SimServers(cluster_config("sim").simulated())
    btc = Symbol("BTC", "USDT")
    tick = sim.venues.spot.rules(btc).price_tick

    def rest(client_id: str):
        price = math.floor(sim.venues.market.spot_mid(btc) * 0.9 / tick) * tick
        return sim.venues.spot.place_order(
            btc, Side.BUY, OrderType.LIMIT, 0.001, price=price, client_id=client_id,
            now=sim.clock.now(),
        )  # fmt: skip

    async with trio.open_nursery() as nursery:
        urls = await nursery.start(sim.run)
        async with running(instance("node-a", urls, tmp_path)) as a:
            await wait_until(lambda: "BTC/USDT" in held(a), 20)
            [handle] = [h for h in a.strategies.values() if str(h.symbol) == "BTC/USDT"]
            first = a.keeper.epochs()["BTC/USDT"]
            # An order of node-a's grant left resting (as a crash could leave it), and one
            # of an instance outside the cluster trading BTC on the same account.
            ours = rest(client_order_id(handle.task_id, 900, Leg.SPOT, epoch_tag(first)))
            theirs = rest(client_order_id("btc_alone", 1, Leg.SPOT, "k3x9"))
        async with running(instance("node-b", urls, tmp_path)) as b:
            await wait_until(lambda: "BTC/USDT" in held(b), 20)
            assert b.keeper.epochs()["BTC/USDT"] > first

            def status(placed):
                return sim.venues.spot.order(
                    venue_order_id=placed.venue_order_id, now=sim.clock.now()
                ).status

            await wait_until(lambda: status(ours) is OrderStatus.CANCELLED, 10)
            assert status(theirs) is OrderStatus.NEW
            assert [o.instance for o in b.other_instances[btc]] == ["k3x9"]
        nursery.cancel_scope.cancel()


async def test_an_instance_waits_for_a_database_that_does_not_answer_yet(
    postgres_dsn, monkeypatch, tmp_path
):
    proxy = DbProxy(upstream_of(postgres_dsn))
    sim = SimServers(cluster_config("sim").simulated())
    async with trio.open_nursery() as nursery:
        urls = await nursery.start(sim.run)
        port = await nursery.start(proxy.run)
        proxy.cut()  # connections taken, never answered: a network partition
        dsn = f"{through(postgres_dsn, port)} connect_timeout=2"
        monkeypatch.setenv(DSN_ENV, dsn)
        system = instance("node-a", urls, tmp_path)
        async with trio.open_nursery() as starting:
            starting.start_soon(system.run)
            await trio.sleep(3.0)  # a connection attempt times out meanwhile
            assert not system.started.is_set() and not system.strategies
            proxy.restore()
            await wait_until(lambda: held(system) == set(SYMBOLS), 20)
            system.request_stop()
        await system.aclose()
        nursery.cancel_scope.cancel()


async def test_a_takeover_whose_supervisor_is_not_running_leaves_nothing_behind(
    shared_dsn, tmp_path
):
    sim = SimServers(cluster_config("sim").simulated())
    async with trio.open_nursery() as nursery:
        urls = await nursery.start(sim.run)
        async with running(instance("node-a", urls, tmp_path)) as a:
            await wait_until(lambda: "XRP/USDT" in held(a), 20)
            epoch = a.keeper.epochs()["XRP/USDT"]
            await a.stop_symbol("XRP/USDT", lease_over=False)
            wired = (set(a.owners), {s: list(m) for s, m in a.subscribers.items()})

            async def stopped(spec, *, stopping: bool) -> None:
                a.stop_requested = stopping
                raise SupervisorNotRunning("supervisor 'strategies' stopped")

            # Restarting (not stopping): the lease is let go of, to be taken over afresh.
            a.strategies_supervisor.add_child = lambda spec: stopped(spec, stopping=False)
            assert await a.start_symbol("XRP/USDT", epoch) is False
            # The stop came while it was being taken over: handed back with the others.
            a.strategies_supervisor.add_child = lambda spec: stopped(spec, stopping=True)
            assert await a.start_symbol("XRP/USDT", epoch) is True
            assert "XRP/USDT" not in held(a)
            assert (set(a.owners), {s: list(m) for s, m in a.subscribers.items()}) == wired
        nursery.cancel_scope.cancel()
