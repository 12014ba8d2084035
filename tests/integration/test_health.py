"""Health signals measured against the simulated venues: a clock that drifts from a
venue's is degraded at half the venue's window and failing beyond it."""

from __future__ import annotations

import msgspec

from actors.runtime.ops.status import HealthSignal, build_status
from actors.runtime.system import TradingSystem
from actors.system_config import SystemConfig
from tests.integration.paper_runs import paper_run
from tests.integration.polling import wait_until


def clock_signal(system: TradingSystem) -> HealthSignal | None:
    signals = build_status(system).health_signals
    return next((s for s in signals if s.key == "clock-skew:router-mexc"), None)


async def test_a_clock_drifting_from_a_venues_is_degraded_then_failing_then_ok(tmp_path):
    config = msgspec.convert(
        {
            "symbols": ["BTC/USDT"],
            "http": {"port": 0},
            # The skew is measured at each load of the rules.
            "venues": {"spot": {"kind": "mexc", "rules_refresh_s": 0.2}},
        },
        SystemConfig,
    )
    async with paper_run(config, tmp_path) as (system, sim):
        router = system.venues["mexc"].router
        await wait_until(lambda: router.statistics().clock_skew_s is not None, 10)
        assert abs(router.statistics().clock_skew_s) < 0.5
        assert clock_signal(system) is None
        # MEXC's clock runs 3 s ahead: this one is 3 s behind, of the 5 s it allows.
        sim.mexc.clock_ahead_s = 3.0
        await wait_until(lambda: clock_signal(system) is not None, 10)
        signal = clock_signal(system)
        assert signal is not None and signal.level == "degraded"
        assert signal.reason.startswith("router-mexc: the local clock is 3.0")
        assert signal.reason.endswith("s behind the venue's (it allows 5 s)")
        # 1.5 s ahead of MEXC's clock, which takes 1 s: its signed requests are refused.
        sim.mexc.clock_ahead_s = -1.5
        await wait_until(lambda: (clock_signal(system) or signal).level == "failing", 10)
        failing = clock_signal(system)
        assert failing is not None and "ahead of the venue's (it allows 1 s)" in failing.reason
        assert build_status(system).health == "failing"
        sim.mexc.clock_ahead_s = 0.0
        await wait_until(lambda: clock_signal(system) is None, 10)
