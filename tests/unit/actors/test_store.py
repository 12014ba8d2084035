"""The SQLite store: migrations, one transaction per batch, the journal's open orders."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from actors.runtime.persistence.store import (
    FREE_SPACE_RESERVE_BYTES,
    META_MIGRATION,
    MIGRATIONS,
    Checkpointer,
    IntentRecord,
    OrderEventRecord,
    OutboxRecord,
    RiskModeRow,
    SnapshotRecord,
    Store,
    StoreError,
    check_store,
    storage_failure,
)


def snapshot(task_id="t1", state="monitoring", now=1.0, completed=False, body=b"{}"):
    return SnapshotRecord(
        task_id, "spot_futures_arbitrage", "BTC/USDT", state, body, now, completed
    )


def intent(client_id, task_id="t1", now=1.0):
    return IntentRecord(client_id, task_id, "mexc", "spot", "BTC/USDT", "buy", 0.5, 100.0, now)


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "basis.db")
    yield store
    store.close()


def test_a_new_file_is_migrated_to_the_latest_schema_in_wal_mode(store):
    assert store.schema_version == len(MIGRATIONS)
    mode = sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_snapshots_upsert_and_completion_is_kept(store):
    store.write_batch([snapshot(state="entering", body=b"a")], [], [])
    store.write_batch([snapshot(state="stopped", now=2.0, completed=True, body=b"b")], [], [])
    [row] = store.tasks()
    assert (row.state, row.snapshot, row.created_at, row.updated_at) == ("stopped", b"b", 1.0, 2.0)
    assert row.completed_at == 2.0
    assert store.tasks(active_only=True) == []
    assert store.counts() == {"active": 0, "completed": 1, "quarantined": 0}


def test_journaled_orders_stay_open_until_a_final_event(store):
    store.write_batch([], [intent("t1-1s"), intent("t1-2f")], [])
    assert [o.client_id for o in store.open_orders("t1")] == ["t1-1s", "t1-2f"]
    store.write_batch(
        [],
        [],
        [
            OrderEventRecord("t1-1s", "accepted", b"{}", 2.0, "new", "v1"),
            OrderEventRecord("t1-1s", "final", b"{}", 3.0, "filled", None, 0.5, 100.0),
        ],
    )
    [still_open] = store.open_orders()
    assert still_open.client_id == "t1-2f"
    [done, _] = store.orders("t1")
    assert (done.status, done.venue_order_id, done.filled_qty) == ("filled", "v1", 0.5)


def test_an_intent_journaled_twice_keeps_the_first(store):
    store.write_batch([], [intent("t1-1s", now=1.0)], [])
    store.write_batch([], [intent("t1-1s", now=5.0)], [])
    [order] = store.orders("t1")
    assert order.created_at == 1.0


def test_a_failing_batch_stores_nothing(store):
    bad_event = OrderEventRecord("t1-1s", "fill", None, 2.0)  # payload may not be NULL
    with pytest.raises(sqlite3.IntegrityError):
        store.write_batch([snapshot()], [intent("t1-1s")], [bad_event])
    assert store.tasks() == []
    assert store.open_orders() == []


def test_cleanup_removes_only_old_completed_tasks_with_their_orders(store):
    store.write_batch(
        [
            snapshot("old", completed=True, now=10.0),
            snapshot("new", completed=True, now=50.0),
            snapshot("live", now=1.0),
        ],
        [intent("old-1s", "old"), intent("live-1s", "live")],
        [],
    )
    assert store.delete_completed(before=20.0) == 1
    assert sorted(row.task_id for row in store.tasks()) == ["live", "new"]
    assert [o.client_id for o in store.open_orders()] == ["live-1s"]


def test_cleanup_removes_old_alerts_every_sink_answered_and_old_runs(store, tmp_path):
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
    store.mark_delivery("recent", "webhook", "delivered", "")
    first = store.begin_run()
    store.end_run(first)
    store.begin_run()  # the newest: it crashed, and that is kept
    store.delete_completed(before=20.0)
    with sqlite3.connect(tmp_path / "basis.db") as db:
        alerts = [row[0] for row in db.execute("SELECT id FROM alert_outbox ORDER BY id")]
        deliveries = {row[0] for row in db.execute("SELECT alert_id FROM alert_deliveries")}
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone() == (2,)
    assert alerts == ["half-answered", "recent"]
    assert deliveries == {"half-answered", "recent"}
    assert [row.alert_id for row in store.pending_alerts()] == ["half-answered"]
    store.delete_completed(before=time.time() + 1.0)
    with sqlite3.connect(tmp_path / "basis.db") as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone() == (1,)
        assert db.execute("SELECT id FROM alert_outbox").fetchall() == [("half-answered",)]
    assert store.last_run_crashed()


def test_a_file_that_is_not_a_store_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "basis.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="move it aside to start afresh"):
        Store(path)
    assert path.read_bytes().startswith(b"this is not sqlite")  # nothing overwritten


def test_a_store_from_a_newer_basis_is_refused_untouched(tmp_path):
    path = tmp_path / "basis.db"
    sqlite3.connect(path).execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match="upgrade Basis to open it"):
        Store(path)


def test_quarantine_is_listed_and_counted(store):
    store.quarantine("t9", "snapshot does not decode: missing field", b"{garbage")
    [row] = store.quarantined()
    assert (row.task_id, row.reason) == ("t9", "snapshot does not decode: missing field")
    assert store.counts()["quarantined"] == 1


def test_quarantine_takes_the_task_out_of_recovery_in_the_same_transaction(store):
    store.write_batch([snapshot("t1")], [], [])
    store.quarantine("t1", "contradicts the venues", None)
    assert store.task("t1").state == "quarantined"
    assert store.tasks(active_only=True) == []
    assert store.counts() == {"active": 0, "completed": 0, "quarantined": 1}


def test_a_quarantine_holds_its_symbol_until_resolved_with_the_record_to_trade_on(store):
    store.write_batch([snapshot("t1", state="position_open")], [], [])
    store.quarantine("t1", "contradicts the venues: short", None, "BTC/USDT")
    [held] = store.quarantined()
    assert held.symbol == "BTC/USDT"
    adopted = snapshot("t1", state="position_open", now=5.0, body=b"adopted")
    assert store.resolve_quarantine("BTC/USDT", "adopt", adopted) == 1
    assert store.quarantined() == []
    assert store.counts()["quarantined"] == 0
    [active] = store.tasks(active_only=True)
    assert (active.task_id, active.snapshot, active.completed_at) == ("t1", b"adopted", None)
    assert store.resolve_quarantine("BTC/USDT", "forget") == 0  # nothing left to resolve


def test_quarantine_rows_from_before_symbols_were_kept_still_read_and_hold_nothing(tmp_path):
    path = tmp_path / "basis.db"
    old = sqlite3.connect(path, isolation_level=None)
    for statement in MIGRATIONS[0].split(";"):
        if statement.strip():
            old.execute(statement)
    old.execute("PRAGMA user_version=1")
    old.execute(
        "INSERT INTO quarantine (task_id, reason, record, ts) VALUES ('t0', 'old reason', NULL, 1)"
    )
    old.close()
    with Store(path) as store:
        assert store.schema_version == len(MIGRATIONS)
        [row] = store.quarantined()
        assert (row.task_id, row.reason, row.symbol) == ("t0", "old reason", None)


def test_the_operators_actions_are_kept_in_order(store):
    store.record_operator_action("pause", "BTC/USDT", "paused BTC/USDT", "ann@desk")
    store.record_operator_action("stop --flatten", None, "unwinding", "bob via the dashboard")
    assert [(a.action, a.symbol, a.result, a.who) for a in store.operator_actions()] == [
        ("pause", "BTC/USDT", "paused BTC/USDT", "ann@desk"),
        ("stop --flatten", None, "unwinding", "bob via the dashboard"),
    ]


def test_a_failure_that_ended_the_transaction_is_raised_as_it_was(store, monkeypatch):
    # SQLite ends the transaction itself on some errors (a full disk): the cause must
    # surface, not "cannot rollback - no transaction is active".
    real = store._db

    def full_disk(sql, *parameters):
        if not sql.startswith("INSERT INTO tasks"):
            return real.execute(sql, *parameters)
        real.execute("ROLLBACK")
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store, "_db", _Connection(real, full_disk))
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        store.write_batch([snapshot("t1")], [], [])


class _Connection:
    """A connection whose ``execute`` is replaced."""

    def __init__(self, real, execute):
        self._real = real
        self.execute = execute

    def __getattr__(self, name):
        return getattr(self._real, name)


def test_a_store_closes_at_the_end_of_its_block(tmp_path):
    with Store(tmp_path / "basis.db") as store:
        store.write_batch([snapshot("t1")], [], [])
    with pytest.raises(sqlite3.ProgrammingError):
        store.tasks()


def test_each_store_has_its_own_instance_id_kept_across_opens(tmp_path):
    first = Store(tmp_path / "a.db")
    instance = first.instance_id()
    first.close()
    with Store(tmp_path / "a.db") as again:
        assert again.instance_id() == instance
    ids = {instance}
    for n in range(5):
        with Store(tmp_path / f"{n}.db") as other:
            ids.add(other.instance_id())
    assert len(ids) == 6
    assert all(len(i) == 4 and i.isalnum() and i == i.lower() for i in ids)


def test_a_store_from_before_instance_ids_gets_one_and_keeps_its_records(tmp_path):
    path = tmp_path / "basis.db"
    before = next(n for n, script in enumerate(MIGRATIONS) if "CREATE TABLE meta" in script)
    db = sqlite3.connect(path, isolation_level=None)
    for script in MIGRATIONS[:before]:
        db.executescript(script)
    db.execute(f"PRAGMA user_version={before}")
    db.execute(
        "INSERT INTO tasks VALUES ('t1', 'spot_futures_arbitrage', 'BTC/USDT', 'monitoring', "
        "x'7b7d', 1.0, 1.0, NULL)"
    )
    db.close()
    with Store(path) as upgraded:
        assert upgraded.schema_version == len(MIGRATIONS)
        instance = upgraded.instance_id()
        assert upgraded.task("t1").snapshot == b"{}"
    with Store(path) as store:
        assert store.instance_id() == instance


# ------------------------------------------------------------ storage failures


def _failure_of(action) -> str | None:
    try:
        action()
    except sqlite3.Error as error:
        return storage_failure(error, Path("/data/basis.db"))
    raise AssertionError("the action did not fail")


def test_a_full_store_is_named_disk_full_with_the_path(tmp_path):
    with Store(tmp_path / "basis.db"):
        db = sqlite3.connect(tmp_path / "basis.db", isolation_level=None)
        (pages,) = db.execute("PRAGMA page_count").fetchone()
        db.execute(f"PRAGMA max_page_count={pages}")  # SQLite answers SQLITE_FULL beyond it
        filler = "x" * 100_000
        cause = _failure_of(
            lambda: db.execute("INSERT INTO quarantine (reason, ts) VALUES (?, 0)", (filler,))
        )
        db.close()
    assert cause == "disk full: /data/basis.db: free space on its filesystem"


def test_a_read_only_store_is_named_read_only(tmp_path):
    Store(tmp_path / "basis.db").close()
    db = sqlite3.connect(f"file:{tmp_path / 'basis.db'}?mode=ro", uri=True)
    cause = _failure_of(lambda: db.execute("INSERT INTO quarantine (reason, ts) VALUES ('', 0)"))
    db.close()
    assert cause is not None and cause.startswith("read-only (SQLITE_READONLY): /data/basis.db")


def test_a_file_that_is_not_a_database_is_named_corrupt(tmp_path):
    path = tmp_path / "basis.db"
    path.write_bytes(b"not a database at all" * 100)
    db = sqlite3.connect(path)
    cause = _failure_of(lambda: db.execute("SELECT * FROM tasks"))
    db.close()
    assert cause is not None and cause.startswith("corrupt (SQLITE_NOTADB): /data/basis.db")
    assert "move it aside" in cause


def test_a_store_that_cannot_be_opened_is_named_so(tmp_path):
    cause = _failure_of(lambda: sqlite3.connect(tmp_path / "missing" / "basis.db"))
    assert cause is not None and cause.startswith("cannot open (SQLITE_CANTOPEN)")


def test_a_mistake_in_a_statement_is_no_storage_failure(tmp_path):
    db = sqlite3.connect(tmp_path / "basis.db")
    assert _failure_of(lambda: db.execute("SELECT * FROM no_such_table")) is None
    db.close()
    assert storage_failure(OSError(28, "No space left on device"), tmp_path) is None


def test_checking_a_store_in_use_leaves_every_one_of_its_files_as_it_was(tmp_path):
    """Its log not yet folded in and its shared-memory index included."""
    path = tmp_path / "basis.db"
    check_store(path)  # absent: the writer will create it
    assert not path.exists()
    with Store(path) as store:
        store.write_batch([snapshot(now=float(n)) for n in range(50)], [], [])
        files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
        assert "basis.db-wal" in files
        check_store(path)
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files


def test_a_damaged_page_is_found_before_the_store_is_used(tmp_path):
    path = tmp_path / "basis.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE filler (x)")
    db.executemany("INSERT INTO filler VALUES (?)", [("x" * 500,)] * 100)
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray(path.read_bytes())
    data[4096 * 4 : 4096 * 5] = b"\x07" * 4096
    path.write_bytes(bytes(data))
    with pytest.raises(
        StoreError, match=r"basis\.db: not a usable Basis store \(damaged: "
    ) as error:
        check_store(path)
    assert "\n" not in str(error.value)
    assert path.read_bytes() == bytes(data)


def test_a_store_from_before_the_meta_table_is_checked_all_the_same(tmp_path):
    """Whether a backtest wrote it is not asked of a store with no ``meta`` table, and
    the rest of the check still holds it: a damaged page is found."""
    assert "CREATE TABLE meta" in MIGRATIONS[META_MIGRATION - 1]
    assert not any("meta" in script for script in MIGRATIONS[: META_MIGRATION - 1])
    path = tmp_path / "basis.db"
    old = sqlite3.connect(path, isolation_level=None)
    old.executescript("".join(MIGRATIONS[: META_MIGRATION - 1]))
    old.execute(f"PRAGMA user_version={META_MIGRATION - 1}")
    check_store(path, to_trade=True)
    old.execute("CREATE TABLE filler (x)")
    old.executemany("INSERT INTO filler VALUES (?)", [("x" * 500,)] * 100)
    old.close()
    data = bytearray(path.read_bytes())
    data[4096 * 4 : 4096 * 5] = b"\x07" * 4096
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=r"basis\.db: not a usable Basis store \(damaged: "):
        check_store(path, to_trade=True)


def test_the_risk_mode_set_last_is_read_back_after_a_reopen(tmp_path):
    path = tmp_path / "basis.db"
    with Store(path) as store:
        assert store.risk_mode() is None  # never set: active
        store.set_risk_mode(RiskModeRow("reducing", "drawdown stop: 210 USDT", 5.0, "stop", b"{}"))
        store.set_risk_mode(
            RiskModeRow("halted", "venue maintenance", 7.0, "operator via basis risk halt")
        )
    with Store(path) as store:
        assert store.schema_version == len(MIGRATIONS)
        assert store.risk_mode() == RiskModeRow(
            "halted", "venue maintenance", 7.0, "operator via basis risk halt", None
        )


def _orders_and_events(store):
    db = store._db
    orders = db.execute(f"SELECT {', '.join(ORDER_FIELDS)} FROM orders ORDER BY client_id")
    events = db.execute("SELECT client_id, kind, payload, ts FROM order_events ORDER BY seq")
    return orders.fetchall(), events.fetchall()


ORDER_FIELDS = ("client_id", "status", "venue_order_id", "filled_qty", "avg_price", "updated_at")


def _a_busy_batch():
    """More rows than one statement takes, a task saved twice, and each order's events
    interleaved with the others', some fields told and some not."""
    snapshots = [snapshot(f"t{n % 90}", now=float(n), body=b"%d" % n) for n in range(150)]
    intents = [intent(f"t{n}-1s", task_id=f"t{n}") for n in range(130)]
    events = []
    for step, (kind, status) in enumerate([("ack", "open"), ("fill", None), ("final", "filled")]):
        for n in range(130):
            events.append(
                OrderEventRecord(
                    f"t{n}-1s",
                    kind,
                    b"{}",
                    10.0 + step,
                    status,
                    f"V{n}" if kind == "ack" else None,
                    0.25 * (step + 1) if kind != "ack" else None,
                    100.0 + step if kind == "fill" else None,
                )
            )
    return snapshots, intents, events


