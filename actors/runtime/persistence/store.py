"""The SQLite store: strategy snapshots, the order-intent journal, quarantine, and the
operator's actions.

One file under the data directory, in WAL mode so that readers (``basis state``, status,
recovery) never block the writer. Every method here is synchronous. In a running system
the methods that write are called only by the persistence writer, on its worker thread;
everything else opens a connection of its own to read (``with Store(path) as store:``).

Schema changes are migrations, applied in order at open; ``PRAGMA user_version`` records
how far a file has come, so an older file is upgraded in place and nothing stored is
lost. ``synchronous`` is ``NORMAL`` by default (a power cut may lose the last moments,
an application crash loses nothing) or ``FULL`` (a power cut loses nothing either).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, NamedTuple

import attrs
import msgspec

from protocols.client_ids import BASE36, INSTANCE_ID_LENGTH, is_instance_id
from protocols.history import FillRecord, FundingRecord, HistoryRecord, SeriesPoint
from protocols.messages import TradeRecord

Durability = Literal["NORMAL", "FULL"]

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE tasks (
        task_id TEXT PRIMARY KEY,
        task_type TEXT NOT NULL,
        symbol TEXT NOT NULL,
        state TEXT NOT NULL,
        snapshot BLOB NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        completed_at REAL
    );
    CREATE TABLE orders (
        client_id TEXT PRIMARY KEY,
        task_id TEXT NOT NULL,
        venue TEXT NOT NULL,
        leg TEXT NOT NULL,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        qty REAL NOT NULL,
        price REAL NOT NULL,
        created_at REAL NOT NULL,
        status TEXT NOT NULL,
        venue_order_id TEXT,
        filled_qty REAL NOT NULL DEFAULT 0,
        avg_price REAL NOT NULL DEFAULT 0,
        updated_at REAL NOT NULL
    );
    CREATE INDEX orders_open ON orders (task_id) WHERE status NOT IN
        ('filled', 'cancelled', 'expired', 'rejected');
    CREATE TABLE order_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        client_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload BLOB NOT NULL,
        ts REAL NOT NULL
    );
    CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id TEXT,
        reason TEXT NOT NULL,
        record BLOB,
        ts REAL NOT NULL
    );
    """,
    # A quarantine that holds its symbol out of trading until the operator resolves it.
    # Rows from before this have no symbol: they hold nothing, as they never did.
    """
    ALTER TABLE quarantine ADD COLUMN symbol TEXT;
    ALTER TABLE quarantine ADD COLUMN resolved_at REAL;
    ALTER TABLE quarantine ADD COLUMN resolution TEXT;
    CREATE TABLE operator_actions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts REAL NOT NULL,
        action TEXT NOT NULL,
        symbol TEXT,
        result TEXT NOT NULL
    );
    """,
    # The store's instance id, made with the table: every store has one from the moment
    # its schema does, and nothing writes it again. SQLite's random() picks each base-36
    # character (a store opened by an older Basis gets its id as it is upgraded).
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    INSERT INTO meta (key, value) VALUES ('instance', """
    + " || ".join([f"substr('{BASE36}', 1 + (random() & 65535) % 36, 1)"] * INSTANCE_ID_LENGTH)
    + """);
    """,
    # The alerts' outbox (each alert, and the sinks it is for, stored before any attempt
    # to deliver it), what each sink made of it, the incidents announced open (so an
    # incident is announced once across restarts), and each run's start and clean stop
    # (a run with no stop ended in a crash).
    """
    CREATE TABLE alert_outbox (
        id TEXT PRIMARY KEY,
        body BLOB NOT NULL,
        sinks TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE alert_deliveries (
        alert_id TEXT NOT NULL,
        sink TEXT NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT NOT NULL,
        ts REAL NOT NULL,
        PRIMARY KEY (alert_id, sink)
    );
    CREATE TABLE open_incidents (
        key TEXT PRIMARY KEY,
        body BLOB NOT NULL,
        opened_at REAL NOT NULL
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at REAL NOT NULL,
        stopped_at REAL
    );
    """,
    # The portfolio's risk mode, each change kept: the newest row is the mode now, with
    # why, since when, who set it, and the portfolio stops' state (JSON) at the change.
    """
    CREATE TABLE risk_modes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        mode TEXT NOT NULL,
        reason TEXT NOT NULL,
        since REAL NOT NULL,
        set_by TEXT NOT NULL,
        stops BLOB
    );
    """,
    # What analysis needs (actors/analytics/): every closed cycle (its trade record, as
    # JSON, with the columns a window and a symbol are chosen by), every fill with the
    # price it was decided on, every funding settlement with the venue's ledger id, and
    # a sampled series per symbol, thinned to a minute once old (up to the time meta's
    # series_thinned_until holds).
    """
    CREATE TABLE cycles (
        task_id TEXT NOT NULL,
        cycle INTEGER NOT NULL,
        symbol TEXT NOT NULL,
        entry_ts REAL NOT NULL,
        exit_ts REAL NOT NULL,
        record BLOB NOT NULL,
        PRIMARY KEY (task_id, cycle)
    );
    CREATE INDEX cycles_by_exit ON cycles (exit_ts);
    CREATE TABLE fills (
        client_id TEXT NOT NULL,
        trade_id TEXT NOT NULL,
        task_id TEXT NOT NULL,
        cycle INTEGER NOT NULL,
        symbol TEXT NOT NULL,
        venue TEXT NOT NULL,
        leg TEXT NOT NULL,
        side TEXT NOT NULL,
        role TEXT NOT NULL,
        ts REAL NOT NULL,
        qty REAL NOT NULL,
        price REAL NOT NULL,
        decision_price REAL NOT NULL,
        fee_usdt REAL NOT NULL,
        commission REAL NOT NULL,
        commission_asset TEXT NOT NULL,
        PRIMARY KEY (client_id, trade_id)
    );
    CREATE INDEX fills_by_ts ON fills (ts);
    CREATE TABLE funding (
        task_id TEXT NOT NULL,
        ledger_id TEXT NOT NULL,
        ts REAL NOT NULL,
        cycle INTEGER NOT NULL,
        symbol TEXT NOT NULL,
        venue TEXT NOT NULL,
        amount_usdt REAL NOT NULL,
        PRIMARY KEY (task_id, ledger_id, ts)
    );
    CREATE TABLE series (
        symbol TEXT NOT NULL,
        ts REAL NOT NULL,
        entry_cost_pct REAL NOT NULL,
        pnl_usdt REAL,
        pnl_pct REAL,
        unrealized_usdt REAL,
        PRIMARY KEY (symbol, ts)
    ) WITHOUT ROWID;
    CREATE INDEX series_by_ts ON series (ts);
    """,
    # Who asked for each operator action (older rows: not known).
    """
    ALTER TABLE operator_actions ADD COLUMN who TEXT;
    """,
)

META_MIGRATION = 3
"""The migration that creates the ``meta`` table, counted from 1 as ``PRAGMA
user_version`` counts them: a store at an older version has no ``meta`` to read.
Migrations are only ever appended, so this number never changes."""

WAL_KEPT_BYTES = 32 << 20
"""What the write-ahead log's file is cut back to when it starts over (the writer's
bound on the log, ``Writer.log_bound_pages``). A log that stays within it is written
over in place after each checkpoint: a commit never waits for the filesystem to free
or allocate the file's blocks (cutting a few MB of freshly written log back to nothing
cost the first commit after it 1-10 ms and more)."""

FREE_SPACE_RESERVE_BYTES = 1 << 20
"""Free space on the store's filesystem below which a write is refused as on a full
disk. Written over in place, the log no longer grows with every commit, so a full disk
would show only once a checkpoint or the log needs a new block; asking the filesystem
before each transaction (a ``statvfs``, microseconds) keeps a full disk known at the
next commit, with room left for the checkpoint that follows."""

FINAL_STATUSES = ("filled", "cancelled", "expired", "rejected")
_ORDER_COLUMNS = (
    "client_id, task_id, venue, leg, symbol, side, qty, price, created_at, status, "
    "venue_order_id, filled_qty, avg_price"
)


MINUTE_S = 60.0
BACKTEST_KEY = "backtest"
"""The meta key that marks a store a backtest wrote: no system trades on it."""
SERIES_THINNED = "series_thinned_until"
"""The meta key holding the time up to which the series is thinned to a minute."""


@attrs.frozen
class Thinned:
    """What one call of :meth:`Store.thin_series` did."""

    removed: int
    """Points removed (a minute's points replaced by the one that sums them up)."""
    more: bool
    """Whether minutes before the time asked for are left to thin: ask again."""


def _minute_of(ts: float) -> float:
    """The start of the minute ``ts`` (Unix time, not negative) falls in. SQLite's
    ``CAST(ts / 60 AS INTEGER)`` groups the same: a correctly rounded ``ts / 60`` never
    reaches the next whole number while ``ts`` is below its minute."""
    return float(int(ts // MINUTE_S) * MINUTE_S)


def _slice_end(db: sqlite3.Connection, since: float, until: float, max_points: int) -> float:
    """Where a slice of the series from ``since`` ends: at the start of the minute of the
    first point past ``max_points`` (at the end of the first minute, should that one
    alone hold more), or at ``until`` when no more than that are left (or none past the
    slice)."""
    first, past = (
        db.execute(
            "SELECT ts FROM series WHERE ts >= ? AND ts < ? ORDER BY ts LIMIT 1 OFFSET ?",
            (since, until, offset),
        ).fetchone()
        for offset in (0, max_points)
    )
    if past is None:
        return until
    end = max(_minute_of(past[0]), _minute_of(first[0]) + MINUTE_S)
    left = db.execute(
        "SELECT 1 FROM series WHERE ts >= ? AND ts < ? LIMIT 1", (end, until)
    ).fetchone()
    return end if left is not None else until


_encode_trade = msgspec.json.Encoder().encode


# The stores' rows, the same for SQLite and PostgreSQL (postgres_store.py), whose
# statements differ only in their dialect.


class HistoryRows(NamedTuple):
    """History records by table, each a row in the table's column order."""

    cycles: list[tuple[Any, ...]]
    fills: list[tuple[Any, ...]]
    funding: list[tuple[Any, ...]]
    points: list[tuple[Any, ...]]


def history_rows(records: Iterable[TradeRecord | HistoryRecord]) -> HistoryRows:
    rows = HistoryRows([], [], [], [])
    for r in records:
        kind = type(r)
        if kind is SeriesPoint:
            rows.points.append(
                (r.symbol, r.ts, r.entry_cost_pct, r.pnl_usdt, r.pnl_pct, r.unrealized_usdt)
            )
        elif kind is FillRecord:
            rows.fills.append(
                (
                    r.client_id, r.trade_id, r.task_id, r.cycle, r.symbol, r.venue, r.leg,
                    r.side, r.role, r.ts, r.qty, r.price, r.decision_price, r.fee_usdt,
                    r.commission, r.commission_asset,
                )
            )  # fmt: skip
        elif kind is FundingRecord:
            rows.funding.append(
                (r.task_id, r.ledger_id, r.ts, r.cycle, r.symbol, r.venue, r.amount_usdt)
            )
        else:
            assert kind is TradeRecord, f"not a history record: {r!r}"
            rows.cycles.append(
                (r.task_id, r.cycle, r.symbol, r.entry_ts, r.exit_ts, _encode_trade(r))
            )
    return rows


def snapshot_row(s: SnapshotRecord) -> tuple[Any, ...]:
    """``tasks``' columns: task id, type, symbol, state, snapshot, created, updated,
    completed (the snapshot's time, when it completes the task)."""
    return (
        s.task_id,
        s.task_type,
        s.symbol,
        s.state,
        s.snapshot,
        s.now,
        s.now,
        s.now if s.completed else None,
    )


def intent_row(i: IntentRecord) -> tuple[Any, ...]:
    """``orders``' columns of a new intent: client id, task id, venue, leg, symbol, side,
    quantity, price, created and updated (both its time); its status is ``pending``."""
    return (i.client_id, i.task_id, i.venue, i.leg, i.symbol, i.side, i.qty, i.price, i.now, i.now)


def folded_events(events: Iterable[OrderEventRecord]) -> dict[str, list[Any]]:
    """Client id -> what its events tell of the order, later events winning: status,
    venue order id, filled quantity, average price (``None`` where none told) and the
    last event's time."""
    folded: dict[str, list[Any]] = {}
    for e in events:
        told = folded.setdefault(e.client_id, [None, None, None, None, e.now])
        for index, value in enumerate((e.status, e.venue_order_id, e.filled_qty, e.avg_price)):
            if value is not None:
                told[index] = value
        told[4] = e.now
    return folded


def _write_history(db: sqlite3.Connection, records: Iterable[TradeRecord | HistoryRecord]) -> None:
    """Each record under its key: a cycle's record replaces the one stored (its funding
    may be amended after the exit), a fill, a settlement or a point told again is stored
    once."""
    rows = history_rows(records)
    _insert(db, "INSERT OR REPLACE INTO cycles", rows.cycles)
    _insert(db, "INSERT OR IGNORE INTO fills", rows.fills)
    _insert(db, "INSERT OR IGNORE INTO funding", rows.funding)
    _insert(db, "INSERT OR REPLACE INTO series", rows.points)


ROWS_PER_STATEMENT = 64
"""The most rows one statement of a batch inserts (64 rows of 16 columns stay far below
SQLite's limit on parameters)."""


def _insert(db: sqlite3.Connection, head: str, rows: Sequence[tuple], tail: str = "") -> None:
    """``rows`` inserted (``head VALUES (...), (...) tail``) in a few statements, in order.

    The sqlite3 module lets go of the interpreter's lock for every step of a statement,
    so ``executemany`` takes it back once a row: on a busy process each of those waits
    for the trio thread, up to the interpreter's switch interval (5 ms), and a batch of a
    hundred rows took ten times its own time. One statement for many rows takes it back
    once. The rows go in statements of ``ROWS_PER_STATEMENT`` and then of the powers of
    two that make up the rest, so a handful of statement texts serve every batch size
    (and stay in the connection's statement cache); rows are applied in their order, a
    later one meeting an earlier one's conflict just as one statement a row would."""
    if not rows:
        return
    marks = "(" + ", ".join("?" * len(rows[0])) + ")"
    start = 0
    while start < len(rows):
        count = min(ROWS_PER_STATEMENT, 1 << ((len(rows) - start).bit_length() - 1))
        chunk = rows[start : start + count]
        db.execute(
            f"{head} VALUES {', '.join([marks] * count)}{tail}",
            [value for row in chunk for value in row],
        )
        start += count


def _write_events(db: sqlite3.Connection, events: Sequence[OrderEventRecord]) -> None:
    """The events, in order, and what they tell of their orders: each field an event
    names replaces the order's (``coalesce``), so an order's events are folded first,
    the later ones winning, and each order is updated once."""
    if not events:
        return
    _insert(
        db,
        "INSERT INTO order_events (client_id, kind, payload, ts)",
        [(e.client_id, e.kind, e.payload, e.now) for e in events],
    )
    _insert(
        db,
        "WITH told (client_id, status, venue_order_id, filled_qty, avg_price, ts) AS (",
        [(client_id, *told) for client_id, told in folded_events(events).items()],
        ") UPDATE orders SET status = coalesce(told.status, orders.status), "
        "venue_order_id = coalesce(told.venue_order_id, orders.venue_order_id), "
        "filled_qty = coalesce(told.filled_qty, orders.filled_qty), "
        "avg_price = coalesce(told.avg_price, orders.avg_price), updated_at = told.ts "
        "FROM told WHERE orders.client_id = told.client_id",
    )


class StoreError(Exception):
    """The store cannot be opened or used; the message names the file and the fix."""


class NoRoom(sqlite3.OperationalError):
    """The store's filesystem has less than ``FREE_SPACE_RESERVE_BYTES`` free: the write
    is refused as SQLite refuses one on a full disk, and taken as one everywhere."""

    def __init__(self, path: Path, free: int) -> None:
        super().__init__(f"{path}: {free} bytes free on its filesystem")
        self.sqlite_errorcode = sqlite3.SQLITE_FULL
        self.sqlite_errorname = "SQLITE_FULL"


def _refuse_without_room(path: Path) -> None:
    # What ``df`` shows as available: space a process without root's reserve may use.
    found = os.statvfs(path)
    free = found.f_bavail * found.f_frsize
    if free < FREE_SPACE_RESERVE_BYTES:
        raise NoRoom(path, free)


def storage_failure(error: BaseException, path: Path) -> str | None:
    """What ``error`` says is wrong with the storage under ``path``, as a cause an operator
    can act on: ``disk full: ...``, ``read-only: ...``, ``corrupt: ...``, ``I/O error:
    ...``, ``cannot open: ...``. ``None`` when it is not the storage's fault (a
    statement Basis got wrong, say): such an error is a bug, not a condition to wait out.
    """
    if not isinstance(error, sqlite3.Error):
        return None
    code = getattr(error, "sqlite_errorcode", None)
    name = getattr(error, "sqlite_errorname", None) or "unknown"
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == sqlite3.SQLITE_FULL:
        return f"disk full: {path}: free space on its filesystem"
    if primary in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM):
        return (
            f"read-only ({name}): {path}: make the file, its -wal and -shm files and its "
            "directory writable by this user"
        )
    if primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return (
            f"corrupt ({name}): {path}: stop Basis and move it aside with its -wal and "
            "-shm files; what it recorded must then be checked at the venues by hand"
        )
    if primary == sqlite3.SQLITE_IOERR:
        return f"I/O error ({name}): {path}: check the disk and its filesystem"
    if primary == sqlite3.SQLITE_CANTOPEN:
        return f"cannot open ({name}): {path}: check that its directory exists and is writable"
    return None


def _unusable(path: Path, error: sqlite3.DatabaseError) -> StoreError:
    return StoreError(
        f"{path}: not a usable Basis store ({error}); move it aside to start afresh, "
        "or point --data-dir elsewhere"
    )


def _too_new(path: Path, version: int) -> StoreError:
    return StoreError(
        f"{path}: written by a newer Basis (schema {version}, this one knows "
        f"{len(MIGRATIONS)}); upgrade Basis to open it"
    )


def check_store(path: Path, *, to_trade: bool = False) -> None:
    """A :class:`StoreError` if the file at ``path`` is there but is no store this Basis
    can use: not SQLite, damaged, or written by a newer Basis, or, ``to_trade`` on it, a
    backtest's (whose tasks no venue knows); an absent file is no
    problem (the writer creates it). Nothing of the store is written, its shared-memory
    index included: a copy of the file and its log is opened, in a scratch directory.
    What cannot be told from a copy (a file this user may not open, say) is left to the
    writer to find."""
    if not path.exists():
        return
    if not path.is_file():
        raise StoreError(
            f"{path}: not a file, so no Basis store; move it aside to start afresh, or point "
            "--data-dir elsewhere"
        )
    with tempfile.TemporaryDirectory(prefix="basis-check-") as scratch:
        copy = Path(scratch) / path.name
        try:
            shutil.copyfile(path, copy)
            log = path.with_name(path.name + "-wal")
            if log.exists():
                shutil.copyfile(log, copy.with_name(copy.name + "-wal"))
        except OSError:
            return
        db = sqlite3.connect(copy)
        try:
            (version,) = db.execute("PRAGMA user_version").fetchone()
            damage = [row for (row,) in db.execute("PRAGMA quick_check(1)")]
            backtest = (
                version >= META_MIGRATION
                and db.execute("SELECT 1 FROM meta WHERE key = ?", (BACKTEST_KEY,)).fetchone()
            )
        except sqlite3.OperationalError:
            return
        except sqlite3.DatabaseError as error:
            raise _unusable(path, error) from None
        finally:
            db.close()
    if damage != ["ok"]:
        found = " ".join(damage[0].split())  # SQLite's report runs over several lines
        raise _unusable(path, sqlite3.DatabaseError(f"damaged: {found}"))
    if version > len(MIGRATIONS):
        raise _too_new(path, version)
    if to_trade and backtest:
        raise StoreError(
            f"{path}: a backtest's history, not a trading system's store; point --data-dir "
            "elsewhere (basis report reads this one)"
        )


@attrs.frozen
class TaskRow:
    task_id: str
    task_type: str
    symbol: str
    state: str
    snapshot: bytes
    created_at: float
    updated_at: float
    completed_at: float | None


@attrs.frozen
class SnapshotRecord:
    task_id: str
    task_type: str
    symbol: str
    state: str
    snapshot: bytes
    now: float
    completed: bool


@attrs.frozen
class IntentRecord:
    """An order about to be sent, as journaled before it may leave."""

    client_id: str
    task_id: str
    venue: str
    leg: str
    symbol: str
    side: str
    qty: float
    price: float
    now: float


@attrs.frozen
class OrderEventRecord:
    """What a venue said of an order: accepted, a fill, final (with its status)."""

    client_id: str
    kind: str
    payload: bytes
    now: float
    status: str | None = None
    venue_order_id: str | None = None
    filled_qty: float | None = None
    avg_price: float | None = None


@attrs.frozen
class OrderRow:
    client_id: str
    task_id: str
    venue: str
    leg: str
    symbol: str
    side: str
    qty: float
    price: float
    created_at: float
    status: str
    venue_order_id: str | None
    filled_qty: float
    avg_price: float


@attrs.frozen
class QuarantineRow:
    id: int
    task_id: str | None
    reason: str
    ts: float
    symbol: str | None = None
    """The symbol it holds out of trading until resolved; ``None``: it holds none (a
    record that did not restore, whose symbol started afresh)."""


@attrs.frozen
class OperatorActionRow:
    """Something the operator asked a running system to do, and what came of it."""

    id: int
    ts: float
    action: str
    symbol: str | None
    result: str
    who: str | None = None
    """Who asked, as the control said (``None`` in records from before it was kept)."""


def read_quarantine(path: Path) -> list[tuple[QuarantineRow, TaskRow | None]]:
    """The unresolved quarantines that hold a symbol, each with its task, read from the
    store at ``path`` without writing anything (no migration either): for a store no
    running instance holds. A store from before quarantine held symbols has none."""
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{path}: cannot be read ({error})") from None
    try:
        columns = {row[1] for row in db.execute("PRAGMA table_info(quarantine)")}
        if "symbol" not in columns:
            return []
        rows = db.execute(
            "SELECT id, task_id, reason, ts, symbol FROM quarantine "
            "WHERE resolved_at IS NULL AND symbol IS NOT NULL ORDER BY id"
        ).fetchall()
        found = []
        for row in rows:
            held = QuarantineRow(*row)
            task = db.execute("SELECT * FROM tasks WHERE task_id = ?", (held.task_id,)).fetchone()
            found.append((held, TaskRow(*task) if task else None))
        return found
    except sqlite3.DatabaseError as error:
        raise StoreError(
            f"{path}: not a usable Basis store ({error}); point --data-dir elsewhere"
        ) from None
    finally:
        db.close()


@attrs.frozen
class OutboxRecord:
    """An alert for the outbox (``body``: its JSON), and the incident it opens (stored
    as open, with ``body``) or resolves (no longer stored as open)."""

    alert_id: str
    body: bytes
    sinks: tuple[str, ...]
    now: float
    opens: str | None = None
    resolves: str | None = None


def _checkpoint(db: sqlite3.Connection) -> tuple[int, int]:
    [(_, pages, copied)] = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    return pages, copied


class Checkpointer:
    """Copies the write-ahead log into the database on a connection of its own, so the
    writer's commits never do it (:meth:`Store.checkpoint_apart`). A passive checkpoint
    waits for nothing and lets the writer commit meanwhile; the log starts over (cut back
    to ``WAL_KEPT_BYTES``) at the first commit after one that copied all of it, which a
    commit made meanwhile prevents: :meth:`Store.checkpoint` is then the writer's."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)

    def checkpoint(self) -> tuple[int, int]:
        """One passive checkpoint: the log's pages, and how many of them are copied."""
        return _checkpoint(self._db)

    def close(self) -> None:
        self._db.close()


@attrs.frozen
class PendingAlertRow:
    alert_id: str
    body: bytes
    sinks: tuple[str, ...]
    """The sinks it is still for: those it was raised for, less those that answered."""


@attrs.frozen
class OpenIncidentRow:
    key: str
    body: bytes
    """The alert that opened it."""
    opened_at: float


@attrs.frozen
class RiskModeRow:
    """The portfolio's risk mode as set: ``set_by`` is ``stop`` or ``operator (...)``."""

    mode: str
    reason: str
    since: float
    set_by: str
    stops: bytes | None = None


class Store:
    COMMITS_ON_THE_LOOP = True
    """A commit of a handful of records writes a local file's log and takes ~50 µs: the
    writer may commit a decision's intents on the trio thread (``Writer.on_the_loop_records``)."""

    def __init__(self, path: Path, durability: Durability = "NORMAL") -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA journal_size_limit={WAL_KEPT_BYTES}")
            self._db.execute(f"PRAGMA synchronous={durability}")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._migrate()
        except sqlite3.DatabaseError as error:
            raise _unusable(path, error) from None

    def _migrate(self) -> None:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version > len(MIGRATIONS):
            raise _too_new(self.path, version)
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self._transaction() as db:
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version={number}")

    @property
    def schema_version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        self._db.close()

    def failure_of(self, error: BaseException) -> str | None:
        """:func:`storage_failure` of this store's file."""
        return storage_failure(error, self.path)

    def checkpoint_apart(self) -> None:
        """Leave checkpoints to a :class:`Checkpointer`: by default the commit that fills
        the log past a thousand pages copies it into the database and syncs it, in the
        committing transaction, and an intent waiting for that commit waits for all of it."""
        self._db.execute("PRAGMA wal_autocheckpoint=0")

    def checkpoint(self) -> tuple[int, int]:
        """One passive checkpoint on the writer's own connection, between its
        transactions: all of the log is copied (unless a reader still needs some), so
        the next commit starts it over."""
        return _checkpoint(self._db)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """All of the block's statements are stored, or none. A failure that ended the
        transaction already (a full disk, say) is raised as it was, not hidden behind a
        failed rollback. A filesystem short of ``FREE_SPACE_RESERVE_BYTES`` refuses it
        before it starts (:class:`NoRoom`)."""
        _refuse_without_room(self.path)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --------------------------------------------------------------------- writing

    def write_batch(
        self,
        snapshots: Iterable[SnapshotRecord],
        intents: Iterable[IntentRecord],
        events: Iterable[OrderEventRecord],
        history: Iterable[TradeRecord | HistoryRecord] = (),
    ) -> frozenset[str]:
        """Everything in one transaction: all of it is stored, or none of it. Returns the
        symbols whose records were refused for want of their lease: none, as a SQLite
        store belongs to one instance alone (the PostgreSQL store's fencing refuses some)."""
        with self._transaction() as db:
            _write_history(db, history)
            _insert(
                db,
                "INSERT INTO tasks",
                [snapshot_row(s) for s in snapshots],
                " ON CONFLICT (task_id) DO UPDATE SET state = excluded.state, "
                "snapshot = excluded.snapshot, updated_at = excluded.updated_at, "
                "completed_at = excluded.completed_at",
            )
            _insert(
                db,
                "INSERT OR IGNORE INTO orders (client_id, task_id, venue, leg, symbol, side, "
                "qty, price, created_at, updated_at, status)",
                [(*intent_row(i), "pending") for i in intents],
            )
            _write_events(db, list(events))
        return frozenset()

    def quarantine(
        self, task_id: str | None, reason: str, record: bytes | None, symbol: str | None = None
    ) -> None:
        """Record why ``task_id``'s record cannot be trusted (``record``: what could not be
        read, kept for inspection) and take the task out of recovery; one transaction.
        ``symbol``: the symbol this holds out of trading until the operator resolves it."""
        now = time.time()
        with self._transaction() as db:
            db.execute(
                "INSERT INTO quarantine (task_id, reason, record, ts, symbol) "
                "VALUES (?, ?, ?, ?, ?)",
                (task_id, reason, record, now, symbol),
            )
            db.execute(
                "UPDATE tasks SET state = 'quarantined', completed_at = ? WHERE task_id = ?",
                (now, task_id),
            )

    def resolve_quarantine(
        self, symbol: str, resolution: str, task: SnapshotRecord | None = None
    ) -> int:
        """Release ``symbol`` from quarantine as the operator resolved it (``adopt``,
        ``flatten``, ``forget``), with ``task``, the record to trade on from now, stored in
        the same transaction; returns how many quarantine rows were resolved."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE quarantine SET resolved_at = ?, resolution = ? "
                "WHERE symbol = ? AND resolved_at IS NULL",
                (time.time(), resolution, symbol),
            )
            if task is not None:
                db.execute(
                    "UPDATE tasks SET state = ?, snapshot = ?, updated_at = ?, "
                    "completed_at = ? WHERE task_id = ?",
                    (
                        task.state,
                        task.snapshot,
                        task.now,
                        task.now if task.completed else None,
                        task.task_id,
                    ),
                )
        return cursor.rowcount

    def record_operator_action(
        self, action: str, symbol: str | None, result: str, who: str | None = None
    ) -> None:
        self._db.execute(
            "INSERT INTO operator_actions (ts, action, symbol, result, who) VALUES (?, ?, ?, ?, ?)",
            (time.time(), action, symbol, result, who),
        )

    def set_risk_mode(self, row: RiskModeRow) -> None:
        self._db.execute(
            "INSERT INTO risk_modes (mode, reason, since, set_by, stops) VALUES (?, ?, ?, ?, ?)",
            (row.mode, row.reason, row.since, row.set_by, row.stops),
        )

    def keep_risk_stops(self, row: RiskModeRow) -> None:
        """The stops' marks in the mode set last (``row`` itself if none ever was): they
        change far more often than the mode, whose history stays one row per change."""
        cursor = self._db.execute(
            "UPDATE risk_modes SET stops = ? WHERE id = (SELECT MAX(id) FROM risk_modes)",
            (row.stops,),
        )
        if cursor.rowcount == 0:
            self.set_risk_mode(row)

    def abandon_active(self) -> int:
        """Close every active task as ``abandoned`` (its venue is gone: a paper run's
        in-process simulated venues start afresh); returns how many."""
        cursor = self._db.execute(
            "UPDATE tasks SET state = 'abandoned', completed_at = ? WHERE completed_at IS NULL",
            (time.time(),),
        )
        return cursor.rowcount

    def delete_completed(self, before: float) -> int:
        """Remove tasks completed before ``before`` with their orders, alerts raised before
        it that every sink has answered, with their deliveries, and runs started before it
        (the newest aside: it says whether the last run crashed); returns how many tasks."""
        with self._transaction() as db:
            answered: dict[str, set[str]] = {}
            for alert_id, sink in db.execute(
                "SELECT alert_id, sink FROM alert_deliveries WHERE alert_id IN "
                "(SELECT id FROM alert_outbox WHERE created_at < ?)",
                (before,),
            ):
                answered.setdefault(alert_id, set()).add(sink)
            settled = [
                (alert_id,)
                for alert_id, sinks in db.execute(
                    "SELECT id, sinks FROM alert_outbox WHERE created_at < ?", (before,)
                )
                if set(filter(None, sinks.split(","))) <= answered.get(alert_id, set())
            ]
            db.executemany("DELETE FROM alert_deliveries WHERE alert_id = ?", settled)
            db.executemany("DELETE FROM alert_outbox WHERE id = ?", settled)
            db.execute(
                "DELETE FROM runs WHERE started_at < ? AND id < (SELECT MAX(id) FROM runs)",
                (before,),
            )
            ids = [
                row[0]
                for row in db.execute(
                    "SELECT task_id FROM tasks WHERE completed_at IS NOT NULL AND completed_at < ?",
                    (before,),
                )
            ]
            for task_id in ids:
                db.execute(
                    "DELETE FROM order_events WHERE client_id IN "
                    "(SELECT client_id FROM orders WHERE task_id = ?)",
                    (task_id,),
                )
                db.execute("DELETE FROM orders WHERE task_id = ?", (task_id,))
                db.execute("DELETE FROM tasks WHERE task_id = ?", (task_id,))
        return len(ids)

    def mark_backtest(self) -> None:
        """Mark this store a backtest's: ``basis run`` refuses it (``check_store``)."""
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, '1')", (BACKTEST_KEY,))

    def thin_series(self, before: float, max_points: int | None = None) -> Thinned:
        """Thin the series to one point a minute up to ``before`` (Unix time, rounded down
        to a minute): each minute keeps its lowest entry cost (the best chance it
        offered) and its mean P&L, at the minute's start. Minutes thinned before are not
        read again; a store never thinned starts at its oldest point.

        ``max_points`` bounds one call's work, so that the writer's transaction stays
        short: a call thins whole minutes from where the last one stopped, as many as hold
        at most ``max_points`` points (a single minute holding more is thinned alone,
        never split), and says whether there is more to thin up to ``before``. Thinning
        in such slices gives the series a single call gives."""
        if max_points is not None and max_points < 1:
            raise ValueError(f"max_points must be at least 1, not {max_points}")
        until = _minute_of(before)
        with self._transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (SERIES_THINNED,)).fetchone()
            if row is not None:
                since = float(row[0])
            else:
                (oldest,) = db.execute("SELECT min(ts) FROM series").fetchone()
                since = until if oldest is None else _minute_of(oldest)
            if until <= since:
                return Thinned(0, more=False)
            end = until if max_points is None else _slice_end(db, since, until, max_points)
            window = (since, end)
            (before_count,) = db.execute(
                "SELECT count(*) FROM series WHERE ts >= ? AND ts < ?", window
            ).fetchone()
            minutes = db.execute(
                "SELECT symbol, CAST(ts / 60 AS INTEGER) * 60.0, min(entry_cost_pct), "
                "avg(pnl_usdt), avg(pnl_pct), avg(unrealized_usdt) FROM series "
                "WHERE ts >= ? AND ts < ? GROUP BY symbol, CAST(ts / 60 AS INTEGER)",
                window,
            ).fetchall()
            db.execute("DELETE FROM series WHERE ts >= ? AND ts < ?", window)
            db.executemany("INSERT INTO series VALUES (?, ?, ?, ?, ?, ?)", minutes)
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                (SERIES_THINNED, repr(end)),
            )
        return Thinned(before_count - len(minutes), more=end < until)

    def put_alert(self, record: OutboxRecord) -> None:
        """The alert in the outbox, with the incident change it announces; one transaction."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO alert_outbox VALUES (?, ?, ?, ?)",
                (record.alert_id, record.body, ",".join(record.sinks), record.now),
            )
            if record.opens is not None:
                db.execute(
                    "INSERT OR REPLACE INTO open_incidents VALUES (?, ?, ?)",
                    (record.opens, record.body, record.now),
                )
            if record.resolves is not None:
                db.execute("DELETE FROM open_incidents WHERE key = ?", (record.resolves,))

    def mark_delivery(self, alert_id: str, sink: str, outcome: str, detail: str) -> None:
        """What ``sink`` made of the alert: ``delivered``, or ``failed`` for good."""
        self._db.execute(
            "INSERT OR REPLACE INTO alert_deliveries VALUES (?, ?, ?, ?, ?)",
            (alert_id, sink, outcome, detail, time.time()),
        )

    def begin_run(self) -> int:
        """Record a run's start; returns its id, for :meth:`end_run`."""
        cursor = self._db.execute("INSERT INTO runs (started_at) VALUES (?)", (time.time(),))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def end_run(self, run_id: int) -> None:
        """Record that run ``run_id`` stopped cleanly."""
        self._db.execute("UPDATE runs SET stopped_at = ? WHERE id = ?", (time.time(), run_id))

    # --------------------------------------------------------------------- reading

    def last_run_crashed(self) -> bool:
        """The newest run recorded has no clean stop: it ended in a crash."""
        row = self._db.execute("SELECT stopped_at FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        return row is not None and row[0] is None

    def pending_alerts(self) -> list[PendingAlertRow]:
        """Alerts some sink they were raised for has not answered, oldest first."""
        done: dict[str, set[str]] = {}
        for alert_id, sink in self._db.execute(
            "SELECT alert_id, sink FROM alert_deliveries WHERE alert_id IN "
            "(SELECT id FROM alert_outbox WHERE sinks != '')"
        ):
            done.setdefault(alert_id, set()).add(sink)
        pending = []
        for alert_id, body, sinks in self._db.execute(
            "SELECT id, body, sinks FROM alert_outbox WHERE sinks != '' ORDER BY created_at"
        ):
            left = tuple(s for s in sinks.split(",") if s not in done.get(alert_id, ()))
            if left:
                pending.append(PendingAlertRow(alert_id, body, left))
        return pending

    def open_incidents(self) -> list[OpenIncidentRow]:
        return [
            OpenIncidentRow(*row)
            for row in self._db.execute("SELECT * FROM open_incidents ORDER BY opened_at")
        ]

    def tasks(self, *, active_only: bool = False) -> list[TaskRow]:
        query = "SELECT * FROM tasks"
        if active_only:
            query += " WHERE completed_at IS NULL"
        return [TaskRow(*row) for row in self._db.execute(query + " ORDER BY created_at")]

    def task(self, task_id: str) -> TaskRow | None:
        row = self._db.execute("SELECT * FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
        return TaskRow(*row) if row else None

    def open_orders(self, task_id: str | None = None) -> list[OrderRow]:
        """Journaled orders not known to be final: what recovery must ask the venues about."""
        marks = ", ".join("?" * len(FINAL_STATUSES))
        query = f"SELECT {_ORDER_COLUMNS} FROM orders WHERE status NOT IN ({marks})"
        args: Sequence[object] = FINAL_STATUSES
        if task_id is not None:
            query += " AND task_id = ?"
            args = (*FINAL_STATUSES, task_id)
        return [OrderRow(*row) for row in self._db.execute(query + " ORDER BY created_at", args)]

    def orders(self, task_id: str) -> list[OrderRow]:
        return [
            OrderRow(*row)
            for row in self._db.execute(
                f"SELECT {_ORDER_COLUMNS} FROM orders WHERE task_id = ? ORDER BY created_at",
                (task_id,),
            )
        ]

    def cycles(self) -> list[TradeRecord]:
        """Every closed cycle's record, by task and number."""
        return [
            msgspec.json.decode(record, type=TradeRecord)
            for (record,) in self._db.execute("SELECT record FROM cycles ORDER BY task_id, cycle")
        ]

    def fill_fees(self) -> dict[tuple[str, int], float]:
        """The fees of the stored fills (USDT) by (task id, cycle)."""
        return {
            (task_id, cycle): fees
            for task_id, cycle, fees in self._db.execute(
                "SELECT task_id, cycle, sum(fee_usdt) FROM fills GROUP BY task_id, cycle"
            )
        }

    def instance_id(self) -> str:
        """This store's instance id: it names the Basis instance that trades from this
        data directory in every client order id (``protocols/client_ids.py``)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'instance'").fetchone()
        if row is None or not is_instance_id(row[0]):
            raise StoreError(
                f"{self.path}: the store's instance id is missing or malformed "
                f"({row and row[0]!r}); move the store aside to start afresh"
            )
        return row[0]

    def quarantined(self) -> list[QuarantineRow]:
        """The quarantine rows not resolved yet, oldest first."""
        return [
            QuarantineRow(*row)
            for row in self._db.execute(
                "SELECT id, task_id, reason, ts, symbol FROM quarantine "
                "WHERE resolved_at IS NULL ORDER BY id"
            )
        ]

    def risk_mode(self) -> RiskModeRow | None:
        """The risk mode set last, or ``None`` if none ever was (``active``)."""
        row = self._db.execute(
            "SELECT mode, reason, since, set_by, stops FROM risk_modes ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return RiskModeRow(*row) if row else None

    def operator_actions(self) -> list[OperatorActionRow]:
        return [
            OperatorActionRow(*row)
            for row in self._db.execute(
                "SELECT id, ts, action, symbol, result, who FROM operator_actions ORDER BY id"
            )
        ]

    def counts(self) -> dict[str, int]:
        db = self._db
        return {
            "active": db.execute(
                "SELECT count(*) FROM tasks WHERE completed_at IS NULL"
            ).fetchone()[0],
            "completed": db.execute(
                "SELECT count(*) FROM tasks WHERE completed_at IS NOT NULL "
                "AND state != 'quarantined'"
            ).fetchone()[0],
            "quarantined": db.execute(
                "SELECT count(*) FROM quarantine WHERE resolved_at IS NULL"
            ).fetchone()[0],
        }
