"""Both task types side by side in one ``basis run`` on the simulated venues, each on a
symbol of its own: ``funding_carry`` enters on the funding it expects and holds,
``spot_futures_arbitrage`` enters on a premium and exits on a discount. SIGKILLed with
both positions open and started again, each task resumes as the type it was, on the
position it held (no second entry), and goes on deciding as its type does."""

from __future__ import annotations

import signal

import httpx

from tests.integration.live_on_sim import live_config
from tests.integration.test_cli_controls import start_run, task_of, wait_for
from tests.integration.test_cli_preflight import stop
from tests.integration.test_crash import start_sim, venue_net

CARRY = """[funding_carry]
symbols = ["ETH/USDT"]
horizon_h = 720.0
[http]
port = 0
"""
"""A month's horizon: the simulated rate, held for it, pays several times what the
entry costs, so the carry enters at once."""


def spot_buys(control: str, symbol: str) -> int:
    ledger = httpx.get(f"{control}/ledger", timeout=10).json()
    base = symbol.split("/")[0]
    return sum(
        1
        for entry in ledger["mexc"]
        if entry["type"] == "FillExecuted"
        and entry["fill"]["symbol"]["base"] == base
        and entry["fill"]["side"] == "buy"
    )


def test_both_task_types_trade_side_by_side_and_resume_by_type_after_a_sigkill(tmp_path):
    sim, urls = start_sim()
    control = urls["control"]
    config = live_config(tmp_path / "live.toml", urls, symbols=["BTC/USDT", "ETH/USDT"], tail=CARRY)
    data_dir = tmp_path / "data"
    process, port = start_run(config, data_dir, tmp_path / "basis.log")
    try:
        assert task_of(port, "ETH/USDT")["type"] == "funding_carry"
        assert task_of(port, "BTC/USDT")["type"] == "spot_futures_arbitrage"
        wait_for(lambda: task_of(port, "ETH/USDT")["state"] == "position_open")
        terms = task_of(port, "ETH/USDT")["entry_terms"]
        assert terms is not None and terms["funding"] > 0.0
        assert task_of(port, "BTC/USDT")["entry_terms"] is None  # its entries ignore funding
        # A premium the arbitrage enters on; the carry, holding, takes no notice.
        httpx.post(f"{control}/dislocate", json={"symbol": "BTC/USDT", "size": 0.012}, timeout=5)
        wait_for(lambda: task_of(port, "BTC/USDT")["state"] == "position_open")
        before = {symbol: task_of(port, symbol) for symbol in ("BTC/USDT", "ETH/USDT")}
        eth_buys = spot_buys(control, "ETH/USDT")

        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        process, port = start_run(config, data_dir, tmp_path / "restarted.log")

        for symbol, task in before.items():
            wait_for(lambda symbol=symbol: task_of(port, symbol)["decisions"] > 0)
            after = task_of(port, symbol)
            assert (after["task_id"], after["type"]) == (task["task_id"], task["type"])
            assert after["state"] == "position_open", after
            assert after["position_qty"] == task["position_qty"]
        # The carry resumed on what it held: no second entry.
        assert spot_buys(control, "ETH/USDT") == eth_buys
        ledger = httpx.get(f"{control}/ledger", timeout=10).json()
        eth = task_of(port, "ETH/USDT")
        assert abs(venue_net(ledger["mexc"], "ETH/USDT") - eth["position_qty"]) < 1e-9
        assert abs(-venue_net(ledger["gateio"], "ETH/USDT") - eth["futures_qty"]) < 1e-9

        # Each goes on as its type: the arbitrage exits on a discount; the carry, whose
        # decisions are the funding's, holds through the same move of its own basis.
        for symbol in ("BTC/USDT", "ETH/USDT"):
            httpx.post(f"{control}/dislocate", json={"symbol": symbol, "size": -0.015}, timeout=5)
        wait_for(lambda: task_of(port, "BTC/USDT")["cycles"] == before["BTC/USDT"]["cycles"] + 1)
        eth = task_of(port, "ETH/USDT")
        assert (eth["state"], eth["cycles"]) == ("position_open", before["ETH/USDT"]["cycles"])
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        stop(sim)
