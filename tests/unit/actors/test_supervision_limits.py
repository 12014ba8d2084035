"""Every supervisor the trading system builds gives up on a crash-looping child within
the time its intensity and backoff bound, and so does each one above it (MockClock)."""

from __future__ import annotations

from pathlib import Path

import msgspec

from actors.cli.paper import paper_system
from actors.sim.views import SimUrls
from actors.system_config import SystemConfig
from supervision import Supervisor
from tests.unit.supervision.test_escalation import chain, time_to_give_up

NOWHERE = SimUrls(
    "http://127.0.0.1:9", "ws://127.0.0.1:9/ws", "http://127.0.0.1:9", "ws://127.0.0.1:9/ws", ""
)


def paths(path: list[Supervisor]) -> list[list[Supervisor]]:
    """``path`` and every path from its top to a supervisor below its end."""
    return [path] + [p for below in path[-1].subtrees() for p in paths([*path, below])]


async def test_each_supervisor_of_the_system_escalates_a_crash_loop_in_bounded_time(
    tmp_path: Path, autojump_clock
):
    config = msgspec.convert({"symbols": ["BTC/USDT"]}, SystemConfig)
    system = paper_system(config, tmp_path, NOWHERE)
    found = paths([system.root])
    assert {p[-1].name for p in found} == {"basis", "feeds", "routers", "strategies", "alerts"}
    for path in found:
        bound = sum(s.intensity.escalation_bound_s(s.backoff) for s in path)
        given_up_after = await time_to_give_up(chain(path), bound)
        assert given_up_after <= bound, [s.name for s in path]
