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

import functools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
import trio

from actors.sim import SimUrls
from actors.sim.config import FuturesVenueConfig, SpotVenueConfig

BASIS = [sys.executable, "-m", "actors.cli"]
CHECKS = Path(__file__).parent / "independent_client" / "ccxt_checks.py"
WS_SECONDS = 60.0
"""How long each subscription must keep delivering: a minute, as a trading bot's would."""
STARTUP_S = 60.0
"""A fresh interpreter importing everything: generous, as a loaded CI machine needs."""
STOP_S = 10.0


async def read_line(stream: trio.abc.ReceiveStream) -> bytes:
    data = b""
    while b"\n" not in data:
        chunk = await stream.receive_some(4096)
        assert chunk, f"basis sim ended before printing its URLs: {data!r}"
        data += chunk
    return data.split(b"\n", 1)[0]


def simulated_keys() -> dict[str, str]:
    spot, futures = SpotVenueConfig(), FuturesVenueConfig()
    return {
        "MEXC_API_KEY": spot.api_key,
        "MEXC_API_SECRET": spot.api_secret,
        "GATEIO_API_KEY": futures.api_key,
        "GATEIO_API_SECRET": futures.api_secret,
    }


def failures(results: list[dict]) -> str:
    lines = []
    for result in results:
        if not result["ok"]:
            lines.append(f"{result['venue']}: {result['check']}: {result['error']}")
            lines.extend(f"    {request}" for request in result["requests"])
    return "\n".join(lines)


async def test_ccxt_trades_and_streams_against_basis_sim(tmp_path):
    with (tmp_path / "sim.log").open("wb") as log:
        run_sim = functools.partial(
            trio.run_process,
            [*BASIS, "sim", "--seed", "7"],
            stdout=subprocess.PIPE,
            stderr=log,
            check=False,
        )
        async with trio.open_nursery() as nursery:
            sim = await nursery.start(run_sim)
            with trio.fail_after(STARTUP_S):
                line = await read_line(sim.stdout)
            urls = msgspec.json.decode(line, type=SimUrls)
            assert all(
                url.startswith(("http://127.0.0.1:", "ws://127.0.0.1:"))
                for url in (urls.mexc_rest, urls.mexc_ws, urls.gateio_rest, urls.gateio_ws)
            ), urls
            with trio.fail_after(STARTUP_S + WS_SECONDS + STARTUP_S):
                command = [sys.executable, str(CHECKS), "--urls", line.decode()]
                checks = await trio.run_process(
                    [*command, "--ws-seconds", str(WS_SECONDS)],
                    capture_stdout=True,
                    capture_stderr=True,
                    check=False,
                    env={**os.environ, **simulated_keys()},
                )
            sim.send_signal(signal.SIGTERM)
            with trio.fail_after(STOP_S):
                await sim.wait()
    results = [json.loads(line) for line in checks.stdout.decode().splitlines()]
    assert results, checks.stderr.decode()
    failed = failures(results)
    if failed:
        pytest.fail(f"ccxt's checks failed against basis sim:\n{failed}", pytrace=False)
    assert checks.returncode == 0, checks.stderr.decode()
