"""How a trading process's connection string is pointed at the database proxy of a
cluster chaos run, and what the proxy forwards to."""

from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict

from actors.chaos.db_proxy import UnreachableDsn, Upstream, through, upstream_of


def test_a_named_host_keeps_its_name_and_is_reached_at_the_proxy_by_address():
    dsn = "host=db.internal port=6543 user=basis dbname=basis sslmode=verify-full"
    assert upstream_of(dsn) == Upstream("db.internal", 6543)
    proxied = conninfo_to_dict(through(dsn, 40001))
    # The certificate is still checked against the server's name.
    assert proxied == conninfo_to_dict(dsn) | {"hostaddr": "127.0.0.1", "port": "40001"}


def test_an_address_alone_becomes_the_host_and_the_proxy_the_address():
    dsn = "hostaddr=10.0.0.5 user=basis"
    assert upstream_of(dsn) == Upstream("10.0.0.5", 5432)
    proxied = conninfo_to_dict(through(dsn, 40002))
    assert (proxied["host"], proxied["hostaddr"], proxied["port"]) == (
        "10.0.0.5",
        "127.0.0.1",
        "40002",
    )


def test_a_uri_with_a_password_and_options_keeps_them():
    dsn = "postgresql://basis:s3cret@db:5433/cluster?options=-cstatement_timeout%3D5000"
    proxied = conninfo_to_dict(through(dsn, 40003))
    assert upstream_of(dsn) == Upstream("db", 5433)
    assert proxied["password"] == "s3cret" and proxied["options"] == "-cstatement_timeout=5000"
    assert (proxied["hostaddr"], proxied["port"]) == ("127.0.0.1", "40003")


def test_a_unix_socket_is_forwarded_to_from_tcp():
    dsn = "host=/var/run/postgresql port=5433 dbname=basis"
    upstream = upstream_of(dsn)
    assert upstream == Upstream("/var/run/postgresql", 5433) and upstream.is_unix_socket
    proxied = conninfo_to_dict(through(dsn, 40004))
    assert (proxied["host"], proxied["port"]) == ("127.0.0.1", "40004")
    assert "hostaddr" not in proxied


def test_the_environment_names_the_server_a_string_leaves_out(monkeypatch):
    monkeypatch.setenv("PGHOST", "pg.example")
    monkeypatch.setenv("PGPORT", "5999")
    assert upstream_of("dbname=basis") == Upstream("pg.example", 5999)


@pytest.mark.parametrize(
    ("dsn", "said"),
    [("dbname=basis", "names no host"), ("host=a,b dbname=basis", "several servers")],
)
def test_a_string_the_proxy_cannot_stand_in_front_of_is_refused(dsn, said, monkeypatch):
    monkeypatch.delenv("PGHOST", raising=False)
    with pytest.raises(UnreachableDsn, match=said):
        upstream_of(dsn)
