"""Each chaos invariant fails when the trading process is broken on purpose for it.

A chaos run that passes only says something if its invariants can fail: these runs
break the trading process (``tests/integration/broken_build/sitecustomize.py``, loaded
by the trading process at start-up through ``PYTHONPATH``) and check that the run reports
the invariant aimed at as failed, naming the cause, and the others as held. Breaks whose
effects do not meet share a run. The breaks live in the tests alone: the product has no
switch that turns its own safeguards off. The bounds are the defaults the config derives
from ``[venues]``: the unhedged-time bound judged here is the one every chaos run uses.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import msgspec
import pytest
import trio

import actors
from actors.arbitrage.config import StrategyConfig
from actors.chaos import invariants as inv
from actors.chaos.report import ChaosReport, render
from actors.chaos.runner import ChaosOptions, run_chaos
from actors.runtime.alerts.config import AlertsSection
from actors.system_config import SystemConfig
from tests.integration.test_chaos import CONFIG, SEED, START_APART_S

BROKEN_BUILD = Path(__file__).with_name("broken_build")
SOURCE_TREE = Path(actors.__file__).resolve().parent.parent

INVARIANTS = {
    "orders_once": "no order sent twice",
    "positions_settled": "positions match the venues",
    "unhedged_bounded": "unhedged delta bounded",
    "no_stale_entries": "no entry on a stale quote",
    "supervisors_held": "no supervisor gave up",
    "memory_flat": "memory stays flat",
    "alerts_follow_incidents": "each incident told once",
}


async def broken_run(
    tmp_path: Path,
    breaks: tuple[str, ...],
    scenarios: tuple[str, ...],
    duration_s: float,
    config: SystemConfig = CONFIG,
) -> tuple[ChaosReport, dict[str, inv.InvariantResult]]:
    """A chaos run whose trading process is broken by ``breaks``; its report and its
    invariants by name."""
    env = {
        "PYTHONPATH": os.pathsep.join((str(BROKEN_BUILD), str(SOURCE_TREE))),
        "BASIS_BROKEN": ",".join(breaks),
    }
    options = ChaosOptions(scenarios, duration_s, SEED, tmp_path, env)
    report = await run_chaos(config, options)
    results = {
        name: next(r for r in report.invariants if r.name.startswith(prefix))
        for name, prefix in INVARIANTS.items()
    }
    return report, results


def assert_failed_only(
    report: ChaosReport, results: dict[str, inv.InvariantResult], *failed: str
) -> None:
    held = {name for name, result in results.items() if result.passed}
    assert held == set(results) - set(failed), render(report)
    assert not report.passed


UNHEDGED_BOUND_S = CONFIG.chaos.unhedged_bound_s(CONFIG.venues_in_use.values())
"""The default unhedged-time bound (14 s for this config)."""
STALE_AFTER_4_S = {
    leg: msgspec.structs.replace(getattr(CONFIG.venues, leg), stale_after_s=4.0)
    for leg in ("spot", "futures")
}
CYCLING = msgspec.structs.replace(
    CONFIG,
    venues=msgspec.structs.replace(CONFIG.venues, **STALE_AFTER_4_S),
    strategy=msgspec.structs.replace(CONFIG.strategy, order_type="market", max_quote_age_s=10.0),
    alerts=msgspec.convert({"open_after_s": 1.0, "resolve_after_s": 1.0}, AlertsSection),
)
BROKEN_RUNS: dict[str, tuple[tuple[str, ...], tuple[str, ...], float, SystemConfig]] = {
    # A partial fill leaves the legs apart; without correction they stay apart past the
    # default bound, which must catch it. The run ends 6 s past the bound: the legs stay
    # apart from the first partial fill to the end, and a partial fill lands only on an
    # order it part-fills, which may come a stirring cycle after the fault is armed (from
    # 0.5 s). The leak keeps 1 MiB a tick (4 MiB a second); the memory windows are
    # shortened so that a run of seconds is judged, on the default allowance (a run
    # without the leak grows 0.1 MB in them: the other runs are judged on them too, and
    # hold).
    "imbalance": (
        ("no-correction", "no-journal", "leak"),
        ("partial-fills",),
        UNHEDGED_BOUND_S + 6.0,
        CONFIG,
    ),
    # Only the liveness gate is broken, on the default max_quote_age_s (10 s): the quotes
    # stay young enough through the stall, and the feed declares it stale after 4 s
    # (stale_after_s), which stops entries; in between, from the liveness bound and the
    # send deadline (1 s each) and the grace, entries must not reach the stalled venue.
    # The stall lasts 8 s (twice stale_after_s, from 0.5 s); market orders fill whatever
    # the frozen quote said, so the strategies go on cycling through it. Incidents open
    # after 1 s, so that the stall is an incident, checked once it has ended: the run goes
    # on 7 s after it, for the resolution's 6 s.
    "stall": (("entries-not-live", "alerts-unsent"), ("stalled-ws",), 15.5, CYCLING),
    # The strategies enter at once (the market as it starts is inside
    # max_entry_cost_pct).
    "positions": (("fills-twice",), (), 1.5, CONFIG),
    # The first crash (a strategy, 0.5 s in) makes the strategies' supervisor give up;
    # what that leaves of trading is not asked about.
    "supervisor": (("no-restarts",), ("actor-crashes",), 2.0, CONFIG),
}
"""The broken runs of ``make test``, by name: the breaks, the scenarios, how long, the
config. Breaks whose effects do not meet share a run."""

Judged = tuple[ChaosReport, dict[str, inv.InvariantResult]]
Broken = Judged | Exception


async def play_side_by_side(root: Path) -> dict[str, Broken]:
    """Every one of ``BROKEN_RUNS``, each with its own venues, process and breaks, the
    longest first and the others started apart as a start-up keeps a core busy: its
    report and invariants, or what kept it from being carried out (raised by the test
    that reads it)."""
    runs: dict[str, Broken] = {}

    async def play(name: str) -> None:
        (root / name).mkdir()
        try:
            runs[name] = await broken_run(root / name, *BROKEN_RUNS[name])
        except Exception as error:  # raised by the test that reads this run
            runs[name] = error

    longest_first = sorted(BROKEN_RUNS, key=lambda name: -BROKEN_RUNS[name][2])
    async with trio.open_nursery() as nursery:
        for name in longest_first:
            nursery.start_soon(play, name)
            await trio.sleep(START_APART_S)
    return runs


@pytest.fixture(scope="module")
def broken_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Broken]:
    # Side by side, the short runs play while the long ones wait out their bounds.
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(inv, "MEMORY_WARMUP_S", 3.0)
        monkeypatch.setattr(inv, "MEMORY_MIN_JUDGED_S", 8.0)
        return trio.run(play_side_by_side, tmp_path_factory.mktemp("broken"))


def played(
    runs: dict[str, Broken], name: str
) -> tuple[ChaosReport, dict[str, inv.InvariantResult]]:
    result = runs[name]
    if isinstance(result, Exception):
        raise result
    return result


def test_an_uncorrected_imbalance_and_entries_on_connections_not_live_are_caught(broken_runs):
    # The bounds judged are the defaults: the unhedged bound, the quote age.
    assert CONFIG.chaos.max_unhedged_s is None
    assert CYCLING.strategy.max_quote_age_s == StrategyConfig().max_quote_age_s
    report, results = played(broken_runs, "imbalance")
    assert_failed_only(report, results, "unhedged_bounded", "orders_once", "memory_flat")
    assert report.unhedged_bound_s == UNHEDGED_BOUND_S
    assert report.max_unhedged_s > UNHEDGED_BOUND_S
    assert "never journaled" in results["orders_once"].detail
    assert "allowed 16.0 MB" in results["memory_flat"].detail
    report, results = played(broken_runs, "stall")
    assert_failed_only(report, results, "no_stale_entries", "alerts_follow_incidents")
    assert "s into a mexc data outage" in results["no_stale_entries"].detail
    assert "told nothing" in results["alerts_follow_incidents"].detail


@pytest.mark.soak
async def test_a_leak_is_caught_on_the_default_memory_windows(tmp_path):
    # 64 KiB a tick, 256 KiB a second over both strategies: about 30 MB in the 140 s
    # judged after the minute of warm-up, twice the allowance.
    judged = inv.MEMORY_WARMUP_S + inv.MEMORY_MIN_JUDGED_S
    report, results = await broken_run(tmp_path, ("leak=64",), (), judged + 20.0)
    assert_failed_only(report, results, "memory_flat")


def test_positions_counted_wrong_and_a_supervisor_that_gives_up_are_caught(broken_runs):
    report, results = played(broken_runs, "positions")
    assert_failed_only(report, results, "positions_settled")
    assert "system spot" in results["positions_settled"].detail
    report, results = played(broken_runs, "supervisor")
    assert not results["supervisors_held"].passed and not report.passed
    # The strategies' supervisor is named whether a health sample saw it give up or only
    # the status the process printed as it ended (the root gives up right after it).
    gave_up = re.search(r"gave up: ([\w; ]+)", results["supervisors_held"].detail)
    assert gave_up and "strategies" in gave_up[1].split("; "), render(report)
