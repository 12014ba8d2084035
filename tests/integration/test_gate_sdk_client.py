"""The simulated Gate.io venue passes for the real one with Gate.io's own Python SDK
(``gate_api``): its requests are signed the SDK's way (the raw query string as sent),
and every reply is read into the SDK's models of the documented shapes.

``basis sim`` runs as its own process on 127.0.0.1, the SDK (synchronous) in another;
the checks are in ``independent_client/gate_sdk_checks.py``, which prints one result per
check: contracts, order book, tickers, candles, public trades, fees, funding history,
the account, positions and leverage, orders placed, found, listed and cancelled by id
and by text, market orders and their trades, the account book, and a bad signature
refused as ``INVALID_SIGNATURE``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import msgspec
import pytest
import tomli_w

from actors.sim.config import SimConfig
from tests.integration.sim_process import run_checks

CHECKS = Path(__file__).parent / "independent_client" / "gate_sdk_checks.py"
CHECKS_S = 60.0
"""The checks take a few seconds (one funding interval); the rest is a loaded machine's
slack."""
FUNDING_INTERVAL_S = 2.0
"""Short, so that a position the checks hold sees a settlement."""


def without_none(value):
    """``value`` with the unset (``None``) fields left out, as TOML has no null."""
    if isinstance(value, dict):
        return {k: without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [without_none(v) for v in value]
    return value


def quick_funding_config(path: Path) -> Path:
    """A ``[sim]`` config: the default market, funding settled every few seconds."""
    default = SimConfig(seed=7)
    symbols = tuple(
        msgspec.structs.replace(symbol, funding_interval_s=FUNDING_INTERVAL_S)
        for symbol in default.symbols
    )
    sim = msgspec.to_builtins(msgspec.structs.replace(default, symbols=symbols))
    path.write_text(tomli_w.dumps({"sim": without_none(sim)}))
    return path


async def test_gate_sdk_trades_against_basis_sim(tmp_path):
    config = quick_funding_config(tmp_path / "sim.toml")

    def script(line, urls):
        return [sys.executable, str(CHECKS), "--url", urls.gateio_rest]

    results, checks = await run_checks(tmp_path, ["--config", str(config)], script, CHECKS_S)
    failed = [f"{r['check']}: {r['error']}" for r in results if not r["ok"]]
    if failed:
        pytest.fail("Gate.io's SDK failed against basis sim:\n" + "\n".join(failed), pytrace=False)
    assert checks.returncode == 0, checks.stderr.decode()
