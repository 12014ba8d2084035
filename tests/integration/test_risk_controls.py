"""The portfolio's risk mode set through the status port of a running system on the
simulated venues: halted, nothing is placed whatever the market offers; resumed, the
strategies enter again. Each change is authenticated as every control is, persisted,
recorded as the operator's, and shown in ``/status`` and ``/metrics``."""

from __future__ import annotations

import signal
from functools import partial

import httpx
import msgspec

from actors.arbitrage.actor import StrategyActor
from actors.arbitrage.context import ArbitrageState
from actors.arbitrage.pricing import entry_cost_pct
from actors.cli.paper import open_paper_system
from actors.runtime.ops.status_server import serve_status
from actors.runtime.persistence.store import RiskModeRow, Store
from actors.sim.ledger import OrderAccepted
from actors.sim.servers import SimServers
from actors.system_config import SystemConfig
from protocols.model import RiskMode, Symbol
from tests.integration.polling import wait_until
from tests.integration.test_cli_controls import basis, start_run

BTC = Symbol("BTC", "USDT")
TOKEN = "a-test-token-of-some-length"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def config() -> SystemConfig:
    return msgspec.convert(
        {
            "symbols": ["BTC/USDT", "ETH/USDT"],
            "http": {"port": 0},
            "strategy": {"base_position_size_usdt": 200.0, "cooldown_s": 3600.0},
        },
        SystemConfig,
    )


def premium_seen(actor: StrategyActor) -> float:
    """The entry cost on the strategy's latest quotes (%), +inf until it has both."""
    spot, futures = actor.spot, actor.futures
    if spot is None or futures is None or spot.ask <= 0.0:
        return float("inf")
    return entry_cost_pct(spot.ask, futures.bid)


def accepted(sim: SimServers) -> int:
    ledgers = sim.ledgers()
    return sum(isinstance(e, OrderAccepted) for e in (*ledgers.mexc, *ledgers.gateio))


async def test_a_halt_kept_in_the_store_holds_from_the_start_until_resumed_and_halts_again(
    nursery, tmp_path
):
    # As an earlier run left it: halted by the operator.
    with Store(tmp_path / "basis.db") as store:
        store.set_risk_mode(RiskModeRow("halted", "venue maintenance", 1.0, "operator via a test"))
    sim = SimServers(config().simulated())
    urls = await nursery.start(sim.run)
    sim.dislocate(BTC, 0.015)  # a premium any active strategy would enter on
    async with open_paper_system(config(), tmp_path, venues=urls) as system:
        handles = list(system.strategies.values())
        assert all(h.actor.ctx.risk_mode is RiskMode.HALTED for h in handles)
        port = await nursery.start(partial(serve_status, control_token=TOKEN), system, 0)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(timeout=30.0) as client:
            btc = next(h for h in handles if h.symbol == BTC)
            # The strategy has decided on quotes showing the premium (an actor decides on
            # each quote as it takes it), and sent nothing.
            max_cost = system.config.strategy.max_entry_cost_pct
            await wait_until(lambda: premium_seen(btc.actor) < max_cost, 20)
            assert accepted(sim) == 0  # not one order while halted
            status = (await client.get(f"{base}/status")).json()
            risk = status["risk"]
            assert (risk["mode"], risk["reason"], risk["since"]) == (
                "halted",
                "venue maintenance",
                1.0,
            )
            assert {"cap": "total", "limit_usdt": 10000.0, "used_usdt": 0.0} in risk["caps"]
            assert risk["balances_read"]["spot_free_usdt"]["mexc"] > 0.0
            assert any(s["key"] == "risk-mode" for s in status["health_signals"])
            metrics = (await client.get(f"{base}/metrics")).text
            assert 'basis_risk_mode{mode="halted"} 1.0' in metrics

            refused = await client.post(f"{base}/control/risk/resume", json={})
            assert refused.status_code == 401
            assert system.risk.portfolio.mode is RiskMode.HALTED
            resumed = await client.post(f"{base}/control/risk/resume", json={}, headers=AUTH)
            assert resumed.status_code == 200, resumed.text
            sim.dislocate(BTC, 0.015)
            await wait_until(lambda: btc.actor.ctx.state is ArbitrageState.POSITION_OPEN, 20)
            caps = (await client.get(f"{base}/status")).json()["risk"]["caps"]
            assert next(c for c in caps if c["cap"] == "symbol:BTC/USDT")["used_usdt"] > 0.0

            halted = await client.post(
                f"{base}/control/risk/halt", json={"reason": "look first"}, headers=AUTH
            )
            assert halted.status_code == 200, halted.text
            assert all(h.actor.ctx.risk_mode is RiskMode.HALTED for h in handles)
            await wait_until(lambda: not any(h.actor.ctx.active_orders for h in handles))
            placed = accepted(sim)
            sim.dislocate(BTC, -0.02)  # a profit the position would exit on, if it might
            # Quotes showing that profit reached the strategy, and nothing was sent.
            await wait_until(lambda: premium_seen(btc.actor) > 1.0, 20)
            assert accepted(sim) == placed
            assert btc.actor.ctx.state is ArbitrageState.POSITION_OPEN
    with Store(tmp_path / "basis.db") as store:
        assert [(a.action, a.result.split(":")[0]) for a in store.operator_actions()] == [
            ("risk resume", "risk mode active"),
            ("risk halt", "risk mode halted"),
        ]
        row = store.risk_mode()
    assert (row.mode, row.reason) == ("halted", "look first")
    assert row.set_by == "operator via the status port from 127.0.0.1"


def test_a_mode_set_with_basis_risk_survives_a_sigkill(tmp_path):
    config = tmp_path / "paper.toml"
    config.write_text('symbols = ["BTC/USDT"]\n[http]\nport = 0\n')
    data_dir = tmp_path / "data"
    process, port = start_run(config, data_dir, tmp_path / "first.log")
    try:
        halted = basis("risk", "halt", "--reason", "before the restart", "--port", str(port))
        assert halted.returncode == 0, halted.stderr
        assert halted.stdout.startswith("risk mode halted")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        process, port = start_run(config, data_dir, tmp_path / "second.log")
        shown = basis("risk", "status", "--port", str(port))
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.startswith("mode: halted since ")
        assert "set by operator via basis risk halt: before the restart" in shown.stdout
        # Halted, an unwind would place nothing and never end: refused, nothing done.
        flatten = basis("stop", "--flatten", "--port", str(port))
        assert flatten.returncode == 2
        assert "the portfolio is halted: nothing is placed; `basis risk resume`" in flatten.stderr
        assert basis("risk", "status", "--port", str(port)).returncode == 0  # still running
        with Store(data_dir / "basis.db") as store:
            [task] = store.tasks(active_only=True)  # this run's: the last one's is abandoned
        assert msgspec.json.decode(task.snapshot)["risk_mode"] == "halted"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
