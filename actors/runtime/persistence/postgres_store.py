"""The PostgreSQL store: the SQLite store's interface (``store.py``) on a database several
instances may share, with each journal write fenced by the symbols' leases.

Every method is synchronous and may be called from any thread: each takes a connection
of a small pool for its transaction and gives it back. The schema is migrated at open
(``postgres_schema.py``), under an advisory lock so that instances opening the database
at once migrate it once; ``basis_schema`` holds a row for each migration applied.

What belongs to one instance is told apart by its name (``instance``, the cluster's
``[cluster] name``): its runs, its alerts' outbox and its open incidents, and its instance
id, registered in ``cluster_instances``. Tasks, orders, quarantine, the operator's
actions, the risk mode and the history are the cluster's.

Fencing (``fence``): a journal write that touches a symbol lands only while this instance
holds the symbol's lease under the epoch it believes it holds, on the database's clock,
and a takeover waits for it (:meth:`PostgresStore.write_batch`). Without ``fence`` (a
single instance) everything is written, as in SQLite.

Durability: the commit Basis waits for is the server's. ``FULL`` waits until the server
has flushed it to disk (``synchronous_commit = on``); ``NORMAL`` until the server has it
(``synchronous_commit = off``): a crash of Basis loses nothing either way, as the server,
not Basis, holds the log; a crash of the server or a power cut of its host may lose the
last moments (up to three times the server's ``wal_writer_delay``, 0.6 s by default), as
a power cut may with SQLite's ``NORMAL``. The log is flushed in order, so what such a
loss leaves is a prefix: never a grant without the writes that came before it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import msgspec
import psycopg
import psycopg.errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool

from actors.runtime.persistence.postgres_schema import MIGRATIONS, SCHEMA_LOCK
from actors.runtime.persistence.store import (
    BACKTEST_KEY,
    FINAL_STATUSES,
    MINUTE_S,
    SERIES_THINNED,
    Durability,
    IntentRecord,
    OpenIncidentRow,
    OperatorActionRow,
    OrderEventRecord,
    OrderRow,
    OutboxRecord,
    PendingAlertRow,
    QuarantineRow,
    RiskModeRow,
    SnapshotRecord,
    StoreError,
    TaskRow,
    Thinned,
    _minute_of,
    folded_events,
    history_rows,
    intent_row,
    snapshot_row,
)
from protocols.client_ids import BASE36, INSTANCE_ID_LENGTH, is_instance_id
from protocols.history import HistoryRecord
from protocols.messages import TradeRecord

POOL_CONNECTIONS = 4
"""The most connections a store holds: the writer's and a few readers'."""
CONNECTION_WAIT_S = 5.0
"""How long a call waits for a connection (the server down, say) before it fails as a
storage failure, which the writer retries."""
CONNECTION_DEFAULTS = {
    "connect_timeout": 10,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}
"""libpq's settings where the connection string sets none: a server cut off from Basis
fails the call in progress within some ten seconds (``tcp_user_timeout``: what was sent
left unacknowledged; keepalives: an idle connection), which the writer then retries,
instead of waiting on the network for the kernel's quarter of an hour."""
SERIES_LOCK = SCHEMA_LOCK + 1
"""The advisory lock one thinning of the series holds: instances sharing the series thin
it one at a time."""

_TASK_COLUMNS = "task_id, task_type, symbol, state, snapshot, created_at, updated_at, completed_at"
_ORDER_COLUMNS = (
    "client_id, task_id, venue, leg, symbol, side, qty, price, created_at, status, "
    "venue_order_id, filled_qty, avg_price"
)
_FINAL = list(FINAL_STATUSES)


def _without_password(dsn: str) -> str:
    """The connection string as it may be shown: its password left out."""
    params = conninfo_to_dict(dsn)
    params.pop("password", None)
    return make_conninfo(**params)


_MINUTE = "(CASE WHEN ts < 60 THEN 0 ELSE floor(ts / 60) END)"
"""The number of the minute a series point's ``ts`` falls in, as SQLite's thinning and
``_minute_of`` count it."""


class StoreUnreachable(StoreError):
    """The database did not answer, or not yet: a server starting or restarting, a
    network down, its connections all taken. Unlike a refusal (a wrong password, a
    database that does not exist), it may answer later."""


_PASSING_REFUSALS = (
    "starting up",
    "shutting down",
    "in recovery mode",
    "not yet accepting connections",
    "too many clients",
    "connection slots are reserved",
)
"""What a server says as it refuses a connection for a while only (libpq reports a
refused connection with no SQLSTATE: only its words tell it from a lasting refusal)."""


