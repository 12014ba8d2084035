"""The lease book: the database's side of a cluster's symbol leases.

An instance joins under its configured name, then, while it runs, claims its fair share
of the free symbols (:mod:`.placement`), renews what it holds, hands back what puts it
above its share when another instance joins, and leaves on a graceful stop. Every
decision is the database's, in one transaction each, by the database's clock
(``clock_timestamp()``: ``now()`` is the transaction's start, which a transaction
waiting for a lock would date too early): a lease is held while its ``expires_at`` is
later than that clock; a grant takes a new epoch from ``lease_epochs`` and is recorded in
``lease_grants``; a renewal extends a lease only under the epoch it was granted with
and only before it expired, so an expired lease is never renewed, only granted again
under a new epoch.

Locally an instance never reads its own wall clock for a lease. It counts a grant or a
renewal valid until ``t_sent + ttl - margin`` on ``time.monotonic()``, ``t_sent`` being
when the call that succeeded began: the database dated the expiry no earlier than that,
so its expiry is at least that late.

Takeovers and renewals contend for the same ``leases`` rows: a claim locks the free rows
it takes with ``FOR UPDATE SKIP LOCKED``, so two instances never take one symbol, and a
row a renewal or a fenced write holds is passed over until the next claim. Renewals and
hand-backs lock their rows in the symbols' order, as every transaction that locks several
of them must (the store's fenced writes too), so that none waits on another in a circle.

The methods are synchronous and thread-safe (each takes its own connection from the
pool): they run on worker threads.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime

import msgspec
import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from actors.runtime.cluster.placement import fair_shares, hand_back
from protocols.client_ids import BASE36, INSTANCE_ID_LENGTH

VALIDITY_MARGIN = 0.05
"""The part of a lease's time to live an instance gives up locally, counting a lease
valid until ``t_sent + ttl * (1 - VALIDITY_MARGIN)``. It covers the difference in rate
between this host's monotonic clock and the database's (NTP slews a clock by at most
500 ppm, 0.05% of the ttl: a hundredth of the margin) and the time between a check that
the lease is valid and the act it allows (a busy event loop, a garbage collection: tens
of milliseconds; 0.5 s at the default 10 s ttl)."""

JOIN_ATTEMPTS = 8
"""New instance ids drawn before joining gives up: in a cluster of ten instances about
one draw in 170,000 is another's id, so eight in a row mean something else is wrong."""


class NotJoined(Exception):
    """The instance is not in the cluster (never joined, or left): :meth:`LeaseBook.join`
    first."""


class Grant(msgspec.Struct, frozen=True):
    """A lease this instance holds: ``symbol`` under ``epoch``, to be renewed before
    ``valid_until`` (``time.monotonic()``), after which it counts as lost."""

    symbol: str
    epoch: int
    holder: str
    ttl_s: float
    valid_until: float


class InstanceStatus(msgspec.Struct, frozen=True):
    name: str
    instance_id: str
    capacity: int
    last_seen_age_s: float
    """How long ago the database last heard from it, by the database's clock."""
    stopped: bool
    """It left on a graceful stop (and has not joined again)."""
    symbols: tuple[str, ...]
    """The symbols it holds unexpired leases on."""


class LeaseStatus(msgspec.Struct, frozen=True):
    symbol: str
    holder: str | None
    """``None`` once handed back (or never granted)."""
    epoch: int | None
    """The last grant's epoch; ``None`` if the symbol was never granted."""
    granted_age_s: float
    renewed_age_s: float
    expires_in_s: float
    """Negative once expired."""


class ClusterStatus(msgspec.Struct, frozen=True):
    """Who holds what, every age by the database's clock at ``taken_at``."""

    taken_at: datetime
    instances: tuple[InstanceStatus, ...]
    leases: tuple[LeaseStatus, ...]


