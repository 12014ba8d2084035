"""The PostgreSQL store on a real server: the SQLite store's behaviour on either backend,
fencing by the symbols' leases, migrations under concurrent opens, and what its failures
are called."""

from __future__ import annotations

import math
import socket
import threading
import time

import attrs
import psycopg
import psycopg.errors
import pytest
import trio
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from psycopg_pool import PoolTimeout

from actors.arbitrage.context import new_context
from actors.runtime.persistence.postgres_schema import MIGRATIONS
from actors.runtime.persistence.postgres_store import PostgresStore, postgres_storage_failure
from actors.runtime.persistence.store import (
    OrderEventRecord,
    OutboxRecord,
    RiskModeRow,
    Store,
    StoreError,
    Thinned,
)
from actors.runtime.persistence.writer import Writer, WriterClient
from protocols.client_ids import is_instance_id
from protocols.history import FundingRecord, SeriesPoint
from protocols.model import Leg, Order, Side, Symbol
from supervision import ChildSpec, Mailbox, Supervisor
from tests.unit.actors.test_history_store import _fill, _point, _trade
from tests.unit.actors.test_store import (  # noqa: F401 (collected here with `store` of either backend)
    _a_busy_batch,
    intent,
    snapshot,
    test_a_quarantine_holds_its_symbol_until_resolved_with_the_record_to_trade_on,
    test_an_intent_journaled_twice_keeps_the_first,
    test_cleanup_removes_only_old_completed_tasks_with_their_orders,
    test_journaled_orders_stay_open_until_a_final_event,
    test_quarantine_is_listed_and_counted,
    test_quarantine_takes_the_task_out_of_recovery_in_the_same_transaction,
    test_snapshots_upsert_and_completion_is_kept,
    test_the_operators_actions_are_kept_in_order,
)


@pytest.fixture(scope="module")
def module_database(postgres_server) -> str:
    return postgres_server.new_database()


