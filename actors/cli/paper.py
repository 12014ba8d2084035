"""Paper mode: the simulated venues served in this process, and the trading system
pointed at them.

The runtime knows nothing of simulation: it is handed a configuration whose venues are
the simulated ones' URLs, their accounts' made-up keys, and word that the venues are new
(so tasks an earlier paper run left open are closed, not resumed on positions that no
venue holds any more). The simulated venues run under a supervisor of their own and
outlive the system: they stop after it, so its last orders are still answered. Their
control API (``actors.sim.control_api``: faults, dislocations, holding the market still)
is logged as they start: ``simulated venues: control API on http://127.0.0.1:PORT``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

from actors.runtime.alerts.alert import Sink
from actors.runtime.system import TradingSystem, running
from actors.sim.servers import SimServers
from actors.sim.views import SimUrls
from actors.system_config import SystemConfig
from supervision import ChildSpec, Incarnation, Supervisor

log = logging.getLogger("basis.paper")


class SimulatedVenues:
    """The simulated venues of ``config`` on 127.0.0.1, under a supervisor of their own
    (``venues``): a venue server that fails is restarted, at the same ports."""

    def __init__(self, config: SystemConfig) -> None:
        self.servers = SimServers(config.simulated())
        self.tree = Supervisor("venues", [ChildSpec("sim", self._serve)])
        self.stopped = trio.Event()

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until stopped (:meth:`request_stop`) or cancelled; started with the URLs."""
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(self.tree.run)
                urls = self.servers.urls
                assert urls is not None, "the venues are served once the tree has started"
                log.info("simulated venues: control API on %s", urls.control)
                task_status.started(urls)
        finally:
            self.stopped.set()

    def request_stop(self) -> None:
        self.tree.request_stop()

    async def _serve(
        self, incarnation: Incarnation, *, task_status: Any = trio.TASK_STATUS_IGNORED
    ) -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(self.servers.run)
            task_status.started()
            await incarnation.stopping.wait()
            nursery.cancel_scope.cancel()


def paper_system(
    config: SystemConfig,
    data_dir: Path,
    venues: SimUrls,
    *,
    recover: bool = True,
    venues_are_new: bool = True,
    sinks: Sequence[Sink] | None = None,
    services: Sequence[ChildSpec] = (),
) -> TradingSystem:
    """The trading system of paper-mode ``config``, trading on the simulated venues at
    ``venues``. ``venues_are_new``: they were started for this run. ``services``: as
    :class:`TradingSystem` takes them."""
    return TradingSystem(
        config.at_simulated_venues(venues),
        data_dir,
        recover=recover,
        credentials=config.simulated_credentials(),
        venues_are_new=venues_are_new,
        sinks=sinks,
        services=services,
    )


@asynccontextmanager
async def open_paper_system(
    config: SystemConfig,
    data_dir: Path,
    *,
    recover: bool = True,
    venues: SimUrls | None = None,
) -> AsyncIterator[TradingSystem]:
    """A running paper-mode system for the block, stopped gracefully when it ends.
    ``venues``: simulated venues already running elsewhere (that outlive the system, as a
    demo of recovery needs); without them the block serves its own."""
    async with trio.open_nursery() as nursery:
        own = venues is None
        urls = await nursery.start(SimulatedVenues(config).run) if venues is None else venues
        async with running(
            paper_system(config, data_dir, urls, recover=recover, venues_are_new=own)
        ) as system:
            yield system
        nursery.cancel_scope.cancel()
