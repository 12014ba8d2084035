"""The operator's commands as a user runs them: ``basis pause``, ``resume``, ``stop
--flatten`` and ``quarantine list|resolve`` against real ``basis run`` processes."""

from __future__ import annotations

import getpass
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import msgspec
import pytest

from actors.arbitrage.context import ArbitrageState, Positions, new_context
from actors.runtime.persistence.store import SnapshotRecord, Store
from protocols.model import LegPosition, Symbol
from tests.integration.live_on_sim import live_config
from tests.integration.test_crash import start_sim, venue_net

BASIS = [sys.executable, "-m", "actors.cli"]
ROOT = Path(__file__).parents[2]
TOKEN = "s3cret-token-for-tests"
SIM_KEYS = {"BASIS_SIM_KEY": "sim-key", "BASIS_SIM_SECRET": "sim-secret"}
ENV = {**os.environ, **SIM_KEYS, "BASIS_CONTROL_TOKEN": TOKEN}
NO_TOKEN = {k: v for k, v in ENV.items() if k != "BASIS_CONTROL_TOKEN"}


def basis(*args: str, env: dict[str, str] = ENV) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*BASIS, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )


def basis_at_once(
    *commands: tuple[tuple[str, ...], dict[str, str]],
) -> list[subprocess.CompletedProcess]:
    """``basis`` with each of ``commands`` (arguments, environment), all started at once;
    each one's outcome, in order."""
    started = [
        (args, subprocess.Popen(
            [*BASIS, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env, cwd=ROOT,
        ))
        for args, env in commands
    ]  # fmt: skip
    done = []
    for args, process in started:
        out, err = process.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(args, process.returncode, out, err))
    return done


def start_run(config: Path, data_dir: Path, log: Path) -> tuple[subprocess.Popen, int]:
    """``basis run`` in the background; returns it and its status port, once serving."""
    with log.open("a") as stderr:
        process = subprocess.Popen(
            [*BASIS, "run", str(config), "--data-dir", str(data_dir), "--no-view"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=ENV,
            cwd=ROOT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"status on http://127\.0\.0\.1:(\d+)/status", log.read_text())
        if found:
            return process, int(found.group(1))
        assert process.poll() is None, log.read_text()
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"basis run did not serve its status:\n{log.read_text()}")


def task_of(port: int, symbol: str) -> dict | None:
    tasks = httpx.get(f"http://127.0.0.1:{port}/status", timeout=5).json()["tasks"]
    return next((t for t in tasks if t["symbol"] == symbol), None)


