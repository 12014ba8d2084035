"""What a cluster chaos run reads of its store at the end, against a real PostgreSQL: the
grants and the journal of the run's own schema, on this host's clock."""

from __future__ import annotations

import time

import psycopg

from actors.chaos.cluster import create_schema, drop_schema, in_schema, read_store
from actors.chaos.cluster_invariants import LeaseGrant, TaskRow
from actors.runtime.persistence.postgres_schema import MIGRATIONS


def test_the_runs_schema_holds_the_store_and_is_read_on_this_hosts_clock(postgres_dsn):
    create_schema(postgres_dsn, "basis_chaos_test")
    dsn = in_schema(postgres_dsn, "basis_chaos_test")
    before = time.time()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for migration in MIGRATIONS:
            conn.execute(migration)
        conn.execute(
            "INSERT INTO cluster_instances (name, instance_id, capacity) "
            "VALUES ('node-1', 'ab12', 3), ('node-2', 'cd34', 3)"
        )
        conn.execute(
            "INSERT INTO lease_grants (epoch, symbol, holder, granted_at, ended_at) VALUES "
            "(1, 'BTC/USDT', 'node-1', clock_timestamp() - interval '2 s', clock_timestamp()),"
            "(2, 'BTC/USDT', 'node-2', clock_timestamp(), NULL)"
        )
        conn.execute(
            "INSERT INTO orders (client_id, task_id, venue, leg, symbol, side, qty, price, "
            "created_at, status, updated_at, epoch, written_at) VALUES "
            "('btc_1-1s-0002', 'btc_1', 'mexc', 'spot', 'BTC/USDT', 'buy', 0.01, 1.0, 0, "
            "'pending', 0, 2, clock_timestamp())"
        )
        conn.execute(
            "INSERT INTO tasks (task_id, task_type, symbol, state, snapshot, created_at, "
            "updated_at, epoch) VALUES ('btc_1', 'arbitrage', 'BTC/USDT', 'monitoring', "
            "'\\x00', 0, 0, 2)"
        )
    # The tables are the run's own: none of them is in the database's public schema.
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('public.lease_grants')").fetchone() == (None,)
    store = read_store(dsn)
    after = time.time()

    first, second = store.grants
    assert (first.epoch, first.holder, second.epoch, second.ended_at) == (1, "node-1", 2, None)
    assert first.ended_at is not None
    assert abs(first.ended_at - first.granted_at - 2.0) < 0.01
    assert before - 2.5 <= first.granted_at and second.granted_at <= after
    assert isinstance(second, LeaseGrant) and second.held_at(after)
    (order,) = store.orders
    assert (order.client_id, order.epoch) == ("btc_1-1s-0002", 2)
    assert before <= order.written_at <= after
    assert store.tasks == [TaskRow("btc_1", "BTC/USDT", 2)]
    # The same host's clock: the offset is within the reading's round trip.
    assert abs(store.offset_s) <= store.uncertainty_s + 0.05

    drop_schema(postgres_dsn, "basis_chaos_test")
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_namespace WHERE nspname = 'basis_chaos_test'"
        ).fetchone()
    assert found is None
