"""The simulated Binance USDⓈ-M venue by itself on loopback, for the tests of its wire
and of Basis's own clients against it: a ``SimVenues`` whose futures venue speaks
Binance's account rules, the ``BinanceFuturesServer`` in front of it, and the market
moved and pushed on a timer, as ``SimServers`` does for the venue pair."""

from __future__ import annotations

from typing import Any

import attrs
import msgspec
import trio

from actors.sim import FuturesVenueConfig, ServerConfig, SimConfig, SimVenues
from actors.sim.aimed_faults import AimedFaults
from actors.sim.binance_futures_server import (
    STREAM_PATH,
    BinanceFuturesLimits,
    BinanceFuturesServer,
)
from actors.sim.servers import HOST, WallClock
from protocols import binance_futures
from tests.unit.sim import helpers

from .support import TICK_S

BINANCE_FUTURES = FuturesVenueConfig(
    name=binance_futures.EXCHANGE,
    balance_usdt=100_000.0,
    client_id_pattern=r"[.A-Z:/a-z0-9_-]{1,36}",
    client_id_query_window_s=None,
    forget_unfilled_after_s=3 * 86400.0,
)
"""The account as Binance keeps it: client order ids of ``newClientOrderId``'s
alphabet, found by ``origClientOrderId`` as long as the order is kept, an order that
ended with nothing filled forgotten after 3 days."""


def still(**servers: Any) -> SimConfig:
    """One coin whose prices never move (COIN/USDT at 100, contract size 0.1)."""
    return _binance(helpers.config(), **servers)


def moving(**servers: Any) -> SimConfig:
    """The default coins on a moving market."""
    return _binance(SimConfig(seed=5), **servers)


def with_funding_interval(config: SimConfig, interval_s: float) -> SimConfig:
    """``config`` with every symbol settling its funding every ``interval_s``."""
    symbols = tuple(
        msgspec.structs.replace(symbol, funding_interval_s=interval_s) for symbol in config.symbols
    )
    return msgspec.structs.replace(config, symbols=symbols)


def _binance(config: SimConfig, **servers: Any) -> SimConfig:
    futures = msgspec.structs.replace(BINANCE_FUTURES, balance_usdt=config.futures.balance_usdt)
    pairs = {str(s.symbol): ("mexc", binance_futures.EXCHANGE) for s in config.symbols}
    return msgspec.structs.replace(
        config, futures=futures, servers=ServerConfig(tick_s=TICK_S, **servers), pairs=pairs
    )


@attrs.define
class Urls:
    rest: str
    ws: str
    """The raw stream endpoint, ``ws://host:port/ws``."""
    stream: str
    """The combined stream endpoint, ``ws://host:port/stream``."""


class BinanceFuturesTwin:
    """The venue of ``config`` (``still()`` or ``moving()``) on 127.0.0.1."""

    def __init__(
        self,
        config: SimConfig,
        limits: BinanceFuturesLimits | None = None,
        aimed: AimedFaults | None = None,
    ) -> None:
        self.config = config
        self.clock = WallClock()
        self.venues = SimVenues(config, self.clock.now())
        self.server = BinanceFuturesServer(
            self.venues.futures,
            config.futures,
            config.servers,
            self.clock.now,
            aimed,
            limits=limits,
        )
        self.urls: Urls | None = None

    async def run(self, *, task_status: trio.TaskStatus[Urls] = trio.TASK_STATUS_IGNORED):
        self.clock.start()
        async with trio.open_nursery() as nursery:
            port = await nursery.start(self.server.serve, 0)
            self.urls = Urls(
                f"http://{HOST}:{port}",
                f"ws://{HOST}:{port}{STREAM_PATH}",
                f"ws://{HOST}:{port}/stream",
            )
            nursery.start_soon(self._move_market)
            task_status.started(self.urls)

    async def _move_market(self) -> None:
        symbols = self.venues.market.symbols
        while True:
            await trio.sleep(self.config.servers.tick_s)
            self.tick(symbols)

    def tick(self, symbols=None) -> None:
        symbols = symbols or self.venues.market.symbols
        now = self.clock.now()
        self.venues.advance(now, symbols)
        self.server.publish_market(now, symbols)


async def start(nursery: trio.Nursery, config: SimConfig, **kwargs: Any) -> BinanceFuturesTwin:
    twin = BinanceFuturesTwin(config, **kwargs)
    await nursery.start(twin.run)
    return twin
