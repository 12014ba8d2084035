"""What a PostgreSQL store is read as by the readers of a store's history and state (the
report's history, the dashboard's chart, ``basis report`` and ``basis state`` with
``--config``): what a SQLite store holding the same records, written through the same
methods, is read as; a cluster's runs told apart by instance; and each store that cannot
be read one line, exit 2, naming the database without its password and leaving it as it
was."""

from __future__ import annotations

import json
import math
import socket
from pathlib import Path

import psycopg
import pytest

from actors.analytics.exports import summary_json
from actors.analytics.history import SERIES_POINTS, Incident, Window, read_history
from actors.analytics.summary import summarize
from actors.cli.main import main
from actors.dashboard.chart_history import CHART_POINTS, read_chart_history
from actors.runtime.persistence.postgres_store import PostgresStore
from actors.runtime.persistence.source import PostgresSource
from actors.runtime.persistence.store import (
    IntentRecord,
    OutboxRecord,
    SnapshotRecord,
    Store,
    StoreError,
)
from protocols.history import SeriesPoint
from tests.unit.analytics.builders import trade
from tests.unit.analytics.sample_store import (
    HOUR,
    SPAN_S,
    T0,
    fill_sample_store,
    stores_clock_at,
)

DSN_ENV = "BASIS_REPORT_TEST_DSN"
SOL = "SOL/USDT"


def long_series() -> list[SeriesPoint]:
    """More points than a report or a chart reads of a symbol, unevenly spaced, a
    position held through part of them: read as stretches, each store thinning it."""
    points = []
    for step in range(4500):
        ts = T0 + step * 47.0 + (step % 7) * 3.5
        held = 1500 <= step < 3200
        pnl = 2.0 * math.sin(step / 40.0) if held else None
        points.append(
            SeriesPoint(
                SOL,
                ts,
                round(0.4 + 0.1 * math.sin(step / 9.0), 6),
                pnl,
                None if pnl is None else pnl / 50.0,
                pnl,
            )
        )
    return points


def fill_both(store: Store | PostgresStore) -> None:
    fill_sample_store(store)
    store.write_batch(
        [SnapshotRecord("sol1", "spot_futures_arbitrage", SOL, "monitoring", b"{}", T0, False)],
        [IntentRecord("sol1-1", "sol1", "mexc", "spot", SOL, "buy", 2.0, 150.0, T0 + HOUR)],
        (),
        long_series(),
    )


@pytest.fixture(scope="module")
def stores(postgres_server, tmp_path_factory) -> tuple[Path, PostgresSource]:
    """The same records in a SQLite store and a PostgreSQL one (read only by the tests)."""
    dsn = postgres_server.new_database()
    path = tmp_path_factory.mktemp("reports") / "basis.db"
    with Store(path) as sqlite, PostgresStore(dsn) as postgres:
        fill_both(sqlite)
        fill_both(postgres)
    return path, PostgresSource(dsn, "basis")


WINDOWS = [
    Window(),
    Window(T0 + 10 * HOUR, T0 + 55 * HOUR),
    Window(end=T0 + 27 * HOUR),  # btc1's second cycle open at its end
    Window(start=T0 + 61 * HOUR),
    Window(symbol="ETH/USDT"),
    Window(T0 + 20 * HOUR, T0 + 50 * HOUR, SOL),
    Window(start=T0 + SPAN_S * 2),  # after the last record
]


@pytest.mark.parametrize("window", WINDOWS)
def test_a_postgresql_store_is_read_as_the_same_history_as_a_sqlite_one(stores, window):
    path, postgres = stores
    expected = read_history(path, window)
    assert read_history(postgres, window) == expected
    assert summary_json(summarize(read_history(postgres, window))) == summary_json(
        summarize(expected)
    )


def test_the_long_series_is_thinned_alike_in_both(stores):
    path, postgres = stores
    history = read_history(postgres, Window(symbol=SOL))
    assert len(history.series[SOL]) <= SERIES_POINTS < len(long_series())
    assert history.series == read_history(path, Window(symbol=SOL)).series


@pytest.mark.parametrize(
    ("since", "until"),
    [
        (T0, T0 + SPAN_S),  # the long series in slices of over four minutes
        (T0 + 25 * HOUR, T0 + SPAN_S),
        (T0 + 70 * HOUR, T0 + SPAN_S),  # slices of 7.2 s: every point as stored
    ],
)
def test_the_chart_s_history_is_read_alike_from_either_store(stores, since, until):
    path, postgres = stores
    found = read_chart_history(postgres, since, until)
    assert found == read_chart_history(path, since, until)
    assert found["series"] and all(
        len(points) <= CHART_POINTS for points in found["series"].values()
    )


