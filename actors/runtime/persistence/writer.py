"""The persistence writer actor: the only one that touches the disk.

Strategies hand it snapshots of their context after every decision (on the conflating
lane, keyed by task: a newer snapshot replaces an unwritten older one), journal their
order intents before sending them (on the FIFO lane, and they wait for the commit), and
hand over their history (fills, funding settlements, cycles and the sampled series, on
the FIFO lane before the snapshot of the same decision: the mailbox gives FIFO messages
first, so a stored snapshot never lacks its history).
Routers append what venues say of orders. Whatever is waiting is written as one batch on
the writer's own thread (:class:`~actors.runtime.persistence.worker_thread.WorkerThread`),
so the trio thread does not wait on the disk and a burst of intents costs one commit: the
batch's intents first, with the snapshots of the decisions that placed them (their orders
leave as soon as it commits, not after the other tasks' snapshots and history), then the
rest in one transaction. A small transaction of intents is the exception (see
``Writer.on_the_loop_records``): with ``synchronous=NORMAL`` its commit writes to the log
without syncing, in less time than the hand-over to the thread and back, so it is
committed on the trio thread itself. Checkpoints are kept out of those commits
(:class:`~actors.runtime.persistence.store.Checkpointer`). The system's other changes to
the store (quarantining a record, closing an earlier run's tasks, deleting old ones) are
requests to the writer too, carried out in their place among the journal entries and order
events, and answered: nothing else in a running system writes.

On a stop the writer finishes: everything still in its mailbox is written before it ends.

A transaction the storage refuses (a full disk, a read-only or corrupt file, an I/O
error: :func:`~actors.runtime.persistence.store.storage_failure`) does not crash the
writer: it reports itself failing with the cause (its statistics, ``on_health``) and tries
the same batch again, with a growing pause, until the storage takes it. Meanwhile nothing
is lost and nothing overtakes: intents stay uncommitted, so the orders waiting for them do
not leave, and whatever arrives waits in the mailbox behind the batch. Any other failure
is a bug and crashes the writer; the batch is kept and written first when its supervisor
starts it again.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import msgspec
import trio

from actors.arbitrage.actor import OrdersRefused
from actors.arbitrage.context import ArbitrageContext, ArbitrageState
from actors.runtime.persistence.postgres_store import PostgresStore
from actors.runtime.persistence.source import StoreSource
from actors.runtime.persistence.store import (
    Checkpointer,
    Durability,
    IntentRecord,
    OrderEventRecord,
    OutboxRecord,
    RiskModeRow,
    SnapshotRecord,
    Store,
    Thinned,
)
from actors.runtime.persistence.worker_thread import WorkerThread
from protocols.history import FillRecord, FundingRecord, HistoryRecord, SeriesPoint
from protocols.messages import TradeRecord
from protocols.model import Order
from supervision import Address, Incarnation, Stopping

log = logging.getLogger("basis.writer")

LATENCY_SAMPLES = 2048
WRITER_MAILBOX = "writer"
"""The name of the writer's mailbox, as status and metrics show its depth."""
THIN_SLICE_POINTS = 2000
"""The most series points one thinning request reads (unless one minute alone holds
more): a minute of 30 symbols at a point a second, some 10 ms of the writer's time,
where their hour (108 000 points) in one transaction takes a fifth of a second."""
_encode_json = msgspec.json.Encoder().encode

_DONE_STATES = (ArbitrageState.STOPPED,)


@attrs.define(eq=False)
class JournalIntents:
    """Intents to commit; ``committed`` is set once they are on disk, or once the store
    refused them (``refused``: fenced off, see :class:`LeaseLost`)."""

    records: tuple[IntentRecord, ...]
    committed: trio.Event
    refused: bool = False


class LeaseLost(OrdersRefused):
    """The store refused a decision's intents: this instance no longer holds the lease of
    their symbol (a cluster's store writes only under the current lease, see
    ``docs/cluster.md``). Their orders must not leave; the instance that holds the symbol
    now trades it."""


