"""The simulated venues pass for the real ones with a client Basis did not write: ccxt,
a widely used exchange library, used as a black box against ``basis sim``.

It loads the markets (MEXC spot, Gate.io USDT perpetuals), reads tickers, books,
balances, positions and funding rates, places, queries, lists and cancels limit and
market orders (by id and by client id), reads its trades, sets leverage and is refused
for a bad signature; its websocket subscriptions (tickers, book tickers, order books)
must stay alive while they are watched. Both run as their own processes on 127.0.0.1;
the checks are in ``independent_client/ccxt_checks.py``, which prints one result per
check.

``make test`` watches the subscriptions for 6 s with Gate.io pinging every 1.5 s and
dropping a client whose pong is 3 s late, so a client that stopped answering pings
would be dropped 4.5 s in, within the watch; ``make soak`` watches them for a minute, as
a trading bot's would, at the venue's own ping pace.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.integration.sim_process import STARTUP_S, run_checks

CHECKS = Path(__file__).parent / "independent_client" / "ccxt_checks.py"
QUICK_PINGS = """\
[sim]
seed = 7
[sim.servers]
gateio_ping_interval_s = 1.5
gateio_pong_timeout_s = 3.0
"""


def failures(results: list[dict]) -> str:
    lines = []
    for result in results:
        if not result["ok"]:
            lines.append(f"{result['venue']}: {result['check']}: {result['error']}")
            lines.extend(f"    {request}" for request in result["requests"])
    return "\n".join(lines)


async def check_with_ccxt(tmp_path: Path, sim_args: list[str], ws_seconds: float) -> None:
    def script(line, urls):
        command = [sys.executable, str(CHECKS), "--urls", line.decode()]
        return [*command, "--ws-seconds", str(ws_seconds)]

    results, checks = await run_checks(tmp_path, sim_args, script, ws_seconds + STARTUP_S)
    failed = failures(results)
    if failed:
        pytest.fail(f"ccxt's checks failed against basis sim:\n{failed}", pytrace=False)
    assert checks.returncode == 0, checks.stderr.decode()


async def test_ccxt_trades_and_streams_against_basis_sim(tmp_path):
    config = tmp_path / "sim.toml"
    config.write_text(QUICK_PINGS)
    await check_with_ccxt(tmp_path, ["--config", str(config)], 6.0)


@pytest.mark.soak
async def test_ccxt_streams_stay_alive_for_a_minute(tmp_path):
    await check_with_ccxt(tmp_path, ["--seed", "7"], 60.0)
