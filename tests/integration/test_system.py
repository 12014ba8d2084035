"""The whole system on loopback: manager, simulated venues, feeds, routers, strategies,
writer, status endpoint."""

from __future__ import annotations

import time
from functools import partial

import httpx
import msgspec
import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

from actors.arbitrage.context import ArbitrageState
from actors.cli.paper import paper_system
from actors.runtime.config import VenuesSection
from actors.runtime.ops.status import build_status
from actors.runtime.ops.status_server import serve_status
from actors.runtime.persistence.store import Store
from actors.runtime.system import SymbolLocked, TradingSystem
from actors.sim.ledger import FillExecuted, FundingSettled
from actors.sim.servers import SimServers
from actors.system_config import SystemConfig
from protocols.history import SeriesPoint
from protocols.messages import TradeRecord
from protocols.model import Side, Symbol
from tests.integration.paper_runs import paper_run
from tests.integration.polling import wait_until
from tests.unit.actors.test_metrics import FAMILIES, RISK_FAMILIES

BTC = Symbol("BTC", "USDT")
ETH = Symbol("ETH", "USDT")


def paper(cooldown_s: float = 0.0) -> SystemConfig:
    return msgspec.convert(
        {
            "symbols": ["BTC/USDT", "ETH/USDT"],
            "http": {"port": 0},
            "strategy": {"base_position_size_usdt": 200.0, "cooldown_s": cooldown_s},
        },
        SystemConfig,
    )


def fills_pnl(fills: list[FillExecuted]) -> float:
    """What a venue's fills imply in USDT: proceeds of sells minus the cost of buys, fees out."""
    total = 0.0
    for entry in fills:
        fill = entry.fill
        value = fill.qty * fill.price
        total += value if fill.side is Side.SELL else -value
        total -= fill.fee
    return total


