"""The writer actor with a real SQLite file: journal before send, coalesced snapshots,
and a stop that flushes what was handed over."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from functools import partial
from types import SimpleNamespace

import trio
from trio.testing import assert_no_checkpoints, wait_all_tasks_blocked

from actors.arbitrage.context import ArbitrageState, new_context
from actors.runtime.config import PersistenceSection
from actors.runtime.persistence import writer as writer_module
from actors.runtime.persistence.store import OrderEventRecord, Store, Thinned
from actors.runtime.persistence.writer import THIN_SLICE_POINTS, LeaseLost, Writer, WriterClient
from actors.runtime.system import TradingSystem
from protocols.history import FillRecord, FundingRecord, SeriesPoint
from protocols.messages import TradeRecord
from protocols.model import Leg, Order, Side, Symbol
from supervision import ChildSpec, Mailbox, Supervisor
from tests.integration.polling import wait_until

BTC = Symbol("BTC", "USDT")


async def start(nursery, tmp_path):
    mailbox = Mailbox("writer")
    writer = Writer(tmp_path / "basis.db")
    tree = Supervisor("root", [ChildSpec("writer", writer.run, mailbox=mailbox)])
    await nursery.start(tree.run)
    return tree, writer, WriterClient(mailbox.address)


def orders(task_id, n):
    return [
        Order(f"{task_id}-{i}s", Leg.SPOT, BTC, Side.BUY, 0.5, 100.0, created_ts=1.0)
        for i in range(n)
    ]


async def test_journal_returns_only_once_the_intents_are_on_disk(nursery, tmp_path):
    _, _, client = await start(nursery, tmp_path)
    ctx = new_context("t1", BTC, now=1.0)
    await client.journal(ctx, orders("t1", 2))
    # A second connection sees them: committed, not just buffered.
    reader = Store(tmp_path / "basis.db")
    assert [o.client_id for o in reader.open_orders("t1")] == ["t1-0s", "t1-1s"]
    assert reader.open_orders()[0].venue == "mexc"
    reader.close()


async def test_a_burst_of_intents_from_many_tasks_costs_few_commits(nursery, tmp_path):
    _, writer, client = await start(nursery, tmp_path)
    async with trio.open_nursery() as burst:
        for n in range(50):
            ctx = new_context(f"t{n}", BTC, now=1.0)
            burst.start_soon(client.journal, ctx, orders(f"t{n}", 2))
    assert writer.stats.intents == 100
    assert writer.stats.batches < 50


async def test_only_the_newest_snapshot_of_a_task_is_written(nursery, tmp_path):
    _, writer, client = await start(nursery, tmp_path)
    ctx = new_context("t1", BTC, now=1.0)
    for cycles in range(1, 101):
        client.save(ctx.evolve(arbitrage_cycles=cycles, last_update=float(cycles)))
    await client.journal(ctx, [])  # a commit that takes whatever waits with it
    reader = Store(tmp_path / "basis.db")
    [row] = reader.tasks()
    assert b'"arbitrage_cycles":100' in row.snapshot
    assert writer.stats.snapshots < 100
    reader.close()


async def test_a_stop_writes_everything_handed_over(tmp_path):
    mailbox = Mailbox("writer")
    writer = Writer(tmp_path / "basis.db")
    tree = Supervisor("root", [ChildSpec("writer", writer.run, mailbox=mailbox)])
    client = WriterClient(mailbox.address)
    async with trio.open_nursery() as nursery:
        await nursery.start(tree.run)
        ctx = new_context("t1", BTC, now=1.0)
        for i in range(200):
            await client.order_event(OrderEventRecord(f"t1-{i}s", "fill", b"{}", 1.0))
        client.save(ctx.evolve(state=ArbitrageState.STOPPED, last_update=2.0))
        tree.request_stop()
    reader = Store(tmp_path / "basis.db")
    assert writer.stats.events == 200
    [row] = reader.tasks()
    assert (row.state, row.completed_at) == ("stopped", 2.0)
    reader.close()


async def test_a_batch_whose_transaction_hit_a_bug_is_written_after_the_restart(nursery, tmp_path):
    tree, writer, client = await start(nursery, tmp_path)
    store = writer.store
    assert store is not None
    real_write = store.write_batch
    failures = []

    def a_bug_once(*batch):
        if not failures:
            failures.append(batch)
            raise TypeError("a statement Basis got wrong")
        return real_write(*batch)

    store.write_batch = a_bug_once  # type: ignore[method-assign]
    ctx = new_context("t1", BTC, now=1.0)
    # The journal call waits through the crash: the restarted writer commits its intents.
    with trio.fail_after(10):
        await client.journal(ctx, orders("t1", 2))
    assert failures
    [writer_child] = tree.snapshot().children
    assert writer_child.restarts == 1 and "Basis got wrong" in (writer_child.last_error or "")
    assert writer.statistics().failing is None  # a bug is no storage failure
    reader = Store(tmp_path / "basis.db")
    assert [o.client_id for o in reader.open_orders("t1")] == ["t1-0s", "t1-1s"]
    reader.close()


async def test_requests_are_carried_out_in_order_with_the_records_around_them(nursery, tmp_path):
    _, writer, client = await start(nursery, tmp_path)
    old = new_context("t_old", BTC, now=1.0)
    client.save(old.evolve(state=ArbitrageState.STOPPED, last_update=1.0))
    await client.journal(old, [])
    live = new_context("t_live", BTC, now=2.0)
    client.save(live)
    # Requests keep their place among journal entries and order events (the FIFO lane);
    # a snapshot is on disk once a journal entry handed over after it is.
    await client.journal(live, [])
    assert await client.abandon_active() == 1
    assert await client.delete_completed(before=1.5) == 1
    await client.quarantine("t_live", "contradicts the venues: a test", None)
    with Store(tmp_path / "basis.db") as reader:
        assert [t.task_id for t in reader.tasks()] == ["t_live"]
        assert reader.task("t_live").state == "quarantined"
        [row] = reader.quarantined()
        assert (row.task_id, row.reason) == ("t_live", "contradicts the venues: a test")
    assert writer.stats.batches >= 2


async def test_a_request_that_fails_is_answered_with_its_error_and_the_writer_goes_on(
    nursery, tmp_path
):
    tree, writer, client = await start(nursery, tmp_path)
    store = writer.store
    assert store is not None

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    store.delete_completed = full_disk  # type: ignore[method-assign]
    with trio.fail_after(10):
        try:
            await client.delete_completed(before=1.0)
        except OSError as error:
            assert error.errno == 28
        else:
            raise AssertionError("the failure was not reported to the asker")
        ctx = new_context("t1", BTC, now=1.0)
        await client.journal(ctx, orders("t1", 1))
    [writer_child] = tree.snapshot().children
    assert writer_child.restarts == 0


async def test_flush_returns_once_a_snapshot_handed_over_before_it_is_stored(nursery, tmp_path):
    _, _, client = await start(nursery, tmp_path)
    ctx = new_context("t1", BTC, now=1.0)
    client.save(ctx.evolve(state=ArbitrageState.STOPPED, last_update=2.0))
    await client.flush()
    with Store(tmp_path / "basis.db") as reader:
        assert reader.task("t1").state == "stopped"
        assert reader.tasks(active_only=True) == []


def fill_up(store: Store) -> None:
    """Make SQLite answer SQLITE_FULL for any growth of the file, as a full disk does."""
    (pages,) = store._db.execute("PRAGMA page_count").fetchone()
    store._db.execute(f"PRAGMA max_page_count={pages}")


def free_space(store: Store) -> None:
    store._db.execute("PRAGMA max_page_count=1073741823")


async def test_a_full_store_makes_the_writer_failing_and_it_retries_in_place(nursery, tmp_path):
    mailbox = Mailbox("writer")
    told: list[str | None] = []
    writer = Writer(tmp_path / "basis.db", on_health=told.append, retry_max_s=0.2)
    tree = Supervisor("root", [ChildSpec("writer", writer.run, mailbox=mailbox)])
    await nursery.start(tree.run)
    client = WriterClient(mailbox.address)
    assert writer.store is not None
    fill_up(writer.store)
    ctx = new_context("t1", BTC, now=1.0)
    journaled = trio.Event()
    big = [
        Order(f"t1-{i}s", Leg.SPOT, BTC, Side.BUY, 0.5, 100.0, created_ts=1.0) for i in range(300)
    ]

    async def journal_then_note(records, done):
        await client.journal(ctx, records)
        done.set()

    nursery.start_soon(journal_then_note, big, journaled)
    await wait_until(lambda: writer.statistics().failing is not None, 10)
    stats = writer.statistics()
    assert stats.failing == f"disk full: {tmp_path / 'basis.db'}: free space on its filesystem"
    assert stats.failing_since is not None
    # Later intents queue behind the refused batch: nothing overtakes it.
    later = trio.Event()
    nursery.start_soon(journal_then_note, orders("t2", 1), later)
    await trio.sleep(1.0)
    assert writer.statistics().refused >= 3  # tried again, in place
    assert not journaled.is_set() and not later.is_set()
    [child] = tree.snapshot().children
    assert child.restarts == 0  # no crash, no restart loop
    with Store(tmp_path / "basis.db") as reader:
        assert reader.open_orders() == []
    free_space(writer.store)
    with trio.fail_after(10):
        await journaled.wait()
        await later.wait()
    assert writer.statistics().failing is None and writer.statistics().failing_since is None
    assert told == [stats.failing, None]
    with Store(tmp_path / "basis.db") as reader:
        stored = [o.client_id for o in reader.open_orders()]
    assert stored == [o.client_id for o in big] + ["t2-0s"]


async def test_a_crash_between_a_batchs_transactions_leaves_the_rest_to_the_next_writer(
    nursery, tmp_path
):
    mailbox = Mailbox("writer")
    # Every transaction on the writer's thread, where the script below can hold it.
    writer = Writer(tmp_path / "basis.db", on_the_loop_records=0)
    tree = Supervisor("root", [ChildSpec("writer", writer.run, mailbox=mailbox)])
    await nursery.start(tree.run)
    client = WriterClient(mailbox.address)
    store = writer.store
    assert store is not None
    real_write = store.write_batch
    token = trio.lowlevel.current_trio_token()
    busy, in_transaction = trio.Event(), trio.Event()
    queued, crashed = threading.Event(), threading.Event()
    calls = []

    def scripted(*records):
        # On the writer's thread: the first transaction holds the writer while the next
        # batch queues up; the second is where the crash lands.
        calls.append(records)
        if len(calls) == 1:
            token.run_sync_soon(busy.set)
            queued.wait(5)
        elif len(calls) == 2:
            token.run_sync_soon(in_transaction.set)
            crashed.wait(5)
        return real_write(*records)

    store.write_batch = scripted  # type: ignore[method-assign]
    # Waiting for them proves the restarted writer did what the crashed one left.
    with trio.fail_after(10):
        async with trio.open_nursery() as waiting:
            waiting.start_soon(client.journal, new_context("t0", BTC, now=1.0), orders("t0", 1))
            await busy.wait()
            # The next batch, in this order: intents, an operator action, intents.
            for n, send in enumerate(
                [
                    partial(client.journal, new_context("t1", BTC, now=1.0), orders("t1", 1)),
                    partial(client.operator_action, "pause", "BTC/USDT", "paused", "ops@host"),
                    partial(client.journal, new_context("t2", BTC, now=1.0), orders("t2", 1)),
                ],
                start=1,
            ):
                waiting.start_soon(send)
                await wait_until(lambda n=n: len(mailbox) == n)
            queued.set()
            await in_transaction.wait()
            tree.crash_child("writer", RuntimeError("injected"))
            crashed.set()
    assert tree.snapshot().children[0].restarts == 1
    reader = Store(tmp_path / "basis.db")
    assert sorted(o.client_id for o in reader.open_orders()) == ["t0-0s", "t1-0s", "t2-0s"]
    assert [(a.action, a.who) for a in reader.operator_actions()] == [("pause", "ops@host")]
    reader.close()


HISTORY_TABLES = ("cycles", "fills", "funding", "series")


def history_records():
    trade = TradeRecord("BTC/USDT", 100.0, 200.0, 1.0, 100.0, 100.2, 100.3, 100.1, 0.4, 0.4,
                        "profit", 0.1, 0.0, task_id="t1", cycle=1)  # fmt: skip
    fill = FillRecord("t1", 1, "BTC/USDT", "mexc", "spot", "buy", "entry", "t1-1s", "T1",
                      100.0, 1.0, 100.0, 100.0, 0.05)  # fmt: skip
    funding = FundingRecord("t1", 1, "BTC/USDT", "gateio_futures", "L1", 150.0, 0.02)
    points = [SeriesPoint("BTC/USDT", float(s), 0.1) for s in range(0, 180, 10)]
    return [trade, fill, funding, *points]


async def test_history_is_stored_with_the_snapshot_after_it_and_counted(nursery, tmp_path):
    _, writer, client = await start(nursery, tmp_path)
    records = history_records()
    for record in records:
        await client.history(record)
        if type(record) is SeriesPoint:
            await client.flush()  # one point each: a newer would replace it unwritten
    client.save(new_context("t1", BTC, now=1.0))
    await client.flush()
    with Store(tmp_path / "basis.db") as reader:
        db = reader._db
        counts = [db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in HISTORY_TABLES]
        assert counts == [1, 1, 1, 18]
        assert [t.task_id for t in reader.tasks()] == ["t1"]
    assert writer.statistics().history == len(records)
    # Thinning is a request like the others: three minutes of points become three.
    assert await client.thin_series(before=200.0) == Thinned(15, more=False)


async def test_a_series_point_never_waits_and_a_lagging_writer_keeps_each_symbols_newest(
    nursery, tmp_path
):
    mailbox = Mailbox("writer", capacity=1)
    client = WriterClient(mailbox.address)
    await client.history(history_records()[0])  # the FIFO lane is full now
    for s in range(5):
        for symbol in ("BTC/USDT", "ETH/USDT"):
            with assert_no_checkpoints():  # it never waits, not even a turn
                await client.history(SeriesPoint(symbol, float(s), 0.1 * s))
    writer = Writer(tmp_path / "basis.db")
    tree = Supervisor("root", [ChildSpec("writer", writer.run, mailbox=mailbox)])
    await nursery.start(tree.run)
    await client.flush()
    with Store(tmp_path / "basis.db") as reader:
        rows = reader._db.execute("SELECT symbol, ts FROM series ORDER BY symbol").fetchall()
    assert rows == [("BTC/USDT", 4.0), ("ETH/USDT", 4.0)]


async def test_history_waits_for_room_on_a_full_lane_and_loses_nothing(nursery, tmp_path):
    mailbox = Mailbox("writer", capacity=2)
    client = WriterClient(mailbox.address)
    records = history_records()[:4]
    handed = []

    async def hand_over():
        for record in records:
            await client.history(record)
            handed.append(record)

    nursery.start_soon(hand_over)
    await wait_all_tasks_blocked()
    assert len(handed) == 2  # the lane is full: the third waits
    writer = Writer(tmp_path / "basis.db")
    tree = Supervisor("root", [ChildSpec("writer", writer.run, mailbox=mailbox)])
    await nursery.start(tree.run)
    await wait_until(lambda: len(handed) == 4)
    await client.flush()
    assert writer.statistics().history == 4


async def test_an_intent_journaled_while_the_series_is_thinned_waits_for_one_slice_only(
    nursery, tmp_path
):
    # Six old minutes of points, each minute half a slice: the system's loop thins them
    # in three slices, each a request of its own.
    per_minute = THIN_SLICE_POINTS // 2
    step_s = 60.0 / (per_minute // 10)  # ten symbols
    with Store(tmp_path / "basis.db") as store:
        store.write_batch(
            (), (), (),
            [
                SeriesPoint(f"S{n % 10}/USDT", 60.0 * m + (n // 10) * step_s, 0.1)
                for m in range(6) for n in range(per_minute)
            ],
        )  # fmt: skip
    _, writer, client = await start(nursery, tmp_path)
    store = writer.store
    assert store is not None
    real_thin, real_write = store.thin_series, store.write_batch
    done: list[tuple[str, object]] = []
    in_first_slice, first_slice_may_end = threading.Event(), threading.Event()
    thinned_all = trio.Event()
    token = trio.lowlevel.current_trio_token()

    def thin_series(before: float, max_points: int) -> Thinned:
        thinned = real_thin(before, max_points)
        if not done:
            in_first_slice.set()
            first_slice_may_end.wait()
        done.append(("slice", thinned.removed))
        if not thinned.more:
            trio.from_thread.run_sync(thinned_all.set, trio_token=token)
        return thinned

    def write_batch(snapshots, intents, events, history=()):
        refused = real_write(snapshots, intents, events, history)
        done.append(("intents", [i.client_id for i in intents]))
        return refused

    store.thin_series = thin_series  # type: ignore[method-assign]
    store.write_batch = write_batch  # type: ignore[method-assign]
    system = SimpleNamespace(
        config=SimpleNamespace(persistence=PersistenceSection()), writer_client=client
    )
    with trio.fail_after(10):
        async with trio.open_nursery() as running:
            running.start_soon(TradingSystem._thin_series, system)
            await trio.to_thread.run_sync(in_first_slice.wait)
            running.start_soon(client.journal, new_context("t1", BTC, now=1.0), orders("t1", 1))
            await wait_all_tasks_blocked()  # the intent waits in the mailbox
            first_slice_may_end.set()
            await thinned_all.wait()
            running.cancel_scope.cancel()  # the loop's hour of sleep
    removed = 2 * per_minute - 20  # two minutes of ten symbols' points become twenty
    assert done == [
        ("slice", removed),
        ("intents", ["t1-0s"]),
        ("slice", removed),
        ("slice", removed),
    ]


async def test_intents_commit_ahead_of_other_tasks_snapshots_and_history_handed_over_before(
    nursery, tmp_path
):
    _, writer, client = await start(nursery, tmp_path)
    store = writer.store
    assert store is not None
    real_write = store.write_batch
    token = trio.lowlevel.current_trio_token()
    busy = trio.Event()
    queued, journal_returned = threading.Event(), threading.Event()
    calls = []

    def scripted(snapshots, intents, events, history=()):
        # On the writer's thread: the first transaction holds the writer while a batch of
        # snapshots, history and intents queues up behind it; the snapshots' transaction
        # may only end once the journal has returned.
        calls.append((len(snapshots), [i.client_id for i in intents], len(history)))
        if len(calls) == 1:
            token.run_sync_soon(busy.set)
            queued.wait(5)
        elif not intents:
            journal_returned.wait(5)
        return real_write(snapshots, intents, events, history)

    store.write_batch = scripted  # type: ignore[method-assign]
    with trio.fail_after(10):
        nursery.start_soon(client.flush)
        await busy.wait()
        for n in range(50):
            client.save(new_context(f"t{n}", BTC, now=1.0))
        for record in history_records():
            await client.history(record)
        ctx = new_context("t1", BTC, now=1.0)
        async with trio.open_nursery() as waiting:

            async def journal():
                await client.journal(ctx, orders("t1", 2))
                journal_returned.set()

            waiting.start_soon(journal)
            await wait_all_tasks_blocked()
            queued.set()
        await client.flush()
    assert journal_returned.is_set()
    # With the intents: the snapshot of the decision that placed them, and its history.
    assert calls[1:3] == [(1, ["t1-0s", "t1-1s"], 3), (49, [], 1)]
    with Store(tmp_path / "basis.db") as reader:
        assert len(reader.tasks()) == 50
        assert len(reader.open_orders("t1")) == 2


async def test_the_log_is_copied_into_the_database_apart_from_the_commits(
    nursery, tmp_path, mock_clock
):
    # The clock stands still: only its jump passes the checkpoints' interval.
    _, writer, client = await start(nursery, tmp_path)
    database, wal = tmp_path / "basis.db", tmp_path / "basis.db-wal"
    # Some 12 MB of snapshots: past the thousand pages whose commit would copy the log
    # (each flush takes them all in one batch: fewer than the writer's most).
    body = {"last_error": "x" * 2000}
    for batch in range(3):
        for n in range(writer.max_batch - 100):
            client.save(new_context(f"t{batch}_{n}", BTC, now=1.0).evolve(**body))
        await client.flush()
    assert wal.stat().st_size > 6_000_000
    assert database.stat().st_size < 1_000_000
    mock_clock.jump(writer.checkpoint_interval_s)
    await trio.to_thread.run_sync(until_on_disk, lambda: writer.stats.checkpoints == 1)
    assert database.stat().st_size > 6_000_000
    assert writer.stats.log_pages == 0
    # The next commit starts the log over, in place: the file keeps its size.
    kept = wal.stat().st_size
    client.save(new_context("t0", BTC, now=2.0))
    await client.flush()
    assert wal.stat().st_size == kept
    assert log_frames(database) < 10


def log_frames(database):
    """How many frames the write-ahead log holds since it last started over."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        [(_, frames, _)] = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    return frames


