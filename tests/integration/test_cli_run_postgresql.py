"""``basis run`` on a PostgreSQL store, as a real process: what it refuses before it
trades, in one line with the fix, the connection string's password never shown, and the
exit code a service manager acts on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

BASIS = [sys.executable, "-m", "actors.cli"]
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "pw-never-shown-3k"
LOOPBACK = 'rest_url = "http://127.0.0.1:9"\nws_url = "ws://127.0.0.1:9/ws"\n'
"""Nothing listens there: the store is refused before any venue is asked anything."""
CONFIG = (
    'mode = "live"\nsymbols = ["BTC/USDT"]\n'
    f'[venues.spot]\nkind = "mexc"\n{LOOPBACK}api_key_env = "K"\napi_secret_env = "S"\n'
    f'[venues.futures]\nkind = "gateio_futures"\n{LOOPBACK}api_key_env = "K"\n'
    'api_secret_env = "S"\n'
    '[http]\nport = 0\n[persistence]\nbackend = "postgresql"\ndsn_env = "RUN_DSN"\n'
)


def run(tmp_path: Path, config: str, dsn: str | None) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "run.toml"
    path.write_text(config)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "K": "key", "S": "secret"}
    env.pop("RUN_DSN", None)
    if dsn is not None:
        env["RUN_DSN"] = dsn
    done = subprocess.run(
        [*BASIS, "run", str(path), "--data-dir", str(tmp_path / "data"), "--no-view"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert PASSWORD not in done.stdout + done.stderr
    return done


def test_without_the_connection_string_it_names_the_variable_and_writes_nothing(tmp_path):
    done = run(tmp_path, CONFIG, None)
    assert done.returncode == 2
    assert "RUN_DSN, which is not set" in done.stderr
    assert not (tmp_path / "data").exists()


def test_a_database_that_refuses_ends_the_run_with_exit_2_naming_it(postgres_dsn, tmp_path):
    # A database that does not exist is a refusal, not an outage: nothing to wait for.
    params = conninfo_to_dict(postgres_dsn) | {"dbname": "no_such_db", "password": PASSWORD}
    done = run(tmp_path, CONFIG, make_conninfo(**params))
    assert done.returncode == 2, done.stderr
    assert "no_such_db" in done.stderr and "cannot connect" in done.stderr


def test_a_cluster_is_refused_in_paper_mode(postgres_dsn, tmp_path):
    config = (
        '[persistence]\nbackend = "postgresql"\ndsn_env = "RUN_DSN"\n'
        '[cluster]\nname = "east"\ncapacity = 2\n'
    )
    done = run(tmp_path, config, postgres_dsn)
    assert done.returncode == 2
    assert 'mode = "paper"' in done.stderr and "basis sim" in done.stderr