@pytest.fixture
def postgres_dsn(module_database) -> str:
    """The module's database, emptied: a new database costs a test some tenths of a
    second (``CREATE DATABASE`` copies a template and waits for a checkpoint)."""
    _query(module_database, "DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    return module_database


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """A new store of either backend."""
    if request.param == "sqlite":
        opened = Store(tmp_path / "basis.db")
    else:
        opened = PostgresStore(request.getfixturevalue("postgres_dsn"))
    yield opened
    opened.close()


@pytest.fixture
def pg(postgres_dsn):
    with PostgresStore(postgres_dsn) as opened:
        yield opened


def _query(dsn: str, sql: str, args: tuple = ()) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(sql, args)
        return cursor.fetchall() if cursor.description else []


# ------------------------------------------------------ the same on either backend


def test_a_new_database_is_migrated_to_the_latest_schema(pg):
    assert pg.schema_version == len(MIGRATIONS)


def test_a_failing_batch_stores_nothing(store):
    bad_event = OrderEventRecord("t1-1s", "fill", None, 2.0)  # payload may not be NULL
    with pytest.raises(Exception, match=r"(?i)not.null"):
        store.write_batch([snapshot()], [intent("t1-1s")], [bad_event])
    assert store.tasks() == []
    assert store.open_orders() == []


def test_a_batch_is_stored_as_in_the_sqlite_store(tmp_path, postgres_dsn, pg):
    """More rows than one statement takes, a task saved twice in one batch, and each
    order's events interleaved with the others', some fields told and some not."""
    snapshots, intents, events = _a_busy_batch()
    with Store(tmp_path / "basis.db") as lite:
        lite.write_batch(snapshots, intents, events)
        assert pg.write_batch(snapshots, intents, events) == frozenset()
        assert pg.tasks() == lite.tasks()
        assert len(pg.tasks()) == 90
        for n in range(130):
            assert pg.orders(f"t{n}") == lite.orders(f"t{n}")
        assert pg.counts() == lite.counts()
        events_of = "SELECT client_id, kind, payload, ts FROM order_events ORDER BY seq"
        assert _query(postgres_dsn, events_of) == lite._db.execute(events_of).fetchall()


def test_orders_made_at_one_time_are_listed_by_client_id(pg):
    """(SQLite lists them as they were written; PostgreSQL keeps no such order.)"""
    pg.write_batch([], [intent("t1-2f"), intent("t1-1s"), intent("t2-1s", "t2", now=0.5)], [])
    assert [o.client_id for o in pg.open_orders()] == ["t2-1s", "t1-1s", "t1-2f"]


def test_an_alert_is_pending_for_each_sink_until_that_sink_answered(store):
    store.put_alert(OutboxRecord("a1", b"{}", ("webhook", "telegram"), 1.0))
    store.put_alert(OutboxRecord("a2", b"{}", ("webhook",), 2.0))
    store.put_alert(OutboxRecord("a3", b"{}", (), 3.0))
    store.mark_delivery("a1", "webhook", "delivered", "")
    store.mark_delivery("a2", "webhook", "failed", "HTTP 404")
    [pending] = store.pending_alerts()
    assert (pending.alert_id, pending.sinks) == ("a1", ("telegram",))
    store.put_alert(OutboxRecord("a1", b"{}", ("webhook", "telegram"), 1.0))
    assert len(store.pending_alerts()) == 1
    store.mark_delivery("a1", "telegram", "failed", "HTTP 401")
    store.mark_delivery("a1", "telegram", "delivered", "")  # told again: the last kept
    assert store.pending_alerts() == []


def test_an_incident_is_stored_open_with_its_opening_and_dropped_with_its_resolution(store):
    store.put_alert(OutboxRecord("o1", b"opened", ("webhook",), 5.0, opens="writer"))
    store.put_alert(OutboxRecord("o2", b"again", ("webhook",), 6.0, opens="writer"))
    [row] = store.open_incidents()
    assert (row.key, row.body, row.opened_at) == ("writer", b"again", 6.0)
    store.put_alert(OutboxRecord("r1", b"resolved", ("webhook",), 9.0, resolves="writer"))
    assert store.open_incidents() == []


def test_a_run_without_a_clean_stop_is_a_crash(store):
    assert not store.last_run_crashed()
    first = store.begin_run()
    assert store.last_run_crashed()
    store.end_run(first)
    assert not store.last_run_crashed()
    store.begin_run()
    assert store.last_run_crashed()


def test_cleanup_removes_old_alerts_every_sink_answered_and_old_runs(store):
    for alert_id, sinks, now in [
        ("answered", ("webhook", "telegram"), 10.0),
        ("half-answered", ("webhook", "telegram"), 10.0),
        ("for-nobody", (), 10.0),
        ("recent", ("webhook",), 50.0),
    ]:
        store.put_alert(OutboxRecord(alert_id, b"{}", sinks, now))
    store.mark_delivery("answered", "webhook", "delivered", "")
    store.mark_delivery("answered", "telegram", "failed", "HTTP 401")
    store.mark_delivery("half-answered", "webhook", "delivered", "")
    first = store.begin_run()
    store.end_run(first)
    store.begin_run()
    store.delete_completed(before=20.0)
    assert [row.alert_id for row in store.pending_alerts()] == ["half-answered", "recent"]
    store.mark_delivery("recent", "webhook", "delivered", "")
    store.delete_completed(before=time.time() + 1.0)
    assert store.last_run_crashed()  # the newest run is kept
    store.mark_delivery("half-answered", "telegram", "delivered", "")
    assert store.pending_alerts() == []


def test_history_is_stored_once_and_an_amended_cycle_replaces_its_record(store):
    store.write_batch((), (), (), [_trade(350.125), _fill("a", 0.5), _fill("b", 0.5)])
    settlement = FundingRecord("t1", 1, "BTC/USDT", "gateio_futures", "L1", 150.0, 1.5)
    store.write_batch((), (), (), [_fill("a", 0.5), settlement, settlement])
    store.write_batch((), (), (), [_trade(351.625, 1.5), _trade(352.0, 2.0)])
    assert store.cycles() == [_trade(352.0, 2.0)]
    assert store.fill_fees() == {("t1", 1): 25.0}


def test_the_risk_mode_set_last_is_read_and_its_stops_kept(store):
    assert store.risk_mode() is None
    store.keep_risk_stops(RiskModeRow("active", "", 1.0, "stop", b"first"))
    assert store.risk_mode() == RiskModeRow("active", "", 1.0, "stop", b"first")
    store.set_risk_mode(RiskModeRow("reducing", "drawdown stop", 5.0, "stop", b"{}"))
    store.keep_risk_stops(RiskModeRow("ignored", "", 9.0, "stop", b"marks"))
    assert store.risk_mode() == RiskModeRow("reducing", "drawdown stop", 5.0, "stop", b"marks")


def test_abandoning_closes_every_active_task(store):
    store.write_batch([snapshot("a"), snapshot("b"), snapshot("c", completed=True)], [], [])
    assert store.abandon_active() == 2
    assert {t.task_id: t.state for t in store.tasks()} == {
        "a": "abandoned",
        "b": "abandoned",
        "c": "monitoring",
    }
    assert store.tasks(active_only=True) == []
    assert store.task("missing") is None


def test_the_series_is_thinned_to_a_minute_once(store):
    points = [
        SeriesPoint("BTC/USDT", 60.0 * 10 + s, 0.6 - s / 1000.0, None if s < 30 else float(s))
        for s in range(60)
    ] + [SeriesPoint("BTC/USDT", 60.0 * 11 + 5, 0.7), SeriesPoint("ETH/USDT", 60.0 * 10, 0.4)]
    store.write_batch((), (), (), points)
    assert store.thin_series(60.0 * 11 + 30) == Thinned(59, more=False)
    assert store.thin_series(60.0 * 11 + 30) == Thinned(0, more=False)
    with pytest.raises(ValueError, match="max_points must be at least 1, not 0"):
        store.thin_series(60.0 * 12, max_points=0)


SERIES = "SELECT * FROM series ORDER BY symbol, ts"


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    points=st.lists(_point, max_size=120, unique_by=lambda p: (p.symbol, p.ts)),
    befores=st.lists(st.floats(0.0, 60.0 * 22), min_size=1, max_size=3).map(sorted),
    max_points=st.integers(1, 40),
)
# A time a hair below a minute's end: a float cast to numeric keeps 15 digits and took it
# for the next minute.
@example(
    points=[SeriesPoint("BTC/USDT", 240.0, 0.0), SeriesPoint("BTC/USDT", 299.9999999999998, 0.0)],
    befores=[300.0],
    max_points=1,
)
def test_thinning_in_slices_gives_the_series_the_sqlite_store_gives(
    tmp_path_factory, postgres_dsn, points, befores, max_points
):
    with (
        Store(tmp_path_factory.mktemp("lite") / "basis.db") as lite,
        PostgresStore(postgres_dsn) as pg,
    ):
        _query(postgres_dsn, "DELETE FROM series; DELETE FROM meta")
        lite.write_batch((), (), (), points)
        pg.write_batch((), (), (), points)
        for before in befores:
            more = True
            while more:
                thinned = pg.thin_series(before, max_points)
                assert thinned == lite.thin_series(before, max_points)
                more = thinned.more
        got, expected = _query(postgres_dsn, SERIES), lite._db.execute(SERIES).fetchall()
        assert [row[:2] for row in got] == [row[:2] for row in expected]
        for row, other in zip(got, expected, strict=True):
            for value, want in zip(row[2:], other[2:], strict=True):
                assert (value is None) == (want is None)
                assert value is None or math.isclose(value, want, rel_tol=1e-12, abs_tol=1e-9)


