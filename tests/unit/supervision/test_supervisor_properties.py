"""Random failure sequences: every permanent child comes back unless the supervisor gave up."""

from __future__ import annotations

import random

import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from supervision import (
    Backoff,
    ChildState,
    Intensity,
    Restart,
    RestartStrategy,
    Supervisor,
    SupervisorGaveUp,
)
from tests.unit.supervision.probe import Probe, child_state


def backoff_within_reach(max_restarts: int, period_s: float) -> Backoff:
    """Up to 2 s between restarts, less where the limit would be out of reach."""
    cap = min(2.0, period_s / (max_restarts + 1))
    return Backoff(min_s=min(0.1, cap), max_s=cap, factor=2.0, jitter=0.5, reset_after_s=5.0)


SETTLE_S = 60.0  # far beyond any backoff, start or shutdown in these trees

actions = st.lists(
    st.tuples(
        st.sampled_from(["crash", "exit"]),
        st.integers(0, 5),  # which child (modulo the number of children)
        st.sampled_from([0.0, 0.05, 0.5, 3.0]),  # how long to wait afterwards
    ),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(
    strategy=st.sampled_from(list(RestartStrategy)),
    restarts=st.lists(st.sampled_from(list(Restart)), min_size=1, max_size=5),
    max_restarts=st.integers(0, 8),
    period_s=st.sampled_from([1.0, 5.0, 30.0]),
    script=actions,
    seed=st.integers(0, 2**32),
)
def test_permanent_children_run_again_unless_the_supervisor_gave_up(
    strategy, restarts, max_restarts, period_s, script, seed
):
    probe = Probe()
    names = [f"c{i}" for i in range(len(restarts))]
    sup = Supervisor(
        "sup",
        [probe.spec(name, kind) for name, kind in zip(names, restarts, strict=True)],
        strategy=strategy,
        intensity=Intensity(max_restarts, period_s),
        backoff=backoff_within_reach(max_restarts, period_s),
        rng=random.Random(seed),
    )
    outcome: dict[str, object] = {}
    triggers: list[float] = []  # times of exits that call for a restart

    async def drive() -> None:
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(sup.run)
                for order, index, wait in script:
                    name = names[index % len(names)]
                    if sup.state == "running" and child_state(sup, name) is ChildState.RUNNING:
                        probe.order(name, order)
                        kind = restarts[index % len(names)]
                        if kind.wants_restart(failed=order == "crash"):
                            triggers.append(trio.current_time())
                        await trio.testing.wait_all_tasks_blocked()  # the tree reacts
                    await trio.sleep(wait)
                await trio.sleep(SETTLE_S)
                outcome["final"] = {n: child_state(sup, n) for n in names}
                sup.request_stop()
        except BaseExceptionGroup as group:
            gave_up, rest = group.split(SupervisorGaveUp)
            assert rest is None, rest
            outcome["gave_up"] = gave_up.exceptions[0]
            outcome["final"] = {n: child_state(sup, n) for n in names}

    trio.run(drive, clock=trio.testing.MockClock(autojump_threshold=0))

    final = outcome["final"]
    crowded = any(
        sum(1 for t in triggers if end - period_s < t <= end) > max_restarts for end in triggers
    )
    assert ("gave_up" in outcome) == crowded
    if "gave_up" in outcome:
        assert sup.state == "gave_up"
        assert all(state in (ChildState.STOPPED, ChildState.FAILED) for state in final.values())
        return
    for name, kind in zip(names, restarts, strict=True):
        state = final[name]
        # Nothing is left half-way once the tree has settled.
        assert state in (ChildState.RUNNING, ChildState.STOPPED, ChildState.FAILED), (name, state)
        if kind is Restart.PERMANENT:
            assert state is ChildState.RUNNING, (name, state)
        if state is not ChildState.RUNNING:
            assert kind is not Restart.PERMANENT
    # After the stop request everything ended, in reverse start order among the running.
    assert all(child_state(sup, n) in (ChildState.STOPPED, ChildState.FAILED) for n in names)
