"""A cluster's envelope: what its leases and its fenced journal cost on PostgreSQL by how
many symbols an instance holds, and how soon a failed instance's symbols trade again.

1. Leases: one instance claims N symbols, then renews them ``--renewals`` times back to
   back (p50/p99 of a renewal: it must fit well inside ``renew_every_s``, a quarter of
   the lease). Back to back, each renewal leaves N dead row versions that the server's
   autovacuum clears at its own pace, so the later ones read a bloated table: a figure
   on the high side of what renewals every few seconds cost.
2. The journal: a decision's transaction (its snapshot and two intents) committed by the
   PostgreSQL store, without fencing (an instance alone) and fenced by the leases of N
   symbols (an instance of a cluster), p50/p99.
3. Failover: the cluster chaos scenario (three ``basis run`` instances, each killed,
   frozen past its lease or cut off from the database in turn) for ``--duration``
   seconds; from each fault to the symbol granted again, and to a strategy deciding on
   it again, p50/p99/max by kind of fault.

The database is a throwaway PostgreSQL server on loopback (Debian's package), or the one
whose connection string ``$BASIS_POSTGRES_DSN`` holds (a fresh database each run).

Run: ``.venv/bin/python -m bench.cluster_bench [--duration S] [--lease-ttl S]``
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec
import psycopg
import trio

from actors.arbitrage.context import new_context
from actors.chaos.cluster import CHAOS_LEASE_TTL_S, ClusterOptions, run_cluster_chaos
from actors.chaos.cluster_report import render
from actors.chaos.throwaway_postgres import PostgresServer
from actors.runtime.cluster.leases import LeaseBook
from actors.runtime.persistence.postgres_store import PostgresStore
from actors.runtime.persistence.store import IntentRecord
from actors.runtime.persistence.writer import snapshot_record
from actors.system_config import SystemConfig
from bench.stats import percentile
from protocols.model import Symbol

HELD = (10, 50, 200, 1000)
DSN_ENV = "BASIS_POSTGRES_DSN"
CHAOS_DSN_ENV = "BASIS_BENCH_CLUSTER_DSN"
CHAOS_CONFIG = f"""\
symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT", "ADA/USDT"]
[venues.spot]
kind = "mexc"
stale_after_s = 2.0
request_timeout_s = 2.0
[venues.futures]
kind = "gateio_futures"
stale_after_s = 2.0
request_timeout_s = 2.0
[strategy]
base_position_size_usdt = 200.0
cooldown_s = 0.0
leg_timeout_s = 2.0
max_quote_age_s = 2.0
[persistence]
backend = "postgresql"
dsn_env = "{CHAOS_DSN_ENV}"
[chaos]
stir_every_s = 1.0
"""


@contextmanager
def databases() -> Iterator[Callable[[], str]]:
    """A maker of fresh, empty databases: on ``$BASIS_POSTGRES_DSN``'s server, or on a
    throwaway one."""
    given = os.environ.get(DSN_ENV, "").strip()
    if given:

        def fresh() -> str:
            name = f"basis_bench_{secrets.token_hex(4)}"
            with psycopg.connect(given, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}")
            return f"{given} dbname={name}"

        yield fresh
        return
    server = PostgresServer()
    server.start()
    try:
        yield server.new_database
    finally:
        server.stop()


def _ms(values: list[float], fraction: float) -> str:
    return f"{percentile(values, fraction) * 1000:7.2f} ms"


def leases(fresh: Callable[[], str], renewals: int) -> list[str]:
    lines = [
        "== leases: one instance holding N symbols (a fresh database each), by the database's clock"
    ]
    for count in HELD:
        dsn = fresh()
        PostgresStore(dsn, "bench").close()  # the schema
        symbols = [f"S{n:04d}/USDT" for n in range(count)]
        with LeaseBook(dsn) as book:
            book.join("bench", count)
            began = time.perf_counter()
            grants = book.claim("bench", symbols, count, 60.0)
            claimed = time.perf_counter() - began
            held = {grant.symbol: grant.epoch for grant in grants}
            assert len(held) == count, f"claimed {len(held)} of {count}"
            times = []
            for _ in range(renewals):
                began = time.perf_counter()
                kept = book.renew("bench", held, 60.0)
                times.append(time.perf_counter() - began)
                assert len(kept) == count
            book.leave("bench", held)
        lines.append(
            f"  {count:>5} symbols: claim {claimed * 1000:8.1f} ms; renew p50 "
            f"{_ms(times, 0.5)}  p99 {_ms(times, 0.99)}  max {max(times) * 1000:7.2f} ms"
        )
    return lines


def journal(fresh: Callable[[], str], commits: int) -> list[str]:
    lines = ["== a decision's journal commit (a snapshot and two intents) on PostgreSQL"]
    for count in (0, *HELD):
        dsn = fresh()
        name = f"journal-{count}"
        symbols = [f"J{n:04d}/USDT" for n in range(max(count, 1))]
        with LeaseBook(dsn) as book:
            PostgresStore(dsn, name).close()  # the schema
            held: dict[str, int] = {}
            if count:
                book.join(name, count)
                held = {g.symbol: g.epoch for g in book.claim(name, symbols, count, 600.0)}
                assert len(held) == count, f"claimed {len(held)} of {count}"
            fence = (lambda held=held: held) if count else None
            store = PostgresStore(dsn, name, fence=fence)
            times = []
            ctx = new_context("bench", Symbol.parse(symbols[0]), now=1.0)
            for n in range(commits):
                snapshot = snapshot_record(ctx.evolve(last_update=float(n)))
                intents = [
                    IntentRecord(
                        f"bench-{n}{leg[0]}", "bench", "v", leg, symbols[0], "buy",
                        1.0, 100.0, float(n),
                    )
                    for leg in ("spot", "futures")
                ]  # fmt: skip
                began = time.perf_counter()
                refused = store.write_batch([snapshot], intents, [])
                times.append(time.perf_counter() - began)
                assert not refused
            store.close()
        what = f"fenced, {count} symbols held" if count else "alone, not fenced"
        lines.append(f"  {what:<28} p50 {_ms(times, 0.5)}  p99 {_ms(times, 0.99)}")
    return lines


def failover(dsn: str, duration_s: float, lease_ttl_s: float, seed: int) -> list[str]:
    os.environ[CHAOS_DSN_ENV] = dsn
    config = msgspec.convert(tomllib.loads(CHAOS_CONFIG), SystemConfig)
    with tempfile.TemporaryDirectory() as data_dir:
        options = ClusterOptions(duration_s, seed, Path(data_dir), lease_ttl_s=lease_ttl_s)
        report = trio.run(run_cluster_chaos, config, options, dsn)
    lines = [
        f"== failover: three instances, {len(config.symbols)} symbols, leases of "
        f"{lease_ttl_s:g} s, {duration_s:g} s of faults (seed {seed}): "
        + ("every promise held" if report.passed else "A PROMISE BROKE (report below)")
    ]
    kinds = sorted({f.kind for f in report.failovers})
    for kind in [*kinds, "all"]:
        chosen = [f for f in report.failovers if kind in ("all", f.kind)]
        granted = [f.granted_after_s for f in chosen if f.granted_after_s is not None]
        trading = [f.trading_after_s for f in chosen if f.trading_after_s is not None]
        if not granted or not trading:
            continue
        lines.append(
            f"  {kind:<7} {len(chosen):>3} symbols  granted again p50 "
            f"{percentile(granted, 0.5):5.2f} s  p99 {percentile(granted, 0.99):5.2f} s  "
            f"max {max(granted):5.2f} s | trading again p50 {percentile(trading, 0.5):5.2f} s  "
            f"p99 {percentile(trading, 0.99):5.2f} s  max {max(trading):5.2f} s"
        )
    if not report.passed:
        lines.append(render(report))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=300.0, help="failover: seconds")
    parser.add_argument("--lease-ttl", type=float, default=CHAOS_LEASE_TTL_S)
    parser.add_argument("--renewals", type=int, default=50)
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-failover", action="store_true")
    args = parser.parse_args()
    with databases() as fresh:
        for line in leases(fresh, args.renewals):
            print(line, flush=True)
        for line in journal(fresh, args.commits):
            print(line, flush=True)
        if not args.skip_failover:
            for line in failover(fresh(), args.duration, args.lease_ttl, args.seed):
                print(line, flush=True)


if __name__ == "__main__":
    main()
