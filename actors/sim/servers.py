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
from collections.abc import Mapping, Sequence

import attrs
import trio

from actors.sim.aimed_faults import AimedFaults
from actors.sim.binance_futures_server import BinanceFuturesServer
from actors.sim.binance_server import BinanceServer
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


SERVERS: dict[str, type[VenueServer]] = {
    "mexc": MexcServer,
    "gateio": GateioServer,
    "binance": BinanceServer,
    "binance_futures": BinanceFuturesServer,
}
"""The wire edge of each venue the simulation can be, by name."""


class SimServers:
    """The simulated venues of ``config`` on 127.0.0.1: each symbol at the pair
    ``config.pairs`` names (MEXC and Gate.io by default), each venue on its own port.

    ``ports`` says where each venue listens by name, ``mexc_port``, ``gateio_port`` and
    ``control_port`` where MEXC, Gate.io and the control API do (0: any free port; a
    later ``run`` binds the ports the first one found). Start with ``urls = await
    nursery.start(servers.run)``; cancelling ``run`` closes every port and connection.
    Faults are switched on each venue's server (``servers.mexc``, ``servers.server(name)``:
    ``VenueServer`` methods) or through the control API.
    """

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        ports: Mapping[str, int] | None = None,
        mexc_port: int = 0,
        gateio_port: int = 0,
        control_port: int = 0,
    ) -> None:
        self.config = config or SimConfig()
        self.clock = WallClock()
        self.venues = SimVenues(self.config, self.clock.now())
        servers = self.config.servers
        self.aimed = AimedFaults(self.config.pair)
        """Faults aimed at order placements, shared by every venue: it sees both legs."""
        self.servers: dict[str, VenueServer] = {}
        for name, exchange in self.venues.exchanges.items():
            venue_config = self.venues.venue_configs[name]
            self.servers[name] = SERVERS[name](
                exchange, venue_config, servers, self.clock.now, self.aimed
            )
        self.control = ControlApi(self)
        self._ports = {"mexc": mexc_port, "gateio": gateio_port, **(ports or {})}
        self._control_port = control_port
        self.urls: SimUrls | None = None
        """Set once ``run`` has started."""
        self.held_until = 0.0
        """Until when (Unix time) the market stands still (``hold``)."""

    @property
    def mexc(self) -> VenueServer:
        return self.servers["mexc"]

    @property
    def gateio(self) -> VenueServer:
        return self.servers["gateio"]

    @property
    def served(self) -> tuple[str, ...]:
        return tuple(self.servers)

    @property
    def symbols(self) -> tuple[Symbol, ...]:
        return tuple(self.venues.pairs)

    def exchange(self, name: str) -> VenueServer | None:
        """The venue server speaking exchange ``name``'s API, if it is served."""
        return self.servers.get(name)

    async def run(self, *, task_status: trio.TaskStatus[SimUrls] = trio.TASK_STATUS_IGNORED):
        """Listen, move the market every tick, and serve until cancelled; started with
        the URLs."""
        self.clock.start()
        async with trio.open_nursery() as nursery:
            urls: dict[str, str] = {}
            for name, server in self.servers.items():
                port = await nursery.start(server.serve, self._ports.get(name, 0))
                # Run again (a supervisor's restart), the servers come back where clients
                # already point.
                self._ports[name] = port
                urls[f"{name}_rest"] = f"http://{HOST}:{port}"
                urls[f"{name}_ws"] = f"ws://{HOST}:{port}{server.streams_path}"
            self._control_port = await nursery.start(self.control.serve, self._control_port)
            self.urls = SimUrls(control=f"http://{HOST}:{self._control_port}", **urls)
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
        for name, server in self.servers.items():
            server.publish_market(now, self.venues.listed_at(name, symbols))

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
        the mark price, as the venue's ADL does; pushed on its private channels.
        ``InvalidParameter`` when there is no position or too many contracts are asked."""
        return self.venues.auto_deleverage(symbol, contracts)

    def transfer(self, venue_name: str, amount: float) -> float:
        """Move ``amount`` USDT into (out of, when negative) the account at venue
        ``venue_name``, as the account's owner would from elsewhere; returns what moved."""
        return self.venues.transfer(venue_name, amount)

    def free_usdt(self, venue_name: str) -> float:
        """The USDT free at spot venue ``venue_name``, or available at a futures venue."""
        spot = self.venues.spot_venues.get(venue_name)
        if spot is not None:
            return spot.balance("USDT").free
        return self.venues.futures_venues[venue_name].account().available

    # ------------------------------------------------------------------ views

    def ledgers(self) -> Ledgers:
        return Ledgers(
            **{name: list(venue.ledger.entries()) for name, venue in self.venues.exchanges.items()}
        )

    def holdings(self) -> Holdings:
        held: dict[str, SpotHoldings | FuturesHoldings] = {
            name: SpotHoldings(spot.balances()) for name, spot in self.venues.spot_venues.items()
        }
        for name, futures in self.venues.futures_venues.items():
            held[name] = FuturesHoldings(futures.account(), futures.positions())
        return Holdings(**held)  # type: ignore[arg-type]

    def faults(self) -> Faults:
        return Faults(**{name: server.faults_view() for name, server in self.servers.items()})