def until_on_disk(predicate, timeout_s=10.0):
    """On a thread, in real time (the mock clock stands still): the checkpoint's thread."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "not on disk in time"
        time.sleep(0.005)


class BlockedCheckpointer:
    """A checkpointer a reader always stands in the way of: it copies nothing."""

    def __init__(self, path):
        self.path = path

    def checkpoint(self):
        return 10_000, 0

    def close(self):
        pass


async def test_a_log_the_checkpoints_cannot_keep_short_is_copied_by_the_writer(
    nursery, tmp_path, mock_clock, monkeypatch
):
    monkeypatch.setattr(writer_module, "Checkpointer", BlockedCheckpointer)
    _, writer, client = await start(nursery, tmp_path)
    wal = tmp_path / "basis.db-wal"
    for n in range(900):
        client.save(new_context(f"t{n}", BTC, now=1.0).evolve(last_error="x" * 2000))
    await client.flush()
    assert wal.stat().st_size > 3_000_000
    mock_clock.jump(writer.checkpoint_interval_s)
    await trio.to_thread.run_sync(until_on_disk, lambda: writer.stats.checkpoints == 1)
    assert writer.stats.log_pages == 10_000
    client.save(new_context("t0", BTC, now=2.0))
    await client.flush()  # the writer copied the log before this batch: it starts over
    assert log_frames(tmp_path / "basis.db") < 10


async def test_a_snapshot_is_encoded_when_written_and_only_the_newest_of_a_task(
    nursery, tmp_path, monkeypatch
):
    encoded = []
    encode = writer_module._encode_json

    def counting(ctx):
        encoded.append(ctx.task_id)
        return encode(ctx)

    monkeypatch.setattr(writer_module, "_encode_json", counting)
    _, _, client = await start(nursery, tmp_path)
    ctx = new_context("t1", BTC, now=1.0)
    for cycles in range(1, 101):
        client.save(ctx.evolve(arbitrage_cycles=cycles))
    assert encoded == []  # nothing on the deciding strategy's path
    await client.flush()
    assert encoded == ["t1"]


async def test_a_decisions_intents_commit_on_the_trio_thread_and_the_rest_on_the_writers(
    nursery, tmp_path, monkeypatch
):
    threads = []
    write_batch = writer_module._write_batch

    def noting(store, snapshots, intents, events, history):
        threads.append((threading.current_thread() is threading.main_thread(), len(intents)))
        return write_batch(store, snapshots, intents, events, history)

    monkeypatch.setattr(writer_module, "_write_batch", noting)
    _, writer, client = await start(nursery, tmp_path)
    await client.journal(new_context("t1", BTC, now=1.0), orders("t1", 2))
    client.save(new_context("t2", BTC, now=1.0))
    await client.flush()
    # A burst of intents past the bound: one transaction, on the writer's thread.
    async with trio.open_nursery() as burst:
        for n in range(writer.on_the_loop_records + 1):
            burst.start_soon(client.journal, new_context(f"b{n}", BTC, now=1.0), orders(f"b{n}", 1))
    assert threads[:2] == [(True, 2), (False, 0)]
    assert (False, writer.on_the_loop_records + 1) in threads[2:]
    with Store(tmp_path / "basis.db") as reader:
        assert len(reader.open_orders()) == 3 + writer.on_the_loop_records


async def test_with_every_commit_synced_intents_commit_on_the_writers_thread(
    nursery, tmp_path, monkeypatch
):
    threads = []
    write_batch = writer_module._write_batch

    def noting(store, snapshots, intents, events, history):
        threads.append(threading.current_thread() is threading.main_thread())
        return write_batch(store, snapshots, intents, events, history)

    monkeypatch.setattr(writer_module, "_write_batch", noting)
    mailbox = Mailbox("writer")
    writer = Writer(tmp_path / "basis.db", durability="FULL")
    await nursery.start(Supervisor("root", [ChildSpec("writer", writer.run, mailbox=mailbox)]).run)
    await WriterClient(mailbox.address).journal(new_context("t1", BTC, now=1.0), orders("t1", 2))
    assert threads == [False]


async def test_intents_the_store_fences_off_raise_lease_lost_and_the_others_commit(
    nursery, tmp_path
):
    # A cluster's store refuses the records of a symbol whose lease this instance lost
    # (its fencing is tested against PostgreSQL itself); the writer tells each journal
    # whether its own symbol was among them, in the same batch as the others.
    _, writer, client = await start(nursery, tmp_path)
    store = writer.store
    assert store is not None
    real_write = store.write_batch
    eth = Symbol("ETH", "USDT")

    def fencing(snapshots, intents, events, history=()):
        real_write(
            [s for s in snapshots if s.symbol != str(eth)],
            [i for i in intents if i.symbol != str(eth)],
            events,
            history,
        )
        return frozenset({str(eth)})

    store.write_batch = fencing  # type: ignore[method-assign]
    held = new_context("t1", BTC, now=1.0)
    lost = new_context("t2", eth, now=1.0)
    lost_orders = [
        Order("t2-0s", Leg.SPOT, eth, Side.BUY, 0.5, 100.0, created_ts=1.0),
    ]
    outcomes: dict[str, str] = {}

    async def journal(ctx, placed):
        try:
            await client.journal(ctx, placed)
        except LeaseLost as error:
            outcomes[ctx.task_id] = f"refused: {error}"
        else:
            outcomes[ctx.task_id] = "committed"

    async with trio.open_nursery() as both:
        both.start_soon(journal, held, orders("t1", 1))
        both.start_soon(journal, lost, lost_orders)
    assert outcomes["t1"] == "committed"
    assert outcomes["t2"].startswith("refused: ETH/USDT")
    assert writer.statistics().fenced >= 1
    reader = Store(tmp_path / "basis.db")
    assert [o.client_id for o in reader.open_orders()] == ["t1-0s"]
    reader.close()