def test_a_batch_is_stored_as_its_records_one_by_one_would_be(tmp_path):
    snapshots, intents, events = _a_busy_batch()
    with Store(tmp_path / "batch.db") as batched, Store(tmp_path / "single.db") as single:
        batched.write_batch(snapshots, intents, events)
        for record in snapshots:
            single.write_batch([record], [], [])
        for record in intents:
            single.write_batch([], [record], [])
        for record in events:
            single.write_batch([], [], [record])
        assert batched.tasks() == single.tasks()
        assert len(batched.tasks()) == 90
        assert _orders_and_events(batched) == _orders_and_events(single)
        assert batched.orders("t7") == single.orders("t7")


def test_a_batch_takes_a_handful_of_statements_whatever_its_rows(store):
    # sqlite3 lets go of the interpreter's lock for every statement it runs; each time it
    # takes it back it may wait for the busy trio thread.
    snapshots, intents, events = _a_busy_batch()
    statements = []
    store._db.set_trace_callback(statements.append)
    store.write_batch(snapshots, intents, events)
    store._db.set_trace_callback(None)
    assert len(snapshots) + len(intents) + 2 * len(events) > 600
    assert len(statements) < 25


def test_with_checkpoints_apart_a_commit_leaves_the_log_to_the_checkpointer(tmp_path):
    store = Store(tmp_path / "basis.db")
    store.checkpoint_apart()
    # Some 6 MB: past the thousand pages whose commit would copy the log by default.
    for batch in range(3):
        store.write_batch(
            [snapshot(f"t{batch}-{n}", body=bytes(2000)) for n in range(1000)], [], []
        )
    wal = tmp_path / "basis.db-wal"
    assert wal.stat().st_size > 6_000_000
    assert (tmp_path / "basis.db").stat().st_size < 1_000_000
    checkpointer = Checkpointer(tmp_path / "basis.db")
    pages, copied = checkpointer.checkpoint()
    assert pages == copied > 1500
    assert (tmp_path / "basis.db").stat().st_size > 6_000_000
    # The next commit starts the log over, written over in place: the file keeps its
    # size and its blocks (cutting it back costs that commit milliseconds), and the
    # log holds that commit alone.
    kept = wal.stat().st_size
    store.write_batch([snapshot("t-last")], [], [])
    assert wal.stat().st_size == kept
    pages, copied = checkpointer.checkpoint()
    assert pages == copied < 10
    checkpointer.close()
    store.close()


