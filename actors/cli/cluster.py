"""``basis cluster status [--config FILE]``: who holds which symbol in a cluster sharing a
PostgreSQL store, under which epoch, and how old each lease is, all by the database's
clock (``actors.runtime.cluster``).

The database is the one the config's ``[persistence]`` names: its connection string is
read from the environment variable ``dsn_env`` names, and never shown (it may hold a
password): the lines that say where the database is name its host, port, database and
user only.
"""

from __future__ import annotations

import argparse
import os
import sys

import psycopg
from psycopg.conninfo import conninfo_to_dict

from actors.cli.run import load_system_config
from actors.runtime.cluster.leases import ClusterStatus, LeaseBook, LeaseStatus
from actors.runtime.config import DEFAULT_LEASE_TTL_S

EXIT_BAD_INPUT = 2
CONNECT_TIMEOUT_S = 5
"""How long the database may take to answer before the command gives up on it."""
WHERE = ("host", "hostaddr", "port", "dbname", "user")
"""The parts of a connection string that say where the database is, which are shown."""


def add_cluster_commands(commands: argparse._SubParsersAction) -> None:
    cluster = commands.add_parser(
        "cluster",
        help="instances sharing the symbols over PostgreSQL: who holds what",
        description="Several instances share the symbols of one PostgreSQL store, each "
        "symbol leased to one of them at a time. status reads the leases from the "
        "database the config names (its connection string from the environment).",
        epilog="Example: BASIS_POSTGRES_DSN=postgresql://basis@db/basis basis cluster status "
        "--config live.toml",
    )
    actions = cluster.add_subparsers(dest="cluster_action", required=True, metavar="ACTION")
    status = actions.add_parser(
        "status",
        help="each instance's symbols, epochs and lease ages; unleased and expired symbols",
    )
    status.add_argument("--config", metavar="FILE", help="the cluster's config (TOML)")
    status.set_defaults(handler=command_cluster_status)


def command_cluster_status(args: argparse.Namespace) -> int:
    config = load_system_config(args.config, "cluster status")
    if config is None:
        return EXIT_BAD_INPUT
    persistence = config.persistence
    if persistence.backend != "postgresql":
        return _refuse(
            f"the config's store is {persistence.backend}, not shared: a cluster's leases "
            'are in PostgreSQL; pass the cluster\'s config (backend = "postgresql") with --config'
        )
    dsn = os.environ.get(persistence.dsn_env)
    if not dsn:
        return _refuse(
            f"{persistence.dsn_env} is not set: set it to the PostgreSQL connection string "
            "the cluster's instances use"
        )
    try:
        where = _where(dsn)
    except psycopg.ProgrammingError:
        # psycopg's message quotes the string, which may hold a password.
        return _refuse(
            f"{persistence.dsn_env} is not a PostgreSQL connection string (it is not shown: "
            "it may hold a password); set it like postgresql://USER@HOST:PORT/DATABASE"
        )
    password = conninfo_to_dict(dsn).get("password")
    try:
        _check_database(dsn)
        with LeaseBook(dsn, timeout_s=CONNECT_TIMEOUT_S) as book:
            status = book.status()
    except (psycopg.Error, _NoCluster) as error:
        message = " ".join(str(error).split())
        if password:
            message = message.replace(str(password), "***")
        return _refuse(f"cannot read the cluster at {where}: {message}")
    # An instance unheard of for longer than a lease lasts has lost its leases: silent.
    ttl_s = config.cluster.lease_ttl_s if config.cluster is not None else DEFAULT_LEASE_TTL_S
    print("\n".join(status_lines(status, config.symbols, ttl_s, where)))
    return 0


class _NoCluster(Exception):
    """The database answers but holds no cluster."""


def _refuse(message: str) -> int:
    print(f"basis cluster status: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _where(dsn: str) -> str:
    """Where ``dsn`` points, as it says it (what it leaves out is libpq's to default):
    host, port, database and user, never its password or other options."""
    parts = conninfo_to_dict(dsn)
    shown = [f"{key}={parts[key]}" for key in WHERE if parts.get(key)]
    return " ".join(shown) if shown else "libpq's default database"


def _check_database(dsn: str) -> None:
    """The database answers and holds a cluster's tables: what is wrong in libpq's own
    words (a connection refused, a password refused) rather than a pool's time-out."""
    with psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True) as conn:
        row = conn.execute("SELECT to_regclass('leases') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        raise _NoCluster(
            'the database has no leases table: no instance with backend = "postgresql" '
            "has opened it yet"
        )


def status_lines(
    status: ClusterStatus, symbols: tuple[str, ...], ttl_s: float, where: str
) -> list[str]:
    """``status`` as lines of text: each instance and the leases it holds (or held, if
    they expired), then the config's symbols no instance holds."""
    leases = {lease.symbol: lease for lease in status.leases}
    held = [lease for lease in status.leases if lease.holder is not None]
    lines = [
        f"cluster at {where}: {len(status.instances)} instance(s), "
        f"{sum(1 for lease in held if lease.expires_in_s > 0)} symbol(s) leased; "
        "ages by the database's clock"
    ]
    for instance in status.instances:
        if instance.stopped:
            state = "stopped"
        elif instance.last_seen_age_s > ttl_s:
            state = f"silent (over the {ttl_s:g} s lease ttl)"
        else:
            state = "live"
        lines.append(
            f"{instance.name} (id {instance.instance_id}, capacity {instance.capacity}): "
            f"{state}, last seen {instance.last_seen_age_s:.1f} s ago, "
            f"{len(instance.symbols)} symbol(s)"
        )
        lines += ["  " + _lease_line(lease) for lease in held if lease.holder == instance.name]
    unleased = [
        symbol for symbol in symbols if symbol not in leases or leases[symbol].holder is None
    ]
    if unleased:
        lines.append("unleased: " + ", ".join(unleased))
    return lines


def _lease_line(lease: LeaseStatus) -> str:
    if lease.expires_in_s > 0:
        expiry = f"expires in {lease.expires_in_s:.1f} s"
    else:
        expiry = f"EXPIRED {-lease.expires_in_s:.1f} s ago"
    return (
        f"{lease.symbol:<14} epoch {lease.epoch:<6} granted {lease.granted_age_s:.1f} s ago, "
        f"renewed {lease.renewed_age_s:.1f} s ago, {expiry}"
    )
