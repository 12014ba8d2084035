"""`basis preflight` against `basis sim` in a process of its own: a config the simulated
venues can trade passes, the Gate.io user id read from the venue; a wrong secret, an
unknown symbol, empty accounts, a fee priced too low, a leverage above the contract's
maximum, an account in dual position mode and a user id of another account each fail on
the line that names the fix, with exit 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.live_on_sim import live_config

BASIS = [sys.executable, "-m", "actors.cli"]
ROOT = Path(__file__).parents[2]
KEYS = {"BASIS_SIM_KEY": "sim-key", "BASIS_SIM_SECRET": "sim-secret"}
SIM_USER_ID = "10001"
"""The simulated Gate.io account's user id (``[sim.futures] user_id``)."""


def start_sim(tmp_path: Path, sim_table: str = "") -> tuple[subprocess.Popen, dict]:
    config = tmp_path / "sim.toml"
    config.write_text(f"[sim]\nseed = 5\n{sim_table}")
    sim = subprocess.Popen(
        [*BASIS, "sim", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    line = sim.stdout.readline()
    assert line, "basis sim ended before printing its URLs"
    return sim, json.loads(line)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    finally:
        process.kill()
        if process.stdout is not None:
            process.stdout.close()


def preflight(config: Path, env: dict[str, str] | None = None, *extra: str):
    return subprocess.run(
        [*BASIS, "preflight", str(config), *extra],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(KEYS if env is None else env)},
        timeout=90,
    )


def checks(result: subprocess.CompletedProcess) -> dict[str, dict]:
    return {check["check"]: check for check in json.loads(result.stdout)["checks"]}


def failing(result: subprocess.CompletedProcess) -> dict[str, dict]:
    return {name: check for name, check in checks(result).items() if not check["ok"]}


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Iterator[dict]:
    process, urls = start_sim(tmp_path_factory.mktemp("sim"))
    try:
        yield urls
    finally:
        stop(process)


def test_a_config_the_venues_can_trade_passes_every_check(sim, tmp_path):
    config = live_config(tmp_path / "live.toml", sim, ["BTC/USDT", "ETH/USDT"])
    result = preflight(config, None, "--json")
    found = checks(result)
    per_venue = ["keys", "clock", "balance", "private stream"]
    per_symbol = ["lists", "fee"]
    assert set(found) == {
        *(f"{venue} {what}" for venue in ("MEXC", "Gate.io") for what in per_venue),
        *(
            f"{venue} {what} {symbol}"
            for venue in ("MEXC", "Gate.io")
            for what in per_symbol
            for symbol in ("BTC/USDT", "ETH/USDT")
        ),
        # Leverage is set per traded contract; the position mode is the account's.
        "Gate.io leverage BTC/USDT",
        "Gate.io leverage ETH/USDT",
        "Gate.io position mode",
        "Gate.io user id",
    }
    assert [check for check in found.values() if not check["ok"]] == []
    assert found["Gate.io user id"]["detail"] == (
        f"{SIM_USER_ID}, read from the venue (venues.futures.user_id is unset)"
    )
    assert found["Gate.io leverage BTC/USDT"]["detail"].startswith("set to 1x at isolated margin")


def test_a_config_the_venues_can_trade_exits_0(sim, tmp_path):
    result = preflight(live_config(tmp_path / "live.toml", sim))
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[-1] == "preflight passed: every check ok"


def test_a_wrong_secret_fails_the_key_checks_naming_the_variables(sim, tmp_path):
    config = live_config(tmp_path / "live.toml", sim)
    result = preflight(config, {**KEYS, "BASIS_SIM_SECRET": "not-the-secret"})
    assert result.returncode == 4
    lines = result.stdout.splitlines()
    for venue in ("MEXC", "Gate.io"):
        at = next(i for i, line in enumerate(lines) if line.startswith(f"FAILING  {venue} keys:"))
        assert "fix: set BASIS_SIM_KEY and BASIS_SIM_SECRET to a" in lines[at + 1]
    assert lines[-1].startswith("preflight failed:")


def test_an_unknown_symbol_fails_on_both_venues(sim, tmp_path):
    config = live_config(tmp_path / "live.toml", sim, ["DOGE/USDT"])
    result = preflight(config, None, "--json")
    assert result.returncode == 4
    found = failing(result)
    for venue in ("MEXC", "Gate.io"):
        assert found[f"{venue} lists DOGE/USDT"]["fix"] == (
            "remove DOGE/USDT from symbols, or name one both venues trade"
        )


def test_a_fee_priced_below_the_venues_fails_naming_the_key(sim, tmp_path):
    config = live_config(tmp_path / "live.toml", sim, strategy="spot_fee = 0.0001")
    result = preflight(config, None, "--json")
    assert result.returncode == 4
    fee = failing(result)["MEXC fee BTC/USDT"]
    assert fee["fix"] == "set strategy.spot_fee to at least 0.0005"


def test_empty_accounts_fail_the_balance_checks(tmp_path):
    process, urls = start_sim(
        tmp_path, "[sim.spot]\nbalances = {}\n[sim.futures]\nbalance_usdt = 0.0\n"
    )
    try:
        result = preflight(live_config(tmp_path / "live.toml", urls), None, "--json")
    finally:
        stop(process)
    assert result.returncode == 4
    found = failing(result)
    assert found["MEXC balance"]["detail"].startswith("0.00 USDT free")
    assert found["MEXC balance"]["fix"].startswith("add at least 200.10 USDT to the MEXC spot")
    assert found["Gate.io balance"]["fix"].startswith(
        "add at least 200.10 USDT to the Gate.io USDT futures account"
    )


def test_a_user_id_of_another_account_fails_with_the_accounts_own(sim, tmp_path):
    config = live_config(tmp_path / "live.toml", sim, futures='user_id = "424242"')
    result = preflight(config, None, "--json")
    assert result.returncode == 4
    found = failing(result)
    assert set(found) == {"Gate.io user id", "Gate.io private stream"}
    assert found["Gate.io user id"]["detail"] == "venues.futures.user_id names another account"
    fix = found["Gate.io user id"]["fix"]
    assert f"belongs to Gate.io user {SIM_USER_ID}: remove user_id" in fix
    # The stream is not opened on the configured user id: it says why, as the check does.
    assert found["Gate.io private stream"]["detail"] == fix


def test_a_leverage_above_the_contracts_maximum_fails_naming_the_key(tmp_path):
    process, urls = start_sim(
        tmp_path, '[sim.futures]\ncontract_max_leverage = {"ETH/USDT" = 2.0}\n'
    )
    try:
        config = live_config(
            tmp_path / "live.toml", urls, ["BTC/USDT", "ETH/USDT"], "futures_leverage = 3.0"
        )
        result = preflight(config, None, "--json")
    finally:
        stop(process)
    assert result.returncode == 4
    found = failing(result)
    assert set(found) == {"Gate.io leverage ETH/USDT"}
    assert "LEVERAGE_TOO_HIGH" in found["Gate.io leverage ETH/USDT"]["detail"]
    assert found["Gate.io leverage ETH/USDT"]["fix"] == (
        "set strategy.futures_leverage within what Gate.io allows for ETH/USDT "
        "(from 1 to the contract's leverage_max)"
    )


def test_an_account_in_dual_mode_fails_with_the_fix(tmp_path):
    process, urls = start_sim(tmp_path, "[sim.futures]\ndual_mode = true\n")
    try:
        result = preflight(live_config(tmp_path / "live.toml", urls))
    finally:
        stop(process)
    assert result.returncode == 4
    lines = result.stdout.splitlines()
    at = lines.index(
        "FAILING  Gate.io position mode: dual (hedge) mode: a long and a short per contract"
    )
    assert lines[at + 1] == (
        "           fix: switch the Gate.io USDT futures account to single position mode; "
        "Basis holds one short per contract and refuses dual mode"
    )
    assert [line for line in lines if line.startswith("FAILING")] == [lines[at]]
    assert lines[-1] == f"preflight failed: 1 of {len(lines) - 2} checks failing"


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ('mode = "paper"\n', KEYS, "preflight checks the venues of a live config"),
        (
            'mode = "live"\n[venues.spot]\nkind = "mexc"\napi_key_env = "K"\n'
            'api_secret_env = "S"\n[venues.futures]\nkind = "gateio_futures"\n'
            'api_key_env = "K"\napi_secret_env = "S"\n',
            {},
            "set K, S",
        ),
    ],
)
def test_a_config_it_cannot_check_is_exit_2(tmp_path, text, env, message):
    config = tmp_path / "basis.toml"
    config.write_text(text)
    result = preflight(config, {"K": "", "S": ""} | env)
    assert result.returncode == 2
    assert message in result.stderr


def test_help_has_an_example():
    result = subprocess.run(
        [*BASIS, "preflight", "--help"], capture_output=True, text=True, check=True
    )
    assert "Example: basis preflight configs/sim-live.toml" in result.stdout
    assert "--json" in result.stdout
