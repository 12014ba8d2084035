"""A child that fails each time it starts makes its supervisor give up, within a time
its intensity and backoff bound, and each supervisor above it in turn (MockClock)."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from supervision import (
    Backoff,
    ChildSpec,
    Incarnation,
    Intensity,
    RestartStrategy,
    Supervisor,
    SupervisorGaveUp,
)
from supervision.supervisor import RESTART_BACKOFF


async def crash_looping(inc: Incarnation, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
    task_status.started()
    raise RuntimeError("fails as soon as it is up")


def chain(levels: list[Supervisor]) -> Supervisor:
    """Fresh supervisors with the policies of ``levels`` (top first), each the only child
    of the one above, the crash-looping child at the bottom."""
    child = ChildSpec("looping", crash_looping)
    for level in reversed(levels):
        mirror = Supervisor(
            level.name,
            [child],
            strategy=level.strategy,
            intensity=level.intensity,
            backoff=level.backoff,
        )
        child = mirror.child_spec()
    assert child.subtree is not None
    return child.subtree


async def time_to_give_up(top: Supervisor, bound_s: float) -> float:
    """Seconds from the start of ``top`` to its giving up; fails past ``bound_s``."""
    began = trio.current_time()
    with trio.fail_after(bound_s + 1.0), pytest.RaisesGroup(SupervisorGaveUp) as raised:
        async with trio.open_nursery() as nursery:
            await nursery.start(top.run)
    (gave_up,) = raised.value.exceptions
    assert gave_up.supervisor == top.name
    return trio.current_time() - began


def test_the_default_restart_limit_is_within_reach_of_the_default_backoff():
    intensity = Intensity()
    assert intensity.escalation_bound_s(RESTART_BACKOFF) < intensity.period_s
    assert intensity.escalation_bound_s(Backoff()) < intensity.period_s


async def test_a_crash_looping_child_makes_a_default_supervisor_give_up_in_bounded_time(
    autojump_clock,
):
    sup = Supervisor("sup", [ChildSpec("looping", crash_looping)])
    bound = sup.intensity.escalation_bound_s(sup.backoff)
    assert await time_to_give_up(sup, bound) <= bound


@pytest.mark.parametrize("strategy", list(RestartStrategy))
async def test_the_give_up_climbs_every_level_each_within_its_own_bound(autojump_clock, strategy):
    levels = [
        Supervisor("root", strategy=strategy),
        Supervisor("middle", strategy=strategy, intensity=Intensity(20, 60.0)),
        Supervisor("bottom", strategy=strategy, intensity=Intensity(3, 10.0)),
    ]
    bound = sum(s.intensity.escalation_bound_s(s.backoff) for s in levels)
    assert await time_to_give_up(chain(levels), bound) <= bound


def test_a_restart_limit_out_of_reach_of_the_backoff_is_refused():
    with pytest.raises(ValueError, match=r"supervisor 'feeds': its restart limit \(10 in 60 s\)"):
        Supervisor("feeds", intensity=Intensity(10, 60.0), backoff=Backoff(max_s=30.0))
    # The boundary: ten waits of 6 s fill the 60 s window exactly, and the eleventh
    # failure would come as the first leaves it.
    with pytest.raises(ValueError, match=r"make max_restarts x backoff max_s \(60 s\) less"):
        Supervisor("feeds", intensity=Intensity(10, 60.0), backoff=Backoff(max_s=6.0))
    Supervisor("feeds", intensity=Intensity(10, 60.0), backoff=Backoff(max_s=5.9))


def test_the_first_restart_of_a_run_of_failures_waits_nothing():
    backoff = Backoff(min_s=0.1, max_s=2.0, jitter=0.0, first_at_once=True)
    assert [backoff.base(n) for n in range(7)] == [0.0, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0]
