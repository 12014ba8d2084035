"""A store read through a connection of its own that never writes, for the readers that
query the store's tables themselves (reports, the dashboard's chart): the SQLite file
opened read-only (WAL lets it be read beside the writer; the file is never changed, nor
made where it is missing), or the PostgreSQL database in one read-only transaction
(everything read in it sees the database as it was at the first query).

A query is written once for both: SQLite's ``?`` parameter markers (made ``%s`` for psycopg),
and only what both read alike. Hence ``floor()`` where a number is cut to a whole one
(SQLite's ``CAST(x AS INTEGER)`` truncates where PostgreSQL's rounds), ``CASE`` for the
lesser of two values (``min(a, b)`` is SQLite's alone), row values and ``VALUES`` lists
rather than JSON functions. Text sorts by the database's collation in PostgreSQL and by
code point in SQLite: what must come out in the same order from both is sorted by the
reader, not by ``ORDER BY``.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import attrs
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from actors.runtime.persistence import postgres_schema, store
from actors.runtime.persistence.postgres_store import CONNECTION_DEFAULTS, location_of
from actors.runtime.persistence.source import (
    PostgresSource,
    SqliteSource,
    StoreSource,
    source_of,
)

READ_FAILURES = (sqlite3.DatabaseError, psycopg.Error)
"""What a query raises where the store cannot be read as asked: a file that is no
database, a table missing, the server gone."""


@attrs.define(eq=False)
class ReadOnly:
    """A read-only connection to the store named ``name`` (its path, or its database
    without secrets); ``kind`` says which of the two it is. Close it (``with``)."""

    kind: Literal["sqlite", "postgresql"]
    name: str
    _connection: sqlite3.Connection | psycopg.Connection[Any] = attrs.field(repr=False)

    @property
    def latest_schema(self) -> int:
        """The newest schema this Basis knows for a store of this kind."""
        return len(store.MIGRATIONS if self.kind == "sqlite" else postgres_schema.MIGRATIONS)

    def rows(self, query: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        if self.kind == "sqlite":
            return self._connection.execute(query, args).fetchall()
        return self._connection.execute(query.replace("?", "%s"), args).fetchall()

    def first(self, query: str, args: Sequence[object] = ()) -> tuple[Any, ...] | None:
        found = self.rows(query, args)
        return found[0] if found else None

    def tables(self) -> set[str]:
        if self.kind == "sqlite":
            return {name for (name,) in self.rows("SELECT name FROM sqlite_master")}
        return {
            name
            for (name,) in self.rows(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
        }

    def schema_version(self) -> int:
        """How far the store's schema has come (0: not a Basis store's)."""
        if self.kind == "sqlite":
            return self.rows("PRAGMA user_version")[0][0]
        if "basis_schema" not in self.tables():
            return 0
        return self.rows("SELECT coalesce(max(version), 0) FROM basis_schema")[0][0]

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> ReadOnly:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_only(where: Path | StoreSource) -> ReadOnly:
    """A read-only connection to the store ``where`` names (a path: the SQLite file there).
    SQLite: an :class:`sqlite3.Error` where the file cannot be opened; PostgreSQL: a
    :class:`StoreError` naming the database (never its password) where it cannot be
    reached."""
    source = source_of(where)
    if isinstance(source, PostgresSource):
        return _postgres(source.dsn)
    assert isinstance(source, SqliteSource)
    db = sqlite3.connect(f"{source.path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        db.execute("SELECT floor(0.5)")
    except sqlite3.OperationalError:  # a SQLite built without its math functions
        db.create_function("floor", 1, math.floor, deterministic=True)
    return ReadOnly("sqlite", source.name, db)


def _postgres(dsn: str) -> ReadOnly:
    location = location_of(dsn)
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        raise store.StoreError(
            f"{location}: give the connection string as key=value pairs or a postgresql:// URI"
        ) from None
    try:
        conn = psycopg.connect(make_conninfo(**(CONNECTION_DEFAULTS | params)))
    except psycopg.OperationalError as error:
        said = " ".join(str(error).split())
        password = params.get("password")
        if password:
            said = said.replace(str(password), "***")
        raise store.StoreError(
            f"{location}: cannot connect ({said}); check that the server runs and takes "
            "connections there, and the connection string's user and database"
        ) from None
    conn.read_only = True
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    return ReadOnly("postgresql", location, conn)
