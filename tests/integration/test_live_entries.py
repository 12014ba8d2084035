"""Entries only on live data, in paper mode on loopback: a spot connection that stops
answering is not live within about a second, and a gap the perpetual opens meanwhile is
not entered on the spot quote from before the silence, however young that quote (the
case `basis chaos --duration 150 --seed 4242` found: an entry on a 9.5 s-old quote
while `max_quote_age_s` and `stale_after_s` were 10 s)."""

from __future__ import annotations

import msgspec

from actors.arbitrage.actor import StrategyActor, TimerTick
from actors.arbitrage.context import ArbitrageState
from actors.arbitrage.pricing import entry_cost_pct
from actors.sim.ledger import OrderAccepted
from actors.system_config import SystemConfig
from protocols.model import Symbol
from tests.integration.paper_runs import paper_run
from tests.integration.polling import wait_until

BTC = Symbol("BTC", "USDT")
# Each step of the silent part is bounded, and the stall outlasts them all, so its checks
# are made while the connection is still silent, however slowly they come; the test ends
# the stall itself once they are made.
NOT_LIVE_WITHIN_S = 3.0
"""The connection is told not live at most its liveness bound (1 s) after its last frame."""
GAP_SEEN_WITHIN_S = 2.0
"""The simulated perpetual moves every 0.1 s."""
TWO_TICKS_WITHIN_S = 2.5
"""Strategies tick every 0.5 s."""
STALL_S = 9.0
"""Longer than those steps together, shorter than max_quote_age_s and stale_after_s."""


def config() -> SystemConfig:
    return msgspec.convert(
        {
            "symbols": ["BTC/USDT"],
            "http": {"port": 0},
            # Enter only on a gap far wider than the simulated market's usual one.
            "strategy": {"base_position_size_usdt": 200.0, "max_entry_cost_pct": -2.0},
        },
        SystemConfig,
    )


async def test_no_entry_on_a_silent_connections_quote_and_one_once_it_is_live(
    tmp_path, monkeypatch
):
    ticks = [0]
    handle = StrategyActor.handle

    async def counted(self, message):
        await handle(self, message)
        if type(message) is TimerTick:
            ticks[0] += 1

    monkeypatch.setattr(StrategyActor, "handle", counted)
    async with paper_run(config(), tmp_path) as (system, sim):
        (btc,) = system.strategies.values()
        actor = btc.actor

        def live() -> bool:
            return None not in (actor.live.spot_since, actor.live.futures_since)

        # Ready to enter: monitoring, not only holding quotes. The spot feed starts by
        # resyncing its book, and the snapshot's quote reaches the strategy a step before
        # the feed's word that it is fresh again (paused until then).
        await wait_until(
            lambda: (
                live()
                and actor.spot is not None
                and actor.futures is not None
                and actor.ctx.state is ArbitrageState.MONITORING
            ),
            20,
        )
        venues = system.config.venues
        assert venues.spot.live_within_s < NOT_LIVE_WITHIN_S
        assert NOT_LIVE_WITHIN_S + GAP_SEEN_WITHIN_S + TWO_TICKS_WITHIN_S < STALL_S
        assert min(system.config.strategy.max_quote_age_s, venues.spot.stale_after_s) > STALL_S
        sim.mexc.stall_websockets(STALL_S)
        await wait_until(lambda: actor.live.spot_since is None, NOT_LIVE_WITHIN_S)
        # Told by the connection's liveness, not by the feed's staleness (stale_after_s,
        # 10 s, longer than the stall): how soon is tests/unit/actors/test_liveness.py's.
        assert "spot" not in actor.ctx.stale_legs
        last_spot = actor.spot
        assert last_spot is not None
        # The perpetual jumps 4 % above spot: a gap to enter, seen on the live futures leg.
        sim.dislocate(BTC, 0.04)
        await wait_until(
            lambda: entry_cost_pct(last_spot.ask, actor.futures.bid) < -2.0,  # type: ignore[union-attr]
            GAP_SEEN_WITHIN_S,
        )
        # The quote that opened the gap was decided on as it came; ticks decide again on
        # the quotes held.
        seen = ticks[0]
        await wait_until(lambda: ticks[0] >= seen + 2, TWO_TICKS_WITHIN_S)
        # Still within the stall, which is shorter than max_quote_age_s: the spot quote
        # held is young enough by its age, and only the silent connection holds the entry.
        assert actor.live.spot_since is None and "spot" not in actor.ctx.stale_legs
        assert actor.ctx.state is ArbitrageState.MONITORING
        assert not [e for e in sim.ledgers().gateio if isinstance(e, OrderAccepted)]
        # Once the spot connection is heard from again, its next quote is entered on. The
        # frames the venue did not send leave a gap in the book's versions: the strategy
        # is paused while the feed resyncs the book, and enters after.
        sim.mexc.stall_websockets(0.0)
        await wait_until(
            lambda: actor.ctx.state not in (ArbitrageState.MONITORING, ArbitrageState.PAUSED),
            15,
        )
        opportunity = actor.ctx.current_opportunity
        assert opportunity is not None and actor.spot is not None
        assert actor.live.spot_since is not None
        assert opportunity.ts - opportunity.spot_quote_age_s >= actor.live.spot_since
