"""The SQLite store: migrations, one transaction per batch, the journal's open orders."""

from __future__ import annotations

import sqlite3

import pytest

from actors.runtime.persistence.store import (
    MIGRATIONS,
    IntentRecord,
    OrderEventRecord,
    SnapshotRecord,
    Store,
    StoreError,
    check_store,
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


def test_a_failure_that_ended_the_transaction_is_raised_as_it_was(store, monkeypatch):
    # SQLite ends the transaction itself on some errors (a full disk): the cause must
    # surface, not "cannot rollback - no transaction is active".
    def full_disk(_sql, _rows):
        store._db.execute("ROLLBACK")
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store, "_db", _Connection(store._db, full_disk))
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        store.write_batch([snapshot("t1")], [], [])


class _Connection:
    """A connection whose ``executemany`` is replaced."""

    def __init__(self, real, executemany):
        self._real = real
        self.executemany = executemany

    def __getattr__(self, name):
        return getattr(self._real, name)


def test_a_store_closes_at_the_end_of_its_block(tmp_path):
    with Store(tmp_path / "basis.db") as store:
        store.write_batch([snapshot("t1")], [], [])
    with pytest.raises(sqlite3.ProgrammingError):
        store.tasks()


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
