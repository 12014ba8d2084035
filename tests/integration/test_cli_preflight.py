"""`basis preflight` against `basis sim` in a process of its own, for each pair of
simulated venues (MEXC or Binance spot with Gate.io or Binance USDⓈ-M futures): a config
the venues can trade passes, the Gate.io user id read from the venue; a wrong secret or
key, an unknown symbol, empty accounts, a fee priced too low, a leverage above the
contract's maximum, an account in dual position mode and a user id of another account
each fail on the line that names the venue and the fix, with exit 4."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from actors.venues.kinds import futures_venue, spot_venue
from tests.integration.live_on_sim import live_config

BASIS = [sys.executable, "-m", "actors.cli"]
ROOT = Path(__file__).parents[2]
KEYS = {"BASIS_SIM_KEY": "sim-key", "BASIS_SIM_SECRET": "sim-secret"}
SIM_USER_ID = "10001"
"""The simulated Gate.io account's user id (``[sim.futures] user_id``)."""
MEXC_GATEIO = ("mexc", "gateio_futures")
BINANCE = ("binance", "binance_futures")
PAIRS = [MEXC_GATEIO, BINANCE, ("mexc", "binance_futures"), ("binance", "gateio_futures")]
SAME_FAMILY = [MEXC_GATEIO, BINANCE]
"""The pairs each failing check is tried on: every venue is in one of them (a passing
config is tried on every pair)."""
TAKER_FEES = {"mexc": 0.0005, "binance": 0.001}
"""The simulated spot venues' taker fees: each venue's default rate."""


@attrs.frozen
class Sim:
    """A running ``basis sim`` serving ``pair``, at ``urls``."""

    pair: tuple[str, str]
    urls: dict

    @property
    def spot(self) -> str:
        return spot_venue(self.pair[0]).title

    @property
    def futures(self) -> str:
        return futures_venue(self.pair[1]).title

    def config(self, path: Path, symbols=("BTC/USDT",), strategy: str = "", **lines) -> Path:
        """A live config at these venues, the strategy pricing the spot venue's fee unless
        ``strategy`` prices it."""
        if "spot_fee" not in strategy:
            strategy = f"spot_fee = {TAKER_FEES[self.pair[0]]}\n{strategy}"
        return live_config(path, self.urls, symbols, strategy, pair=self.pair, **lines)


def pair_id(pair: tuple[str, str]) -> str:
    return "/".join(pair)


