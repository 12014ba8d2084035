"""A test database with the PostgreSQL store's schema applied, as the store applies it at
open: each migration under the schema's advisory lock, its version recorded in
``basis_schema``."""

from __future__ import annotations

import psycopg

from actors.runtime.persistence.postgres_schema import MIGRATIONS, SCHEMA_LOCK


def apply_schema(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS basis_schema (version INTEGER PRIMARY KEY, "
            "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        for version, migration in enumerate(MIGRATIONS, start=1):
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                row = conn.execute("SELECT coalesce(max(version), 0) FROM basis_schema").fetchone()
                assert row is not None
                if row[0] >= version:
                    continue
                conn.execute(migration)
                conn.execute("INSERT INTO basis_schema (version) VALUES (%s)", (version,))