def test_a_cluster_s_runs_are_each_instance_s_and_named(postgres_dsn):
    with PostgresStore(postgres_dsn, "node-1") as one, PostgresStore(postgres_dsn, "node-2") as two:
        for store, started_at in ((one, 10.0), (two, 20.0), (one, 30.0), (two, 40.0)):
            with stores_clock_at(started_at):
                run = store.begin_run()
            if store is two and started_at == 20.0:
                with stores_clock_at(25.0):
                    store.end_run(run)
    # node-1 never stopped cleanly before starting again; node-2 did. Neither's start
    # is the other's crash.
    assert read_history(PostgresSource(postgres_dsn, "basis")).incidents == [
        Incident(10.0, "start", "info", "node-1: started"),
        Incident(20.0, "start", "info", "node-2: started"),
        Incident(
            30.0,
            "crash",
            "critical",
            "node-1: restarted after a crash: the run before had no clean stop",
        ),
        Incident(40.0, "restart", "info", "node-2: restarted after a clean stop"),
    ]


def test_text_comes_out_in_the_same_order_whatever_the_database_s_collation(
    postgres_server, tmp_path
):
    """A database sorting text by a language's rules (``alpha`` before ``Zed``), not by
    code point as SQLite does (``Zed`` first): what ties on time is ordered alike."""
    name = "basis_icu"
    with psycopg.connect(postgres_server.dsn(), autocommit=True) as conn:
        conn.execute(
            f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu "
            "ICU_LOCALE 'en-US' LOCALE 'C.utf8'"
        )
    dsn = postgres_server.dsn(name)
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT 'alpha' < 'Zed'").fetchone() == (True,)
    records = [
        trade("Zed/USDT", 10.0, 20.0, 1.0, task_id="Zed"),
        trade("alpha/USDT", 10.0, 20.0, 2.0, task_id="alpha"),
        SeriesPoint("Zed/USDT", 15.0, 0.2),
        SeriesPoint("alpha/USDT", 15.0, 0.3),
    ]
    tasks = [
        SnapshotRecord(
            task_id, "spot_futures_arbitrage", f"{task_id}/USDT", "stopped", b"{}", 5.0, True
        )
        for task_id in ("Zed", "alpha")
    ]
    with Store(tmp_path / "basis.db") as sqlite, PostgresStore(dsn) as postgres:
        for store in (sqlite, postgres):
            store.write_batch(tasks, (), (), records)
            for alert_id in ("Zed", "alpha"):
                body = json.dumps({"ts": 12.0, "severity": "warning", "title": "same"}).encode()
                store.put_alert(OutboxRecord(alert_id, body, (), 12.0))
    history = read_history(PostgresSource(dsn, "basis"))
    assert [c.task_id for c in history.cycles] == ["Zed", "alpha"]
    assert list(history.series) == ["Zed/USDT", "alpha/USDT"]
    assert history == read_history(tmp_path / "basis.db")