@attrs.define(eq=False)
class Reply:
    """The answer to a request the writer carries out; awaited by whoever asked."""

    done: trio.Event = attrs.field(factory=trio.Event)
    value: Any = None
    error: Exception | None = None

    async def wait(self) -> Any:
        """The request's result, once carried out; its error, raised, if it failed."""
        await self.done.wait()
        if self.error is not None:
            raise self.error
        return self.value


@attrs.frozen
class QuarantineTask:
    """Take ``task_id`` out of recovery, with the reason (and the unreadable record)."""

    task_id: str | None
    reason: str
    record: bytes | None
    symbol: str | None
    """The symbol held out of trading until the operator resolves it, if any."""
    reply: Reply


@attrs.frozen
class ResolveQuarantine:
    """Release ``symbol`` from quarantine, storing ``task`` (the record to trade on from
    now) in the same transaction; replies how many quarantine rows were resolved."""

    symbol: str
    resolution: str
    task: SnapshotRecord | None
    reply: Reply


@attrs.frozen
class RecordOperatorAction:
    action: str
    symbol: str | None
    result: str
    who: str
    reply: Reply


@attrs.frozen
class SetRiskMode:
    row: RiskModeRow
    reply: Reply


@attrs.frozen
class KeepRiskStops:
    """The stops' marks, kept in the mode set last (``row`` if none ever was)."""

    row: RiskModeRow
    reply: Reply


@attrs.frozen
class AbandonActiveTasks:
    """Close every active task as abandoned (their venues are gone); replies how many."""

    reply: Reply


@attrs.frozen
class DeleteCompletedTasks:
    """Delete tasks completed before ``before`` (Unix time); replies how many."""

    before: float
    reply: Reply


@attrs.frozen
class PutAlert:
    """Put an alert in the outbox (with the incident change it announces)."""

    record: OutboxRecord
    reply: Reply


@attrs.frozen
class MarkDelivery:
    """Record what a sink made of an alert (``delivered``, or ``failed`` for good)."""

    alert_id: str
    sink: str
    outcome: str
    detail: str
    reply: Reply


@attrs.frozen
class ThinSeries:
    """Thin one slice of the series (at most ``max_points`` points, whole minutes) to a
    point a minute up to ``before`` (Unix time); replies what was done
    (:class:`~actors.runtime.persistence.store.Thinned`)."""

    before: float
    max_points: int
    reply: Reply


@attrs.frozen
class BeginRun:
    """Record that a run started; replies its id."""

    reply: Reply


@attrs.frozen
class EndRun:
    """Record that run ``run_id`` stopped cleanly."""

    run_id: int
    reply: Reply


StoreRequest = (
    QuarantineTask
    | AbandonActiveTasks
    | DeleteCompletedTasks
    | ResolveQuarantine
    | RecordOperatorAction
    | SetRiskMode
    | KeepRiskStops
    | PutAlert
    | MarkDelivery
    | ThinSeries
    | BeginRun
    | EndRun
)


def _carry_out(store: Store, request: StoreRequest) -> Any:
    if type(request) is QuarantineTask:
        return store.quarantine(request.task_id, request.reason, request.record, request.symbol)
    if type(request) is ResolveQuarantine:
        return store.resolve_quarantine(request.symbol, request.resolution, request.task)
    if type(request) is RecordOperatorAction:
        return store.record_operator_action(
            request.action, request.symbol, request.result, request.who
        )
    if type(request) is SetRiskMode:
        return store.set_risk_mode(request.row)
    if type(request) is KeepRiskStops:
        return store.keep_risk_stops(request.row)
    if type(request) is AbandonActiveTasks:
        return store.abandon_active()
    if type(request) is PutAlert:
        return store.put_alert(request.record)
    if type(request) is MarkDelivery:
        return store.mark_delivery(request.alert_id, request.sink, request.outcome, request.detail)
    if type(request) is BeginRun:
        return store.begin_run()
    if type(request) is EndRun:
        return store.end_run(request.run_id)
    if type(request) is ThinSeries:
        return store.thin_series(request.before, request.max_points)
    assert type(request) is DeleteCompletedTasks
    return store.delete_completed(request.before)


