"""A user's mistakes, as a user makes them: each ``basis`` command, run as a real process,
exits 2 with one line on stderr naming what is wrong and the fix, no traceback, and
nothing written (the store and every other file in the way as they were, no output)."""

from __future__ import annotations

import hashlib
import http.server
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

from actors.runtime.persistence.store import MIGRATIONS, Store
from tests.integration.test_cli_run import wait_until_serving

BASIS = [sys.executable, "-m", "actors.cli"]
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "sample_quotes.csv"
HEADER = "ts_ms,leg,symbol,bid,bid_qty,ask,ask_qty\n"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
"""Run in the scratch directory (where a stray write would show), on this tree's code."""


@attrs.frozen
class Mistake:
    name: str
    args: Callable[[Path], list[str]]
    """The command line, given a scratch directory prepared by ``setup``."""
    words: tuple[str, ...]
    """What the one line must say."""
    setup: Callable[[Path], None] = lambda tmp: None
    logs: bool = False
    """Found only by trying: the log lines of the attempt come before the one line."""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def config(text: str) -> Callable[[Path], None]:
    return lambda tmp: write(tmp / "basis.toml", text + "\n[http]\nport = 0\n")


def quotes(text: str) -> Callable[[Path], None]:
    return lambda tmp: write(tmp / "q.csv", text)


def a_file_in_the_way(tmp: Path) -> None:
    write(tmp / "afile", "not a directory\n")


def not_sqlite(tmp: Path) -> None:
    (tmp / "data").mkdir()
    (tmp / "data" / "basis.db").write_bytes(bytes(range(256)) * 64)


def damaged_store(tmp: Path) -> None:
    """A real store with a page in the middle overwritten, its header intact."""
    path = tmp / "data" / "basis.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE filler (x)")
    db.executemany("INSERT INTO filler VALUES (?)", [("x" * 500,)] * 400)
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray(path.read_bytes())
    middle = len(data) // 2 // 4096 * 4096
    data[middle : middle + 4096] = b"\x07" * 4096
    path.write_bytes(bytes(data))


def newer_store(tmp: Path) -> None:
    path = tmp / "data" / "basis.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    db.close()


def run_on(data: str = "data") -> Callable[[Path], list[str]]:
    return lambda tmp: [
        "run",
        str(tmp / "basis.toml"),
        "--duration",
        "1",
        "--data-dir",
        str(tmp / data),
    ]


