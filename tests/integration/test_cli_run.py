"""`basis` as a user runs it: a real process, real signals."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

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


def test_a_bounded_run_stops_gracefully_with_exit_code_0():
    result = subprocess.run(
        [*BASIS, "run", "--duration", "1.5", "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "'ticker' started" in result.stderr
    assert "run time of 1.5 s reached: stopping" in result.stderr
    assert result.stderr.rstrip().endswith("'ticker' stopped")  # first up, last down


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_gracefully_in_reverse_order(signum):
    process = subprocess.Popen([*BASIS, "run", "--seed", "1"], stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 30
        while not any("'linked-pair' started" in line for line in lines):
            assert time.monotonic() < deadline, lines
            lines.append(process.stderr.readline())
        process.send_signal(signum)
        _, rest = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, rest
    name = signal.Signals(signum).name
    assert f"{name} received: stopping gracefully" in rest
    stopped = [line.split("'")[3] for line in rest.splitlines() if line.endswith("stopped")]
    assert stopped[-3:] == ["linked-pair", "flaky-worker", "ticker"]