@attrs.define
class WriterStats:
    batches: int = 0
    snapshots: int = 0
    intents: int = 0
    events: int = 0
    history: int = 0
    checkpoints: int = 0
    log_pages: int = 0
    """The log's pages the last checkpoint could not copy yet (readers still need them)."""
    last_write_at: float | None = None
    fenced: int = 0
    """Transactions of which the store refused some records: their lease was not held."""
    latencies_s: deque[float] = attrs.field(factory=lambda: deque(maxlen=LATENCY_SAMPLES))

    def latency_percentile(self, fraction: float) -> float | None:
        if not self.latencies_s:
            return None
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class WriterStatistics(msgspec.Struct, frozen=True):
    """What the writer reports of itself (:meth:`Writer.statistics`); counters only grow."""

    batches: int
    """Transactions committed."""
    snapshots: int
    intents: int
    events: int
    last_write_at: float | None
    """Wall-clock time of the last commit."""
    write_latency_p50_s: float | None
    """Median time of a batch's transaction over the last ``LATENCY_SAMPLES`` commits
    (``None`` before the first)."""
    write_latency_p99_s: float | None
    """Its 99th percentile, likewise."""
    failing: str | None = None
    """Why the storage refuses the writer's transactions (``disk full: <path>: ...``),
    while it does; ``None`` while writes succeed."""
    failing_since: float | None = None
    """Wall-clock time of the first refused transaction of the current failure."""
    refused: int = 0
    """Transactions the storage refused (each attempt counts)."""
    history: int = 0
    """History records written: cycles, fills, funding settlements, series points."""
    fenced: int = 0
    """Transactions of which the store refused the records of a symbol whose lease this
    instance no longer held (a cluster's store only)."""


