"""When a chaos run starts the clock of a position check: once the last fault on has
cleared, whichever of them that was. On trio's MockClock, the run's wall clock read from
it, so that the faults' order is the plan's and not the machine's."""

from __future__ import annotations

from types import SimpleNamespace

import attrs
import trio

from actors.chaos import runner
from actors.chaos.plan import FaultKind, FaultStep
from actors.chaos.runner import ChaosOptions, ChaosRun, _Outcome
from actors.sim.views import SimUrls
from actors.system_config import SystemConfig

URLS = SimUrls("http://127.0.0.1:1", "ws://127.0.0.1:1/ws", "http://127.0.0.1:2", "ws://x/2", "")


@attrs.define(eq=False)
class _Launched:
    launched_at: float


@attrs.define(eq=False)
class TimedRun(ChaosRun):
    """A run whose faults only take time: a kill "launches" the new process 0.1 s in
    and is done restarting 0.5 s in; each check is recorded, not made."""

    started: list[tuple[str, float]] = attrs.field(factory=list)

    async def _apply(self, step: FaultStep) -> _Outcome:
        if step.kind is FaultKind.KILL:
            await trio.sleep(0.1)
            self.current = _Launched(trio.current_time())
            await trio.sleep(0.4)
        else:
            await trio.sleep(step.lasts_s)
        return _Outcome("", True)

    async def _measure_recovery(self, index: int, cleared: float) -> None:
        return None

    async def _check_positions(self, after: str, cleared_at: float, final: bool = False) -> None:
        self.started.append((after, cleared_at))


async def test_a_kill_still_restarting_when_another_fault_clears_is_checked_from_that(
    tmp_path, monkeypatch, autojump_clock
):
    monkeypatch.setattr(runner, "time", SimpleNamespace(time=trio.current_time))
    run = TimedRun(SystemConfig(), ChaosOptions((), 1.0, 1, tmp_path), None, URLS, None, False)
    kill = FaultStep(0.0, FaultKind.KILL, "process", 0.5)
    stall = FaultStep(0.0, FaultKind.WS_STALL, "mexc", 0.3)
    async with trio.open_nursery() as faults:
        faults.start_soon(run._play_step, kill, faults, faults)
        faults.start_soon(run._play_step, stall, faults, faults)
    stall_cleared = next(r for r in run.timeline if r.step is stall).cleared_s
    [(after, cleared_at)] = run.started
    # The kill ended last, but the stall cleared after its new process launched:
    # positions could settle only from then.
    assert after.startswith("kill")
    assert stall_cleared == 0.3 and cleared_at - run.phase_start == stall_cleared
