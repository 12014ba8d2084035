"""`basis` as a user runs it: a real process, real signals."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

BASIS = [sys.executable, "-m", "actors.cli"]


def test_help_lists_the_commands_with_an_example():
    result = subprocess.run([*BASIS, "--help"], capture_output=True, text=True, check=True)
    assert "run" in result.stdout
    assert "Example: basis" in result.stdout
    result = subprocess.run([*BASIS, "run", "--help"], capture_output=True, text=True, check=True)
    assert "--duration" in result.stdout
    assert "Example: basis run" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--duration", "soon"], "expected a number of seconds, got 'soon'"),
        (["run", "--duration", "-3"], "expected a positive number of seconds, got '-3'"),
        (["fly"], "invalid choice: 'fly'"),
    ],
)
def test_bad_arguments_name_the_problem(args, message):
    result = subprocess.run([*BASIS, *args], capture_output=True, text=True)
    assert result.returncode == 2
    assert message in result.stderr


def config_file(tmp_path):
    path = tmp_path / "basis.toml"
    path.write_text('symbols = ["BTC/USDT"]\n[http]\nport = 0\n[sim]\nseed = 3\n')
    return path


def wait_until_serving(process: subprocess.Popen) -> list[str]:
    """Reads a running ``basis run``'s log until it says its status port is open; the
    lines read."""
    lines: list[str] = []
    deadline = time.monotonic() + 30
    while not any("status on http://127.0.0.1:" in line for line in lines):
        assert time.monotonic() < deadline, lines
        lines.append(process.stderr.readline())
    return lines


def test_a_bounded_run_stops_gracefully_and_prints_its_final_status(tmp_path):
    result = subprocess.run(
        [
            *BASIS,
            "run",
            str(config_file(tmp_path)),
            "--duration",
            "3",
            "--json",
            "--data-dir",
            str(tmp_path / "data"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout.splitlines()[-1])
    assert [t["symbol"] for t in status["tasks"]] == ["BTC/USDT"]
    assert {f["name"] for f in status["feeds"]} == {"feed-mexc", "feed-gateio_futures"}
    assert "run time of 3 s reached: stopping" in result.stderr
    stops = [line for line in result.stderr.splitlines() if line.endswith(" stopped")]
    # The writer is the system's first up and last down; paper mode's simulated venues
    # outlive the system.
    assert stops[-2].endswith("supervisor 'basis': 'writer' stopped")
    assert stops[-1].endswith("supervisor 'venues': 'sim' stopped")
    log_lines = (tmp_path / "data" / "logs" / "basis.jsonl").read_text().splitlines()
    assert all(json.loads(line)["message"] for line in log_lines)
    assert not any("quote" in json.loads(line)["message"].lower() for line in log_lines)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_gracefully_in_reverse_order(tmp_path, signum):
    process = subprocess.Popen(
        [*BASIS, "run", str(config_file(tmp_path)), "--data-dir", str(tmp_path / "data")],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        wait_until_serving(process)
        process.send_signal(signum)
        _, rest = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, rest
    name = signal.Signals(signum).name
    assert f"{name} received: stopping gracefully" in rest
    stopped = [line.split("'")[3] for line in rest.splitlines() if line.endswith("stopped")]
    # The simulated venues of paper mode outlive the system: they stop last.
    assert [s for s in stopped if s in ("strategies", "routers", "feeds", "sim", "writer")] == [
        "strategies",
        "routers",
        "feeds",
        "writer",
        "sim",
    ]


def test_a_taken_status_port_is_one_line_and_exit_2_and_leaves_the_store_alone(tmp_path):
    data = tmp_path / "data"
    first = subprocess.run(
        [*BASIS, "run", str(config_file(tmp_path)), "--duration", "2", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert first.returncode == 0, first.stderr

    def store_files() -> dict[str, bytes]:
        return {path.name: path.read_bytes() for path in data.glob("basis.db*")}

    before = store_files()
    assert "basis.db" in before
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "taken.toml"
        config.write_text(f'symbols = ["BTC/USDT"]\n[http]\nport = {port}\n')
        result = subprocess.run(
            [*BASIS, "run", str(config), "--duration", "2", "--data-dir", str(data)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert f"127.0.0.1:{port}" in line
    assert "[http] port" in line
    assert "Traceback" not in result.stderr
    assert store_files() == before


def test_live_mode_without_keys_names_the_variables(tmp_path):
    config = tmp_path / "live.toml"
    config.write_text(
        'mode = "live"\n[venues.spot]\nkind = "mexc"\napi_key_env = "BASIS_TEST_MEXC_KEY"\n'
        'api_secret_env = "BASIS_TEST_MEXC_SECRET"\n[venues.futures]\nkind = "gateio_futures"\n'
        'api_key_env = "BASIS_TEST_GATE_KEY"\napi_secret_env = "BASIS_TEST_GATE_SECRET"\n'
    )
    result = subprocess.run([*BASIS, "run", str(config)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "set BASIS_TEST_MEXC_KEY, BASIS_TEST_MEXC_SECRET, BASIS_TEST_GATE_KEY" in result.stderr


def test_the_stress_demo_reports_its_figures(tmp_path):
    result = subprocess.run(
        [*BASIS, "demo", "stress", "--symbols", "6", "--duration", "3"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("== stress: 6 strategies")
    assert "decision lag p99, every quote" in result.stdout
    # Feeds dropped and resynced over the run are counted: they explain quotes short.
    assert re.search(r"\n  feeds: \d+ connections opened, \d+ books resynced", result.stdout)
    assert "MB per strategy" in result.stdout
    # The venues run in a process of their own, their CPU told apart from the system's.
    assert "CPU, trading process:" in result.stdout
    assert "CPU, venues' process:" in result.stdout
    for group in ("strategies", "routers", "writer"):
        assert f"mailbox depth, {group} (deepest one): peak " in result.stdout


def test_the_recovery_demo_brings_the_strategies_back(tmp_path):
    result = subprocess.run(
        [*BASIS, "demo", "recovery", "--duration", "3", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    back = [line for line in result.stderr.splitlines() if "came back" in line]
    assert len(back) == 2
    assert all("restored in state" in result.stderr for _ in back)


def test_status_asks_the_running_instance(tmp_path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "basis.toml"
    config.write_text(f'symbols = ["BTC/USDT"]\n[http]\nport = {port}\n')
    process = subprocess.Popen(
        [*BASIS, "run", str(config), "--data-dir", str(tmp_path / "data")],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        lines = wait_until_serving(process)
        # Paper mode says where its simulated venues take control requests.
        [control] = re.findall(
            r"simulated venues: control API on (http://127\.0\.0\.1:\d+)$", "".join(lines), re.M
        )
        held = httpx.post(f"{control}/hold", json={"seconds": 1.0}, timeout=10)
        assert held.status_code == 200, held.text
        assert held.json()["held_until"] == pytest.approx(time.time() + 1.0, abs=2.0)
        asked = subprocess.run(
            [*BASIS, "status", str(config), "--json"], capture_output=True, text=True, timeout=30
        )
        view = subprocess.run(
            [*BASIS, "status", str(config)], capture_output=True, text=True, timeout=30
        )
    finally:
        process.terminate()
        process.communicate(timeout=30)
    assert asked.returncode == 0, asked.stderr
    assert [t["symbol"] for t in json.loads(asked.stdout)["tasks"]] == ["BTC/USDT"]
    assert "BTC/USDT" in view.stdout and "feed-mexc" in view.stdout
    nobody = subprocess.run([*BASIS, "status", "--port", str(port)], capture_output=True, text=True)
    assert nobody.returncode == 2
    assert "no instance answers" in nobody.stderr


def test_a_second_instance_on_one_data_dir_is_refused_and_leaves_the_store_alone(tmp_path):
    data = tmp_path / "data"
    first = subprocess.Popen(
        [*BASIS, "run", str(config_file(tmp_path)), "--data-dir", str(data)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        wait_until_serving(first)
        # The first keeps trading meanwhile: compare the store with itself only once it
        # has stopped, and the second's refusal by what it wrote (nothing).
        second = subprocess.run(
            [*BASIS, "run", str(config_file(tmp_path)), "--duration", "2", "--data-dir", str(data)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
    finally:
        first.kill()
    assert second.returncode == 2, second.stderr
    [line] = second.stderr.splitlines()
    assert f"in use by another basis instance (process {first.pid})" in line
    assert "Traceback" not in second.stderr
    again = subprocess.run(
        [*BASIS, "run", str(config_file(tmp_path)), "--data-dir", str(data), "--duration", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr  # the lock went with the first


HOLD = (
    "import sys, time; from pathlib import Path; "
    "from actors.runtime.persistence.data_dir_lock import DataDirLock; "
    "lock = DataDirLock(Path(sys.argv[1])); print('held', flush=True); time.sleep(60)"
)


def test_a_refused_second_instance_leaves_the_store_byte_identical(tmp_path):
    data = tmp_path / "data"
    first = subprocess.run(
        [*BASIS, "run", str(config_file(tmp_path)), "--duration", "2", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert first.returncode == 0, first.stderr
    before = {path.name: path.read_bytes() for path in data.rglob("*") if path.is_file()}
    assert "basis.db" in before
    # Another instance's lock, held by a process that writes nothing else meanwhile.
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(data)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "held\n"
        second = subprocess.run(
            [*BASIS, "run", str(config_file(tmp_path)), "--duration", "2", "--data-dir", str(data)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        holder.kill()
        holder.communicate()
    assert second.returncode == 2, second.stderr
    assert f"process {holder.pid}" in second.stderr
    after = {path.name: path.read_bytes() for path in data.rglob("*") if path.is_file()}
    before.pop("basis.lock")
    after.pop("basis.lock")
    assert after == before
