"""The cluster scenario's fault plan: rounds of a kill, a freeze and a cut, each on an
instance drawn from the seed, one at a time, with room after each for the symbols to be
taken over."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from actors.chaos.cluster_plan import (
    FIRST_AT_S,
    OUTLAST_TTL_S,
    QUICK_RESTART_S,
    ClusterFaultKind,
    ClusterStep,
    build_cluster_plan,
    settle_s,
)

KINDS = set(ClusterFaultKind)


@given(
    seed=st.integers(0, 2**31),
    duration_s=st.floats(0.0, 2_000.0),
    ttl_s=st.floats(1.0, 30.0),
    nodes=st.integers(1, 5),
)
def test_faults_play_one_at_a_time_inside_the_duration_with_room_after_each(
    seed, duration_s, ttl_s, nodes
):
    plan = build_cluster_plan(seed, duration_s, ttl_s, nodes)
    for step in plan:
        assert 0 <= step.node < nodes
        assert step.at_s + step.lasts_s <= duration_s
        if step.kind is ClusterFaultKind.KILL:
            assert QUICK_RESTART_S <= step.lasts_s <= ttl_s + OUTLAST_TTL_S + 1e-3
        else:
            # Frozen or cut off past the lease's life, whenever it was last renewed.
            assert step.lasts_s >= ttl_s + OUTLAST_TTL_S - 1e-3
    for before, after in itertools.pairwise(plan):
        assert after.at_s >= before.at_s + before.lasts_s + settle_s(ttl_s) - 1e-3
    # Every round plays each fault once.
    for start in range(0, len(plan) - 2, 3):
        assert {step.kind for step in plan[start : start + 3]} == KINDS


def test_a_plan_is_the_same_for_the_same_seed_and_another_for_another():
    assert build_cluster_plan(7, 600.0, 4.0, 3) == build_cluster_plan(7, 600.0, 4.0, 3)
    assert build_cluster_plan(7, 600.0, 4.0, 3) != build_cluster_plan(8, 600.0, 4.0, 3)


def test_three_faults_fit_in_a_bounded_run_whatever_the_seed():
    ttl_s = 4.0
    enough = FIRST_AT_S + 3 * (ttl_s + OUTLAST_TTL_S) + 2 * settle_s(ttl_s)
    for seed in range(50):
        plan = build_cluster_plan(seed, enough, ttl_s, 3)
        assert {step.kind for step in plan} == KINDS and len(plan) == 3


def test_steps_say_what_they_do():
    assert ClusterStep(1.0, ClusterFaultKind.KILL, 0, 2.5).describe("node-1") == (
        "kill node-1, started again after 2.5 s"
    )
    assert ClusterStep(1.0, ClusterFaultKind.FREEZE, 1, 5.0).describe("node-2") == (
        "freeze node-2 for 5.0 s"
    )
    assert ClusterStep(1.0, ClusterFaultKind.CUT, 2, 5.0).describe("node-3") == (
        "cut node-3 off from the database for 5.0 s"
    )
