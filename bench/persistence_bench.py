"""Persistence: journal commit and snapshot latency through the writer actor, and the
time to recover 100 strategies with open positions.

Run: ``.venv/bin/python -m bench.persistence_bench``
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import trio

from actors.arbitrage.context import ArbitrageState, new_context
from actors.cli.paper import open_paper_system
from actors.runtime.persistence.writer import Writer, WriterClient
from actors.runtime.system import StrategyHandle, TradingSystem
from actors.sim.servers import SimServers
from actors.system_config import SystemConfig
from bench.stats import percentile
from protocols.model import Leg, Order, Side, Symbol
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
    with tempfile.TemporaryDirectory() as scratch:
        print(await journal_latency(Path(scratch)))
    with tempfile.TemporaryDirectory() as scratch:
        print(await recovery_time(Path(scratch)))


if __name__ == "__main__":
    trio.run(main)
