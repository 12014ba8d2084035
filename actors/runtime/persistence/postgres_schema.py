"""The PostgreSQL store's schema: the SQLite store's tables in PostgreSQL's types, plus what
several instances sharing one database need (``docs/cluster.md``).

Migrations are applied in order at open, each in its transaction with the version it
brings the database to (``basis_schema``); they are only ever appended. Several instances
may open the database at once: the first takes an advisory lock and migrates, the others
wait for it and find nothing left to do.

What sharing adds to the SQLite store's tables:

- ``cluster_instances``: each instance by its configured name, with the instance id its
  client order ids carried before it joined a cluster, its capacity and when the
  database last heard from it (the database's clock, as every time the cluster decides
  by).
- ``leases``: one row per symbol ever leased; ``holder`` is ``NULL`` once handed back.
  A lease is held while ``expires_at`` is later than the database's ``now()``.
- ``lease_grants``: every grant, by its epoch (from the ``lease_epochs`` sequence, so an
  epoch names one grant of one symbol to one instance, and epochs only grow), with when it
  began and ended: who held what, when, for the cluster's status and its invariants.
  Client order ids carry the epoch in four base-36 characters (``protocols/client_ids.py``),
  hence the sequence's end: a grant past it is refused rather than named twice.
- ``orders.epoch`` and ``tasks.epoch``: the grant under which an intent or a snapshot was
  written (``NULL`` for a single instance), and ``orders.written_at``: when the database
  took it, to check it against the grant's span.
- ``instance`` on runs, the alerts' outbox and open incidents: each instance delivers its
  own alerts and knows its own last run.
"""

from __future__ import annotations

SCHEMA_LOCK = 0x6261_7369_73
"""The advisory lock (``pg_advisory_xact_lock``) migrations are applied under."""

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE tasks (
        task_id TEXT PRIMARY KEY,
        task_type TEXT NOT NULL,
        symbol TEXT NOT NULL,
        state TEXT NOT NULL,
        snapshot BYTEA NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL,
        completed_at DOUBLE PRECISION,
        epoch BIGINT
    );
    CREATE INDEX tasks_active ON tasks (symbol) WHERE completed_at IS NULL;
    CREATE TABLE orders (
        client_id TEXT PRIMARY KEY,
        task_id TEXT NOT NULL,
        venue TEXT NOT NULL,
        leg TEXT NOT NULL,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        qty DOUBLE PRECISION NOT NULL,
        price DOUBLE PRECISION NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        status TEXT NOT NULL,
        venue_order_id TEXT,
        filled_qty DOUBLE PRECISION NOT NULL DEFAULT 0,
        avg_price DOUBLE PRECISION NOT NULL DEFAULT 0,
        updated_at DOUBLE PRECISION NOT NULL,
        epoch BIGINT,
        written_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE INDEX orders_open ON orders (task_id) WHERE status NOT IN
        ('filled', 'cancelled', 'expired', 'rejected');
    CREATE INDEX orders_by_task ON orders (task_id, created_at);
    CREATE TABLE order_events (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        client_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload BYTEA NOT NULL,
        ts DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX order_events_by_order ON order_events (client_id);
    CREATE TABLE quarantine (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        task_id TEXT,
        reason TEXT NOT NULL,
        record BYTEA,
        ts DOUBLE PRECISION NOT NULL,
        symbol TEXT,
        resolved_at DOUBLE PRECISION,
        resolution TEXT
    );
    CREATE TABLE operator_actions (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        ts DOUBLE PRECISION NOT NULL,
        action TEXT NOT NULL,
        symbol TEXT,
        result TEXT NOT NULL,
        who TEXT
    );
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE alert_outbox (
        id TEXT PRIMARY KEY,
        instance TEXT NOT NULL,
        body BYTEA NOT NULL,
        sinks TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE alert_deliveries (
        alert_id TEXT NOT NULL,
        sink TEXT NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT NOT NULL,
        ts DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (alert_id, sink)
    );
    CREATE TABLE open_incidents (
        instance TEXT NOT NULL,
        key TEXT NOT NULL,
        body BYTEA NOT NULL,
        opened_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (instance, key)
    );
    CREATE TABLE runs (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        instance TEXT NOT NULL,
        started_at DOUBLE PRECISION NOT NULL,
        stopped_at DOUBLE PRECISION
    );
    CREATE TABLE risk_modes (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        mode TEXT NOT NULL,
        reason TEXT NOT NULL,
        since DOUBLE PRECISION NOT NULL,
        set_by TEXT NOT NULL,
        stops BYTEA
    );
    CREATE TABLE cycles (
        task_id TEXT NOT NULL,
        cycle INTEGER NOT NULL,
        symbol TEXT NOT NULL,
        entry_ts DOUBLE PRECISION NOT NULL,
        exit_ts DOUBLE PRECISION NOT NULL,
        record BYTEA NOT NULL,
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
        ts DOUBLE PRECISION NOT NULL,
        qty DOUBLE PRECISION NOT NULL,
        price DOUBLE PRECISION NOT NULL,
        decision_price DOUBLE PRECISION NOT NULL,
        fee_usdt DOUBLE PRECISION NOT NULL,
        commission DOUBLE PRECISION NOT NULL,
        commission_asset TEXT NOT NULL,
        PRIMARY KEY (client_id, trade_id)
    );
    CREATE INDEX fills_by_ts ON fills (ts);
    CREATE TABLE funding (
        task_id TEXT NOT NULL,
        ledger_id TEXT NOT NULL,
        ts DOUBLE PRECISION NOT NULL,
        cycle INTEGER NOT NULL,
        symbol TEXT NOT NULL,
        venue TEXT NOT NULL,
        amount_usdt DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (task_id, ledger_id, ts)
    );
    CREATE TABLE series (
        symbol TEXT NOT NULL,
        ts DOUBLE PRECISION NOT NULL,
        entry_cost_pct DOUBLE PRECISION NOT NULL,
        pnl_usdt DOUBLE PRECISION,
        pnl_pct DOUBLE PRECISION,
        unrealized_usdt DOUBLE PRECISION,
        PRIMARY KEY (symbol, ts)
    );
    CREATE INDEX series_by_ts ON series (ts);
    CREATE TABLE cluster_instances (
        name TEXT PRIMARY KEY,
        instance_id TEXT NOT NULL UNIQUE,
        capacity INTEGER NOT NULL,
        joined_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        last_seen TIMESTAMPTZ NOT NULL DEFAULT now(),
        stopped_at TIMESTAMPTZ
    );
    CREATE SEQUENCE lease_epochs MAXVALUE 1679615;
    CREATE TABLE leases (
        symbol TEXT PRIMARY KEY,
        holder TEXT REFERENCES cluster_instances (name),
        epoch BIGINT NOT NULL,
        granted_at TIMESTAMPTZ NOT NULL,
        renewed_at TIMESTAMPTZ NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE lease_grants (
        epoch BIGINT PRIMARY KEY,
        symbol TEXT NOT NULL,
        holder TEXT NOT NULL REFERENCES cluster_instances (name),
        granted_at TIMESTAMPTZ NOT NULL,
        ended_at TIMESTAMPTZ
    );
    CREATE INDEX lease_grants_by_symbol ON lease_grants (symbol, epoch);
    """,
)
