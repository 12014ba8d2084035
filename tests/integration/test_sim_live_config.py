"""The README's commands for running against a separately started `basis sim`, as it
writes them: `basis sim` on the documented ports in one process, then, with the exported
made-up keys, `basis preflight`, `basis run` (bounded by --duration) and `basis record`
(a shorter recording, into a temporary file: quotes and funding rates) on
`configs/sim-live.toml`."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.backtest.quote_files import FUNDING_RATE, LEGS, QuoteFile

from .test_cli_preflight import stop

ROOT = Path(__file__).parents[2]
BASIS = [sys.executable, "-m", "actors.cli"]
SECTION = "### Against `basis sim` in live mode"


def documented_commands() -> list[str]:
    """The lines of the section's shell blocks, in order."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = section.split("```sh\n")[1:]
    return [line for block in blocks for line in block.split("```", 1)[0].splitlines() if line]


def command(line: str) -> list[str]:
    words = shlex.split(line)
    assert words[0] == "basis", line
    return [*BASIS, *words[1:]]


def exported(lines: list[str]) -> dict[str, str]:
    line = next(line for line in lines if line.startswith("export "))
    return dict(word.split("=", 1) for word in shlex.split(line)[1:])


def documented(lines: list[str], start: str) -> str:
    return next(line for line in lines if line.startswith(start))


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return documented_commands()


@pytest.fixture(scope="module")
def env(lines, tmp_path_factory) -> dict[str, str]:
    data = tmp_path_factory.mktemp("data")
    return {**os.environ, **exported(lines), "BASIS_DATA_DIR": str(data)}


@pytest.fixture(scope="module")
def sim(lines) -> Iterator[dict]:
    process = subprocess.Popen(
        command(documented(lines, "basis sim ")),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    try:
        urls = json.loads(process.stdout.readline())
        yield urls
    finally:
        stop(process)


def test_the_config_names_the_documented_sim(sim):
    text = (ROOT / "configs" / "sim-live.toml").read_text()
    for url in (sim["mexc_rest"], sim["mexc_ws"], sim["gateio_rest"], sim["gateio_ws"]):
        assert f'"{url}"' in text


def test_documented_preflight_passes_every_check_and_exits_0(sim, lines, env):
    result = subprocess.run(
        command(documented(lines, "basis preflight ")),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=90,
    )
    assert result.returncode == 0, result.stdout
    *checks, verdict = result.stdout.splitlines()
    # Per venue: keys, clock, balance, private stream; per symbol and venue: listed, fee;
    # per contract: leverage; the Gate.io account's position mode and user id.
    assert len(checks) == 4 * 2 + 2 * 2 * 2 + 2 + 2
    assert [line for line in checks if not line.startswith("ok ")] == []
    assert verdict == "preflight passed: every check ok"


def test_documented_run_starts_and_stops_cleanly(sim, lines, env):
    result = subprocess.run(
        [*command(documented(lines, "basis run ")), "--duration", "4", "--no-view", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout.splitlines()[-1])
    assert [task["symbol"] for task in status["tasks"]] == ["BTC/USDT", "ETH/USDT"]
    assert "run time of 4 s reached: stopping" in result.stderr
    assert "supervisor 'basis': 'writer' stopped" in result.stderr.splitlines()[-1]


def test_documented_record_records_both_venues(sim, lines, env, tmp_path):
    words = command(documented(lines, "basis record "))
    out = tmp_path / "quotes.csv"
    words[words.index("--duration") + 1] = "3"
    words[words.index("--out") + 1] = str(out)
    result = subprocess.run(words, capture_output=True, text=True, cwd=ROOT, env=env, timeout=90)
    assert result.returncode == 0, result.stderr
    with QuoteFile(out) as source:
        rows = list(source)
    symbols = ("BTC/USDT", "ETH/USDT")
    assert {(row[1], row[2]) for row in rows if row[1] in LEGS} == {
        (leg, symbol) for leg in LEGS for symbol in symbols
    }
    assert {row[2] for row in rows if row[1] == FUNDING_RATE} == set(symbols)