# --------------------------------------------------------------------- instances


def test_each_instance_has_its_own_id_kept_across_opens(postgres_dsn):
    with PostgresStore(postgres_dsn, "east") as east, PostgresStore(postgres_dsn, "west") as west:
        ids = east.instance_id(), west.instance_id()
    with PostgresStore(postgres_dsn, "east") as again:
        assert again.instance_id() == ids[0]
    assert ids[0] != ids[1]
    assert all(is_instance_id(i) for i in ids)


def test_runs_alerts_and_incidents_are_each_instances_own(postgres_dsn):
    with PostgresStore(postgres_dsn, "east") as east, PostgresStore(postgres_dsn, "west") as west:
        east.begin_run()
        east.put_alert(OutboxRecord("e1", b"{}", ("webhook",), 1.0, opens="writer"))
        east.put_alert(OutboxRecord("e2", b"{}", ("webhook",), 1.0))
        east.mark_delivery("e2", "webhook", "delivered", "")
        assert not west.last_run_crashed()
        assert west.pending_alerts() == []
        assert west.open_incidents() == []
        west.put_alert(OutboxRecord("w1", b"{}", ("webhook",), 1.0, resolves="writer"))
        west.delete_completed(before=time.time() + 1.0)
        assert east.last_run_crashed()
        assert [a.alert_id for a in east.pending_alerts()] == ["e1"]
        assert [i.key for i in east.open_incidents()] == ["writer"]
        assert _query(postgres_dsn, "SELECT id FROM alert_outbox ORDER BY id") == [
            ("e1",),
            ("e2",),
            ("w1",),
        ]


