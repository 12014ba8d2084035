"""``basis cluster status`` as a real process against a real PostgreSQL server: who holds
what, what expired, what nobody holds; and the connection string's password never in
its output, whatever goes wrong."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from actors.runtime.cluster.leases import LeaseBook
from tests.integration.cluster_database import apply_schema

BASIS = [sys.executable, "-m", "actors.cli"]
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "pw-never-shown-7q"
"""In every connection string given: the server trusts loopback, so it is never asked
for, and it must never be printed."""
SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"]
CONFIG = (
    f"symbols = {SYMBOLS!r}\n"
    '[persistence]\nbackend = "postgresql"\ndsn_env = "CLUSTER_DSN"\n'
    '[cluster]\nname = "east"\ncapacity = 2\nlease_ttl_s = 5\n'
)


def basis(tmp_path: Path, config: str, dsn: str | None) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "cluster.toml"
    path.write_text(config)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CLUSTER_DSN", None)
    if dsn is not None:
        env["CLUSTER_DSN"] = dsn
    done = subprocess.run(
        [*BASIS, "cluster", "status", "--config", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert PASSWORD not in done.stdout + done.stderr
    return done


def test_status_shows_each_instance_its_leases_the_expired_and_the_unleased(postgres_dsn, tmp_path):
    apply_schema(postgres_dsn)
    with LeaseBook(postgres_dsn) as book:
        east_id = book.join("east", 2)
        east = book.claim("east", SYMBOLS, 2, 30.0)
        book.join("west", 1)
        (lapsed,) = book.claim("west", SYMBOLS, 1, 0.3)
        book.join("north", 1)
        book.leave("north", {})
        deadline = time.monotonic() + 10.0
        while next(s for s in book.status().leases if s.symbol == lapsed.symbol).expires_in_s > 0:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    done = basis(tmp_path, CONFIG, f"{postgres_dsn} password={PASSWORD}")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    given = conninfo_to_dict(postgres_dsn)
    assert lines[0] == (
        f"cluster at host=127.0.0.1 port={given['port']} dbname={given['dbname']} "
        "user=postgres: 3 instance(s), 2 symbol(s) leased; ages by the database's clock"
    )
    assert re.fullmatch(
        rf"east \(id {east_id}, capacity 2\): live, last seen \d+\.\d s ago, 2 symbol\(s\)",
        lines[1],
    )
    for line, grant in zip(lines[2:4], east, strict=True):
        assert re.fullmatch(
            rf"  {re.escape(grant.symbol)} +epoch {grant.epoch} +granted \d+\.\d s ago, "
            r"renewed \d+\.\d s ago, expires in \d+\.\d s",
            line,
        )
    assert lines[4].startswith("north (") and ": stopped," in lines[4]
    assert lines[5].startswith("west (") and ": live," in lines[5]
    assert re.fullmatch(
        rf"  {re.escape(lapsed.symbol)} +epoch {lapsed.epoch} +.*, EXPIRED \d+\.\d s ago",
        lines[6],
    )
    unleased = [s for s in SYMBOLS if s not in {g.symbol for g in [*east, lapsed]}]
    assert lines[7:] == ["unleased: " + ", ".join(unleased)]


def test_without_the_connection_string_it_names_the_variable(tmp_path):
    done = basis(tmp_path, CONFIG, None)
    assert done.returncode == 2
    assert done.stderr == (
        "basis cluster status: CLUSTER_DSN is not set: set it to the PostgreSQL connection "
        "string the cluster's instances use\n"
    )


def test_a_config_without_a_shared_store_is_refused(tmp_path):
    done = basis(tmp_path, "", "host=127.0.0.1")
    assert done.returncode == 2
    assert "the config's store is sqlite, not shared" in done.stderr


@pytest.mark.parametrize(
    ("dsn", "says"),
    [
        # Nothing listens there.
        (
            "host=127.0.0.1 port={closed} user=basis dbname=basis password={password}",
            "cannot read the cluster at host=127.0.0.1 port={closed} dbname=basis user=basis: ",
        ),
        (
            "postgresql://basis:{password}@127.0.0.1:{closed}/basis",
            "cannot read the cluster at host=127.0.0.1 port={closed} dbname=basis user=basis: ",
        ),
        # Not a connection string, the password among what psycopg would quote.
        ("host=127.0.0.1 password={password} junk", "CLUSTER_DSN is not a PostgreSQL"),
    ],
)
def test_a_database_out_of_reach_is_named_without_the_password(tmp_path, dsn, says):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    done = basis(tmp_path, CONFIG, dsn.format(closed=closed, password=PASSWORD))
    assert done.returncode == 2
    assert says.format(closed=closed) in done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_a_database_no_instance_has_opened_says_so(postgres_dsn, tmp_path):
    done = basis(tmp_path, CONFIG, f"{postgres_dsn} password={PASSWORD}")
    assert done.returncode == 2
    assert "the database has no leases table" in done.stderr
