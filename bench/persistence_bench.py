"""Persistence: journal commit and snapshot latency through the writer actor, the journal's
wait with 200 strategies trading in one process, and the time to recover 100 strategies
with open positions.

Run: ``.venv/bin/python -m bench.persistence_bench`` (``--load`` for the 200-strategy load
alone)
"""

from __future__ import annotations

import logging
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import attrs
import msgspec
import trio

from actors.arbitrage.context import ArbitrageContext, ArbitrageState, new_context
from actors.arbitrage.machine import on_market
from actors.cli.paper import open_paper_system
from actors.runtime.persistence.store import OrderEventRecord, Store
from actors.runtime.persistence.writer import WRITER_MAILBOX, Writer, WriterClient
from actors.runtime.system import StrategyHandle, TradingSystem
from actors.sim.servers import SimServers
from actors.system_config import SystemConfig
from bench.stats import percentile
from protocols.history import FillRecord, SeriesPoint
from protocols.model import Leg, Order, Quote, Side, Symbol
from supervision import ChildSpec, Mailbox, Supervisor

COMMITS = 2000
TASKS = 100


async def journal_latency(data_dir: Path) -> str:
    mailbox = Mailbox("writer")
    writer = Writer(data_dir / "bench.db")
    client = WriterClient(mailbox.address)
    tree = Supervisor("bench", [ChildSpec("writer", writer.run, mailbox=mailbox)])
    symbol = Symbol("BTC", "USDT")
    commits: list[float] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(tree.run)
        ctx = new_context("bench", symbol, now=time.time())
        for n in range(COMMITS):
            orders = [
                Order(f"bench-{n}{leg.value[0]}", leg, symbol, Side.BUY, 0.01, 100.0)
                for leg in (Leg.SPOT, Leg.FUTURES)
            ]
            client.save(ctx.evolve(order_seq=n))
            began = time.perf_counter()
            await client.journal(ctx, orders)
            commits.append(time.perf_counter() - began)
        tree.request_stop()
    writes = list(writer.stats.latencies_s)
    return "\n".join(
        [
            f"== persistence: {COMMITS:,} decisions, each a snapshot and two intents "
            "(synchronous=NORMAL)",
            f"  intent journal, decision to committed: p50 {percentile(commits, 0.5) * 1e3:.2f} ms"
            f"  p99 {percentile(commits, 0.99) * 1e3:.2f} ms",
            f"  transaction on the writer's thread:    p50 {percentile(writes, 0.5) * 1e3:.2f} ms"
            f"  p99 {percentile(writes, 0.99) * 1e3:.2f} ms",
        ]
    )


LOAD_STRATEGIES = 200
LOAD_SECONDS = 20.0
QUOTES_PER_S = 20.0
"""Per leg and symbol: 8,000 quotes a second into the process for 200 symbols."""
QUOTE_WORK_S = 80e-6
"""The main thread's own work per quote besides the strategy's (a frame decoded, the
mailbox hops, the series, the risk's view): calibrated so 8,000 quotes a second keep
the trio thread about as busy as the 200-symbol stress run keeps it."""
SNAPSHOT_EVERY = 10
"""A strategy's context changes (and is saved) on one quote in this many."""
BURST_EVERY_S = 1.0
BURST_SIZE = 40
"""Every second, this many strategies decide to enter together."""


@attrs.define
class Transaction:
    """One of the writer's transactions, timed on its thread."""

    began: float
    ended: float
    snapshots: int
    intents: frozenset[str]
    records: int


@attrs.define
class LoadStrategy:
    ctx: ArbitrageContext
    spot: Quote
    futures: Quote


def _timed(store: Store, transactions: list[Transaction]) -> None:
    """Time ``store``'s transactions on the thread that runs them."""
    write_batch = store.write_batch

    def timed(snapshots, intents, events, history=()):  # type: ignore[no-untyped-def]
        snapshots, intents, history = list(snapshots), list(intents), list(history)
        began = time.perf_counter()
        write_batch(snapshots, intents, events, history)
        ended = time.perf_counter()
        transactions.append(
            Transaction(
                began,
                ended,
                len(snapshots),
                frozenset(i.client_id for i in intents),
                len(snapshots) + len(intents) + len(events) + len(history),
            )
        )

    store.write_batch = timed  # type: ignore[method-assign]


def _busy(seconds: float) -> None:
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        pass


