"""Recovery after each fault kind: fault cleared → fresh quotes → first decision.

Each scenario that interrupts market data or decisions is played on its own by the chaos
runner (the trading process on its own, the simulated venues in this one), which times
every recovery from ``/status`` polled every 20 ms. The baseline, measured in the same
runs, is a cold start: the trading process launched → every feed fresh → every strategy
deciding. A kill's recovery is a cold start plus recovery from the store; a writer
crash cuts no feed and stops no strategy, so its recovery runs to the restarted writer's
first commit (the journal taking intents again).

Run: ``.venv/bin/python -m bench.chaos_bench [SECONDS_PER_SCENARIO [SCENARIO...]]``
(without scenarios, those below). Each report's alert delays (an incident's alert from
its first appearance in ``/status``, a resolution from its end) are summed up too.
"""

from __future__ import annotations

import logging
import statistics
import sys
import tempfile
from pathlib import Path

import msgspec
import trio

from actors.chaos.runner import ChaosOptions, run_chaos
from actors.system_config import SystemConfig
from bench.stats import percentile

SECONDS = 60.0
SEED = 11
SCENARIOS = (
    "flapping-ws-one",
    "stalled-ws",
    "venue-down",
    "depth-gap",
    "upgrade-notice",
    "actor-crashes",
    "writer-crash",
    "process-kill",
)

CONFIG = msgspec.convert(
    {
        "symbols": ["BTC/USDT", "ETH/USDT"],
        "venues": {
            "spot": {"kind": "mexc", "stale_after_s": 2.0, "request_timeout_s": 2.0},
            "futures": {"kind": "gateio_futures", "stale_after_s": 2.0, "request_timeout_s": 2.0},
        },
        "strategy": {
            "base_position_size_usdt": 200.0,
            "cooldown_s": 0.0,
            "leg_timeout_s": 2.0,
            "max_quote_age_s": 2.0,
        },
        "chaos": {"stir_every_s": 1.0},
    },
    SystemConfig,
)


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


async def main() -> None:
    logging.getLogger().setLevel(logging.ERROR)
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else SECONDS
    scenarios = tuple(sys.argv[2:]) or SCENARIOS
    print(f"== recovery after each fault kind: {seconds:g} s per scenario, seed {SEED}")
    rows = []
    colds: list[tuple[float, float]] = []
    alert_delays: list[float] = []
    for scenario in scenarios:
        with tempfile.TemporaryDirectory() as data_dir:
            report = await run_chaos(
                CONFIG, ChaosOptions((scenario,), seconds, SEED, Path(data_dir))
            )
        if report.cold_start_fresh_s is not None and report.cold_start_decided_s is not None:
            colds.append((report.cold_start_fresh_s, report.cold_start_decided_s))
        rows += [(r, report.passed) for r in report.recovery]
        alert_delays += report.alert_delays_s
    cold_fresh = statistics.median(c[0] for c in colds)
    cold_decided = statistics.median(c[1] for c in colds)
    print(
        f"baseline, cold start (median of {len(colds)}): fresh quotes {ms(cold_fresh)}, "
        f"first decisions {ms(cold_decided)} after launch"
    )
    print(
        f"{'fault':<22} {'n':>4} {'fresh p50':>10} {'p99':>9} {'decided p50':>12} "
        f"{'p99':>9} {'p50/cold':>9}  invariants"
    )
    for r, passed in rows:
        ratio = f"{r.decided_p50_s / cold_decided:.2f}x" if r.decided_p50_s else "-"
        print(
            f"{r.kind:<22} {r.samples:>4} {ms(r.fresh_p50_s):>10} {ms(r.fresh_p99_s):>9} "
            f"{ms(r.decided_p50_s):>12} {ms(r.decided_p99_s):>9} {ratio:>9}  "
            + ("all held" if passed else "BROKEN")
        )
    if alert_delays:
        print(
            f"alerts: {len(alert_delays) // 2} incidents told once opened and once resolved; "
            f"delay from detectable p50 {ms(statistics.median(alert_delays))}, "
            f"p99 {ms(percentile(alert_delays, 0.99))}, max {ms(max(alert_delays))} "
            "(goal: within 5 s)"
        )


if __name__ == "__main__":
    trio.run(main)