def test_a_write_without_room_on_the_filesystem_is_refused_as_on_a_full_disk(tmp_path, monkeypatch):
    store = Store(tmp_path / "basis.db")
    store.write_batch([snapshot("before")], [], [])
    real_statvfs = os.statvfs
    free_blocks = 0

    def statvfs(path):
        found = real_statvfs(path)
        # The same filesystem, with only ``free_blocks`` available.
        fields = list(found)
        fields[4] = free_blocks  # f_bavail
        return os.statvfs_result(fields)

    monkeypatch.setattr(os, "statvfs", statvfs)
    with pytest.raises(sqlite3.OperationalError) as refused:
        store.write_batch([snapshot("refused")], [intent("t1-1s")], [])
    assert storage_failure(refused.value, Path("/data/basis.db")) == (
        "disk full: /data/basis.db: free space on its filesystem"
    )
    assert [task.task_id for task in store.tasks()] == ["before"]
    assert store.open_orders() == []
    # Space freed: the same batch is taken.
    free_blocks = (FREE_SPACE_RESERVE_BYTES // real_statvfs(tmp_path).f_frsize) + 1
    store.write_batch([snapshot("refused")], [intent("t1-1s")], [])
    assert sorted(task.task_id for task in store.tasks()) == ["before", "refused"]
    store.close()