async def journal_under_load(data_dir: Path, seconds: float = LOAD_SECONDS) -> str:
    """200 strategies in one trio process, the real writer on a SQLite store: quotes
    through the machine at 8,000 a second (plus the calibrated rest of their work),
    contexts saved as they change, series points, and every second dozens of strategies
    entering together (a snapshot and two intents each, then the venues' answers and
    fills). The journal's wait is timed from the strategies' side and split by the
    writer's transactions, timed on its thread."""
    path = data_dir / "load.db"
    store = Store(path)
    transactions: list[Transaction] = []
    _timed(store, transactions)
    mailbox = Mailbox(WRITER_MAILBOX)
    writer = Writer(path, store=store)
    client = WriterClient(mailbox.address)
    tree = Supervisor("bench", [ChildSpec("writer", writer.run, mailbox=mailbox)])
    now = time.time()
    strategies = []
    for n in range(LOAD_STRATEGIES):
        symbol = Symbol(f"C{n:03d}", "USDT")
        spot = Quote(symbol, 100.0, 1.0, 100.01, 1.0, now, now)
        futures = Quote(symbol, 98.9, 1.0, 99.0, 1.0, now, now)
        ctx, _ = on_market(new_context(f"load{n}", symbol, now=now), now, spot, futures)
        strategies.append(LoadStrategy(ctx, spot, futures))
    waits: list[tuple[str, float, float]] = []
    decisions: list[float] = []
    quotes = 0
    entries = 0

    def quote(strategy: LoadStrategy, n: int) -> None:
        nonlocal quotes
        _busy(QUOTE_WORK_S)
        at = time.time()
        old = strategy.spot
        strategy.spot = Quote(old.symbol, old.bid, old.bid_qty, old.ask, old.ask_qty, at, at)
        ctx, _ = on_market(strategy.ctx, at, strategy.spot, strategy.futures)
        if n % SNAPSHOT_EVERY == 0:
            ctx = ctx.evolve(last_update=at, total_volume_usdt=ctx.total_volume_usdt + 1.0)
        if ctx is not strategy.ctx:
            strategy.ctx = ctx
            client.save(ctx)
        quotes += 1

    async def feed(offset: int) -> None:
        # Each leg's feed hands every strategy QUOTES_PER_S quotes a second, in slices of
        # 2.5 ms: the quotes of one slice are worked through back to back, as frames
        # read together are.
        slice_s = 0.0025
        per_slice = LOAD_STRATEGIES * QUOTES_PER_S * slice_s
        due = 0.0
        n = offset
        next_at = trio.current_time()
        while True:
            due += per_slice
            while due >= 1.0:
                quote(strategies[n % LOAD_STRATEGIES], n // LOAD_STRATEGIES)
                n += 1
                due -= 1.0
            next_at += slice_s
            await trio.sleep_until(next_at)

    async def series() -> None:
        while True:
            await trio.sleep(1.0)
            at = time.time()
            for strategy in strategies:
                await client.history(SeriesPoint(str(strategy.ctx.symbol), at, 0.1))

    async def enter(strategy: LoadStrategy, seq: int) -> None:
        nonlocal entries
        ctx = strategy.ctx
        symbol = ctx.symbol
        decided = time.perf_counter()
        orders = [
            Order(f"{ctx.task_id}-{seq}{leg.value[0]}", leg, symbol, side, 1.0, price)
            for leg, side, price in ((Leg.SPOT, Side.BUY, 100.01), (Leg.FUTURES, Side.SELL, 98.9))
        ]
        ctx = ctx.evolve(
            order_seq=seq,
            active_orders={o.leg.value: {o.client_id: o} for o in orders},
            last_update=time.time(),
        )
        strategy.ctx = ctx
        client.save(ctx)
        began = time.perf_counter()
        await client.journal(ctx, orders)
        ended = time.perf_counter()
        waits.append((orders[0].client_id, began, ended))
        decisions.append(ended - decided)
        entries += 1
        await trio.sleep(0.05)
        for order in orders:
            for kind in ("ack", "fill", "final"):
                await client.order_event(
                    OrderEventRecord(order.client_id, kind, b'{"qty": 1.0}', time.time(), kind)
                )
            await client.history(
                FillRecord(
                    ctx.task_id,
                    seq,
                    str(symbol),
                    "sim",
                    order.leg.value,
                    order.side.value,
                    "entry",
                    order.client_id,
                    f"{order.client_id}-t",
                    time.time(),
                    1.0,
                    order.price,
                    order.price,
                    0.1,
                )
            )
        strategy.ctx = ctx.evolve(active_orders={}, last_update=time.time())
        client.save(strategy.ctx)

    async def bursts(nursery: trio.Nursery) -> None:
        seq = 0
        rng = random.Random(18)
        while True:
            await trio.sleep(BURST_EVERY_S)
            seq += 1
            for strategy in rng.sample(strategies, BURST_SIZE):
                nursery.start_soon(enter, strategy, seq)

    cpu_began = time.process_time()
    wall_began = time.perf_counter()
    async with trio.open_nursery() as nursery:
        await nursery.start(tree.run)
        async with trio.open_nursery() as load:
            load.start_soon(feed, 0)
            load.start_soon(feed, LOAD_STRATEGIES // 2)
            load.start_soon(series)
            load.start_soon(bursts, load)
            await trio.sleep(seconds)
            load.cancel_scope.cancel()
        wall = time.perf_counter() - wall_began
        cpu = time.process_time() - cpu_began
        tree.request_stop()
    store.close()
    return _load_report(waits, decisions, transactions, quotes / wall, cpu / wall, entries)


def _split(
    waits: list[tuple[str, float, float]], transactions: list[Transaction]
) -> tuple[list[float], list[float], list[float]]:
    """Each wait split into: until the transaction that held its intents began (the
    mailbox, and the transactions ahead of it), that transaction, and from its end to
    the strategy running again (the thread's answer reaching trio, the GIL)."""
    holding = {cid: t for t in transactions for cid in t.intents}
    before, during, after = [], [], []
    for client_id, began, ended in waits:
        t = holding.get(client_id)
        if t is None:
            continue
        before.append(t.began - began)
        during.append(t.ended - t.began)
        after.append(ended - t.ended)
    return before, during, after


def _ms(samples: list[float]) -> str:
    if not samples:
        return "n/a"
    return (
        "  ".join(
            f"{name} {percentile(samples, f) * 1e3:6.2f}"
            for name, f in (("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999))
        )
        + " ms"
    )


def _load_report(
    waits: list[tuple[str, float, float]],
    decisions: list[float],
    transactions: list[Transaction],
    quotes_per_s: float,
    cpu: float,
    entries: int,
) -> str:
    journal = [ended - began for _, began, ended in waits]
    before, during, after = _split(waits, transactions)
    intent_tx = [t for t in transactions if t.intents]
    count = max(1, len(transactions))
    return "\n".join(
        [
            f"== journal under load: {LOAD_STRATEGIES} strategies, {quotes_per_s:,.0f} quotes/s "
            f"in, {entries:,} entries (bursts of {BURST_SIZE}), process CPU {cpu:.2f} cores",
            f"  journal wait (orders handed over to intents committed): {_ms(journal)}",
            f"  decision to intents committed (its snapshot included):  {_ms(decisions)}",
            f"    handed over to its transaction beginning:              {_ms(before)}",
            f"    its transaction, on the writer's thread:               {_ms(during)}",
            f"    transaction ended to the strategy running again:       {_ms(after)}",
            f"  every transaction ({len(transactions):,}):                           "
            f"{_ms([t.ended - t.began for t in transactions])}",
            f"  records per transaction: mean {sum(t.records for t in transactions) / count:.0f}"
            f", snapshots mean {sum(t.snapshots for t in transactions) / count:.0f}"
            f"; transactions holding intents: {len(intent_tx):,}",
        ]
    )


async def recovery_time(data_dir: Path) -> str:
    symbols = [f"C{n:03d}/USDT" for n in range(TASKS)]
    config = msgspec.convert(
        {
            "symbols": symbols,
            "http": {"port": 0},
            "strategy": {"base_position_size_usdt": 200.0, "cooldown_s": 3600.0},
            "sim": {"spot": {"balances": {"USDT": 1e6}}, "futures": {"balance_usdt": 1e6}},
        },
        SystemConfig,
    )
    async with trio.open_nursery() as nursery:
        sim = SimServers(config.simulated())
        urls = await nursery.start(sim.run)
        async with open_paper_system(config, data_dir, venues=urls) as first:
            # Entries queue behind the venues' order limits (about 10 a second); some come
            # back unfilled and are corrected. Wait until nothing is in flight.
            await until(lambda: settled(first), 120.0)
        began = time.perf_counter()
        async with open_paper_system(config, data_dir, venues=urls) as second:
            started = time.perf_counter()
            held = opened(second)
            await until(lambda: all(quoted(h) for h in second.strategies.values()), 60.0)
            trading = time.perf_counter()
        nursery.cancel_scope.cancel()
    return "\n".join(
        [
            f"== recovery: {TASKS} strategies, {held} with open positions, venues kept running",
            f"  start -> every strategy restored and running: {(started - began) * 1e3:.0f} ms",
            f"  start -> every strategy has both venues' quotes (trading): "
            f"{(trading - began) * 1e3:.0f} ms",
        ]
    )


def opened(system: TradingSystem) -> int:
    return sum(
        h.actor.ctx.state is ArbitrageState.POSITION_OPEN for h in system.strategies.values()
    )


def settled(system: TradingSystem) -> bool:
    busy = (
        ArbitrageState.IDLE,
        ArbitrageState.ENTERING,
        ArbitrageState.EXITING,
        ArbitrageState.IMBALANCED,
    )
    return opened(system) > 0 and not any(
        h.actor.ctx.state in busy for h in system.strategies.values()
    )


def quoted(handle: StrategyHandle) -> bool:
    return handle.actor.spot is not None and handle.actor.futures is not None


async def until(predicate: Callable[[], bool], timeout_s: float) -> None:
    with trio.fail_after(timeout_s):
        while not predicate():  # noqa: ASYNC110 - actors' state has no event to wait on
            await trio.sleep(0.005)


async def main() -> None:
    logging.getLogger().setLevel(logging.ERROR)
    if "--load" in sys.argv:
        with tempfile.TemporaryDirectory() as scratch:
            print(await journal_under_load(Path(scratch)))
        return
    with tempfile.TemporaryDirectory() as scratch:
        print(await journal_latency(Path(scratch)))
    with tempfile.TemporaryDirectory() as scratch:
        print(await journal_under_load(Path(scratch)))
    with tempfile.TemporaryDirectory() as scratch:
        print(await recovery_time(Path(scratch)))


if __name__ == "__main__":
    trio.run(main)