def tables_of(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return [name for (name,) in rows]


def test_a_database_without_a_store_is_a_clear_error_and_is_left_empty(postgres_dsn):
    with pytest.raises(StoreError, match=r"port=\d+\): not a Basis store \(no tasks table\)"):
        read_history(PostgresSource(postgres_dsn, "basis"))
    assert tables_of(postgres_dsn) == []


def unreachable_dsn() -> tuple[str, list[str]]:
    """A database nothing listens for, with a password never to be shown; and what a
    message names it by."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dsn = f"host=127.0.0.1 port={port} dbname=gone user=basis password=s3cret-pw"
    return dsn, ["host=127.0.0.1", f"port={port}", "dbname=gone"]


def test_a_database_that_cannot_be_reached_is_named_without_its_password():
    dsn, named = unreachable_dsn()
    with pytest.raises(StoreError) as raised:
        read_history(PostgresSource(dsn, "basis"))
    said = str(raised.value)
    assert said.startswith("PostgreSQL (") and "): cannot connect (" in said
    assert all(part in said for part in named)
    assert "s3cret-pw" not in said


# ------------------------------------------------------------------ the commands


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "cluster.toml"
    path.write_text(f'[persistence]\nbackend = "postgresql"\ndsn_env = "{DSN_ENV}"\n')
    return path


def test_report_with_a_postgresql_config_reads_its_database(capsys, monkeypatch, stores, config):
    path, postgres = stores
    monkeypatch.setenv(DSN_ENV, postgres.dsn)
    # A data directory given beside it is not read: the config keeps its store elsewhere.
    code, out, err = run(
        capsys, "report", "--config", str(config), "--data-dir", "/nonexistent", "--json"
    )
    assert (code, err) == (0, "")
    assert json.loads(out) == json.loads(
        run(capsys, "report", "--data-dir", str(path.parent), "--json")[1]
    )
    assert json.loads(out)["cycles"] == 5


def test_report_with_a_sqlite_config_reads_the_data_directory(capsys, stores, tmp_path):
    path, _ = stores
    sqlite_config = tmp_path / "paper.toml"
    sqlite_config.write_text('symbols = ["BTC/USDT"]\n')
    code, out, _ = run(
        capsys, "report", "--config", str(sqlite_config), "--data-dir", str(path.parent), "--json"
    )
    assert code == 0 and json.loads(out)["cycles"] == 5


@pytest.mark.parametrize("command", [["report", "--json"], ["state", "list"]])
def test_a_connection_string_not_in_the_environment_is_named(capsys, monkeypatch, config, command):
    monkeypatch.delenv(DSN_ENV, raising=False)
    code, out, err = run(capsys, *command, "--config", str(config))
    assert (code, out) == (2, "")
    assert err.startswith(f'basis {command[0]}: [persistence] backend = "postgresql" reads')
    assert f"environment variable {DSN_ENV}, which is not set" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("command", [["report", "--json"], ["state", "list"]])
def test_an_unreachable_database_is_named_without_its_password(
    capsys, monkeypatch, config, command
):
    dsn, named = unreachable_dsn()
    monkeypatch.setenv(DSN_ENV, dsn)
    code, out, err = run(capsys, *command, "--config", str(config))
    assert (code, out) == (2, "")
    assert err.startswith(f"basis {command[0]}: PostgreSQL (")
    assert all(part in err for part in named) and "s3cret-pw" not in err
    assert err.count("\n") == 1


def test_state_on_a_postgresql_store_shows_what_sqlite_s_shows(capsys, monkeypatch, stores, config):
    path, postgres = stores
    monkeypatch.setenv(DSN_ENV, postgres.dsn)
    on_postgres = ["--config", str(config)]
    on_sqlite = ["--data-dir", str(path.parent)]
    listed = run(capsys, "state", "list", *on_postgres)[1]
    assert listed.startswith("3 active, 0 completed, 1 quarantined\n")
    assert "sol1" in listed and "quarantined eth0: snapshot unreadable" in listed
    for action in (["show", "sol1"], ["export"]):
        code, out, err = run(capsys, "state", *action, *on_postgres)
        assert (code, err) == (0, "")
        shown, expected = json.loads(out), json.loads(run(capsys, "state", *action, *on_sqlite)[1])
        if action == ["export"]:
            # Each store's own instance id: the rest is the same.
            assert shown.pop("instance") != expected.pop("instance")
        assert shown == expected
    assert json.loads(out)["tasks"][2]["orders"][0]["client_id"] == "sol1-1"


def test_state_cleanup_on_a_postgresql_store_deletes_old_completed_tasks(
    capsys, monkeypatch, postgres_dsn, config
):
    with PostgresStore(postgres_dsn) as store:
        store.write_batch(
            [
                SnapshotRecord("old", "spot_futures_arbitrage", SOL, "stopped", b"{}", T0, True),
                SnapshotRecord(
                    "live", "spot_futures_arbitrage", SOL, "monitoring", b"{}", T0, False
                ),
            ],
            [IntentRecord("old-1", "old", "mexc", "spot", SOL, "buy", 1.0, 150.0, T0)],
            (),
        )
    monkeypatch.setenv(DSN_ENV, postgres_dsn)
    code, out, _ = run(capsys, "state", "cleanup", "--max-age-hours", "1", "--config", str(config))
    assert (code, out) == (0, "removed 1 completed task(s) older than 1 h\n")
    with PostgresStore(postgres_dsn) as store:
        assert [row.task_id for row in store.tasks()] == ["live"]
        assert store.orders("old") == []


def test_state_on_a_database_without_a_store_leaves_it_empty(
    capsys, monkeypatch, postgres_dsn, config
):
    monkeypatch.setenv(DSN_ENV, postgres_dsn)
    code, out, err = run(capsys, "state", "list", "--config", str(config))
    assert (code, out) == (2, "")
    assert "no Basis store there (no basis_schema table); point --config" in err
    assert tables_of(postgres_dsn) == []