def backtest(*more: str) -> Callable[[Path], list[str]]:
    return lambda tmp: ["backtest", str(tmp / "q.csv"), *[m.format(tmp=tmp) for m in more]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


GOOD = 'symbols = ["BTC/USDT"]'
NOBODY_THERE = """mode = "live"
symbols = ["BTC/USDT"]
[venues.spot]
kind = "mexc"
rest_url = "http://127.0.0.1:9"
ws_url = "ws://127.0.0.1:9/ws"
[venues.futures]
kind = "gateio_futures"
rest_url = "http://127.0.0.1:9"
ws_url = "ws://127.0.0.1:9/ws"
"""
"""Venues at the discard port, where nothing listens on loopback."""

MISTAKES = [
    Mistake(
        "data dir is a file",
        lambda tmp: ["run", str(tmp / "basis.toml"), "--data-dir", str(tmp / "afile")],
        ("afile", "data directory", "give --data-dir"),
        lambda tmp: (config(GOOD)(tmp), a_file_in_the_way(tmp)),
    ),
    Mistake(
        "data dir under a file (unwritable)",
        lambda tmp: ["run", str(tmp / "basis.toml"), "--data-dir", str(tmp / "afile" / "d")],
        ("data directory", "this user can write"),
        lambda tmp: (config(GOOD)(tmp), a_file_in_the_way(tmp)),
    ),
    Mistake(
        "basis.db not SQLite",
        run_on(),
        ("basis.db", "not a usable Basis store", "move it aside"),
        lambda tmp: (config(GOOD)(tmp), not_sqlite(tmp)),
    ),
    Mistake(
        "basis.db damaged",
        run_on(),
        ("basis.db", "damaged", "move it aside"),
        lambda tmp: (config(GOOD)(tmp), damaged_store(tmp)),
    ),
    Mistake(
        "basis.db from a newer Basis",
        run_on(),
        ("basis.db", "newer Basis", "upgrade"),
        lambda tmp: (config(GOOD)(tmp), newer_store(tmp)),
    ),
    Mistake(
        "basis.db a directory",
        run_on(),
        ("basis.db", "not a file", "move it aside"),
        lambda tmp: (config(GOOD)(tmp), (tmp / "data" / "basis.db").mkdir(parents=True)),
    ),
    Mistake(
        "synth of a pair the simulated market does not quote",
        lambda tmp: ["synth", str(tmp / "q.csv"), "--symbols", "BTC/USDC"],
        ("--symbols", "USDT pairs only", "BTC/USDT"),
    ),
    Mistake(
        "synth of more quotes than any disk holds",
        lambda tmp: ["synth", str(tmp / "q.csv"), "--duration", "1e12", "--interval", "0.001"],
        ("--duration", "--interval", "quotes per symbol and leg"),
    ),
    Mistake(
        "demo on a damaged store",
        lambda tmp: ["demo", "recovery", "--data-dir", str(tmp / "data")],
        ("basis.db", "damaged"),
        damaged_store,
    ),
    Mistake(
        "state on a damaged store",
        lambda tmp: ["state", "list", "--data-dir", str(tmp / "data")],
        ("basis.db", "damaged"),
        damaged_store,
    ),
    Mistake(
        "chaos on a data dir that is a file",
        lambda tmp: ["chaos", "--duration", "1", "--data-dir", str(tmp / "afile")],
        ("afile", "data directory"),
        a_file_in_the_way,
    ),
    Mistake(
        "non-USDT symbol in paper mode",
        run_on(),
        ("BTC/USDC", "USDT pairs only", "use BTC/USDT"),
        config('symbols = ["BTC/USDC"]'),
    ),
    Mistake(
        "min_profit_pct = -1",
        run_on(),
        ("min_profit_pct = -1", "net of all four fees", "above 0"),
        config(GOOD + "\n[strategy]\nmin_profit_pct = -1"),
    ),
    Mistake(
        "max_entry_cost_pct unbounded",
        run_on(),
        ("max_entry_cost_pct = 1e+06", "at most 5"),
        config(GOOD + "\n[strategy]\nmax_entry_cost_pct = 1e6"),
    ),
    Mistake(
        "inf in a config",
        run_on(),
        ("strategy.max_hours", "finite"),
        config(GOOD + "\n[strategy]\nmax_hours = inf"),
    ),
    Mistake(
        "misspelled table for run",
        run_on(),
        ("unknown key 'stratgy'", "spelling"),
        config(GOOD + "\n[stratgy]\nmin_profit_pct = 1"),
    ),
    Mistake(
        # PYTHONPATH is set (to this tree) and holds no http(s) URL; found before the
        # data directory is written, the log included.
        "discord webhook that is no URL",
        run_on(),
        ("[alerts.discord]", "$PYTHONPATH", "http(s) URL"),
        config(GOOD + '\n[alerts.discord]\nurl_env = "PYTHONPATH"'),
    ),
    Mistake("config not TOML", run_on(), ("basis.toml", "not valid TOML"), config("[strategy")),
    Mistake(
        "config missing", lambda tmp: ["run", str(tmp / "none.toml")], ("none.toml", "no such file")
    ),
    Mistake(
        "--duration 0", lambda tmp: ["run", "--duration", "0"], ("--duration", "positive", "--help")
    ),
    Mistake(
        "misspelled table for backtest",
        lambda tmp: ["backtest", str(SAMPLE), "--config", str(tmp / "basis.toml")],
        ("unknown key 'stratgy'",),
        config("[stratgy]\nmin_profit_pct = 1"),
    ),
    Mistake(
        "misspelled table for sim",
        lambda tmp: ["sim", "--config", str(tmp / "basis.toml")],
        ("unknown key 'smi'",),
        config("[smi]\nseed = 2"),
    ),
    Mistake(
        "crossed quote",
        backtest(),
        ("q.csv:3", "bid 2.5 is above ask 2.0", "crossed"),
        quotes(HEADER + "1,spot,BTC/USDT,1,1,2,1\n2,spot,BTC/USDT,2.5,1,2,1\n"),
    ),
    Mistake(
        "infinite price",
        backtest(),
        ("q.csv:2", "finite"),
        quotes(HEADER + "1,spot,BTC/USDT,inf,1,2,1\n"),
    ),
    Mistake(
        "negative price",
        backtest(),
        ("q.csv:2", "0 or more"),
        quotes(HEADER + "1,futures,BTC/USDT,-1,1,2,1\n"),
    ),
    Mistake(
        "time going back",
        backtest(),
        ("q.csv:3", "goes back in time"),
        quotes(HEADER + "5,spot,BTC/USDT,1,1,2,1\n4,spot,BTC/USDT,1,1,2,1\n"),
    ),
    Mistake("empty quote file", backtest(), ("q.csv", "no quotes", "basis synth"), quotes("")),
    Mistake("quote file with only its header", backtest(), ("q.csv", "no quotes"), quotes(HEADER)),
    Mistake("quote file missing", backtest(), ("q.csv", "cannot open it", "quote file")),
    Mistake(
        "--trades-csv into no directory",
        backtest("--trades-csv", "{tmp}/no/t.csv"),
        ("--trades-csv", "not a directory"),
        quotes(HEADER + "1,spot,BTC/USDT,1,1,2,1\n"),
    ),
    Mistake(
        "synth into a file's place",
        lambda tmp: ["synth", str(tmp / "afile" / "q.csv")],
        ("cannot write", "afile"),
        a_file_in_the_way,
    ),
    Mistake(
        "synth --start-ms -1",
        lambda tmp: ["synth", str(tmp / "q.csv"), "--start-ms", "-1"],
        ("--start-ms", "Unix milliseconds"),
    ),
    Mistake(
        "record --out unwritable",
        lambda tmp: ["record", "--duration", "1", "--out", str(tmp / "afile" / "q.csv")],
        ("cannot write", "--out"),
        a_file_in_the_way,
    ),
    Mistake(
        "record from venues that do not answer",
        lambda tmp: [
            *["record", "--config", str(tmp / "basis.toml")],
            *["--duration", "1", "--out", str(tmp / "q.csv")],
        ],
        ("no quote arrived in 1 s", "nothing was recorded", "urls"),
        lambda tmp: write(tmp / "basis.toml", NOBODY_THERE),
        logs=True,
    ),
    Mistake(
        "demo stress --symbols 0",
        lambda tmp: ["demo", "stress", "--symbols", "0"],
        ("--symbols", "1 or more"),
    ),
    Mistake(
        "status with nobody there",
        lambda tmp: ["status", "--port", str(free_port())],
        ("no instance answers", "--port"),
    ),
    Mistake(
        "status --port out of range",
        lambda tmp: ["status", "--port", "70000"],
        ("--port", "0-65535"),
    ),
    Mistake(
        "state show without a task",
        lambda tmp: ["state", "show", "--data-dir", str(tmp / "data")],
        ("name the task",),
        lambda tmp: Store(tmp / "data" / "basis.db").close(),
    ),
    Mistake(
        "preflight of a paper config",
        lambda tmp: ["preflight", str(tmp / "basis.toml")],
        ("paper mode", "live"),
        config(GOOD),
    ),
    Mistake("a command that does not exist", lambda tmp: ["trade"], ("invalid choice: 'trade'",)),
]


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` with a hash of its bytes; the data directory's lock file
    aside (the lock is taken before the store is looked at, and lets go on exit)."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != "basis.lock"
    }


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_a_mistake_is_one_line_exit_2_and_writes_nothing(tmp_path, mistake):
    mistake.setup(tmp_path)
    before = snapshot(tmp_path)
    result = subprocess.run(
        [*BASIS, *mistake.args(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=ENV,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    line = lines[-1]
    assert len(lines) == 1 or mistake.logs
    assert line.startswith("basis")
    for word in mistake.words:
        assert word in line
    assert result.stdout == ""
    assert snapshot(tmp_path) == before


class _NotBasis(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_status_against_something_that_is_not_basis_says_so(tmp_path):
    server = http.server.HTTPServer(("127.0.0.1", 0), _NotBasis)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        result = subprocess.run(
            [*BASIS, "status", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            env=ENV,
            cwd=tmp_path,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert f"127.0.0.1:{port} answers, but not as a Basis instance (HTTP 404)" in line


def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path):
    """``basis backtest --json | head -c 0``: the pipe is closed before anything is
    written; the command ends with 0 and says nothing of it."""
    process = subprocess.Popen(
        [*BASIS, "backtest", str(SAMPLE), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        cwd=tmp_path,
    )
    process.stdout.close()
    with process.stderr:
        stderr = process.stderr.read()
    assert process.wait(timeout=60) == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr


def test_a_status_port_in_use_leaves_the_data_directory_as_it_was(tmp_path):
    """Only the lock (let go on exit) appears: no store, no log."""
    data = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        write(tmp_path / "basis.toml", f"{GOOD}\n[http]\nport = {port}\n")
        data.mkdir()
        result = subprocess.run(
            [*BASIS, "run", str(tmp_path / "basis.toml"), "--data-dir", str(data)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env=ENV,
        )
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert "cannot be used" in line and "[http] port" in line
    assert sorted(path.name for path in data.iterdir()) == ["basis.lock"]


def test_ctrl_c_where_nothing_stops_gracefully_ends_without_a_traceback(tmp_path):
    out = tmp_path / "long.csv"
    process = subprocess.Popen(
        [*BASIS, "synth", str(out), "--duration", "1e7"],
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=ENV,
    )
    deadline = time.monotonic() + 30
    while not (out.exists() and out.stat().st_size > 0):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    with process.stderr:
        stderr = process.stderr.read()
    assert process.wait(timeout=30) == 130
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr


def test_basis_status_into_a_reader_that_stops_early_ends_quietly(tmp_path):
    """``basis status | head``, against a running instance."""
    port = free_port()
    write(tmp_path / "basis.toml", f"{GOOD}\n[http]\nport = {port}\n")
    running = subprocess.Popen(
        [*BASIS, "run", str(tmp_path / "basis.toml"), "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=ENV,
    )
    try:
        wait_until_serving(running)
        status = subprocess.Popen(
            [*BASIS, "status", "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env=ENV,
        )
        status.stdout.close()
        with status.stderr:
            stderr = status.stderr.read()
        assert status.wait(timeout=60) == 0, stderr
        assert "Traceback" not in stderr and "BrokenPipe" not in stderr
    finally:
        running.terminate()
        running.communicate(timeout=30)