def old_series(store_path) -> list[SeriesPoint]:
    """Two minutes of points a second, three days ago: older than the series is kept whole."""
    start = (time.time() // 60.0 - 3 * 24 * 60) * 60.0
    points = [SeriesPoint("BTC/USDT", start + s, 0.3) for s in range(120)]
    with Store(store_path) as store:
        store.write_batch((), (), (), points)
    return points


async def test_a_cycle_completes_and_its_pnl_is_what_the_venues_filled(tmp_path):
    old = old_series(tmp_path / "basis.db")
    config = paper(cooldown_s=3600.0)
    config = msgspec.structs.replace(
        config,
        persistence=msgspec.structs.replace(config.persistence, series_interval_s=0.2),
    )
    # A long cooldown keeps the strategy from entering again, so the ledgers hold one cycle.
    async with paper_run(config, tmp_path) as (system, sim):
        btc = next(h for h in system.strategies.values() if h.symbol == BTC)
        await wait_until(lambda: btc.actor.ctx.state is ArbitrageState.POSITION_OPEN, 20)
        # A point of the series sampled on the open position.
        opened = time.time()
        sampler = btc.actor.series
        await wait_until(lambda: sampler.next_at >= opened + sampler.interval_s, 20)
        # The perpetual drops 1.5 % below spot: the short gains, the exit is profitable.
        sim.dislocate(BTC, -0.015)
        await wait_until(lambda: btc.actor.ctx.arbitrage_cycles == 1, 20)
        ctx = btc.actor.ctx
        assert ctx.state is ArbitrageState.MONITORING
        ledgers = sim.ledgers()
        spot_fills = [
            e for e in ledgers.mexc if isinstance(e, FillExecuted) and e.fill.symbol == BTC
        ]
        futures_fills = [
            e for e in ledgers.gateio if isinstance(e, FillExecuted) and e.fill.symbol == BTC
        ]
        assert ctx.positions.spot.qty == ctx.positions.futures.qty == 0.0
        assert len(spot_fills) >= 2 and len(futures_fills) >= 2
        # Funding the venue settled on the short (when the run spans a settlement time)
        # is in the P&L too, as far as the ledger has been read.
        until = ctx.funding_applied_until
        funding = sum(
            e.payment.amount
            for e in ledgers.gateio
            if isinstance(e, FundingSettled)
            and e.payment.symbol == BTC
            and until is not None
            and ctx.created_at <= e.payment.ts <= until
        )
        assert ctx.funding_usdt == pytest.approx(funding)
        implied = fills_pnl(spot_fills) + fills_pnl(futures_fills) + funding
        assert ctx.realized_pnl_usdt == pytest.approx(implied, abs=1e-6)
        assert ctx.realized_pnl_usdt > 0
        status = build_status(system)
        task = next(t for t in status.tasks if t.symbol == "BTC/USDT")
        assert task.cycles >= 1
    # State was written: the store knows both tasks and their last snapshots.
    store = Store(tmp_path / "basis.db")
    assert sorted(row.symbol for row in store.tasks()) == ["BTC/USDT", "ETH/USDT"]
    journaled = {order.client_id for order in store.orders(btc.task_id)}
    venue_ids = {e.order.client_id for e in ledgers.mexc if type(e).__name__ == "OrderAccepted"}
    assert {c for c in venue_ids if c.startswith(f"{btc.task_id}-")} <= journaled
    # What the venues said of each order was appended: none is left open in the journal.
    assert store.open_orders(btc.task_id) == []
    filled = [o for o in store.orders(btc.task_id) if o.status == "filled"]
    assert len(filled) >= 4 and all(o.filled_qty > 0 and o.venue_order_id for o in filled)
    # The history: the cycle's record, and each symbol's series, the open position valued.
    db = store._db
    records = [msgspec.json.decode(r, type=TradeRecord) for (r,) in db.execute(
        "SELECT record FROM cycles")]  # fmt: skip
    assert ctx.last_trade in records
    # The cycle's P&L decomposes exactly, and its fills are the venues' own, each with
    # the price it was decided on and its fee.
    trade = ctx.last_trade
    assert trade is not None and (trade.task_id, trade.cycle) == (btc.task_id, 1)
    assert abs(trade.decomposed_usdt - trade.pnl_usdt) <= 1e-9
    kept_fills = db.execute(
        "SELECT client_id, leg, qty, price, decision_price, fee_usdt FROM fills "
        "WHERE task_id = ? AND cycle = 1",
        (btc.task_id,),
    ).fetchall()
    venue_fills = [e.fill for e in (*spot_fills, *futures_fills)]
    # (Gate.io keeps a client id as its order's text, "t-" before it.)
    assert sorted((c, q, p) for c, _, q, p, _, _ in kept_fills) == sorted(
        (f.client_id.removeprefix("t-"), f.qty, f.price) for f in venue_fills if f.client_id
    )
    assert all(d > 0 for *_, d, _ in kept_fills)
    for leg, fees in (("spot", trade.spot_fees_usdt), ("futures", trade.futures_fees_usdt)):
        assert sum(f for _, lg, *_, f in kept_fills if lg == leg) == pytest.approx(fees, abs=1e-9)
    recent = old[-1].ts + 1.0
    rows = db.execute(
        "SELECT symbol, ts, pnl_usdt, unrealized_usdt FROM series WHERE ts > ?", (recent,)
    ).fetchall()
    assert {symbol for symbol, *_ in rows} == {"BTC/USDT", "ETH/USDT"}
    held = [(pnl, unrealized) for symbol, _, pnl, unrealized in rows if pnl is not None]
    assert held and all(unrealized is not None for _, unrealized in held)
    # The old points were thinned to a minute as the system started.
    (kept,) = db.execute("SELECT count(*) FROM series WHERE ts < ?", (recent,)).fetchone()
    assert kept == 2
    store.close()


def check_metrics(text: str, system: TradingSystem) -> None:
    """``/metrics`` as Prometheus reads it: every family with its type, one series per
    feed, router, task and mailbox, and values a running system can have."""
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert {name: f.type for name, f in families.items()} == FAMILIES | RISK_FAMILIES

    def values(name: str, label: str) -> dict[str, float]:
        return {s.labels[label]: s.value for s in families[name].samples if label in s.labels}

    assert [s.value for s in families["basis_up"].samples] == [1.0]
    quotes = values("basis_quotes_received", "feed")
    assert set(quotes) == {"feed-mexc", "feed-gateio_futures"}
    assert all(count > 0 for count in quotes.values())
    assert set(values("basis_fills", "router")) == {"router-mexc", "router-gateio_futures"}
    outcomes = {s.labels["outcome"] for s in families["basis_orders"].samples}
    assert outcomes == {"accepted", "rejected", "unknown_resolved", "rate_limited"}
    task_ids = set(system.strategies)
    assert set(values("basis_decisions", "task")) == task_ids
    assert all(count > 0 for count in values("basis_decisions", "task").values())
    assert values("basis_restarts", "task") == dict.fromkeys(task_ids, 0.0)
    depths = values("basis_mailbox_depth", "mailbox")
    assert {"writer", "router-mexc", "router-gateio_futures"} <= set(depths)
    assert all(depth >= 0 for depth in depths.values())
    for task_id in task_ids:
        series = [
            s for s in families["basis_decision_lag_seconds"].samples if s.labels["task"] == task_id
        ]
        buckets = [s.value for s in series if s.name.endswith("_bucket")]
        [count] = [s.value for s in series if s.name.endswith("_count")]
        assert buckets == sorted(buckets)  # cumulative
        assert buckets[-1] == count
        assert [s.labels["le"] for s in series if s.name.endswith("_bucket")][-1] == "+Inf"


async def test_status_health_and_metrics_answer(tmp_path):
    # A spot stall is declared after 2 s, not the default 10: the wait for it below.
    config = msgspec.structs.replace(
        paper(),
        venues=msgspec.convert({"spot": {"kind": "mexc", "stale_after_s": 2.0}}, VenuesSection),
    )
    async with paper_run(config, tmp_path) as (system, sim), trio.open_nursery() as nursery:
        port = await nursery.start(serve_status, system, 0)
        handles = list(system.strategies.values())
        await wait_until(
            lambda: all(
                f.status.state == "fresh"
                for f in (feed for links in system.venues.values() for feed in links.feeds)
            ),
            20,
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            health = await client.get("/health")
            assert health.status_code == 200
            status = (await client.get("/status")).json()
            assert {t["symbol"] for t in status["tasks"]} == {"BTC/USDT", "ETH/USDT"}
            for task in status["tasks"]:
                assert set(task) >= {
                    "task_id",
                    "type",
                    "symbol",
                    "state",
                    "cycles",
                    "total_volume_usdt",
                    "realized_pnl_usdt",
                    "restarts",
                    "last_error",
                }
            assert status["tree"]["name"] == "basis"
            assert {"feeds", "routers", "persistence"} <= set(status)
            await wait_until(lambda: all(h.actor.decisions > 0 for h in handles), 20)
            scraped = await client.get("/metrics")
            assert scraped.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
            check_metrics(scraped.text, system)
            sim.mexc.stall_websockets(30.0)
            mexc_feed = system.venues[next(iter(system.venues))].feeds[0]
            # Declared stalled and reconnecting (not a depth resync, which may come and go
            # between two looks), and so until the stall ends.
            await wait_until(lambda: mexc_feed.status.state == "reconnecting", 20)
            unhealthy = await client.get("/health")
            assert unhealthy.status_code == 503
            assert "feed-mexc" in unhealthy.json()["reason"]
        nursery.cancel_scope.cancel()


async def test_a_crashing_strategy_is_restarted_while_the_others_trade(tmp_path):
    async with paper_run(paper(), tmp_path) as (system, _sim):
        btc = next(h for h in system.strategies.values() if h.symbol == BTC)
        eth = next(h for h in system.strategies.values() if h.symbol == ETH)
        # Deciding on quotes (a liveness change alone is a decision too).
        await wait_until(lambda: eth.actor.decisions > 0 and eth.actor.spot is not None, 20)
        # A message the machine has no rule for: the actor fails, as a bug would make it.
        await btc.mailbox.send(object())

        def btc_restarts() -> int:
            return next(t.restarts for t in build_status(system).tasks if t.symbol == "BTC/USDT")

        await wait_until(lambda: btc_restarts() == 1, 20)
        # ETH kept taking quotes meanwhile, and BTC takes them again.
        seen = eth.actor.spot.recv_ts
        await wait_until(lambda: eth.actor.spot.recv_ts > seen, 20)
        btc_seen = btc.actor.spot.recv_ts if btc.actor.spot else 0.0
        await wait_until(
            lambda: btc.actor.spot is not None and btc.actor.spot.recv_ts > btc_seen, 20
        )
        status = build_status(system)
        [btc_status] = [t for t in status.tasks if t.symbol == "BTC/USDT"]
        assert btc_status.restarts == 1
        assert "TypeError" in (btc_status.last_error or "")
        assert status.tree.state == "running"


async def test_a_second_strategy_on_a_traded_symbol_is_refused(tmp_path):
    async with paper_run(paper(), tmp_path) as (system, _sim):
        [btc] = [h for h in system.strategies.values() if h.symbol == BTC]
        with pytest.raises(
            SymbolLocked,
            match=rf"BTC/USDT on mexc/gateio_futures is already traded by task {btc.task_id}",
        ):
            await system.add_strategy(BTC)


async def test_a_strategy_is_stopped_removed_and_its_completed_task_cleaned_up(tmp_path):
    from protocols.messages import OperatorAction

    async with paper_run(paper(), tmp_path) as (system, _sim):
        [eth] = [h for h in system.strategies.values() if h.symbol == ETH]
        await system.command(eth.task_id, OperatorAction.PAUSE)
        await wait_until(lambda: eth.actor.ctx.paused_reason is not None, 20)
        await system.command(eth.task_id, OperatorAction.STOP)
        await wait_until(lambda: eth.actor.ctx.state is ArbitrageState.STOPPED, 30)
        await system.remove_strategy(eth.task_id)
        assert eth.task_id not in system.strategies
        # Removed, its STOPPED snapshot is stored: the symbol starts afresh, not revived.
        new_id = await system.add_strategy(ETH)  # the symbol is free again
        assert new_id != eth.task_id
        assert await system.cleanup(max_age_s=3600.0) == 0  # completed just now: kept
        assert await system.cleanup(max_age_s=0.0) == 1
    store = Store(tmp_path / "basis.db")
    assert eth.task_id not in {row.task_id for row in store.tasks()}
    store.close()


async def test_crash_injection_crashes_the_named_actor_only_when_allowed(tmp_path):
    async with paper_run(paper(), tmp_path) as (system, _sim), trio.open_nursery() as nursery:
        allowed = await nursery.start(partial(serve_status, crash_injection=True), system, 0)
        closed = await nursery.start(serve_status, system, 0)
        task_id = next(iter(system.strategies))
        async with httpx.AsyncClient() as client:
            refused = await client.post(
                f"http://127.0.0.1:{closed}/faults/crash", json={"actor": "writer"}
            )
            assert refused.status_code == 405
            url = f"http://127.0.0.1:{allowed}/faults/crash"
            for actor in (f"strategy-{task_id}", "router-mexc"):
                reply = await client.post(url, json={"actor": actor})
                assert reply.json() == {"crashed": actor}

            def restarts(name):
                tree = build_status(system).tree
                return next(c for path, c in tree.walk() if path.endswith(f"/{name}"))

            await wait_until(lambda: restarts(f"strategy-{task_id}").restarts == 1, 10)
            await wait_until(lambda: restarts("router-mexc").restarts == 1, 10)
            await wait_until(lambda: restarts("router-mexc").state.value == "running", 10)
            assert "InjectedCrash" in (restarts("router-mexc").last_error or "")
            # A writer crash restarts the writer alone: the others reach it by its
            # mailbox, which waits for the next writer, so none of them has to restart.
            before = build_status(system)
            reply = await client.post(url, json={"actor": "writer"})
            assert reply.json() == {"crashed": "writer"}
            await wait_until(lambda: restarts("writer").restarts == 1, 10)
            await wait_until(lambda: restarts("writer").state.value == "running", 10)
            after = build_status(system)
            assert [(f.name, f.connects) for f in after.feeds] == [
                (f.name, f.connects) for f in before.feeds
            ]
            assert {p: c.restarts for p, c in after.tree.walk() if p != "basis/writer"} == {
                p: c.restarts for p, c in before.tree.walk() if p != "basis/writer"
            }
            unknown = await client.post(url, json={"actor": "nobody"})
            assert unknown.status_code == 400
            assert "no actor 'nobody'" in unknown.json()["error"]
            malformed = await client.post(url, content=b"{")
            assert malformed.status_code == 400
            assert '{"actor": NAME}' in malformed.json()["error"]
        nursery.cancel_scope.cancel()


async def test_a_stop_asked_for_while_strategies_are_starting_ends_the_start_quietly(tmp_path):
    # A SIGINT may come at any moment of a start: here, just as the first strategy is added.
    config = paper()
    async with trio.open_nursery() as nursery:
        sim = SimServers(config.simulated())
        urls = await nursery.start(sim.run)
        system = paper_system(config, tmp_path, urls)
        add_strategy = system.add_strategy

        async def stopped_first(symbol: Symbol) -> str:
            system.request_stop()
            return await add_strategy(symbol)

        system.add_strategy = stopped_first  # type: ignore[method-assign]
        with trio.fail_after(30):
            await nursery.start(system.run)  # no SupervisorNotRunning from the start
            await system.stopped.wait()
        assert system.root.snapshot().state == "stopped"
        await system.aclose()
        nursery.cancel_scope.cancel()
