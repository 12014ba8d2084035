"""Where a running system's store is, and how its parts open it: the SQLite file in the
data directory (the default), or a PostgreSQL database (``[persistence] backend =
"postgresql"``, see ``postgres_store.py``).

The writer opens the store it writes with (:meth:`StoreSource.for_writer`) and closes it
when its incarnation ends; everything else reads through :meth:`StoreSource.reading`, on a
worker thread, as a ``with`` block. A SQLite store is a file, so each reading opens a
connection of its own and closes it (WAL: readers never block the writer); a PostgreSQL
store is a server, so the readings share one connection pool.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Protocol

import attrs
import psycopg

from actors.runtime.config import RuntimeConfig
from actors.runtime.persistence.postgres_store import PostgresStore, location_of
from actors.runtime.persistence.store import Durability, Store, StoreError

STORE_FAILURES = (sqlite3.Error, psycopg.Error, StoreError, OSError)
"""What reading a store may raise when the store, not Basis, is at fault: a file that
cannot be read, a database that cannot be reached."""


class StoreSource(Protocol):
    """Where a store is (see the module's docstring)."""

    @property
    def name(self) -> str:
        """What a message names the store by: its path, or its database without secrets."""
        ...

    def exists(self) -> bool:
        """Whether anything was ever stored there."""
        ...

    def reading(self) -> AbstractContextManager[Store | PostgresStore]:
        """The store, to read in a ``with`` block, on a worker thread."""
        ...

    def for_writer(self) -> Store | PostgresStore:
        """A store of the writer's own, which it closes."""
        ...


@attrs.frozen
class SqliteSource:
    path: Path
    durability: Durability = "NORMAL"

    @property
    def name(self) -> str:
        return str(self.path)

    def exists(self) -> bool:
        return self.path.exists()

    def reading(self) -> AbstractContextManager[Store]:
        return Store(self.path)

    def for_writer(self) -> Store:
        return Store(self.path, self.durability)


@attrs.define(eq=False)
class PostgresSource:
    """A PostgreSQL database (``dsn``: from the environment, never logged) shared by the
    instances of a cluster, this one named ``instance``. ``fence``: the epochs of the
    leases this instance holds (the lease keeper's), which the writer's store writes
    under; ``None`` for an instance alone."""

    dsn: str = attrs.field(repr=False)
    instance: str
    durability: Durability = "NORMAL"
    fence: Callable[[], Mapping[str, int]] | None = None
    _shared: PostgresStore | None = None
    _opening: threading.Lock = attrs.field(factory=threading.Lock)

    @property
    def name(self) -> str:
        return location_of(self.dsn)

    def exists(self) -> bool:
        return True

    def reading(self) -> AbstractContextManager[PostgresStore]:
        """The readers' store, one connection pool for them all, opened at the first
        reading and left open (``close``)."""
        with self._opening:
            if self._shared is None:
                self._shared = PostgresStore(self.dsn, self.instance)
            return nullcontext(self._shared)

    def for_writer(self) -> PostgresStore:
        return PostgresStore(self.dsn, self.instance, fence=self.fence, durability=self.durability)

    def close(self) -> None:
        with self._opening:
            if self._shared is not None:
                self._shared.close()
                self._shared = None


def store_source(config: RuntimeConfig, path: Path) -> StoreSource:
    """The store ``config``'s ``[persistence]`` names: the SQLite file at ``path``, or the
    PostgreSQL database whose connection string the environment holds, in the name of
    ``[cluster] name`` (``basis`` for an instance alone)."""
    persistence = config.persistence
    if persistence.backend == "sqlite":
        return SqliteSource(path, persistence.durability)
    dsn = os.environ.get(persistence.dsn_env, "").strip()
    if not dsn:
        raise StoreError(
            f'[persistence] backend = "postgresql" reads its connection string from the '
            f"environment variable {persistence.dsn_env}, which is not set: export it "
            f"(like {persistence.dsn_env}='host=db.example port=5432 dbname=basis user=basis "
            "password=...'), or name another with [persistence] dsn_env"
        )
    name = config.cluster.name if config.cluster is not None else "basis"
    return PostgresSource(dsn, name, persistence.durability)


def source_of(where: Path | StoreSource) -> StoreSource:
    """``where`` as a source: a path is the SQLite file there."""
    return SqliteSource(where) if isinstance(where, Path) else where