class LeaseBook:
    """The leases of the cluster in the database at ``dsn`` (or reached through
    ``pool``), whose schema (``actors/runtime/persistence/postgres_schema.py``) is
    applied. ``timeout_s`` bounds waiting for a connection, and, on the connections it
    opens itself, connecting, one statement and an unanswered network: a database cut
    off makes a call fail within it rather than hang."""

    def __init__(
        self,
        dsn: str | None = None,
        *,
        pool: ConnectionPool | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        if (dsn is None) == (pool is None):
            raise ValueError("give either a connection string or a pool")
        self._timeout_s = timeout_s
        self._owns_pool = pool is None
        # Each instance's lease ttl, as its last claim or renewal here gave it.
        self._ttl_s: dict[str, float] = {}
        if pool is None:
            milliseconds = int(timeout_s * 1000)
            # The connection string's own options (a search path, say) kept: the leases
            # are where the store is.
            options = [conninfo_to_dict(dsn).get("options"), f"-c statement_timeout={milliseconds}"]
            pool = ConnectionPool(
                dsn,
                min_size=1,
                max_size=2,
                open=True,
                timeout=timeout_s,
                name="leases",
                check=ConnectionPool.check_connection,
                kwargs={
                    "autocommit": True,
                    # libpq's connect_timeout is whole seconds, at least 2.
                    "connect_timeout": max(2, round(timeout_s)),
                    "tcp_user_timeout": milliseconds,
                    "options": " ".join(o for o in options if o),
                },
            )
        self._pool = pool

    def close(self) -> None:
        if self._owns_pool:
            self._pool.close()

    def __enter__(self) -> LeaseBook:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------------ membership

    def join(self, name: str, capacity: int) -> str:
        """Enter the cluster as ``name`` holding at most ``capacity`` symbols; its
        instance id, drawn at the first join and kept after.

        Leases ``name`` holds from an earlier run are left to expire: that run may still
        be alive (frozen, cut off) and count them valid until then, and this run does not
        know their epochs, so it takes them again only once they have expired."""
        for _ in range(JOIN_ATTEMPTS):
            drawn = "".join(secrets.choice(BASE36) for _ in range(INSTANCE_ID_LENGTH))
            try:
                with self._pool.connection(timeout=self._timeout_s) as conn, conn.transaction():
                    row = conn.execute(
                        """
                        INSERT INTO cluster_instances
                            (name, instance_id, capacity, joined_at, last_seen, stopped_at)
                        VALUES (%s, %s, %s, clock_timestamp(), clock_timestamp(), NULL)
                        ON CONFLICT (name) DO UPDATE SET
                            capacity = EXCLUDED.capacity,
                            last_seen = EXCLUDED.last_seen,
                            stopped_at = NULL
                        RETURNING instance_id
                        """,
                        (name, drawn, capacity),
                    ).fetchone()
            except psycopg.errors.UniqueViolation:
                continue  # another instance has the id drawn
            assert row is not None
            return row[0]
        raise RuntimeError(f"no free instance id found for {name!r} in {JOIN_ATTEMPTS} draws")

    def leave(self, name: str, held: Mapping[str, int]) -> None:
        """A graceful stop: hand back every lease in ``held`` (symbol to epoch) and leave
        the cluster, so that the others spread its symbols among themselves at once."""
        with self._pool.connection(timeout=self._timeout_s) as conn, conn.transaction():
            _release(conn, name, held)
            conn.execute(
                "UPDATE cluster_instances SET stopped_at = clock_timestamp(), "
                "last_seen = clock_timestamp() WHERE name = %s",
                (name,),
            )

    # ------------------------------------------------------------------ leases

    def claim(
        self, name: str, symbols: Collection[str], capacity: int, ttl_s: float
    ) -> list[Grant]:
        """Take free symbols of ``symbols`` for ``ttl_s`` s, up to this instance's fair
        share among the live instances (those heard from within ``ttl_s`` that have not
        left) less what it holds; the new grants. A symbol is free when no instance
        holds it: never leased, handed back, or its lease expired."""
        wanted = sorted(symbols)
        self._ttl_s[name] = ttl_s
        with self._pool.connection(timeout=self._timeout_s) as conn:
            # Rows for symbols never leased, committed before the claim's transaction:
            # another claim inserting the same symbol waits for this short one only.
            with conn.transaction():
                conn.execute(
                    """
                    INSERT INTO leases
                        (symbol, holder, epoch, granted_at, renewed_at, expires_at)
                    SELECT symbol, NULL, 0, clock_timestamp(), clock_timestamp(),
                        clock_timestamp()
                    FROM unnest(%s::text[]) AS symbol ORDER BY symbol
                    ON CONFLICT (symbol) DO NOTHING
                    """,
                    (wanted,),
                )
            t_sent = time.monotonic()
            with conn.transaction():
                _heartbeat(conn, name, capacity)
                share = _shares(conn, name, wanted, capacity, ttl_s)[name]
                room = share - _held(conn, name, wanted)
                if room <= 0:
                    return []
                # The grant before ends when its lease expired (or at once, if that is
                # later), so that a symbol's grants never overlap in ``lease_grants``.
                rows = conn.execute(
                    """
                    WITH taken AS (
                        SELECT symbol, expires_at FROM leases
                        WHERE symbol = ANY(%(symbols)s::text[])
                          AND (holder IS NULL OR expires_at <= clock_timestamp())
                        ORDER BY symbol
                        LIMIT %(room)s
                        FOR UPDATE SKIP LOCKED
                    ), granted AS (
                        SELECT symbol, expires_at, nextval('lease_epochs') AS epoch,
                            clock_timestamp() AS at
                        FROM taken
                    ), ended AS (
                        UPDATE lease_grants SET ended_at = LEAST(granted.expires_at, granted.at)
                        FROM granted
                        WHERE lease_grants.symbol = granted.symbol
                          AND lease_grants.ended_at IS NULL
                    ), recorded AS (
                        INSERT INTO lease_grants (epoch, symbol, holder, granted_at)
                        SELECT epoch, symbol, %(name)s, at FROM granted
                    )
                    UPDATE leases SET
                        holder = %(name)s,
                        epoch = granted.epoch,
                        granted_at = granted.at,
                        renewed_at = granted.at,
                        expires_at = granted.at + make_interval(secs => %(ttl)s)
                    FROM granted
                    WHERE leases.symbol = granted.symbol
                    RETURNING leases.symbol, leases.epoch
                    """,
                    {"symbols": wanted, "room": room, "name": name, "ttl": ttl_s},
                ).fetchall()
        return sorted(
            (_grant(symbol, epoch, name, ttl_s, t_sent) for symbol, epoch in rows),
            key=lambda grant: grant.symbol,
        )

    def renew(self, name: str, held: Mapping[str, int], ttl_s: float) -> dict[str, Grant]:
        """Extend by ``ttl_s`` s the leases of ``held`` (symbol to epoch) that this
        instance still holds under that epoch and that have not expired; those, renewed.
        A symbol missing from the answer is lost: taken over, or expired (it is then
        claimed again, under a new epoch)."""
        symbols, epochs = _columns(held)
        self._ttl_s[name] = ttl_s
        with self._pool.connection(timeout=self._timeout_s) as conn:
            t_sent = time.monotonic()
            with conn.transaction():
                _heartbeat(conn, name, None)
                _lock_in_order(conn, symbols)
                # One instant, read once the rows are locked, decides whether each lease
                # is still held and dates its renewal.
                rows = conn.execute(
                    """
                    WITH now AS (SELECT clock_timestamp() AS at)
                    UPDATE leases SET
                        renewed_at = now.at,
                        expires_at = now.at + make_interval(secs => %s)
                    FROM now, unnest(%s::text[], %s::bigint[]) AS held (symbol, epoch)
                    WHERE leases.symbol = held.symbol
                      AND leases.holder = %s
                      AND leases.epoch = held.epoch
                      AND leases.expires_at > now.at
                    RETURNING leases.symbol, leases.epoch
                    """,
                    (ttl_s, symbols, epochs, name),
                ).fetchall()
        return {symbol: _grant(symbol, epoch, name, ttl_s, t_sent) for symbol, epoch in rows}

    def release(self, name: str, symbols: Iterable[str], held: Mapping[str, int]) -> None:
        """Hand back ``symbols``, each only where this instance still holds it under its
        epoch in ``held``: the lease ends now (or when it expired, if earlier) and the
        symbol is free for any instance to take."""
        chosen = set(symbols)
        with self._pool.connection(timeout=self._timeout_s) as conn, conn.transaction():
            _release(conn, name, {s: e for s, e in held.items() if s in chosen})

    def excess(
        self, name: str, symbols: Collection[str], capacity: int, ttl_s: float | None = None
    ) -> int:
        """How many of its symbols this instance should hand back for the live instances
        (heard from within ``ttl_s``, not left) to be spread evenly: above zero when
        another instance joined. The caller chooses which, and :meth:`release` them.
        ``ttl_s`` left out is that of the instance's last claim or renewal here."""
        if ttl_s is None:
            ttl_s = self._ttl_s.get(name)
            if ttl_s is None:
                raise ValueError(f"{name!r} has claimed nothing here: give the lease ttl")
        wanted = sorted(symbols)
        with self._pool.connection(timeout=self._timeout_s) as conn, conn.transaction():
            share = _shares(conn, name, wanted, capacity, ttl_s)[name]
            return hand_back(_held(conn, name, wanted), share)

    # ------------------------------------------------------------------ status

    def status(self) -> ClusterStatus:
        """Every instance and every lease, as the database has them now."""
        with self._pool.connection(timeout=self._timeout_s) as conn, conn.transaction():
            row = conn.execute("SELECT clock_timestamp()").fetchone()
            assert row is not None
            now: datetime = row[0]
            leases = [
                LeaseStatus(
                    symbol,
                    holder,
                    epoch or None,
                    granted_age_s,
                    renewed_age_s,
                    expires_in_s,
                )
                for symbol, holder, epoch, granted_age_s, renewed_age_s, expires_in_s in (
                    conn.execute(
                        """
                        SELECT symbol, holder, epoch,
                            extract(epoch FROM %(now)s - granted_at)::float8,
                            extract(epoch FROM %(now)s - renewed_at)::float8,
                            extract(epoch FROM expires_at - %(now)s)::float8
                        FROM leases ORDER BY symbol
                        """,
                        {"now": now},
                    ).fetchall()
                )
            ]
            held: dict[str, list[str]] = {}
            for lease in leases:
                if lease.holder is not None and lease.expires_in_s > 0:
                    held.setdefault(lease.holder, []).append(lease.symbol)
            instances = [
                InstanceStatus(
                    name, instance_id, capacity, age_s, stopped, tuple(held.get(name, ()))
                )
                for name, instance_id, capacity, age_s, stopped in conn.execute(
                    """
                    SELECT name, instance_id, capacity,
                        extract(epoch FROM %s - last_seen)::float8, stopped_at IS NOT NULL
                    FROM cluster_instances ORDER BY name
                    """,
                    (now,),
                ).fetchall()
            ]
        return ClusterStatus(now, tuple(instances), tuple(leases))


def _grant(symbol: str, epoch: int, holder: str, ttl_s: float, t_sent: float) -> Grant:
    return Grant(symbol, epoch, holder, ttl_s, t_sent + ttl_s * (1.0 - VALIDITY_MARGIN))


def _columns(held: Mapping[str, int]) -> tuple[list[str], list[int]]:
    symbols = sorted(held)
    return symbols, [held[symbol] for symbol in symbols]


def _heartbeat(conn: psycopg.Connection, name: str, capacity: int | None) -> None:
    """The database hears from ``name`` now (and of its capacity, when given)."""
    row = conn.execute(
        """
        UPDATE cluster_instances SET
            last_seen = clock_timestamp(),
            capacity = coalesce(%s::integer, capacity)
        WHERE name = %s AND stopped_at IS NULL
        RETURNING 1
        """,
        (capacity, name),
    ).fetchone()
    if row is None:
        raise NotJoined(f"{name!r} is not in the cluster: join it first")


def _shares(
    conn: psycopg.Connection, name: str, symbols: Sequence[str], capacity: int, ttl_s: float
) -> dict[str, int]:
    """The fair shares of ``symbols`` among the live instances, ``name`` (of
    ``capacity``) among them."""
    live = dict(
        conn.execute(
            """
            SELECT name, capacity FROM cluster_instances
            WHERE stopped_at IS NULL
              AND last_seen > clock_timestamp() - make_interval(secs => %s)
            """,
            (ttl_s,),
        ).fetchall()
    )
    live[name] = capacity
    return fair_shares(len(symbols), live)


def _held(conn: psycopg.Connection, name: str, symbols: Sequence[str]) -> int:
    row = conn.execute(
        """
        SELECT count(*) FROM leases
        WHERE holder = %s AND symbol = ANY(%s::text[]) AND expires_at > clock_timestamp()
        """,
        (name, list(symbols)),
    ).fetchone()
    assert row is not None
    return row[0]


def _lock_in_order(conn: psycopg.Connection, symbols: Sequence[str]) -> None:
    """Lock the lease rows of ``symbols`` one after the other in the symbols' order, as
    every transaction that locks several does (the update that follows would lock them
    in whatever order its join yields)."""
    conn.execute(
        "SELECT 1 FROM leases WHERE symbol = ANY(%s::text[]) ORDER BY symbol FOR NO KEY UPDATE",
        (list(symbols),),
    )


def _release(conn: psycopg.Connection, name: str, held: Mapping[str, int]) -> None:
    symbols, epochs = _columns(held)
    _lock_in_order(conn, symbols)
    conn.execute(
        """
        WITH released AS (
            UPDATE leases SET holder = NULL, expires_at = LEAST(expires_at, clock_timestamp())
            FROM unnest(%s::text[], %s::bigint[]) AS held (symbol, epoch)
            WHERE leases.symbol = held.symbol
              AND leases.holder = %s
              AND leases.epoch = held.epoch
            RETURNING leases.epoch, leases.expires_at
        )
        UPDATE lease_grants SET ended_at = released.expires_at
        FROM released
        WHERE lease_grants.epoch = released.epoch AND lease_grants.ended_at IS NULL
        """,
        (symbols, epochs, name),
    )