def start_sim(
    tmp_path: Path, sim_table: str = "", pair: tuple[str, str] = MEXC_GATEIO
) -> tuple[subprocess.Popen, dict]:
    config = tmp_path / "sim.toml"
    config.write_text(f"[sim]\nseed = 5\n{sim_table}")
    sim = subprocess.Popen(
        [*BASIS, "sim", "--config", str(config), "--pair", pair_id(pair)],
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


def preflights_at_once(
    *commands: tuple[Path | str, ...],
) -> list[subprocess.CompletedProcess]:
    """``basis preflight`` with each of ``commands`` (the config, then options), all
    started at once with the simulated venues' keys; each one's outcome, in order."""
    started = [
        subprocess.Popen(
            [*BASIS, "preflight", *map(str, command)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, **KEYS},
        )
        for command in commands
    ]
    done = []
    for command, process in zip(commands, started, strict=True):
        out, err = process.communicate(timeout=90)
        done.append(subprocess.CompletedProcess(command, process.returncode, out, err))
    return done


def checks(result: subprocess.CompletedProcess) -> dict[str, dict]:
    return {check["check"]: check for check in json.loads(result.stdout)["checks"]}


def failing(result: subprocess.CompletedProcess) -> dict[str, dict]:
    return {name: check for name, check in checks(result).items() if not check["ok"]}


ETH_AT_MOST_2X = '[sim.futures]\ncontract_max_leverage = {"ETH/USDT" = 2.0}\n'
"""The venues the tests share: their perpetuals take ETH at 2x at most (a config at 1x,
as the others are, is within it)."""


@pytest.fixture(scope="module", params=SAME_FAMILY, ids=pair_id)
def sim(request, tmp_path_factory) -> Iterator[Sim]:
    process, urls = start_sim(tmp_path_factory.mktemp("sim"), ETH_AT_MOST_2X, request.param)
    try:
        yield Sim(request.param, urls)
    finally:
        stop(process)


@pytest.fixture(params=SAME_FAMILY, ids=pair_id)
def pair(request) -> tuple[str, str]:
    return request.param


@pytest.mark.parametrize("sim", PAIRS, ids=pair_id, indirect=True)
def test_a_config_the_venues_can_trade_passes_every_check(sim, tmp_path):
    config = sim.config(tmp_path / "live.toml", ["BTC/USDT", "ETH/USDT"])
    result = preflight(config, None, "--json")
    found = checks(result)
    per_venue = ["keys", "clock", "balance", "private stream"]
    per_symbol = ["lists", "fee"]
    # Only Gate.io names the account by a user id; Binance's key names it.
    user_id = {f"{sim.futures} user id"} if sim.pair[1] == "gateio_futures" else set()
    assert set(found) == {
        *(f"{venue} {what}" for venue in (sim.spot, sim.futures) for what in per_venue),
        *(
            f"{venue} {what} {symbol}"
            for venue in (sim.spot, sim.futures)
            for what in per_symbol
            for symbol in ("BTC/USDT", "ETH/USDT")
        ),
        # Leverage is set per traded contract; the position mode is the account's.
        f"{sim.futures} leverage BTC/USDT",
        f"{sim.futures} leverage ETH/USDT",
        f"{sim.futures} position mode",
        *user_id,
    }
    assert [check for check in found.values() if not check["ok"]] == []
    if user_id:
        assert found["Gate.io user id"]["detail"] == (
            f"{SIM_USER_ID}, read from the venue (venues.futures.user_id is unset)"
        )
    leverage = found[f"{sim.futures} leverage BTC/USDT"]["detail"]
    assert leverage.startswith("set to 1x at isolated margin")


def test_a_config_the_venues_can_trade_exits_0(sim, tmp_path):
    result = preflight(sim.config(tmp_path / "live.toml"))
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[-1] == "preflight passed: every check ok"


def test_a_wrong_secret_fails_the_key_checks_naming_the_variables(sim, tmp_path):
    config = sim.config(tmp_path / "live.toml")
    result = preflight(config, {**KEYS, "BASIS_SIM_SECRET": "not-the-secret"})
    assert result.returncode == 4
    lines = result.stdout.splitlines()
    for venue in (sim.spot, sim.futures):
        at = next(i for i, line in enumerate(lines) if line.startswith(f"FAILING  {venue} keys:"))
        assert f"fix: set BASIS_SIM_KEY and BASIS_SIM_SECRET to a {venue} API key" in lines[at + 1]
    assert lines[-1].startswith("preflight failed:")


@pytest.mark.parametrize("sim", [BINANCE], ids=pair_id, indirect=True)
def test_a_key_binance_refuses_fails_with_every_cause_it_may_have(sim, tmp_path):
    """Binance answers -2015 alike for an unknown key, an IP off the key's whitelist and
    a permission the key lacks: the fix names all three, on each venue."""
    config = sim.config(tmp_path / "live.toml")
    result = preflight(config, {**KEYS, "BASIS_SIM_KEY": "not-the-key"}, "--json")
    assert result.returncode == 4
    found = failing(result)
    for venue, permission in (
        ("Binance", '"Spot & Margin Trading"'),
        ("Binance USDⓈ-M futures", '"Futures"'),
    ):
        keys = found[f"{venue} keys"]
        assert keys["detail"].startswith("the venue answered -2015")
        assert keys["fix"] == (
            f"set BASIS_SIM_KEY and BASIS_SIM_SECRET to a {venue} API key and its secret, "
            f"exactly as the venue showed them. If they are, enable {permission} for the key "
            "on Binance's API Management page, and add this machine's IP address to the "
            "key's whitelist if it has one"
        )


def test_an_unknown_symbol_fails_on_both_venues(sim, tmp_path):
    config = sim.config(tmp_path / "live.toml", ["DOGE/USDT"])
    result = preflight(config, None, "--json")
    assert result.returncode == 4
    found = failing(result)
    for venue in (sim.spot, sim.futures):
        assert found[f"{venue} lists DOGE/USDT"]["fix"] == (
            "remove DOGE/USDT from symbols, or name one both venues trade"
        )


def test_a_fee_priced_below_the_venues_fails_naming_the_key(sim, tmp_path):
    config = sim.config(tmp_path / "live.toml", strategy="spot_fee = 0.0001")
    result = preflight(config, None, "--json")
    assert result.returncode == 4
    fee = failing(result)[f"{sim.spot} fee BTC/USDT"]
    assert fee["fix"] == f"set strategy.spot_fee to at least {TAKER_FEES[sim.pair[0]]:g}"


def test_empty_accounts_fail_the_balance_checks(tmp_path, pair):
    process, urls = start_sim(
        tmp_path, "[sim.spot]\nbalances = {}\n[sim.futures]\nbalance_usdt = 0.0\n", pair
    )
    sim = Sim(pair, urls)
    try:
        result = preflight(sim.config(tmp_path / "live.toml"), None, "--json")
    finally:
        stop(process)
    assert result.returncode == 4
    found = failing(result)
    spot = {"mexc": "MEXC spot account", "binance": "Binance spot account"}[pair[0]]
    futures = {
        "gateio_futures": "Gate.io USDT futures account",
        "binance_futures": "Binance USDⓈ-M futures account",
    }[pair[1]]
    # Each symbol's buy with its fee; its short at 1x with its fee (0.0005).
    need = 200.0 * (1.0 + TAKER_FEES[pair[0]])
    assert found[f"{sim.spot} balance"]["detail"].startswith("0.00 USDT free")
    assert found[f"{sim.spot} balance"]["fix"].startswith(
        f"add at least {need:.2f} USDT to the {spot}"
    )
    assert found[f"{sim.futures} balance"]["fix"].startswith(
        f"add at least 200.10 USDT to the {futures}"
    )


# Only Gate.io names the account by a user id.
@pytest.mark.parametrize(
    "sim", [pair for pair in PAIRS if pair[1] == "gateio_futures"], ids=pair_id, indirect=True
)
def test_a_user_id_of_another_account_fails_with_the_accounts_own(sim, tmp_path):
    config = sim.config(tmp_path / "live.toml", futures='user_id = "424242"')
    result = preflight(config, None, "--json")
    assert result.returncode == 4
    found = failing(result)
    assert set(found) == {"Gate.io user id", "Gate.io private stream"}
    assert found["Gate.io user id"]["detail"] == "venues.futures.user_id names another account"
    fix = found["Gate.io user id"]["fix"]
    assert f"belongs to Gate.io user {SIM_USER_ID}: remove user_id" in fix
    # The stream is not opened on the configured user id: it says why, as the check does.
    assert found["Gate.io private stream"]["detail"] == fix


def test_a_user_id_is_refused_where_the_key_names_the_account(tmp_path):
    config = live_config(
        tmp_path / "live.toml",
        {f"{venue}_{end}": "http://127.0.0.1:9" for venue in BINANCE for end in ("rest", "ws")},
        futures='user_id = "424242"',
        pair=("binance", "binance_futures"),
    )
    result = preflight(config)
    assert result.returncode == 2
    assert "remove user_id" in result.stderr


LEVERAGE_REFUSED = {
    "gateio_futures": ("LEVERAGE_TOO_HIGH", "from 1 to the contract's leverage_max"),
    "binance_futures": (
        "-4028",
        "a whole number from 1 to the symbol's highest leverage bracket",
    ),
}
"""Each perpetual venue's refusal of a leverage too high, and what it allows."""


def test_a_leverage_above_the_contracts_maximum_fails_naming_the_key(sim, tmp_path):
    # The shared venues take ETH at 2x at most (ETH_AT_MOST_2X).
    refused, allowed = LEVERAGE_REFUSED[sim.pair[1]]
    config = sim.config(tmp_path / "live.toml", ["BTC/USDT", "ETH/USDT"], "futures_leverage = 3")
    result = preflight(config, None, "--json")
    assert result.returncode == 4
    found = failing(result)
    name = f"{sim.futures} leverage ETH/USDT"
    assert set(found) == {name}
    assert refused in found[name]["detail"]
    assert found[name]["fix"] == (
        f"set strategy.futures_leverage within what {sim.futures} allows for ETH/USDT ({allowed})"
    )


@pytest.mark.parametrize(
    ("pair", "account", "one_way"),
    [
        (MEXC_GATEIO, "Gate.io USDT futures account", "single"),
        (BINANCE, "Binance USDⓈ-M futures account", "one-way"),
    ],
    ids=["Gate.io", "Binance"],
)
def test_an_account_in_dual_mode_fails_with_the_fix(tmp_path, pair, account, one_way):
    """Preflight only reads the position mode, the whole account's: the Binance router
    switches it at start when it can, but preflight leaves it as it is."""
    process, urls = start_sim(tmp_path, "[sim.futures]\ndual_mode = true\n", pair)
    sim = Sim(pair, urls)
    try:
        # As text and as JSON, asked at once: preflight only reads the mode.
        result, again = preflights_at_once(
            (sim.config(tmp_path / "live.toml"),), (sim.config(tmp_path / "live.toml"), "--json")
        )
    finally:
        stop(process)
    assert result.returncode == 4
    lines = result.stdout.splitlines()
    at = lines.index(
        f"FAILING  {sim.futures} position mode: dual (hedge) mode: a long and a short per contract"
    )
    assert lines[at + 1] == (
        f"           fix: switch the {account} to {one_way} position mode; "
        "Basis holds one short per contract and refuses dual mode"
    )
    assert [line for line in lines if line.startswith("FAILING")] == [lines[at]]
    assert lines[-1] == f"preflight failed: 1 of {len(lines) - 2} checks failing"
    assert not checks(again)[f"{sim.futures} position mode"]["ok"]


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
