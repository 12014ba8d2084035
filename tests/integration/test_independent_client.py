"""The simulated venues pass for the real ones with a client Basis did not write: ccxt,
a widely used exchange library, used as a black box against ``basis sim``.

It loads the markets (MEXC spot, Gate.io USDT perpetuals), reads tickers, books,
balances, positions and funding rates, places, queries, lists and cancels limit and
market orders (by id and by client id), reads its trades, sets leverage and is refused
for a bad signature; its websocket subscriptions (tickers, book tickers, order books)
must stay alive for a minute. Both run as their own processes on 127.0.0.1; the checks
are in ``independent_client/ccxt_checks.py``, which prints one result per check.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.integration.sim_process import STARTUP_S, run_checks

CHECKS = Path(__file__).parent / "independent_client" / "ccxt_checks.py"
WS_SECONDS = 60.0
"""How long each subscription must keep delivering: a minute, as a trading bot's would."""


def failures(results: list[dict]) -> str:
    lines = []
    for result in results:
        if not result["ok"]:
            lines.append(f"{result['venue']}: {result['check']}: {result['error']}")
            lines.extend(f"    {request}" for request in result["requests"])
    return "\n".join(lines)


async def test_ccxt_trades_and_streams_against_basis_sim(tmp_path):
    def script(line, urls):
        command = [sys.executable, str(CHECKS), "--urls", line.decode()]
        return [*command, "--ws-seconds", str(WS_SECONDS)]

    results, checks = await run_checks(tmp_path, ["--seed", "7"], script, WS_SECONDS + STARTUP_S)
    failed = failures(results)
    if failed:
        pytest.fail(f"ccxt's checks failed against basis sim:\n{failed}", pytrace=False)
    assert checks.returncode == 0, checks.stderr.decode()