@attrs.define(eq=False)
class Writer:
    path: Path
    durability: Durability = "NORMAL"
    max_batch: int = 1000
    stats: WriterStats = attrs.field(factory=WriterStats)
    store: Store | PostgresStore | None = None
    source: StoreSource | None = None
    """Where the store is when it is not the SQLite file at ``path``: the writer opens
    its own store there (``for_writer``)."""
    on_health: Callable[[str | None], None] | None = None
    """Called with the cause when the storage starts refusing writes (or the cause
    changes), and with ``None`` once it takes them again."""
    checkpoint_interval_s: float = 1.0
    """How often the log is copied into the database, apart from the commits."""
    on_the_loop_records: int = 32
    """The most records of a transaction of intents committed on the trio thread instead
    of the writer's own. A decision's intents, its snapshot and its history are a handful
    of records whose transaction takes ~50 µs (``synchronous=NORMAL``: written to the
    log, not synced), where handing it to the thread and taking the outcome back costs
    the waiting strategy 150-250 µs (``bench.tick_bench``); a bigger burst, and every
    commit that syncs the disk (``FULL``), goes to the thread, so the trio thread never
    stops for long; 0 sends every transaction there. The writer's other transactions
    stay on its thread too: on the trio thread they lengthened the tick-to-order tail
    (``bench.tick_bench``, decision -> intent committed p99.9 +1-1.5 ms)."""
    log_bound_pages: int = 8192
    """The log's length (32 MB of 4 KB pages) past which the writer copies it itself."""
    retry_min_s: float = 0.25
    retry_max_s: float = 5.0
    """The pause between attempts at a refused batch: doubling from the first to the second."""
    failing: str | None = None
    failing_since: float | None = None
    refused: int = 0
    _log_too_long: bool = False
    _unwritten: list[Any] = attrs.field(factory=list)
    """The batch a failed transaction left, for the next incarnation to write first."""
    _thread: WorkerThread | None = None
    """The incarnation's thread for the store's calls."""

    def statistics(self) -> WriterStatistics:
        """The writer's counters now, as a value that no later change touches."""
        stats = self.stats
        return WriterStatistics(
            stats.batches,
            stats.snapshots,
            stats.intents,
            stats.events,
            stats.last_write_at,
            stats.latency_percentile(0.5),
            stats.latency_percentile(0.99),
            self.failing,
            self.failing_since,
            self.refused,
            stats.history,
            stats.fenced,
        )

    async def run(self, inc: Incarnation, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        mailbox = inc.mailbox
        assert mailbox is not None, "the writer needs a mailbox"
        if self.store is None:
            if self.source is not None:
                self.store = await trio.to_thread.run_sync(self.source.for_writer)
            else:
                self.store = await trio.to_thread.run_sync(Store, self.path, self.durability)
        store = self.store
        checkpointer = None
        # SQLite's log is Basis's to copy into the database; PostgreSQL's is the server's.
        if isinstance(store, Store):
            await trio.to_thread.run_sync(store.checkpoint_apart)
            checkpointer = await trio.to_thread.run_sync(Checkpointer, store.path)
        try:
            async with WorkerThread() as thread, trio.open_nursery() as nursery:
                if checkpointer is not None:
                    nursery.start_soon(self._checkpoints, checkpointer)
                await self._serve(mailbox, thread, task_status)
                nursery.cancel_scope.cancel()
        finally:
            if checkpointer is not None:
                checkpointer.close()

    async def _checkpoints(self, checkpointer: Checkpointer) -> None:
        """Every ``checkpoint_interval_s``, the log copied into the database on a thread
        of its own, beside the writer's commits (:class:`Checkpointer`)."""
        while True:
            await trio.sleep(self.checkpoint_interval_s)
            try:
                pages, copied = await trio.to_thread.run_sync(checkpointer.checkpoint)
            except sqlite3.Error as error:
                # The next one tries again; the writer's own transactions say whether the
                # storage takes writes (a full disk, say).
                log.warning("writer: checkpoint failed: %s", error)
                continue
            self.stats.checkpoints += 1
            self.stats.log_pages = pages - copied
            # Commits made while it copied keep the log from starting over: past the
            # bound, the writer copies the rest itself, between its transactions.
            self._log_too_long = pages > self.log_bound_pages

    async def _serve(self, mailbox: Any, thread: WorkerThread, task_status: Any) -> None:
        self._thread = thread
        if self._unwritten:
            batch, self._unwritten = self._unwritten, []
            log.warning("writer: writing the %d records a failed batch left", len(batch))
            await self._write(batch)
        task_status.started()
        while True:
            try:
                first = await mailbox.receive()
            except Stopping:
                # Everything handed over so far is written before the writer ends.
                remaining = mailbox.take_all_nowait()
                while remaining:
                    await self._write(remaining[: self.max_batch])
                    remaining = remaining[self.max_batch :]
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    batch.append(mailbox.receive_nowait())
                except (trio.WouldBlock, Stopping):
                    break
            if self._log_too_long:
                assert self.store is not None
                self._log_too_long = False
                await thread.run_sync(self.store.checkpoint)
            await self._write(batch)

    async def _write(self, batch: Sequence[Any]) -> None:
        """Records in order, each run of them in one transaction; a request in between
        is carried out after the records before it and before those after it.

        What is not yet written or answered stays in ``_unwritten`` until it is, so an
        incarnation that ends in between (a bug, a crash, a cancellation) leaves it to
        the next one: nothing taken from the mailbox is lost, and whoever waits for a
        commit or an answer gets it from the restarted writer. A transaction or a
        request on the worker thread cannot be interrupted, and nothing awaits between
        its end and the update of ``_unwritten``, so nothing is done twice either."""
        self._unwritten = list(batch)
        start = 0
        for index, message in enumerate(batch):
            if isinstance(message, StoreRequest):
                await self._write_records(batch[start:index])
                self._unwritten = list(batch[index:])
                await self._answer(message)
                start = index + 1
                self._unwritten = list(batch[start:])
        await self._write_records(batch[start:])
        self._unwritten = []

    async def _answer(self, request: StoreRequest) -> None:
        assert self.store is not None and self._thread is not None
        reply = request.reply
        try:
            reply.value = await self._thread.run_sync(_carry_out, self.store, request)
        except Exception as error:
            # The asker decides what a failed request means; the writer carries on.
            reply.error = error
        reply.done.set()

    async def _write_records(self, records: Sequence[Any]) -> None:
        """``records`` stored, tried until the storage takes them: the intents first, with
        the newest snapshot of each task that journals them (the decision that placed the
        orders, saved before it journaled them) and those tasks' history, in a transaction
        whose commit lets their orders leave; then the rest in one transaction. An intent
        never waits behind the other tasks' snapshots and history handed over before it,
        and what is stored stays whole: a snapshot never lacks its decision's history nor
        its orders' intents, and an order's events come after its intent."""
        if not records:
            return
        snapshots: dict[str, ArbitrageContext] = {}
        intents: list[IntentRecord] = []
        events: list[OrderEventRecord] = []
        history: list[TradeRecord | HistoryRecord] = []
        journaled: list[JournalIntents] = []
        flushed: list[JournalIntents] = []
        for message in records:
            kind = type(message)
            if kind is ArbitrageContext:
                snapshots[message.task_id] = message  # the newest of a task wins
            elif kind is JournalIntents:
                intents.extend(message.records)
                (journaled if message.records else flushed).append(message)
            elif kind is OrderEventRecord:
                events.append(message)
            elif kind in _HISTORY:
                history.append(message)
            else:
                log.error("writer: cannot store %r", message)
        if intents:
            tasks = {intent.task_id for intent in intents}
            decided = [snapshots.pop(task) for task in tasks if task in snapshots]
            theirs = [r for r in history if getattr(r, "task_id", None) in tasks]
            history = [r for r in history if getattr(r, "task_id", None) not in tasks]
            if snapshots or events or history:
                # Stored again if this incarnation ends before the rest is: what is
                # already stored is kept as it is (an intent), or stored the same again.
                refused = await self._transact(decided, intents, (), theirs, journals=True)
                decided, intents, theirs = [], [], []
                _answer_journals(journaled, refused)
                journaled = []
            snapshots.update((ctx.task_id, ctx) for ctx in decided)
            history = theirs + history
        refused = await self._transact(
            tuple(snapshots.values()), intents, events, history, journals=bool(intents)
        )
        _answer_journals(journaled + flushed, refused)

    async def _transact(
        self,
        snapshots: Sequence[ArbitrageContext],
        intents: Sequence[IntentRecord],
        events: Sequence[OrderEventRecord],
        history: Sequence[TradeRecord | HistoryRecord],
        *,
        journals: bool = False,
    ) -> None:
        """``journals``: the transaction journals intents, which strategies wait for.
        Returns the symbols whose records the store refused (fenced off)."""
        began, refused = await self._commit(snapshots, intents, events, history, journals=journals)
        stats = self.stats
        stats.latencies_s.append(time.perf_counter() - began)
        stats.batches += 1
        stats.snapshots += len(snapshots)
        stats.intents += len(intents)
        stats.events += len(events)
        stats.history += len(history)
        stats.last_write_at = time.time()
        if refused:
            stats.fenced += 1
            log.error(
                "writer: the store refused the records of %s: this instance no longer holds "
                "their lease",
                ", ".join(sorted(refused)),
            )
        return refused

    async def _commit(
        self,
        snapshots: Sequence[ArbitrageContext],
        intents: Sequence[IntentRecord],
        events: Sequence[OrderEventRecord],
        history: Sequence[TradeRecord | HistoryRecord],
        *,
        journals: bool,
    ) -> tuple[float, frozenset[str]]:
        """Write the records in one transaction, as often as the storage refuses it;
        returns when the attempt that succeeded began (``perf_counter``) and the symbols
        whose records it fenced off. Raises what is not the storage's fault. A small
        transaction of intents is committed on the trio thread (``on_the_loop_records``)."""
        assert self.store is not None and self._thread is not None
        records = len(snapshots) + len(intents) + len(events) + len(history)
        bound = self.on_the_loop_records
        on_the_loop = (
            journals
            and self.durability == "NORMAL"
            and self.store.COMMITS_ON_THE_LOOP
            and 0 < records <= bound
        )
        pause = self.retry_min_s
        while True:
            began = time.perf_counter()
            # Not cancellable: a transaction that started is finished, whatever happens.
            try:
                if on_the_loop:
                    refused = _write_batch(self.store, snapshots, intents, events, history)
                else:
                    refused = await self._thread.run_sync(
                        _write_batch, self.store, snapshots, intents, events, history
                    )
            except Exception as error:
                cause = self.store.failure_of(error)
                if cause is None:
                    raise
                self._refused(cause)
            else:
                if self.failing is not None:
                    self._recovered(records)
                return began, refused
            try:
                await trio.sleep(pause)
            except trio.Cancelled:
                # Stopped (or given up on) while the disk still refuses: say what is lost.
                log.error(
                    "writer: stopped with %d records the store refused (%s)",
                    records,
                    self.failing,
                )
                raise
            pause = min(pause * 2.0, self.retry_max_s)

    def _refused(self, cause: str) -> None:
        self.refused += 1
        if cause == self.failing:
            return
        if self.failing is None:
            self.failing_since = time.time()
        self.failing = cause
        log.error(
            "writer: the store refuses writes: %s; retrying, no order leaves until its "
            "intent is stored",
            cause,
        )
        if self.on_health is not None:
            self.on_health(cause)

    def _recovered(self, records: int) -> None:
        since = self.failing_since or time.time()
        log.warning(
            "writer: the store takes writes again after %.1f s (%s); %d records written",
            time.time() - since,
            self.failing,
            records,
        )
        self.failing = None
        self.failing_since = None
        if self.on_health is not None:
            self.on_health(None)


_HISTORY = (TradeRecord, FillRecord, FundingRecord, SeriesPoint)


def _write_batch(
    store: Store,
    snapshots: Sequence[ArbitrageContext],
    intents: Sequence[IntentRecord],
    events: Sequence[OrderEventRecord],
    history: Sequence[TradeRecord | HistoryRecord],
) -> frozenset[str]:
    """The batch's transaction, on the worker thread: the contexts are encoded here, only
    the newest of each task, and off every strategy's decision. Returns the symbols whose
    records the store fenced off."""
    return store.write_batch([snapshot_record(ctx) for ctx in snapshots], intents, events, history)


def _answer_journals(journals: Sequence[JournalIntents], refused: frozenset[str]) -> None:
    """Wake whoever waits for ``journals``, each told whether its symbol was fenced off."""
    for message in journals:
        message.refused = any(record.symbol in refused for record in message.records)
        message.committed.set()


def snapshot_record(ctx: ArbitrageContext) -> SnapshotRecord:
    return SnapshotRecord(
        ctx.task_id,
        ctx.task_type,
        str(ctx.symbol),
        ctx.state.value,
        _encode_json(ctx),
        ctx.last_update or time.time(),
        ctx.state in _DONE_STATES,
    )


@attrs.frozen
class WriterClient:
    """What strategies and routers hold: the writer's address and the record shapes."""

    address: Address

    def save(self, ctx: ArbitrageContext) -> None:
        """Hand over a snapshot; never waits (a newer one replaces an unwritten older).

        The context itself is handed over, not its encoding: it is immutable (the machine
        evolves copies, never changes one), so the writer encodes it when it writes it,
        and a snapshot superseded before that is never encoded at all."""
        self.address.put_latest(("snapshot", ctx.task_id), ctx)

    async def journal(self, ctx: ArbitrageContext, orders: Sequence[Order]) -> None:
        """Commit ``orders`` as intents; returns once they are on disk."""
        venue = {"spot": ctx.spot_venue, "futures": ctx.futures_venue}
        records = tuple(
            IntentRecord(
                order.client_id,
                ctx.task_id,
                venue[order.leg.value],
                order.leg.value,
                str(order.symbol),
                order.side.value,
                order.qty,
                order.price,
                order.created_ts or time.time(),
            )
            for order in orders
        )
        message = JournalIntents(records, trio.Event())
        await self.address.send(message)
        await message.committed.wait()
        if message.refused:
            raise LeaseLost(f"{ctx.symbol}: the store refused task {ctx.task_id}'s intents")

    async def flush(self) -> None:
        """Returns once everything handed over before it is on disk (snapshots included:
        the commit that answers it takes whatever waits, on either lane)."""
        committed = trio.Event()
        await self.address.send(JournalIntents((), committed))
        await committed.wait()

    async def order_event(self, record: OrderEventRecord) -> None:
        await self.address.send(record)

    async def history(self, record: TradeRecord | HistoryRecord) -> None:
        """Hand over a record for the history, in order with everything else on the FIFO
        lane; waits only while that lane is full. A series point is a sample and never
        waits: it goes on the conflating lane, where the newest of its symbol replaces an
        unwritten older one while the store lags (a store refusing writes, say)."""
        if type(record) is SeriesPoint:
            self.address.put_latest(("series", record.symbol), record)
            return
        try:
            self.address.send_nowait(record)
        except trio.WouldBlock:
            await self.address.send(record)

    async def thin_series(self, before: float, max_points: int = THIN_SLICE_POINTS) -> Thinned:
        """Thin a slice of the series stored before ``before`` to a point a minute; returns
        what was done once it is (``more``: ask again for the next slice). Each slice is
        a request of its own, so whatever is handed over meanwhile (an order's intent,
        say) waits for one slice at most, not for the whole thinning."""
        reply = Reply()
        await self.address.send(ThinSeries(before, max_points, reply))
        return await reply.wait()

    async def quarantine(
        self, task_id: str | None, reason: str, record: bytes | None, symbol: str | None = None
    ) -> None:
        """Take ``task_id`` out of recovery with ``reason`` (and ``symbol`` out of trading
        until the operator resolves it); returns once it is stored."""
        reply = Reply()
        await self.address.send(QuarantineTask(task_id, reason, record, symbol, reply))
        await reply.wait()

    async def resolve_quarantine(
        self, symbol: str, resolution: str, task: ArbitrageContext | None
    ) -> int:
        """Release ``symbol`` from quarantine with ``task`` as its record from now (``None``:
        the record stays closed); returns how many quarantine rows, once stored."""
        record = None if task is None else snapshot_record(task)
        reply = Reply()
        await self.address.send(ResolveQuarantine(symbol, resolution, record, reply))
        return await reply.wait()

    async def operator_action(self, action: str, symbol: str | None, result: str, who: str) -> None:
        """Record what the operator (``who``) asked and what came of it; returns once
        stored."""
        reply = Reply()
        await self.address.send(RecordOperatorAction(action, symbol, result, who, reply))
        await reply.wait()

    async def set_risk_mode(self, row: RiskModeRow) -> None:
        """Record the portfolio's risk mode; returns once stored."""
        reply = Reply()
        await self.address.send(SetRiskMode(row, reply))
        await reply.wait()

    async def keep_risk_stops(self, row: RiskModeRow) -> None:
        """Keep the stops' marks in the mode set last; returns once stored."""
        reply = Reply()
        await self.address.send(KeepRiskStops(row, reply))
        await reply.wait()

    async def abandon_active(self) -> int:
        """Close every active task as abandoned; returns how many, once stored."""
        reply = Reply()
        await self.address.send(AbandonActiveTasks(reply))
        return await reply.wait()

    async def delete_completed(self, before: float) -> int:
        """Delete tasks completed before ``before``; returns how many, once stored."""
        reply = Reply()
        await self.address.send(DeleteCompletedTasks(before, reply))
        return await reply.wait()

    # The alerts' requests never wait for room in the mailbox (``trio.WouldBlock`` when
    # it is full): alerts must not wait on a store that cannot keep up.

    def put_alert(self, record: OutboxRecord) -> Reply:
        """Put an alert in the outbox; the reply is answered once it is stored."""
        reply = Reply()
        self.address.send_nowait(PutAlert(record, reply))
        return reply

    def mark_delivery(self, alert_id: str, sink: str, outcome: str, detail: str) -> Reply:
        reply = Reply()
        self.address.send_nowait(MarkDelivery(alert_id, sink, outcome, detail, reply))
        return reply

    def begin_run(self) -> Reply:
        reply = Reply()
        self.address.send_nowait(BeginRun(reply))
        return reply

    def end_run(self, run_id: int) -> Reply:
        reply = Reply()
        self.address.send_nowait(EndRun(run_id, reply))
        return reply
