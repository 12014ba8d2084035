"""The simulated venue pair on the wire: ``SimServers`` runs a ``SimVenues`` behind a MEXC
server and a Gate.io server on 127.0.0.1, moves the market on a timer and pushes it, and
serves a control API on its own port for faults and the venues' books of record.

Time: the market runs on trio's clock, mapped to Unix time when the servers start, so
the venues' timestamps and signature windows are wall-clock time as clients expect.
Every symbol moves and is pushed every ``tick_s`` (100 ms by default, the venues' push
cadence), but not all at the same instant: as on a real venue, where each book changes
on its own schedule, the symbols are dealt into evenly spaced phases of the tick
(``push_phases``), at most one a millisecond, and each phase in turn advances its
symbols' market, settles their funding due, fills their crossed resting orders, and
pushes their books that changed. Two hundred symbols at 50 ms so arrive as a steady
stream of about eight pushes a millisecond rather than as one burst of four hundred.
While the market is held (``hold``) it does not move, and each phase restates its books
as they are, so that the venues keep pushing.

Ports default to 0 (any free port); ``run`` reports the URLs it bound.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import attrs
import trio

from actors.sim.aimed_faults import AimedFaults
from actors.sim.config import SimConfig
from actors.sim.control_api import ControlApi
from actors.sim.gateio_server import GateioServer
from actors.sim.mexc_server import MexcServer
from actors.sim.records import AutoDeleverage
from actors.sim.venue_server import VenueServer
from actors.sim.venues import SimVenues
from actors.sim.views import Faults, FuturesHoldings, Holdings, Ledgers, SimUrls, SpotHoldings
from protocols.model import Symbol

HOST = "127.0.0.1"
PHASE_SPACING_S = 0.001
"""The closest two phases of the tick may be: finer, the timer's wake-ups would cost
more than the bursts they spread."""


def push_phases(symbols: Sequence[Symbol], tick_s: float) -> tuple[tuple[Symbol, ...], ...]:
    """``symbols`` dealt in turn into the phases of a tick of ``tick_s``: one phase per
    symbol, or one per ``PHASE_SPACING_S`` of the tick when there are more symbols than
    that; phase ``p`` of ``n`` runs ``p * tick_s / n`` into each tick."""
    count = max(1, min(len(symbols), math.floor(tick_s / PHASE_SPACING_S + 1e-9)))
    return tuple(tuple(symbols[p::count]) for p in range(count))


@attrs.define
class WallClock:
    """Unix time read from trio's clock, anchored by ``start`` (before it: the system
    clock, for what is built before the servers run)."""

    _wall_at_start: float | None = None
    _trio_at_start: float = 0.0

    def start(self) -> None:
        self._wall_at_start = time.time()
        self._trio_at_start = trio.current_time()

    def now(self) -> float:
        if self._wall_at_start is None:
            return time.time()
        return self._wall_at_start + trio.current_time() - self._trio_at_start


class SimServers:
    """The simulated MEXC and Gate.io venues of ``config`` on 127.0.0.1.

    ``mexc_port``, ``gateio_port`` and ``control_port`` are where each listens (0: any
    free port; a later ``run`` binds the ports the first one found). Start with
    ``urls = await nursery.start(servers.run)``; cancelling ``run`` closes every port and
    connection. Faults are switched on ``mexc`` and ``gateio`` (``VenueServer`` methods)
    or through the control API.
    """

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        mexc_port: int = 0,
        gateio_port: int = 0,
        control_port: int = 0,
    ) -> None:
        self.config = config or SimConfig()
        self.clock = WallClock()
        self.venues = SimVenues(self.config, self.clock.now())
        servers = self.config.servers
        self.aimed = AimedFaults()
        """Faults aimed at order placements, shared by both venues: it sees both legs."""
        self.mexc = MexcServer(
            self.venues.spot, self.config.spot, servers, self.clock.now, self.aimed
        )
        self.gateio = GateioServer(
            self.venues.futures, self.config.futures, servers, self.clock.now, self.aimed
        )
        self.control = ControlApi(self)
        self._ports = (mexc_port, gateio_port, control_port)
        self.urls: SimUrls | None = None
        """Set once ``run`` has started."""
        self.held_until = 0.0
        """Until when (Unix time) the market stands still (``hold``)."""

    def exchange(self, name: str) -> VenueServer | None:
        """The venue server speaking exchange ``name``'s API: ``mexc`` or ``gateio``."""
        return {"mexc": self.mexc, "gateio": self.gateio}.get(name)

    async def run(self, *, task_status: trio.TaskStatus[SimUrls] = trio.TASK_STATUS_IGNORED):
        """Listen, move the market every tick, and serve until cancelled; started with
        the URLs."""
        self.clock.start()
        mexc_port, gateio_port, control_port = self._ports
        async with trio.open_nursery() as nursery:
            mexc = await nursery.start(self.mexc.serve, mexc_port)
            gateio = await nursery.start(self.gateio.serve, gateio_port)
            control = await nursery.start(self.control.serve, control_port)
            # Run again (a supervisor's restart), the servers come back where clients
            # already point.
            self._ports = (mexc, gateio, control)
            self.urls = SimUrls(
                mexc_rest=f"http://{HOST}:{mexc}",
                mexc_ws=f"ws://{HOST}:{mexc}{self.mexc.websocket_path}",
                gateio_rest=f"http://{HOST}:{gateio}",
                gateio_ws=f"ws://{HOST}:{gateio}{self.gateio.websocket_path}",
                control=f"http://{HOST}:{control}",
            )
            nursery.start_soon(self._move_market)
            task_status.started(self.urls)

    async def _move_market(self) -> None:
        tick_s = self.config.servers.tick_s
        phases = push_phases(self.venues.market.symbols, tick_s)
        spacing = tick_s / len(phases)
        next_phase = trio.current_time()
        while True:
            for symbols in phases:
                next_phase += spacing
                await trio.sleep_until(next_phase)
                self.tick(symbols)
                # A phase a little late (a busy moment) is caught up on, so every symbol
                # keeps its cadence; after a stall of a whole tick (a suspended laptop),
                # go on from now rather than catch up.
                next_phase = max(next_phase, trio.current_time() - tick_s)

    def tick(self, symbols: Sequence[Symbol]) -> None:
        """Advance the market of ``symbols`` to now (or, held, only their clock) and push
        what changed."""
        now = self.clock.now()
        if now < self.held_until:
            self.venues.stand_still(now, symbols)
        else:
            self.venues.advance(now, symbols)
        self.mexc.publish_market(now, symbols)
        self.gateio.publish_market(now, symbols)

    def hold(self, seconds: float) -> float:
        """Hold the market still for the next ``seconds``: no price moves, no premium
        accrues, the books stay as they are and are pushed every phase all the same
        (feeds stay fresh). Returns until when (Unix time); replaces a hold going on."""
        self.held_until = self.clock.now() + seconds
        return self.held_until

    def dislocate(self, symbol: Symbol | None = None, size: float | None = None) -> None:
        """Jump the perpetual of ``symbol`` (every symbol when ``None``) to a premium of
        ``size`` over its usual gap now (default: the configured dislocation size)."""
        self.venues.dislocate(symbol, size)

    def run_price(self, symbol: Symbol, mark_price: float, seconds: float) -> None:
        """Run the perpetual mark price of ``symbol`` towards ``mark_price`` over the next
        ``seconds``, spot along with it; ``ValueError`` for a price or time <= 0."""
        self.venues.run_price(symbol, mark_price, seconds)

    def auto_deleverage(self, symbol: Symbol, contracts: int | None = None) -> AutoDeleverage:
        """Deleverage ``contracts`` (``None``: all) of the account's ``symbol`` position at
        the mark price, as the venue's ADL does; pushed on the Gate.io private channels.
        ``InvalidParameter`` when there is no position or too many contracts are asked."""
        return self.venues.auto_deleverage(symbol, contracts)

    def transfer(self, venue_name: str, amount: float) -> float:
        """Move ``amount`` USDT into (out of, when negative) the account at ``mexc`` or
        ``gateio``, as the account's owner would from elsewhere; returns what moved."""
        return self.venues.transfer("spot" if venue_name == "mexc" else "futures", amount)

    def free_usdt(self, venue_name: str) -> float:
        """The USDT free at ``mexc``, or available at ``gateio``."""
        if venue_name == "mexc":
            return self.venues.spot.balance("USDT").free
        return self.venues.futures.account().available

    # ------------------------------------------------------------------ views

    def ledgers(self) -> Ledgers:
        return Ledgers(
            list(self.venues.spot.ledger.entries()), list(self.venues.futures.ledger.entries())
        )

    def holdings(self) -> Holdings:
        futures = self.venues.futures
        return Holdings(
            SpotHoldings(self.venues.spot.balances()),
            FuturesHoldings(futures.account(), futures.positions()),
        )

    def faults(self) -> Faults:
        return Faults(self.mexc.faults_view(), self.gateio.faults_view())