def _may_answer_later(error: psycopg.OperationalError) -> bool:
    """No server answered (a network down, nothing listening, a timeout), or the one that
    did refused for a while only (starting, stopping, its connections all taken); not a
    wrong password, user or database name, which no waiting mends."""
    if error.sqlstate is not None:
        return error.sqlstate.startswith(("08", "53", "57P0"))
    said = str(error)
    return "FATAL:" not in said or any(passing in said for passing in _PASSING_REFUSALS)


def location_of(dsn: str) -> str:
    """How messages name the database: ``PostgreSQL (host=... port=... dbname=...)``."""
    try:
        return f"PostgreSQL ({_without_password(dsn)})"
    except psycopg.ProgrammingError:
        return "PostgreSQL (a connection string that does not parse)"


def postgres_storage_failure(error: BaseException, location: str = "PostgreSQL") -> str | None:
    """What ``error`` says is wrong with the database (``location``: how to name it, as
    :attr:`PostgresStore.location`), as a cause an operator can act on: ``cannot reach:
    ...``, ``disk full: ...``, ``shutting down: ...`` and the like; ``None`` when it is not
    the database's fault (a statement Basis got wrong, a constraint it broke): such an
    error is a bug, not a condition to wait out. The counterpart of
    :func:`~actors.runtime.persistence.store.storage_failure`."""
    if not isinstance(error, psycopg.Error):
        return None
    state = error.sqlstate or ""
    detail = " ".join(str(error).split())
    if state == "53100":
        return f"disk full: {location}: free space on the database server's disk"
    if state.startswith("53"):
        return f"out of resources ({state}): {location}: {detail}"
    if state in ("57P01", "57P02", "57P03"):
        return f"shutting down or starting ({state}): {location}: {detail}"
    if state in ("57014", "55P03"):
        return f"timed out ({state}): {location}: {detail}"
    if state in ("40001", "40P01"):
        return f"conflict ({state}): {location}: {detail}"
    if state == "25006":
        return f"read-only ({state}): {location}: is it a standby? point the DSN at the primary"
    if state in ("XX001", "XX002"):
        return f"corrupt ({state}): {location}: {detail}"
    if state.startswith("58"):
        return f"I/O error ({state}): {location}: {detail}"
    if state.startswith("08") or (isinstance(error, psycopg.OperationalError) and not state):
        # No state: libpq's own failure (refused, reset, timed out, the pool's wait).
        return f"cannot reach: {location}: {detail}"
    return None


def _too_new(location: str, version: int) -> StoreError:
    return StoreError(
        f"{location}: written by a newer Basis (schema {version}, this one knows "
        f"{len(MIGRATIONS)}); upgrade Basis to open it"
    )


def _said(error: psycopg.Error, dsn: str) -> str:
    """What the server or libpq said, on one line, the password masked should it be
    quoted."""
    said = " ".join(str(error).split())
    password = conninfo_to_dict(dsn).get("password")
    return said.replace(str(password), "***") if password else said


