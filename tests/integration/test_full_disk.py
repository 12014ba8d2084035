"""A full disk under a trading system: health says ``failing`` with the cause, no entry is
attempted and no order reaches a venue without its intent in the store; once space is
freed the system is healthy again and trades on.

The data directory is a small tmpfs, filled to the last byte: a real full disk. Mounting
one needs root; where the machine does not allow it, the store's transactions are made
to fail as SQLite fails them on a full disk (SQLITE_FULL), and the same is checked.
"""

from __future__ import annotations

import errno
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
import trio

from actors.arbitrage.context import ArbitrageState
from actors.runtime.alerts.actor import AlertActor
from actors.runtime.alerts.conditions import Observation
from actors.runtime.alerts.config import AlertsSection
from actors.runtime.ops.status_server import serve_status
from actors.runtime.persistence.store import OutboxRecord, Store
from actors.runtime.persistence.writer import Writer, WriterClient
from actors.system_config import SystemConfig
from protocols.messages import OperatorAction
from protocols.model import Symbol
from supervision import ChildSpec, Mailbox, Supervisor
from tests.integration.alert_receiver import AlertReceiver
from tests.integration.paper_runs import paper_run
from tests.integration.polling import wait_until

TMPFS_SIZE = "16m"
BTC = Symbol("BTC", "USDT")
ETH = Symbol("ETH", "USDT")
POSITION_OPEN = ArbitrageState.POSITION_OPEN
EXITING = ArbitrageState.EXITING
PAUSED = ArbitrageState.PAUSED


def paper(alerts_url: str) -> SystemConfig:
    return msgspec.convert(
        {
            "symbols": ["BTC/USDT", "ETH/USDT"],
            "http": {"port": 0},
            "alerts": {"webhook": {"url": alerts_url}},
            # Positions are closed only when the test says: no random dislocation, and
            # no exit for a profit smaller than the one the test makes.
            "paper": {"dislocations_per_hour": 0.0},
            "strategy": {
                "base_position_size_usdt": 200.0,
                "cooldown_s": 5.0,
                "min_profit_pct": 1.0,
                # A leg the moving market leaves unfilled is corrected within seconds.
                "leg_timeout_s": 2.0,
            },
        },
        SystemConfig,
    )


class TmpfsDisk:
    """A data directory on a tmpfs of ``TMPFS_SIZE``, filled with files to the last byte."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def fill(self) -> None:
        for name, block in (("filler", b"\0" * 65536), ("filler-tail", b"\0")):
            with open(self.data_dir / name, "wb", buffering=0) as filler:
                try:
                    while True:
                        filler.write(block)
                except OSError as error:
                    assert error.errno == errno.ENOSPC

    def free(self) -> None:
        (self.data_dir / "filler").unlink()
        (self.data_dir / "filler-tail").unlink()


class InjectedFullDisk:
    """The store's transactions failing with SQLITE_FULL, as SQLite fails them when the
    disk is full, for as long as the disk is "full"."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = False
        write_batch = Store.write_batch

        def refusing(store: Store, *records: object) -> frozenset[str]:
            if self.full:
                error = sqlite3.OperationalError("database or disk is full")
                error.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
                error.sqlite_errorname = "SQLITE_FULL"  # type: ignore[attr-defined]
                raise error
            return write_batch(store, *records)  # type: ignore[arg-type]

        monkeypatch.setattr(Store, "write_batch", refusing)

    def fill(self) -> None:
        self.full = True

    def free(self) -> None:
        self.full = False


