"""The simulated venues pass for the real ones with a client Basis did not write: ccxt,
a widely used exchange library, used as a black box against ``basis sim``.

It loads the markets (MEXC spot, Gate.io USDT perpetuals), reads tickers, books,
balances, positions and funding rates, places, queries, lists and cancels limit and
market orders (by id and by client id), reads its trades, sets leverage and is refused
for a bad signature; its websocket subscriptions (tickers, book tickers, order books)
must stay alive while they are watched. Against Binance spot and USDⓈ-M (ccxt's
``binance`` and ``binanceusdm``, a second ``basis sim`` serving that pair) it loads the
markets, reads the book, the balance and the funding rate, places orders and finds them
by id and by client id, lists and cancels them, reads its trades and positions, and is
refused for a bad signature. Each ``basis sim`` runs as its own process on 127.0.0.1,
each check script in another; the checks are in ``independent_client/ccxt_checks.py``
and ``independent_client/binance_ccxt_checks.py``, which print one result per check.
The Binance checks run while the others watch their subscriptions.

``make test`` watches the subscriptions for 6 s with Gate.io pinging every 1.5 s and
dropping a client whose pong is 3 s late, so a client that stopped answering pings
would be dropped 4.5 s in, within the watch; ``make soak`` watches them for a minute, as
a trading bot's would, at the venue's own ping pace.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import trio

from actors.sim.config import (
    DEFAULT_SYMBOLS,
    VENUE_SETTINGS,
    FuturesVenueConfig,
    SpotVenueConfig,
)
from tests.integration.sim_process import STARTUP_S, basis_sim, run_script

CHECKS = Path(__file__).parent / "independent_client" / "ccxt_checks.py"
BINANCE_CHECKS = Path(__file__).parent / "independent_client" / "binance_ccxt_checks.py"
QUICK_PINGS = """\
[sim]
seed = 7
[sim.servers]
gateio_ping_interval_s = 1.5
gateio_pong_timeout_s = 3.0
"""
BINANCE_SIM = ["--pair", "binance/binance_futures", "--seed", "7"]
BINANCE_CHECKS_S = 60.0
"""The checks take a few seconds; the rest is a loaded machine's slack."""


def binance_expected() -> dict:
    """What the Binance checks must find: BTC/USDT's rules and the accounts' starting
    USDT, as ``basis sim`` configures them by default."""
    btc = DEFAULT_SYMBOLS[0]
    assert str(btc.symbol) == "BTC/USDT"
    return {
        "binance": {
            "amount_step": btc.spot_rules.qty_step,
            "price_tick": btc.spot_rules.price_tick,
            "min_notional": btc.spot_rules.min_notional,
            "usdt": SpotVenueConfig().balances["USDT"],
        },
        "binance_futures": {
            "contract_size": btc.futures_rules.contract_size,
            "usdt": FuturesVenueConfig().balance_usdt,
            "taker_fee": VENUE_SETTINGS["binance_futures"]["taker_fee"],
        },
    }


def failures(results: list[dict]) -> str:
    lines = []
    for result in results:
        if not result["ok"]:
            lines.append(f"{result['venue']}: {result['check']}: {result['error']}")
            lines.extend(f"    {request}" for request in result["requests"])
    return "\n".join(lines)


async def check_with_ccxt(tmp_path: Path, sim_args: list[str], ws_seconds: float) -> None:
    endings = []

    async def run(command: list[str], checks_s: float) -> None:
        endings.append(await run_script(command, STARTUP_S + checks_s))

    async with (
        basis_sim(tmp_path / "sim.log", sim_args) as (line, _),
        basis_sim(tmp_path / "binance-sim.log", BINANCE_SIM) as (binance_line, _),
        trio.open_nursery() as nursery,
    ):
        command = [sys.executable, str(CHECKS), "--urls", line.decode()]
        nursery.start_soon(run, [*command, "--ws-seconds", str(ws_seconds)], ws_seconds)
        expected = json.dumps(binance_expected())
        binance = [sys.executable, str(BINANCE_CHECKS), "--urls", binance_line.decode()]
        nursery.start_soon(run, [*binance, "--expect", expected], BINANCE_CHECKS_S)
    failed = failures([result for results, _ in endings for result in results])
    if failed:
        pytest.fail(f"ccxt's checks failed against basis sim:\n{failed}", pytrace=False)
    for _, checks in endings:
        assert checks.returncode == 0, checks.stderr.decode()


async def test_ccxt_trades_and_streams_against_basis_sim(tmp_path):
    config = tmp_path / "sim.toml"
    config.write_text(QUICK_PINGS)
    await check_with_ccxt(tmp_path, ["--config", str(config)], 6.0)


@pytest.mark.soak
async def test_ccxt_streams_stay_alive_for_a_minute(tmp_path):
    await check_with_ccxt(tmp_path, ["--seed", "7"], 60.0)
