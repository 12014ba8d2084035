"""Fault plans: made from a seed, the same every time; mixed runs spaced so that no
supervisor nears its restart limit and the second half is free of kills."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.chaos.plan import (
    ADL_PART,
    ENTRY_TARGETS,
    KILL_STORM_DROP_EVERY_S,
    KILL_STORM_LIFE_S,
    LIQUIDATION_RUN_LEVERAGE,
    LIQUIDATION_RUN_S,
    LIQUIDATION_RUN_SHARE,
    MIXED_KILL_SHARE,
    ORDER_FAULTS,
    SCENARIOS,
    TARGETS,
    VENUES,
    FaultKind,
    Timing,
    UnknownScenario,
    build_plan,
)

TIMING = Timing(stale_after_s=2.0, request_timeout_s=2.0)


@given(
    seed=st.integers(0, 2**31),
    phase_s=st.floats(5.0, 300.0),
    names=st.lists(st.sampled_from(sorted(SCENARIOS)), min_size=1, max_size=3),
)
@settings(max_examples=100, deadline=None)
def test_a_plan_is_in_time_order_within_the_phase_and_replayable(seed, phase_s, names):
    plan = build_plan(names, seed, phase_s, TIMING)
    assert plan == build_plan(names, seed, phase_s, TIMING)
    assert [s.at_s for s in plan] == sorted(s.at_s for s in plan)
    assert all(0.0 <= s.at_s < phase_s and s.lasts_s >= 0.0 for s in plan)
    for step in plan:
        # An order fault waits for a target, long enough to meet it, within the phase.
        aimed = step.kind in ORDER_FAULTS
        assert (step.role is not None) == aimed
        if aimed:
            assert step.target in VENUES and (step.role, step.arrival) in TARGETS
            least = min(TIMING.cycle_s, phase_s / 2.0) - 0.1  # in whole tenths
            assert step.lasts_s >= least and step.at_s + step.lasts_s < phase_s


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_plays_something_in_a_short_run(name):
    assert build_plan([name], 1, 10.0, TIMING)


def test_a_stall_outlasts_the_feeds_staleness_so_only_staleness_can_detect_it():
    stalls = build_plan(["stalled-ws"], 3, 60.0, TIMING)
    assert stalls and all(s.lasts_s > TIMING.stale_after_s for s in stalls)


def test_a_timeout_holds_its_answer_longer_than_the_router_waits():
    steps = build_plan(["rest-timeouts"], 3, 30.0, TIMING)
    assert all(s.hold_s > TIMING.request_timeout_s for s in steps)


def test_a_venue_is_down_for_a_minute_in_a_long_run_and_half_of_a_short_one():
    (long_run,) = build_plan(["venue-down"], 1, 600.0, TIMING)
    (short_run,) = build_plan(["venue-down"], 1, 12.0, TIMING)
    assert (long_run.lasts_s, short_run.lasts_s) == (60.0, 6.0)


@given(seed=st.integers(0, 2**31))
@settings(max_examples=10, deadline=None)
def test_a_mixed_run_spaces_kills_and_writer_crashes_and_keeps_its_second_half_unkilled(seed):
    duration = 1800.0
    plan = build_plan(["mixed"], seed, duration, TIMING)
    kinds = {s.kind for s in plan}
    assert len(kinds) >= 10, kinds  # a mixed half hour draws nearly every kind
    kills = [s.at_s for s in plan if s.kind is FaultKind.KILL]
    writers = [s.at_s for s in plan if s.target == "writer"]
    assert all(at <= duration * MIXED_KILL_SHARE for at in kills)
    assert all(b - a >= 60.0 for a, b in itertools.pairwise(kills))
    assert all(b - a >= 20.0 for a, b in itertools.pairwise(writers))
    crashes = sorted(s.at_s for s in plan if s.kind is FaultKind.CRASH)
    # No minute holds more restarts than a supervisor allows (10 within 60 s).
    assert all(sum(1 for c in crashes if at <= c < at + 60.0) <= 10 for at in crashes)


@pytest.mark.parametrize(
    "name", ["order-rejects", "partial-fills", "rest-timeouts", "server-errors", "rate-limit-storm"]
)
def test_order_faults_aim_at_every_leg_of_entries_and_exits_on_both_venues(name):
    plan = build_plan([name], 5, 600.0, TIMING)
    aims = {(s.target, s.role, s.arrival) for s in plan}
    assert aims == {(venue, role, arrival) for venue in VENUES for role, arrival in TARGETS}


def test_an_order_fault_waits_a_few_cycles_of_the_stirring():
    slow = Timing(stale_after_s=2.0, request_timeout_s=2.0, cycle_s=30.0)
    plan = build_plan(["order-rejects"], 5, 600.0, slow)
    assert all(60.0 <= s.lasts_s <= 120.0 for s in plan if s.at_s <= 480.0)
    # Near the end a fault waits what is left, and none is armed too late to be met.
    assert all(s.lasts_s >= 29.9 and s.at_s + s.lasts_s < 600.0 for s in plan)
    short = build_plan(["order-rejects"], 5, 20.0, slow)
    # A run shorter than two cycles: half of it at least, armed in its first half.
    assert short and all(s.lasts_s >= 9.9 and s.at_s <= 10.0 for s in short)


def test_an_order_fault_waits_the_data_outages_it_meets_on_top():
    plan = build_plan(["order-rejects", "venue-down"], 5, 600.0, TIMING)
    (down,) = [s for s in plan if s.kind is FaultKind.VENUE_DOWN]
    alone = build_plan(["order-rejects"], 5, 600.0, TIMING)
    for with_outage, without in zip([s for s in plan if s is not down], alone, strict=True):
        overlap = min(down.at_s + down.lasts_s, without.at_s + without.lasts_s) - max(
            down.at_s, without.at_s
        )
        expected = without.lasts_s + max(0.0, overlap)
        assert with_outage.lasts_s == pytest.approx(min(expected, 599.9 - without.at_s), abs=0.1)
    assert any(a.lasts_s > b.lasts_s for a, b in zip(plan[1:], alone, strict=False))


def test_an_unknown_scenario_is_named_with_the_known_ones():
    with pytest.raises(UnknownScenario, match=r"'flapping'.*known: flapping-ws-one"):
        build_plan(["flapping"], 1, 10.0, TIMING)


def test_a_moment_rounded_up_to_the_end_of_the_phase_is_not_played():
    # Seed 303 once drew a depth gap at 299.9996 s of a 300 s phase, written as 300.0.
    plan = build_plan(["actor-crashes", "depth-gap"], 303, 300.0, TIMING)
    assert all(step.at_s < 300.0 for step in plan)


def test_kills_are_spaced_as_played_not_as_drawn():
    # Seed 6378354 once drew two kills 60 s apart that were written 59.999 s apart.
    kills = [
        s.at_s for s in build_plan(["mixed"], 6378354, 1800.0, TIMING) if s.kind is FaultKind.KILL
    ]
    assert all(b - a >= 60.0 for a, b in itertools.pairwise(kills))


@pytest.mark.parametrize("seed", [11, 12, 99, 4242])
def test_actor_crashes_stay_under_each_supervisors_restart_limit(seed):
    # Seed 11 once put 11 router crashes within 46 s: the routers' supervisor gave up.
    plan = build_plan(["actor-crashes"], seed, 300.0, TIMING)
    for target, limit in (("router", 10), ("strategy", 20)):
        crashes = [s.at_s for s in plan if s.target == target]
        assert all(sum(1 for c in crashes if at <= c < at + 60.0) <= limit for at in crashes)
    assert len(plan) >= 300.0 / 4.0  # still a crash every few seconds, of one kind or other


@given(seed=st.integers(0, 2**31))
@settings(max_examples=20, deadline=None)
def test_a_kill_storm_kills_as_often_as_a_restart_allows_and_cuts_both_venues_between(seed):
    plan = build_plan(["kill-storm"], seed, 450.0, TIMING)
    kills = [s.at_s for s in plan if s.kind is FaultKind.KILL]
    low, high = (TIMING.restart_delay_s + life for life in KILL_STORM_LIFE_S)
    rounding = 1e-3  # moments are kept to the millisecond
    assert all(low - rounding <= b - a <= high + rounding for a, b in itertools.pairwise(kills))
    # Even a quarter of the soak's 1,800 s (it plays a third) holds over a hundred kills.
    assert len(kills) > 100
    for venue in VENUES:
        drops = [s.at_s for s in plan if s.kind is FaultKind.WS_DROP and s.target == venue]
        spacing = [b - a for a, b in itertools.pairwise(drops)]
        lo, hi = KILL_STORM_DROP_EVERY_S
        assert len(drops) > 450 / hi
        assert all(lo - rounding <= gap <= hi + rounding for gap in spacing)


def test_one_leg_partial_fills_aim_only_at_entries_legs_on_both_venues():
    plan = build_plan(["one-leg-partial-fills"], 5, 300.0, TIMING)
    assert {s.kind for s in plan} == {FaultKind.PARTIAL_FILLS}
    assert {(s.role, s.arrival) for s in plan} == set(ENTRY_TARGETS)
    assert {s.target for s in plan} == set(VENUES)
    assert all(0.3 <= s.fraction <= 0.7 for s in plan)


def test_auto_deleveraging_takes_part_of_a_short_then_all_of_it_in_turn():
    plan = build_plan(["adl"], 5, 120.0, TIMING)
    assert len(plan) >= 4 and {s.kind for s in plan} == {FaultKind.ADL}
    shares = [s.fraction for s in plan]
    assert all(ADL_PART[0] <= share <= ADL_PART[1] for share in shares[::2])
    assert set(shares[1::2]) == {1.0}
    # Each waits for a short to take, within the phase.
    assert all(s.lasts_s > 0.0 and s.at_s + s.lasts_s < 120.0 for s in plan)


def test_a_liquidation_run_goes_past_the_liquidation_price_over_seconds():
    plan = build_plan(["liquidation-run"], 5, 120.0, TIMING)
    assert plan and {s.kind for s in plan} == {FaultKind.LIQUIDATION_RUN}
    assert all(1.0 < s.fraction <= LIQUIDATION_RUN_SHARE[1] for s in plan)
    assert all(LIQUIDATION_RUN_S[0] <= s.run_s <= LIQUIDATION_RUN_S[1] for s in plan)
    assert SCENARIOS["liquidation-run"].futures_leverage == LIQUIDATION_RUN_LEVERAGE


def test_a_balance_shortfall_leaves_less_than_an_entry_needs_and_ends_within_the_phase():
    plan = build_plan(["balance-shortfall"], 5, 120.0, TIMING)
    assert len(plan) >= 5 and {s.target for s in plan} == set(VENUES)
    assert all(0.0 < s.fraction < 1.0 and s.at_s + s.lasts_s < 120.0 for s in plan)


@pytest.mark.parametrize("phase_s", [10.0, 20.0, 120.0])
def test_risk_modes_kill_the_process_in_reducing_or_halted_then_resume(phase_s):
    plan = build_plan(["risk-modes"], 5, phase_s, TIMING)
    assert plan and len(plan) % 3 == 0
    for mode, kill, resume in zip(plan[::3], plan[1::3], plan[2::3], strict=True):
        assert (mode.kind, kill.kind, resume.kind) == (
            FaultKind.RISK_MODE, FaultKind.KILL, FaultKind.RISK_MODE
        )  # fmt: skip
        assert mode.target in ("reducing", "halted") and resume.target == "active"
        assert mode.at_s < kill.at_s < resume.at_s < phase_s