@pytest.fixture
def small_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, TmpfsDisk | InjectedFullDisk]]:
    """A data directory and a way to fill its disk and free it again: a small tmpfs where
    this machine lets the test mount one, else a store whose transactions fail as on a
    full disk."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(data_dir)],
        capture_output=True,
        check=False,
    )
    if mount.returncode != 0:
        print(f"no tmpfs ({mount.stderr.decode().strip()}): SQLITE_FULL injected instead")
        yield data_dir, InjectedFullDisk(monkeypatch)
        return
    try:
        yield data_dir, TmpfsDisk(data_dir)
    finally:
        subprocess.run(["umount", "-l", str(data_dir)], check=False)


def venue_orders(sim) -> set[str]:
    """Client ids of every order the simulated venues accepted."""
    ledgers = sim.ledgers()
    return {
        entry.order.client_id
        for entry in [*ledgers.mexc, *ledgers.gateio]
        if type(entry).__name__ == "OrderAccepted"
    }


def journaled(data_dir: Path) -> set[str]:
    """Client ids of every intent in the store, read as any other reader does."""
    with Store(data_dir / "basis.db") as store:
        return {order.client_id for task in store.tasks() for order in store.orders(task.task_id)}


def strip(client_id: str) -> str:
    """A venue's client id as Basis made it (Gate.io's carry a ``t-`` prefix)."""
    return client_id.removeprefix("t-")


async def test_a_full_disk_fails_health_with_the_cause_and_no_order_leaves_unjournaled(
    small_disk,
):
    data_dir, disk = small_disk
    receiver = AlertReceiver()
    async with trio.open_nursery() as alerts:
        await alerts.start(receiver.serve)
        await full_disk_run(data_dir, disk, receiver)
        alerts.cancel_scope.cancel()
    # The full disk was told once when it was found, once when it was over.
    told = [(a.kind, a.severity) for a in receiver.alerts if a.incident == "writer"]
    assert told == [("opened", "critical"), ("resolved", "info")], receiver.alerts
    [opened] = [a for a in receiver.alerts if a.incident == "writer" and a.kind == "opened"]
    assert "disk full" in opened.title + opened.detail


async def full_disk_run(
    data_dir: Path, disk: TmpfsDisk | InjectedFullDisk, receiver: AlertReceiver
) -> None:
    async with (
        paper_run(paper(receiver.url), data_dir) as (system, sim),
        trio.open_nursery() as nursery,
    ):
        port = await nursery.start(serve_status, system, 0)
        btc, eth = (
            next(h for h in system.strategies.values() if h.symbol == symbol)
            for symbol in (BTC, ETH)
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            # Trading: both symbols hold a position; ETH's is closed, so it rests
            # for its cooldown and would then enter again.
            await wait_until(
                lambda: all(h.actor.ctx.state is POSITION_OPEN for h in (btc, eth)), 30
            )
            closed = eth.actor.ctx.arbitrage_cycles + 1
            await system.command(eth.task_id, OperatorAction.CLOSE_POSITION)
            # An exit leg the market leaves unfilled is corrected (up to three attempts of
            # a leg timeout, 2 s, each) and then flattened: allow for all of it, twice.
            await wait_until(
                lambda: (
                    eth.actor.ctx.arbitrage_cycles == closed
                    and eth.actor.ctx.state is ArbitrageState.MONITORING
                ),
                30,
            )
            cooldown_until = eth.actor.ctx.cooldown_until
            disk.fill()
            # BTC's profit exit is decided on a full disk: its orders wait.
            btc_cycles = btc.actor.ctx.arbitrage_cycles
            sim.dislocate(BTC, -0.03)
            await wait_until(lambda: system.writer.failing is not None, 30)
            health = await client.get("/health")
            assert health.status_code == 503
            reason = health.json()["reason"]
            assert "writer failing: disk full: " in reason, reason
            assert str(data_dir / "basis.db") in reason
            status = (await client.get("/status")).json()
            writer = next(s for s in status["health_signals"] if s["key"] == "writer")
            assert writer["level"] == "failing"
            assert status["persistence"]["failing"].startswith("disk full: ")
            await wait_until(lambda: btc.actor.ctx.state is EXITING, 10)
            # No entry while the store refuses intents: ETH pauses, saying why, and
            # stays paused past its cooldown.
            await wait_until(lambda: eth.actor.ctx.state is PAUSED, 10)
            why = eth.actor.statistics().paused_reason
            assert why is not None and why.startswith(
                "the store cannot journal orders: disk full: "
            )
            before = venue_orders(sim)
            await wait_until(lambda: time.time() > cooldown_until + 2.0, 30)
            # Nothing left: neither ETH's entry nor BTC's decided exit.
            assert venue_orders(sim) == before
            assert eth.actor.ctx.state is PAUSED and btc.actor.ctx.state is EXITING
            assert system.writer.failing is not None
            assert {strip(c) for c in before} <= journaled(data_dir)

            disk.free()
            await wait_until(lambda: system.writer.failing is None, 30)
            # BTC's exit leaves and closes the cycle: no position left half-built.
            await wait_until(lambda: btc.actor.ctx.arbitrage_cycles == btc_cycles + 1, 30)
            await wait_until(lambda: eth.actor.ctx.store_failing is None, 10)
            health = await client.get("/health")
            assert health.status_code == 200, health.text
            # Entries resume: ETH enters again.
            eth_before = {c for c in before if eth.task_id in c}
            await wait_until(
                lambda: any(eth.task_id in c for c in venue_orders(sim) - eth_before - before),
                30,
            )
            await wait_until(
                lambda: any(
                    a.incident == "writer" and a.kind == "resolved" for a in receiver.alerts
                ),
                15,
            )
        nursery.cancel_scope.cancel()
    # Over the whole run, no order reached a venue without its intent journaled.
    assert {strip(c) for c in venue_orders(sim)} <= journaled(data_dir)


NOTHING = Observation((), (), ())


async def test_an_alert_the_full_disk_refused_is_stored_once_it_takes_writes(tmp_path, monkeypatch):
    refused: list[str] = []
    put_alert = Store.put_alert

    def refusing(store: Store, record: OutboxRecord) -> None:
        if len(refused) < 2:  # the disk is full for the first two attempts
            refused.append(record.alert_id)
            error = sqlite3.OperationalError("database or disk is full")
            error.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
            raise error
        put_alert(store, record)

    def outbox() -> list[tuple[str, str]]:
        with sqlite3.connect(path) as db:
            return db.execute("SELECT id, sinks FROM alert_outbox").fetchall()

    monkeypatch.setattr(Store, "put_alert", refusing)
    path = tmp_path / "basis.db"
    mailbox = Mailbox("writer")
    actor = AlertActor(
        AlertsSection(), [], WriterClient(mailbox.address), path, lambda: NOTHING, "test"
    )
    tree = Supervisor(
        "root",
        [ChildSpec("writer", Writer(path).run, mailbox=mailbox), ChildSpec("alerts", actor.run)],
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(tree.run)
        # The start's alert, refused twice, is put again until the store takes it.
        with trio.fail_after(10):
            while True:
                stored = outbox()
                if stored:
                    break
                await trio.sleep(0.05)  # the store has no event to wait on
        nursery.cancel_scope.cancel()
    assert len(refused) == 2
    assert stored == [(refused[0], "")]