def _migrate(conn: psycopg.Connection[Any], location: str) -> None:
    """Each migration this database lacks, in its own transaction, under ``SCHEMA_LOCK``:
    an instance that opens the database meanwhile waits and finds it done."""
    while True:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS basis_schema (version INTEGER PRIMARY KEY, "
                "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            row = conn.execute("SELECT coalesce(max(version), 0) FROM basis_schema").fetchone()
            assert row is not None
            version = row[0]
            if version > len(MIGRATIONS):
                raise _too_new(location, version)
            if version == len(MIGRATIONS):
                return
            conn.execute(MIGRATIONS[version])
            conn.execute("INSERT INTO basis_schema (version) VALUES (%s)", (version + 1,))


def _register(conn: psycopg.Connection[Any], instance: str) -> None:
    """``instance`` in ``cluster_instances``, with an instance id of its own, unless it is
    there already (kept as it is: its client order ids carry it)."""
    while True:
        candidate = "".join(secrets.choice(BASE36) for _ in range(INSTANCE_ID_LENGTH))
        try:
            with conn.transaction():
                conn.execute(
                    "INSERT INTO cluster_instances (name, instance_id, capacity) "
                    "VALUES (%s, %s, 0) ON CONFLICT (name) DO NOTHING",
                    (instance, candidate),
                )
            return
        except psycopg.errors.UniqueViolation:
            continue  # another instance's id: draw again


@contextmanager
def _pipelined(conn: psycopg.Connection[Any]) -> Iterator[psycopg.Connection[Any]]:
    """The block's statements in one transaction, sent as they come: the server is waited
    for only where a result is read, so a transaction that reads nothing before its
    commit is one round trip. (psycopg's ``transaction()`` in a pipeline logs an error it
    ignores beside the one it raises.)"""
    try:
        with conn.pipeline():
            conn.execute("BEGIN")
            yield conn
            conn.execute("COMMIT")
    except BaseException:
        if not conn.broken:
            conn.rollback()
        raise


def _each(conn: psycopg.Connection[Any], statement: str, rows: Sequence[Sequence[Any]]) -> None:
    """``statement`` for each of ``rows``, in order: a later row meets an earlier one's
    conflict as in the SQLite store. psycopg's ``executemany`` sends them all before it
    reads an answer (in the transaction's pipeline) and prepares the statement, so a
    batch costs the server's work, not a round trip a row. One statement of many rows'
    ``VALUES`` (the SQLite store's way) took as long for a decision's few rows (0.36 ms
    a transaction on loopback) and 11-25 ms against 16-20 ms for 670 rows, as much apart
    from one run to the next, and would need each key's rows folded into one first."""
    if rows:
        conn.cursor().executemany(statement, rows)


def _write_history(
    conn: psycopg.Connection[Any], records: Iterable[TradeRecord | HistoryRecord]
) -> None:
    """Each record under its key: a cycle's record replaces the one stored (its funding
    may be amended after the exit), a fill, a settlement or a point told again is stored
    once."""
    rows = history_rows(records)
    _each(
        conn,
        "INSERT INTO cycles VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (task_id, cycle) "
        "DO UPDATE SET symbol = excluded.symbol, entry_ts = excluded.entry_ts, "
        "exit_ts = excluded.exit_ts, record = excluded.record",
        rows.cycles,
    )
    _each(
        conn,
        "INSERT INTO fills VALUES (" + ", ".join(["%s"] * 16) + ") ON CONFLICT DO NOTHING",
        rows.fills,
    )
    _each(
        conn, "INSERT INTO funding VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        rows.funding,
    )  # fmt: skip
    _each(
        conn,
        "INSERT INTO series VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (symbol, ts) "
        "DO UPDATE SET entry_cost_pct = excluded.entry_cost_pct, pnl_usdt = excluded.pnl_usdt, "
        "pnl_pct = excluded.pnl_pct, unrealized_usdt = excluded.unrealized_usdt",
        rows.points,
    )


def _write_snapshots(
    conn: psycopg.Connection[Any], snapshots: Iterable[SnapshotRecord], epochs: Mapping[str, int]
) -> None:
    """Each task's snapshot, with the epoch it was written under."""
    _each(
        conn,
        f"INSERT INTO tasks ({_TASK_COLUMNS}, epoch) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (task_id) DO UPDATE SET state = excluded.state, "
        "snapshot = excluded.snapshot, updated_at = excluded.updated_at, "
        "completed_at = excluded.completed_at, epoch = excluded.epoch",
        [(*snapshot_row(s), epochs.get(s.symbol)) for s in snapshots],
    )


def _write_intents(
    conn: psycopg.Connection[Any], intents: Iterable[IntentRecord], epochs: Mapping[str, int]
) -> None:
    """Each intent once (one journaled again keeps the first), with the epoch it was
    written under and when the database took it."""
    _each(
        conn,
        "INSERT INTO orders (client_id, task_id, venue, leg, symbol, side, qty, price, "
        "created_at, status, updated_at, epoch, written_at) VALUES "
        "(%s, %s, %s, %s, %s, %s, %s, %s, %s, 'pending', %s, %s, clock_timestamp()) "
        "ON CONFLICT (client_id) DO NOTHING",
        [(*intent_row(i), epochs.get(i.symbol)) for i in intents],
    )


def _write_events(conn: psycopg.Connection[Any], events: Sequence[OrderEventRecord]) -> None:
    """The events, in order, and what they tell of their orders: each field an event
    names replaces the order's (``coalesce``), so an order's events are folded first,
    the later ones winning, and each order is updated once."""
    if not events:
        return
    _each(
        conn,
        "INSERT INTO order_events (client_id, kind, payload, ts) VALUES (%s, %s, %s, %s)",
        [(e.client_id, e.kind, e.payload, e.now) for e in events],
    )
    _each(
        conn,
        "UPDATE orders SET status = coalesce(%s, status), "
        "venue_order_id = coalesce(%s, venue_order_id), "
        "filled_qty = coalesce(%s::float8, filled_qty), "
        "avg_price = coalesce(%s::float8, avg_price), updated_at = %s WHERE client_id = %s",
        [(*told, client_id) for client_id, told in folded_events(events).items()],
    )


def _slice_end(conn: psycopg.Connection[Any], since: float, until: float, max_points: int) -> float:
    """Where a slice of the series from ``since`` ends, as in the SQLite store: at the
    start of the minute of the first point past ``max_points`` (at the end of the first
    minute, should that one alone hold more), or at ``until``."""
    first, past = (
        conn.execute(
            "SELECT ts FROM series WHERE ts >= %s AND ts < %s ORDER BY ts LIMIT 1 OFFSET %s",
            (since, until, offset),
        ).fetchone()
        for offset in (0, max_points)
    )
    if past is None:
        return until
    assert first is not None
    end = max(_minute_of(past[0]), _minute_of(first[0]) + MINUTE_S)
    left = conn.execute(
        "SELECT 1 FROM series WHERE ts >= %s AND ts < %s LIMIT 1", (end, until)
    ).fetchone()
    return end if left is not None else until


class PostgresStore:
    """The store on PostgreSQL (``dsn``: a libpq connection string or URI), for the
    instance named ``instance``; ``fence``, when given, returns the epoch of each symbol
    this instance holds now, and fences :meth:`write_batch` by it."""

    COMMITS_ON_THE_LOOP = False
    """Every commit is a round trip to the server: never on the trio thread."""

    def __init__(
        self,
        dsn: str,
        instance: str = "basis",
        *,
        fence: Callable[[], Mapping[str, int]] | None = None,
        durability: Durability = "NORMAL",
    ) -> None:
        self.location = location_of(dsn)
        """The database as messages name it: its connection string without the password."""
        self.instance = instance
        self._fence = fence
        try:
            params = conninfo_to_dict(dsn)
        except psycopg.ProgrammingError:
            raise StoreError(
                f"{self.location}: give the connection string as key=value pairs or a "
                "postgresql:// URI"
            ) from None
        conninfo = make_conninfo(**(CONNECTION_DEFAULTS | params))
        try:
            conn = psycopg.connect(conninfo)
        except psycopg.OperationalError as error:
            refused = StoreUnreachable if _may_answer_later(error) else StoreError
            raise refused(
                f"{self.location}: cannot connect ({_said(error, dsn)}); check that the "
                "server runs and takes connections there, and the connection string's user "
                "and database"
            ) from None
        with conn:
            try:
                _migrate(conn, self.location)
                _register(conn, instance)
            except psycopg.Error as error:
                raise StoreError(
                    f"{self.location}: cannot set up Basis's tables ({_said(error, dsn)}); "
                    "the connection string's user must be allowed to create tables there"
                ) from None
        commit = "on" if durability == "FULL" else "off"

        def configure(conn: psycopg.Connection[Any]) -> None:
            conn.execute(f"SET synchronous_commit = {commit}")

        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=POOL_CONNECTIONS,
            kwargs={"autocommit": True},
            configure=configure,
            timeout=CONNECTION_WAIT_S,
            name=f"basis-store-{instance}",
            open=True,
        )

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection of the pool for one call. One found broken (the server restarted,
        say) fails the call, and every idle connection is checked then, so that the call
        tried again gets a working one rather than the next broken one."""
        with self._pool.connection() as conn:
            try:
                yield conn
            except psycopg.OperationalError:
                if conn.broken:
                    self._pool.check()
                raise

    @property
    def schema_version(self) -> int:
        return self._one("SELECT coalesce(max(version), 0) FROM basis_schema")[0]

    def failure_of(self, error: BaseException) -> str | None:
        """:func:`postgres_storage_failure` of this store's database."""
        return postgres_storage_failure(error, self.location)

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _all(self, query: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._connection() as conn:
            return conn.execute(query, args).fetchall()

    def _one(self, query: str, args: Sequence[object] = ()) -> tuple[Any, ...]:
        with self._connection() as conn:
            row = conn.execute(query, args).fetchone()
        assert row is not None
        return row

    def _run(self, query: str, args: Sequence[object] = ()) -> int:
        """One statement in a transaction of its own; returns the rows it touched."""
        with self._connection() as conn:
            return conn.execute(query, args).rowcount

    # --------------------------------------------------------------------- writing

    def write_batch(
        self,
        snapshots: Iterable[SnapshotRecord],
        intents: Iterable[IntentRecord],
        events: Iterable[OrderEventRecord],
        history: Iterable[TradeRecord | HistoryRecord] = (),
    ) -> frozenset[str]:
        """Everything in one transaction, sent in one round trip where nothing is fenced;
        returns the symbols whose records were refused (none without ``fence``).

        Fenced, the transaction locks the ``leases`` rows of the symbols it touches (an
        order event touches its order's symbol) ``FOR SHARE``, and writes the records of
        the symbols whose row names this instance as holder, with the epoch ``fence``
        gives for the symbol, and expires later than the database's clock now; each
        intent and snapshot written carries that epoch. Records of the other symbols are
        refused, whole: nothing of them is written, and the events of their orders
        neither (nor those of an order the store does not know). A takeover updates the
        lease row, so it waits until this transaction ends: no write of an older epoch
        lands after a newer grant."""
        snapshots, intents, events = list(snapshots), list(intents), list(events)
        history = list(history)
        refused: frozenset[str] = frozenset()
        epochs: Mapping[str, int] = {}
        with self._connection() as conn, _pipelined(conn):
            if self._fence is not None:
                ordered, epochs = self._held(conn, snapshots, intents, events, history)
                touched = {s.symbol for s in snapshots} | {i.symbol for i in intents}
                touched |= {r.symbol for r in history}
                touched |= {ordered[e.client_id] for e in events if e.client_id in ordered}
                refused = frozenset(touched - epochs.keys())
                snapshots = [s for s in snapshots if s.symbol in epochs]
                intents = [i for i in intents if i.symbol in epochs]
                history = [r for r in history if r.symbol in epochs]
                events = [e for e in events if ordered.get(e.client_id) in epochs]
            _write_history(conn, history)
            _write_snapshots(conn, snapshots, epochs)
            _write_intents(conn, intents, epochs)
            _write_events(conn, events)
        return refused

    def _held(
        self,
        conn: psycopg.Connection[Any],
        snapshots: Sequence[SnapshotRecord],
        intents: Sequence[IntentRecord],
        events: Sequence[OrderEventRecord],
        history: Sequence[TradeRecord | HistoryRecord],
    ) -> tuple[dict[str, str], dict[str, int]]:
        """The symbol of each order the events are of (those of the batch's intents, and
        those the store knows), and the epoch of each symbol the batch touches that this
        instance holds, its lease row locked until the transaction ends. The rows are
        locked first and read afterwards, so what is read stays so until then; the three
        statements go in one round trip."""
        ordered = {i.client_id: i.symbol for i in intents}
        unknown = list({e.client_id for e in events} - ordered.keys())
        named = list(
            {s.symbol for s in snapshots} | set(ordered.values()) | {r.symbol for r in history}
        )
        if not named and not unknown:
            return ordered, {}
        known = conn.execute(
            "SELECT client_id, symbol FROM orders WHERE client_id = ANY(%s)", (unknown,)
        )
        touched = (
            "(symbol = ANY(%s) OR symbol IN (SELECT symbol FROM orders WHERE client_id = ANY(%s)))"
        )
        conn.execute(
            f"SELECT 1 FROM leases WHERE {touched} ORDER BY symbol FOR SHARE", (named, unknown)
        )
        held = conn.execute(
            f"SELECT symbol, epoch FROM leases WHERE {touched} AND holder = %s "
            "AND expires_at > clock_timestamp()",
            (named, unknown, self.instance),
        )
        ordered.update(known.fetchall())
        rows = held.fetchall()
        assert self._fence is not None
        believed = self._fence()
        return ordered, {symbol: epoch for symbol, epoch in rows if believed.get(symbol) == epoch}

    def quarantine(
        self, task_id: str | None, reason: str, record: bytes | None, symbol: str | None = None
    ) -> None:
        """Record why ``task_id``'s record cannot be trusted (``record``: what could not be
        read, kept for inspection) and take the task out of recovery; one transaction.
        ``symbol``: the symbol this holds out of trading until the operator resolves it."""
        now = time.time()
        with self._connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO quarantine (task_id, reason, record, ts, symbol) "
                "VALUES (%s, %s, %s, %s, %s)",
                (task_id, reason, record, now, symbol),
            )
            conn.execute(
                "UPDATE tasks SET state = 'quarantined', completed_at = %s WHERE task_id = %s",
                (now, task_id),
            )

    def resolve_quarantine(
        self, symbol: str, resolution: str, task: SnapshotRecord | None = None
    ) -> int:
        """Release ``symbol`` from quarantine as the operator resolved it (``adopt``,
        ``flatten``, ``forget``), with ``task``, the record to trade on from now, stored in
        the same transaction; returns how many quarantine rows were resolved."""
        with self._connection() as conn, conn.transaction():
            resolved = conn.execute(
                "UPDATE quarantine SET resolved_at = %s, resolution = %s "
                "WHERE symbol = %s AND resolved_at IS NULL",
                (time.time(), resolution, symbol),
            ).rowcount
            if task is not None:
                conn.execute(
                    "UPDATE tasks SET state = %s, snapshot = %s, updated_at = %s, "
                    "completed_at = %s WHERE task_id = %s",
                    (
                        task.state,
                        task.snapshot,
                        task.now,
                        task.now if task.completed else None,
                        task.task_id,
                    ),
                )
        return resolved

    def record_operator_action(
        self, action: str, symbol: str | None, result: str, who: str | None = None
    ) -> None:
        self._run(
            "INSERT INTO operator_actions (ts, action, symbol, result, who) "
            "VALUES (%s, %s, %s, %s, %s)",
            (time.time(), action, symbol, result, who),
        )

    def set_risk_mode(self, row: RiskModeRow) -> None:
        self._run(
            "INSERT INTO risk_modes (mode, reason, since, set_by, stops) "
            "VALUES (%s, %s, %s, %s, %s)",
            (row.mode, row.reason, row.since, row.set_by, row.stops),
        )

    def keep_risk_stops(self, row: RiskModeRow) -> None:
        """The stops' marks in the mode set last (``row`` itself if none ever was)."""
        with self._connection() as conn, conn.transaction():
            kept = conn.execute(
                "UPDATE risk_modes SET stops = %s WHERE id = (SELECT max(id) FROM risk_modes)",
                (row.stops,),
            ).rowcount
            if kept == 0:
                conn.execute(
                    "INSERT INTO risk_modes (mode, reason, since, set_by, stops) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    (row.mode, row.reason, row.since, row.set_by, row.stops),
                )

    def abandon_active(self) -> int:
        """Close every active task as ``abandoned``; returns how many."""
        return self._run(
            "UPDATE tasks SET state = 'abandoned', completed_at = %s WHERE completed_at IS NULL",
            (time.time(),),
        )

    def delete_completed(self, before: float) -> int:
        """Remove tasks completed before ``before`` with their orders, this instance's
        alerts raised before it that every sink has answered, with their deliveries, and
        its runs started before it (its newest aside); returns how many tasks."""
        with self._connection() as conn, conn.transaction():
            answered: dict[str, set[str]] = {}
            for alert_id, sink in conn.execute(
                "SELECT alert_id, sink FROM alert_deliveries WHERE alert_id IN "
                "(SELECT id FROM alert_outbox WHERE instance = %s AND created_at < %s)",
                (self.instance, before),
            ):
                answered.setdefault(alert_id, set()).add(sink)
            settled = [
                alert_id
                for alert_id, sinks in conn.execute(
                    "SELECT id, sinks FROM alert_outbox WHERE instance = %s AND created_at < %s",
                    (self.instance, before),
                )
                if set(filter(None, sinks.split(","))) <= answered.get(alert_id, set())
            ]
            conn.execute("DELETE FROM alert_deliveries WHERE alert_id = ANY(%s)", (settled,))
            conn.execute("DELETE FROM alert_outbox WHERE id = ANY(%s)", (settled,))
            conn.execute(
                "DELETE FROM runs WHERE instance = %s AND started_at < %s "
                "AND id < (SELECT max(id) FROM runs WHERE instance = %s)",
                (self.instance, before, self.instance),
            )
            ids = [
                task_id
                for (task_id,) in conn.execute(
                    "SELECT task_id FROM tasks WHERE completed_at < %s", (before,)
                )
            ]
            conn.execute(
                "DELETE FROM order_events WHERE client_id IN "
                "(SELECT client_id FROM orders WHERE task_id = ANY(%s))",
                (ids,),
            )
            conn.execute("DELETE FROM orders WHERE task_id = ANY(%s)", (ids,))
            conn.execute("DELETE FROM tasks WHERE task_id = ANY(%s)", (ids,))
        return len(ids)

    def mark_backtest(self) -> None:
        """Mark this store a backtest's."""
        self._run(
            "INSERT INTO meta (key, value) VALUES (%s, '1') "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (BACKTEST_KEY,),
        )

    def thin_series(self, before: float, max_points: int | None = None) -> Thinned:
        """Thin the series to one point a minute up to ``before``, as the SQLite store
        does (:meth:`~actors.runtime.persistence.store.Store.thin_series`); instances
        sharing the series thin it one at a time (``SERIES_LOCK``)."""
        if max_points is not None and max_points < 1:
            raise ValueError(f"max_points must be at least 1, not {max_points}")
        until = _minute_of(before)
        with self._connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SERIES_LOCK,))
            row = conn.execute(
                "SELECT value FROM meta WHERE key = %s", (SERIES_THINNED,)
            ).fetchone()
            if row is not None:
                since = float(row[0])
            else:
                (oldest,) = conn.execute("SELECT min(ts) FROM series").fetchone() or (None,)
                since = until if oldest is None else _minute_of(oldest)
            if until <= since:
                return Thinned(0, more=False)
            end = until if max_points is None else _slice_end(conn, since, until, max_points)
            window = (since, end)
            (before_count,) = conn.execute(
                "SELECT count(*) FROM series WHERE ts >= %s AND ts < %s", window
            ).fetchone() or (0,)
            # The minute as SQLite groups it, a correctly rounded ts / 60 rounded down
            # (``_minute_of``): not through numeric, whose cast of a float keeps 15 digits
            # and puts 299.9999999999998 in the minute of 300. Times within the first
            # minute are its own: PostgreSQL refuses a float division that underflows (a
            # time within 1e-308 s of the epoch) where SQLite gives 0.
            minutes = conn.execute(
                f"SELECT symbol, {_MINUTE} * 60, min(entry_cost_pct), "
                "avg(pnl_usdt), avg(pnl_pct), avg(unrealized_usdt) FROM series "
                f"WHERE ts >= %s AND ts < %s GROUP BY symbol, {_MINUTE}",
                window,
            ).fetchall()
            conn.execute("DELETE FROM series WHERE ts >= %s AND ts < %s", window)
            _each(conn, "INSERT INTO series VALUES (%s, %s, %s, %s, %s, %s)", minutes)
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (SERIES_THINNED, repr(end)),
            )
        return Thinned(before_count - len(minutes), more=end < until)

    def put_alert(self, record: OutboxRecord) -> None:
        """The alert in this instance's outbox, with the incident change it announces;
        one transaction."""
        with self._connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO alert_outbox (id, instance, body, sinks, created_at) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                (record.alert_id, self.instance, record.body, ",".join(record.sinks), record.now),
            )
            if record.opens is not None:
                conn.execute(
                    "INSERT INTO open_incidents (instance, key, body, opened_at) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (instance, key) DO UPDATE "
                    "SET body = excluded.body, opened_at = excluded.opened_at",
                    (self.instance, record.opens, record.body, record.now),
                )
            if record.resolves is not None:
                conn.execute(
                    "DELETE FROM open_incidents WHERE instance = %s AND key = %s",
                    (self.instance, record.resolves),
                )

    def mark_delivery(self, alert_id: str, sink: str, outcome: str, detail: str) -> None:
        """What ``sink`` made of the alert: ``delivered``, or ``failed`` for good."""
        self._run(
            "INSERT INTO alert_deliveries (alert_id, sink, outcome, detail, ts) "
            "VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (alert_id, sink) DO UPDATE SET outcome = excluded.outcome, "
            "detail = excluded.detail, ts = excluded.ts",
            (alert_id, sink, outcome, detail, time.time()),
        )

    def begin_run(self) -> int:
        """Record a run of this instance's start; returns its id, for :meth:`end_run`."""
        return self._one(
            "INSERT INTO runs (instance, started_at) VALUES (%s, %s) RETURNING id",
            (self.instance, time.time()),
        )[0]

    def end_run(self, run_id: int) -> None:
        """Record that run ``run_id`` stopped cleanly."""
        self._run("UPDATE runs SET stopped_at = %s WHERE id = %s", (time.time(), run_id))

    # --------------------------------------------------------------------- reading

    def last_run_crashed(self) -> bool:
        """This instance's newest run recorded has no clean stop: it ended in a crash."""
        rows = self._all(
            "SELECT stopped_at FROM runs WHERE instance = %s ORDER BY id DESC LIMIT 1",
            (self.instance,),
        )
        return bool(rows) and rows[0][0] is None

    def pending_alerts(self) -> list[PendingAlertRow]:
        """This instance's alerts some sink they were raised for has not answered, oldest
        first."""
        done: dict[str, set[str]] = {}
        for alert_id, sink in self._all(
            "SELECT alert_id, sink FROM alert_deliveries WHERE alert_id IN "
            "(SELECT id FROM alert_outbox WHERE instance = %s AND sinks != '')",
            (self.instance,),
        ):
            done.setdefault(alert_id, set()).add(sink)
        pending = []
        for alert_id, body, sinks in self._all(
            "SELECT id, body, sinks FROM alert_outbox WHERE instance = %s AND sinks != '' "
            "ORDER BY created_at, id",
            (self.instance,),
        ):
            left = tuple(s for s in sinks.split(",") if s not in done.get(alert_id, ()))
            if left:
                pending.append(PendingAlertRow(alert_id, body, left))
        return pending

    def open_incidents(self) -> list[OpenIncidentRow]:
        return [
            OpenIncidentRow(*row)
            for row in self._all(
                "SELECT key, body, opened_at FROM open_incidents WHERE instance = %s "
                "ORDER BY opened_at, key",
                (self.instance,),
            )
        ]

    def tasks(self, *, active_only: bool = False) -> list[TaskRow]:
        where = " WHERE completed_at IS NULL" if active_only else ""
        return [
            TaskRow(*row)
            for row in self._all(
                f"SELECT {_TASK_COLUMNS} FROM tasks{where} ORDER BY created_at, task_id"
            )
        ]

    def task(self, task_id: str) -> TaskRow | None:
        rows = self._all(f"SELECT {_TASK_COLUMNS} FROM tasks WHERE task_id = %s", (task_id,))
        return TaskRow(*rows[0]) if rows else None

    def open_orders(self, task_id: str | None = None) -> list[OrderRow]:
        """Journaled orders not known to be final: what recovery must ask the venues about."""
        if task_id is None:
            rows = self._all(
                f"SELECT {_ORDER_COLUMNS} FROM orders WHERE status != ALL(%s) "
                "ORDER BY created_at, client_id",
                (_FINAL,),
            )
        else:
            rows = self._all(
                f"SELECT {_ORDER_COLUMNS} FROM orders WHERE status != ALL(%s) "
                "AND task_id = %s ORDER BY created_at, client_id",
                (_FINAL, task_id),
            )
        return [OrderRow(*row) for row in rows]

    def orders(self, task_id: str) -> list[OrderRow]:
        return [
            OrderRow(*row)
            for row in self._all(
                f"SELECT {_ORDER_COLUMNS} FROM orders WHERE task_id = %s "
                "ORDER BY created_at, client_id",
                (task_id,),
            )
        ]

    def cycles(self) -> list[TradeRecord]:
        """Every closed cycle's record, by task and number."""
        return [
            msgspec.json.decode(record, type=TradeRecord)
            for (record,) in self._all("SELECT record FROM cycles ORDER BY task_id, cycle")
        ]

    def fill_fees(self) -> dict[tuple[str, int], float]:
        """The fees of the stored fills (USDT) by (task id, cycle)."""
        return {
            (task_id, cycle): fees
            for task_id, cycle, fees in self._all(
                "SELECT task_id, cycle, sum(fee_usdt) FROM fills GROUP BY task_id, cycle"
            )
        }

    def instance_id(self) -> str:
        """This instance's id, as registered under its name in ``cluster_instances``: it
        names the instance in every client order id (``protocols/client_ids.py``)."""
        rows = self._all(
            "SELECT instance_id FROM cluster_instances WHERE name = %s", (self.instance,)
        )
        found = rows[0][0] if rows else None
        if found is None or not is_instance_id(found):
            raise StoreError(
                f"{self.location}: instance {self.instance!r} has no well-formed instance id "
                f"({found!r}); delete its row of cluster_instances to register it afresh"
            )
        return found

    def lease_epochs(self, symbol: str) -> set[int]:
        """The epochs of every grant of ``symbol``'s lease so far (a cluster's)."""
        return {
            epoch
            for (epoch,) in self._all("SELECT epoch FROM lease_grants WHERE symbol = %s", (symbol,))
        }

    def quarantined(self) -> list[QuarantineRow]:
        """The quarantine rows not resolved yet, oldest first."""
        return [
            QuarantineRow(*row)
            for row in self._all(
                "SELECT id, task_id, reason, ts, symbol FROM quarantine "
                "WHERE resolved_at IS NULL ORDER BY id"
            )
        ]

    def risk_mode(self) -> RiskModeRow | None:
        """The risk mode set last, or ``None`` if none ever was (``active``)."""
        rows = self._all(
            "SELECT mode, reason, since, set_by, stops FROM risk_modes ORDER BY id DESC LIMIT 1"
        )
        return RiskModeRow(*rows[0]) if rows else None

    def operator_actions(self) -> list[OperatorActionRow]:
        return [
            OperatorActionRow(*row)
            for row in self._all(
                "SELECT id, ts, action, symbol, result, who FROM operator_actions ORDER BY id"
            )
        ]

    def counts(self) -> dict[str, int]:
        active, completed, quarantined = self._one(
            "SELECT (SELECT count(*) FROM tasks WHERE completed_at IS NULL), "
            "(SELECT count(*) FROM tasks WHERE completed_at IS NOT NULL "
            "AND state != 'quarantined'), "
            "(SELECT count(*) FROM quarantine WHERE resolved_at IS NULL)"
        )
        return {"active": active, "completed": completed, "quarantined": quarantined}