def wait_for(predicate, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_pause_resume_and_stop_flatten_on_a_running_instance(tmp_path):
    sim, urls = start_sim()
    config = live_config(tmp_path / "live.toml", urls, tail="[http]\nport = 0\n")
    data_dir = tmp_path / "data"
    process, port = start_run(config, data_dir, tmp_path / "basis.log")
    try:
        # A premium to enter on: a position to pause over and to unwind.
        httpx.post(f"{urls['control']}/dislocate", json={"symbol": "BTC/USDT", "size": 0.012})
        wait_for(lambda: task_of(port, "BTC/USDT")["state"] == "position_open")

        paused = basis("pause", "BTC/USDT", "--port", str(port))
        assert paused.returncode == 0, paused.stderr
        assert paused.stdout.startswith("paused BTC/USDT")
        wait_for(lambda: task_of(port, "BTC/USDT")["paused_reason"] == "paused by the operator")
        assert task_of(port, "BTC/USDT")["state"] == "position_open"  # the position is kept

        asked = [
            (("pause", "DOGE/USDT", "--port", str(port)), ENV, "does not trade DOGE/USDT"),
            (("add", "BTC/USDT", "--port", str(port)), ENV, "is already traded by task"),
            (("resume", "--port", str(port)), NO_TOKEN, "BASIS_CONTROL_TOKEN is not"),
            (
                ("resume", "--port", str(port)),
                {**ENV, "BASIS_CONTROL_TOKEN": "x"},
                "Authorization: Bearer",
            ),
            (("pause", "--port", str(free_port())), ENV, "start basis run first"),
        ]
        results = basis_at_once(*((args, env) for args, env, _ in asked))
        for result, (_, _, says) in zip(results, asked, strict=True):
            assert result.returncode == 2, result
            assert says in result.stderr
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert task_of(port, "BTC/USDT")["paused_reason"] == "paused by the operator"

        resumed = basis("resume", "--port", str(port))
        assert resumed.returncode == 0, resumed.stderr
        wait_for(lambda: task_of(port, "BTC/USDT")["paused_reason"] is None)

        stopped = basis("stop", "--flatten", "--port", str(port))
        assert stopped.returncode == 0, stopped.stderr
        assert "unwinding every position" in stopped.stdout
        assert process.wait(timeout=60) == 0
        ledger = httpx.get(f"{urls['control']}/ledger", timeout=10).json()

        # No instance now: the list reads the store and asks the venues with the keys.
        with Store(data_dir / "basis.db") as store:
            [task] = store.tasks()
            assert task.state == "stopped"  # the record closed with the unwind
            store.quarantine(task.task_id, "contradicts the venues: a test", None, "BTC/USDT")
        offline = basis("quarantine", "list", str(config), "--data-dir", str(data_dir), "--json")
        assert offline.returncode == 0, offline.stderr
        [entry] = json.loads(offline.stdout)
        assert entry["venue_futures_short"] == 0.0
        assert entry["venue_spot_held"] >= 0.0
        assert entry["disagreement"] is None  # flat at the venues, flat in the record
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        sim.terminate()
        sim.wait(timeout=30)
        sim.stdout.close()
    spot_bought = [
        e for e in ledger["mexc"] if e["type"] == "FillExecuted" and e["fill"]["side"] == "buy"
    ]
    assert spot_bought, "no position was taken: nothing was unwound"
    assert venue_net(ledger["gateio"], "BTC/USDT") == pytest.approx(0.0, abs=1e-12)
    assert venue_net(ledger["mexc"], "BTC/USDT") == pytest.approx(0.0, abs=2e-6)  # fee dust
    with Store(data_dir / "basis.db") as store:
        actions = [(a.action, a.symbol) for a in store.operator_actions()]
        # The refused ones in the order they arrived (they were asked at once).
        assert actions[0] == ("pause", "BTC/USDT")
        assert sorted(actions[1:3]) == [("add", "BTC/USDT"), ("pause", "DOGE/USDT")]
        assert actions[3:] == [("resume", None), ("stop --flatten", None)]
        # Each says who asked: the user at this machine, as the CLI named them.
        operator = f"{getpass.getuser()}@{socket.gethostname()}"
        assert {a.who for a in store.operator_actions()} == {f"{operator} via the status port"}
    log = (tmp_path / "basis.log").read_text()
    assert "every position is unwound: stopping" in log
    assert TOKEN not in log


def quarantined_store(data_dir: Path) -> str:
    """A store whose BTC task the venues contradicted, as recovery leaves it."""
    btc = Symbol("BTC", "USDT")
    ctx = new_context("btc_q1", btc, now=1.0).evolve(
        state=ArbitrageState.POSITION_OPEN,
        positions=Positions(LegPosition(0.003, 60_000.0), LegPosition(0.003, 60_100.0)),
    )
    with Store(data_dir / "basis.db") as store:
        record = SnapshotRecord(
            "btc_q1",
            ctx.task_type,
            "BTC/USDT",
            "position_open",
            msgspec.json.encode(ctx),
            1.0,
            False,
        )
        store.write_batch([record], [], [])
        reason = "contradicts the venues: the futures short is 0.0035 BTC, the record says 0.003"
        store.quarantine("btc_q1", reason, None, "BTC/USDT")
    return reason


def test_quarantine_list_offline_and_resolve_through_the_running_instance(tmp_path):
    data_dir = tmp_path / "data"
    reason = quarantined_store(data_dir)
    config = tmp_path / "paper.toml"
    config.write_text('symbols = ["BTC/USDT", "ETH/USDT"]\n[http]\nport = 0\n')
    before = (data_dir / "basis.db").read_bytes()

    # Two reads of the store and a resolution with no instance to ask, at once.
    listed, text, no_instance = basis_at_once(
        (("quarantine", "list", str(config), "--data-dir", str(data_dir), "--json"), ENV),
        (("quarantine", "list", str(config), "--data-dir", str(data_dir)), ENV),
        (("quarantine", "resolve", "BTC/USDT", "--forget", "--port", str(free_port())), ENV),
    )
    assert listed.returncode == 0, listed.stderr
    [entry] = json.loads(listed.stdout)
    assert (entry["symbol"], entry["task_id"], entry["reason"]) == ("BTC/USDT", "btc_q1", reason)
    assert (entry["record_spot_qty"], entry["record_futures_qty"]) == (0.003, 0.003)
    assert entry["venue_spot_held"] is None
    assert "gone" in entry["note"]
    assert "record   spot 0.003 BTC, futures short 0.003 BTC" in text.stdout
    assert (data_dir / "basis.db").read_bytes() == before  # read without writing
    assert no_instance.returncode == 2
    assert "start basis run first" in no_instance.stderr

    log = tmp_path / "basis.log"
    process, port = start_run(config, data_dir, log)
    try:
        wait_for(lambda: task_of(port, "ETH/USDT") is not None)
        assert task_of(port, "BTC/USDT") is None  # held, while the other symbol trades
        assert "BTC/USDT not started: BTC/USDT is quarantined" in log.read_text()
        status = httpx.get(f"http://127.0.0.1:{port}/status", timeout=5).json()
        assert [q["symbol"] for q in status["quarantined_symbols"]] == ["BTC/USDT"]

        # A list and a resolution the instance refuses, at once: neither changes anything.
        live, unknown = basis_at_once(
            (("quarantine", "list", "--data-dir", str(data_dir), "--port", str(port)), ENV),
            (("quarantine", "resolve", "ETH/USDT", "--adopt", "--port", str(port)), ENV),
        )
        assert live.returncode == 0, live.stderr
        assert "venues   spot 0 BTC held, futures short 0 BTC" in live.stdout
        assert unknown.returncode == 2
        assert "ETH/USDT is not quarantined" in unknown.stderr

        forgot = basis("quarantine", "resolve", "BTC/USDT", "--forget", "--port", str(port))
        assert forgot.returncode == 0, forgot.stderr
        assert "the venues untouched" in forgot.stdout
        wait_for(lambda: task_of(port, "BTC/USDT") is not None)  # a new task trades it
        assert task_of(port, "BTC/USDT")["task_id"] != "btc_q1"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    listed = basis("quarantine", "list", str(config), "--data-dir", str(data_dir))
    assert listed.stdout.strip() == "no symbol is quarantined"


def test_port_0_names_no_instance_and_is_refused_in_one_line(tmp_path):
    commands = (
        ("pause", "--port", "0"),
        ("quarantine", "resolve", "BTC/USDT", "--forget", "--port", "0"),
        ("quarantine", "list", "--data-dir", str(tmp_path), "--port", "0"),
    )
    for refused in basis_at_once(*((command, ENV) for command in commands)):
        assert refused.returncode == 2, refused
        assert refused.stderr.count("\n") == 1 and "--port 0 names no instance" in refused.stderr, (
            refused
        )
