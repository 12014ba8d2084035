"""The trading system in paper mode with the simulated venues it trades on, both in
this process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from actors.cli.paper import open_paper_system
from actors.runtime.system import TradingSystem
from actors.sim.servers import SimServers
from actors.system_config import SystemConfig


@asynccontextmanager
async def paper_run(
    config: SystemConfig, data_dir
) -> AsyncIterator[tuple[TradingSystem, SimServers]]:
    """The system in paper mode, with the simulated venues it trades on."""
    async with trio.open_nursery() as nursery:
        sim = SimServers(config.simulated())
        urls = await nursery.start(sim.run)
        async with open_paper_system(config, data_dir, venues=urls) as system:
            yield system, sim
        nursery.cancel_scope.cancel()