def test_instances_opening_a_new_database_at_once_migrate_it_once(postgres_dsn):
    opened: dict[str, PostgresStore] = {}
    failed: list[BaseException] = []
    start = threading.Barrier(3)

    def open_as(name: str) -> None:
        start.wait()
        try:
            opened[name] = PostgresStore(postgres_dsn, name)
        except BaseException as error:
            failed.append(error)

    threads = [threading.Thread(target=open_as, args=(f"i{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == []
    try:
        assert _query(postgres_dsn, "SELECT version FROM basis_schema ORDER BY version") == [
            (n,) for n in range(1, len(MIGRATIONS) + 1)
        ]
        assert len({store.instance_id() for store in opened.values()}) == 3
    finally:
        for store in opened.values():
            store.close()


def test_one_store_serves_several_threads_at_once(pg):
    failed: list[BaseException] = []
    start = threading.Barrier(6)

    def journal(n: int) -> None:
        start.wait()
        try:
            for k in range(20):
                pg.write_batch([snapshot(f"t{n}-{k}")], [intent(f"t{n}-{k}-1s", f"t{n}-{k}")], [])
                pg.open_orders(f"t{n}-{k}")
        except BaseException as error:
            failed.append(error)

    threads = [threading.Thread(target=journal, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == []
    assert pg.counts()["active"] == 120
    assert len(pg.open_orders()) == 120


def test_a_database_from_a_newer_basis_is_refused_naming_it_without_its_password(postgres_dsn):
    PostgresStore(postgres_dsn).close()
    _query(postgres_dsn, "INSERT INTO basis_schema (version) VALUES (%s)", (len(MIGRATIONS) + 1,))
    with pytest.raises(StoreError) as refused:
        PostgresStore(postgres_dsn + " password=hunter2")
    message = str(refused.value)
    assert f"schema {len(MIGRATIONS) + 1}, this one knows {len(MIGRATIONS)}" in message
    assert "upgrade Basis to open it" in message
    assert "dbname=basis_test_" in message and "hunter2" not in message


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    "dsn",
    [
        "host=127.0.0.1 port={port} user=basis password=hunter2 dbname=basis",
        "postgresql://basis:hunter2@127.0.0.1:{port}/basis",
    ],
)
def test_a_server_that_cannot_be_reached_is_named_without_the_password(dsn):
    port = _closed_port()
    with pytest.raises(StoreError) as refused:
        PostgresStore(dsn.format(port=port))
    message = str(refused.value)
    assert "host=127.0.0.1" in message and f"port={port}" in message
    assert "cannot connect" in message and "check that the server runs" in message
    assert "hunter2" not in message


def test_a_connection_string_that_does_not_parse_is_refused_without_echoing_it():
    with pytest.raises(StoreError, match="key=value pairs or a postgresql:// URI") as refused:
        PostgresStore("host=127.0.0.1 password=hunter2 nonsense")
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize(("durability", "setting"), [("FULL", "on"), ("NORMAL", "off")])
def test_durability_is_the_servers_synchronous_commit(postgres_dsn, durability, setting):
    with (
        PostgresStore(postgres_dsn, durability=durability) as store,
        store._pool.connection() as conn,
    ):
        assert conn.execute("SHOW synchronous_commit").fetchone() == (setting,)


# ------------------------------------------------------------------------ fencing

LEASE_TTL = "10 seconds"


@pytest.fixture
def migrated_dsn(postgres_dsn):
    """A database with the store's schema, for leases to be granted in before it opens."""
    PostgresStore(postgres_dsn).close()
    return postgres_dsn


def _grant(dsn: str, symbol: str, holder: str, ttl: str = LEASE_TTL) -> int:
    """A new grant of ``symbol`` to ``holder`` (registered if it is not), as a takeover
    makes one; returns its epoch."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return _grant_on(conn, symbol, holder, ttl)


def _grant_on(conn: psycopg.Connection, symbol: str, holder: str, ttl: str = LEASE_TTL) -> int:
    with conn.transaction():
        # The row locked first: a statement's clock_timestamp() is taken before it waits
        # for a lock, and the grant's time must be when it could be made.
        conn.execute("SELECT 1 FROM leases WHERE symbol = %s FOR UPDATE", (symbol,))
        return _upsert_lease(conn, symbol, holder, ttl)


def _upsert_lease(conn: psycopg.Connection, symbol: str, holder: str, ttl: str) -> int:
    conn.execute(
        "INSERT INTO cluster_instances (name, instance_id, capacity) "
        "VALUES (%s, substr(md5(%s), 1, 4), 0) ON CONFLICT (name) DO NOTHING",
        (holder, holder),
    )
    [(epoch,)] = conn.execute(
        "INSERT INTO leases (symbol, holder, epoch, granted_at, renewed_at, expires_at) "
        "VALUES (%s, %s, nextval('lease_epochs'), clock_timestamp(), clock_timestamp(), "
        "clock_timestamp() + %s::interval) ON CONFLICT (symbol) DO UPDATE SET "
        "holder = excluded.holder, epoch = excluded.epoch, granted_at = excluded.granted_at, "
        "renewed_at = excluded.renewed_at, expires_at = excluded.expires_at RETURNING epoch",
        (symbol, holder, ttl),
    ).fetchall()
    return epoch


def _records(symbol: str, task: str):
    """A snapshot, an intent, an event of that order and a series point of ``symbol``."""
    order = attrs.evolve(intent(f"{task}-1s", task), symbol=symbol)
    return (
        attrs.evolve(snapshot(task), symbol=symbol),
        order,
        OrderEventRecord(order.client_id, "ack", b"{}", 2.0, "open", "V1"),
        SeriesPoint(symbol, 60.0, 0.5),
    )


def _write(store: PostgresStore, *records) -> frozenset[str]:
    """``records`` (of :func:`_records`) in one batch."""
    snapshots, intents, events, history = zip(*records, strict=True)
    return store.write_batch(snapshots, intents, events, history)


def _landed(dsn: str) -> dict[str, object]:
    return {
        "tasks": _query(dsn, "SELECT task_id, epoch FROM tasks ORDER BY task_id"),
        "orders": _query(dsn, "SELECT client_id, status, epoch FROM orders ORDER BY client_id"),
        "events": _query(dsn, "SELECT client_id FROM order_events ORDER BY seq"),
        "series": _query(dsn, "SELECT symbol FROM series ORDER BY symbol"),
    }


def test_only_the_records_of_symbols_held_under_their_epoch_land(migrated_dsn):
    held = _grant(migrated_dsn, "BTC/USDT", "east")
    elsewhere = _grant(migrated_dsn, "ETH/USDT", "west")
    expired = _grant(migrated_dsn, "SOL/USDT", "east", ttl="-1 second")
    moved = _grant(migrated_dsn, "XRP/USDT", "east")
    believed = {
        "BTC/USDT": held,
        "ETH/USDT": elsewhere,  # what it held before the other took it over
        "SOL/USDT": expired,
        "XRP/USDT": moved - 1,  # an older grant's epoch
        "ADA/USDT": 1,  # no lease row at all
    }
    symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT"]
    with PostgresStore(migrated_dsn, "east", fence=lambda: believed) as east:
        refused = _write(east, *[_records(s, s[:3].lower()) for s in symbols])
    assert refused == {"ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT"}
    assert _landed(migrated_dsn) == {
        "tasks": [("btc", held)],
        "orders": [("btc-1s", "open", held)],
        "events": [("btc-1s",)],
        "series": [("BTC/USDT",)],
    }


def test_events_of_an_order_whose_symbol_is_no_longer_held_are_refused(migrated_dsn):
    epochs = {"BTC/USDT": _grant(migrated_dsn, "BTC/USDT", "east")}
    with PostgresStore(migrated_dsn, "east", fence=lambda: epochs) as east:
        snap, order, _, _ = _records("BTC/USDT", "t1")
        assert east.write_batch([snap], [order], []) == frozenset()
        _grant(migrated_dsn, "BTC/USDT", "west")
        filled = OrderEventRecord(order.client_id, "final", b"{}", 3.0, "filled", None, 0.5)
        unknown = OrderEventRecord("nobody-1s", "final", b"{}", 3.0, "filled")
        assert east.write_batch([], [], [filled, unknown]) == {"BTC/USDT"}
        [row] = east.orders("t1")
        assert row.status == "pending"
    assert _query(migrated_dsn, "SELECT count(*) FROM order_events") == [(0,)]


def test_without_a_fence_everything_is_written_with_no_epoch(postgres_dsn, pg):
    assert _write(pg, _records("BTC/USDT", "t1")) == frozenset()
    assert _landed(postgres_dsn)["orders"] == [("t1-1s", "open", None)]


def test_a_takeover_waits_for_a_write_in_flight_and_a_later_write_is_refused(migrated_dsn):
    epochs = {"BTC/USDT": _grant(migrated_dsn, "BTC/USDT", "east")}
    in_flight, go_on = threading.Event(), threading.Event()

    def fence():
        # Called with the lease rows locked: the transaction is in flight until it returns.
        if not in_flight.is_set():
            in_flight.set()
            go_on.wait(10)
        return epochs

    east = PostgresStore(migrated_dsn, "east", fence=fence)
    taker = psycopg.connect(migrated_dsn, autocommit=True)
    refused: list[frozenset[str]] = []
    taken: list[int] = []
    writing = threading.Thread(
        target=lambda: refused.append(_write(east, _records("BTC/USDT", "t1")))
    )
    taking = threading.Thread(target=lambda: taken.append(_grant_on(taker, "BTC/USDT", "west")))
    writing.start()
    assert in_flight.wait(10)
    taking.start()
    deadline = time.monotonic() + 10
    while _query(
        migrated_dsn,
        "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
        (taker.info.backend_pid,),
    ) != [("Lock",)]:
        assert time.monotonic() < deadline, "the takeover never waited for the write"
        time.sleep(0.01)
    assert taken == [] and refused == []
    go_on.set()
    writing.join(10)
    taking.join(10)
    taker.close()
    # The write landed under the old epoch, and the grant was made once it had.
    assert refused == [frozenset()]
    assert taken[0] > epochs["BTC/USDT"]
    assert _landed(migrated_dsn)["orders"] == [("t1-1s", "open", epochs["BTC/USDT"])]
    assert _query(
        migrated_dsn,
        "SELECT o.written_at < l.granted_at FROM orders o JOIN leases l USING (symbol)",
    ) == [(True,)]
    # The old epoch's next write is refused whole.
    assert _write(east, _records("BTC/USDT", "t2")) == {"BTC/USDT"}
    assert [t for t, _ in _landed(migrated_dsn)["tasks"]] == ["t1"]
    east.close()


# ------------------------------------------------------------------------ failures


def test_a_lost_connection_is_a_storage_failure_and_the_next_call_gets_another(pg, postgres_dsn):
    pg.write_batch([snapshot("t1")], [], [])
    _query(
        postgres_dsn,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid != pg_backend_pid()",
    )
    with pytest.raises(psycopg.OperationalError) as lost:
        pg.write_batch([snapshot("t2")], [], [])
    cause = postgres_storage_failure(lost.value, pg.location)
    assert cause is not None and pg.location in cause
    pg.write_batch([snapshot("t2")], [], [])
    assert [t.task_id for t in pg.tasks()] == ["t1", "t2"]


def test_a_read_only_database_is_a_storage_failure_naming_the_fix(postgres_dsn, pg):
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("SET default_transaction_read_only = on")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction) as refused:
            conn.execute("INSERT INTO meta VALUES ('k', 'v')")
    cause = postgres_storage_failure(refused.value, pg.location)
    assert cause is not None and cause.startswith("read-only (25006): PostgreSQL (")
    assert "point the DSN at the primary" in cause


def test_what_the_server_says_of_its_resources_and_state_is_a_storage_failure():
    named = {
        psycopg.errors.DiskFull("could not extend file"): "disk full: db: ",
        psycopg.errors.AdminShutdown("terminating connection"): "shutting down or starting (57P01)",
        psycopg.errors.TooManyConnections("too many clients"): "out of resources (53300)",
        psycopg.errors.DeadlockDetected("deadlock detected"): "conflict (40P01)",
        psycopg.errors.DataCorrupted("invalid page"): "corrupt (XX001)",
        psycopg.OperationalError("server closed the connection unexpectedly"): "cannot reach: db",
        PoolTimeout("couldn't get a connection after 5.00 sec"): "cannot reach: db",
    }
    for error, cause in named.items():
        assert (postgres_storage_failure(error, "db") or "").startswith(cause), error


def test_a_mistake_or_a_broken_constraint_is_no_storage_failure(pg, postgres_dsn):
    with psycopg.connect(postgres_dsn) as conn, pytest.raises(psycopg.Error) as mistake:
        conn.execute("SELECT * FROM no_such_table")
    assert postgres_storage_failure(mistake.value) is None
    with pytest.raises(psycopg.IntegrityError) as broken:
        pg.write_batch([], [], [OrderEventRecord("t1-1s", "fill", None, 2.0)])
    assert postgres_storage_failure(broken.value) is None
    assert postgres_storage_failure(OSError(28, "No space left on device")) is None


# ------------------------------------------------------------------------ the writer


async def test_the_writer_journals_into_postgresql_without_checkpoints(postgres_dsn, tmp_path):
    store = PostgresStore(postgres_dsn)
    writer = Writer(tmp_path / "unused.db", store=store, on_the_loop_records=0)
    mailbox = Mailbox("writer")
    tree = Supervisor("root", [ChildSpec("writer", writer.run, mailbox=mailbox)])
    client = WriterClient(mailbox.address)
    ctx = new_context("t1", Symbol("BTC", "USDT"), now=1.0)
    order = Order("t1-0s", Leg.SPOT, Symbol("BTC", "USDT"), Side.BUY, 0.5, 100.0, created_ts=1.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(tree.run)
        await client.journal(ctx, [order])
        assert [o.client_id for o in store.open_orders("t1")] == ["t1-0s"]
        nursery.cancel_scope.cancel()
    assert writer.stats.checkpoints == 0
    store.close()
