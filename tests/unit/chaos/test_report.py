"""The chaos report as printed: each run's websocket disconnects and SIGKILLs, and a
soak's totals over its runs."""

from __future__ import annotations

from actors.chaos.invariants import InvariantResult
from actors.chaos.report import ChaosReport, OrderOutcomes, render, render_totals


def report(seconds: float, disconnects: int, kills: int, passed: bool = True) -> ChaosReport:
    return ChaosReport(
        seed=1,
        scenarios=["kill-storm"],
        duration_s=seconds,
        faults_by_kind={"kill": kills, "ws_drop": disconnects},
        faults=[],
        aim=InvariantResult("faults hit what they aim at", passed, ""),
        venue_faults_served={"mexc": {"dropped_websocket": disconnects}},
        reconnects=0,
        restarts=0,
        process_restarts=kills,
        ws_disconnects=disconnects,
        kills=kills,
        orders=OrderOutcomes(0, 0, 0, 0, 0, 0, 0, 0, 0),
        max_unhedged_usdt=0.0,
        max_unhedged_s=0.0,
        unhedged_bound_s=22.0,
        recovery=[],
        cold_start_fresh_s=None,
        cold_start_decided_s=None,
        position_checks=[],
        invariants=[InvariantResult("memory stays flat", passed, "")],
        timeline=[],
        passed=passed,
    )


def test_a_run_prints_the_connections_the_venues_cut_and_the_kills():
    line = "websocket connections the venues cut 1081, SIGKILLs of the trading process 150"
    assert line in render(report(450.0, 1081, 150)).splitlines()


def test_a_soak_prints_its_runs_summed():
    totals = render_totals([report(450.0, 1081, 150), report(1350.0, 175, 11)])
    assert totals == (
        "2 chaos runs, 1800 s of faults: 1256 websocket connections cut by the venues, "
        "161 SIGKILLs of the trading process, 161 process restarts; every run passed"
    )


def test_a_soak_with_a_failed_run_says_so_in_its_totals():
    totals = render_totals([report(450.0, 10, 2), report(60.0, 1, 0, passed=False)])
    assert totals.endswith("a run FAILED")
