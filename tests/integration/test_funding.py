"""Funding in a paper run: the simulated Gate.io publishes each contract's rate and
settles it on open positions; the system brings the rate to its strategies and each
settlement into the cycle's P&L once, across a restart."""

from __future__ import annotations

import msgspec
import pytest

from actors.arbitrage.context import ArbitrageContext, ArbitrageState
from actors.cli.paper import open_paper_system
from actors.runtime.ops.status import build_status
from actors.sim.config import symbol_config
from actors.sim.ledger import FundingSettled
from actors.sim.servers import SimServers
from actors.system_config import SystemConfig
from protocols.model import Symbol
from tests.integration.polling import wait_until

BTC = Symbol("BTC", "USDT")
INTERVAL_S = 1.0


def config() -> SystemConfig:
    """BTC only, funding required non-negative, settled every ``INTERVAL_S`` at a rate
    pulled firmly positive (the interest rate outweighs any premium the run sees), and a
    profit target the run never reaches, so the position stays open."""
    base = msgspec.convert(
        {
            "symbols": ["BTC/USDT"],
            "http": {"port": 0},
            "venues": {"futures": {"kind": "gateio_futures", "funding_poll_s": 0.5}},
            "strategy": {
                "base_position_size_usdt": 200.0,
                "cooldown_s": 3600.0,
                "require_non_negative_funding": True,
                "min_profit_pct": 50.0,
                # An entry leg the moving market leaves unfilled is finished in seconds.
                "leg_timeout_s": 2.0,
            },
        },
        SystemConfig,
    )
    btc = msgspec.structs.replace(symbol_config(BTC), funding_interval_s=INTERVAL_S)
    futures = msgspec.structs.replace(base.sim.futures, funding_interest_rate=0.002)
    sim = msgspec.structs.replace(base.sim, symbols=(btc,), futures=futures)
    return msgspec.structs.replace(base, sim=sim)


def settlements(sim: SimServers) -> list[tuple[float, float]]:
    """The simulated venue's funding settlements of BTC: (time, amount), oldest first."""
    return [
        (e.payment.ts, e.payment.amount)
        for e in sim.ledgers().gateio
        if isinstance(e, FundingSettled) and e.payment.symbol == BTC
    ]


def applied(sim: SimServers, ctx: ArbitrageContext) -> list[float]:
    """The amounts of the venue's settlements from the task's creation to the newest the
    strategy applied: what it must have counted, each once."""
    until = ctx.funding_applied_until
    if until is None:
        return []
    return [amount for ts, amount in settlements(sim) if ctx.created_at <= ts <= until]


async def test_funding_required_enters_and_settlements_count_once_across_a_restart(
    nursery, tmp_path
):
    sim = SimServers(config().simulated())
    urls = await nursery.start(sim.run)
    async with open_paper_system(config(), tmp_path, venues=urls) as first:
        [handle] = first.strategies.values()
        # It enters only once the venue has told it the rate, which it has: non-negative.
        await wait_until(lambda: handle.actor.ctx.state is ArbitrageState.POSITION_OPEN, 30)
        ctx = handle.actor.ctx
        assert ctx.funding_rate is not None and ctx.funding_rate >= 0.0
        assert ctx.funding_interval_s == INTERVAL_S
        [task] = build_status(first).tasks
        assert task.funding_rate is not None and task.funding_next_ts is not None
        # Settlements on the open short reach its cycle's P&L.
        await wait_until(lambda: len(applied(sim, handle.actor.ctx)) >= 2, 20)
        task_id = handle.task_id
    async with open_paper_system(config(), tmp_path, venues=urls) as second:
        [handle] = second.strategies.values()
        assert handle.task_id == task_id
        # The restarted run reads the ledger from a day back: what the first run counted
        # is reported again, and more settles meanwhile.
        before = len(applied(sim, handle.actor.ctx))
        await wait_until(lambda: len(applied(sim, handle.actor.ctx)) >= before + 2, 20)
        ctx = handle.actor.ctx
    paid = applied(sim, ctx)
    assert ctx.funding_usdt == pytest.approx(sum(paid))
    assert ctx.cycle.funding_usdt == pytest.approx(ctx.funding_usdt)
    assert ctx.funding_usdt > 0.0  # the short receives a positive rate
