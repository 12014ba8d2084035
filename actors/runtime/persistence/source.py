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

import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

import attrs
import psycopg

from actors.runtime.persistence.store import Durability, Store, StoreError

STORE_FAILURES = (sqlite3.Error, psycopg.Error, StoreError, OSError)
"""What reading a store may raise when the store, not Basis, is at fault: a file that
cannot be read, a database that cannot be reached."""


class StoreSource(Protocol):
    @property
    def name(self) -> str:
        """What a message names the store by: its path, or its database without secrets."""
        ...

    def exists(self) -> bool:
        """Whether anything was ever stored there."""
        ...

    def reading(self) -> AbstractContextManager[Store]:
        """The store, to read in a ``with`` block, on a worker thread."""
        ...

    def for_writer(self) -> Store:
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


def source_of(where: Path | StoreSource) -> StoreSource:
    """``where`` as a source: a path is the SQLite file there."""
    return SqliteSource(where) if isinstance(where, Path) else where
