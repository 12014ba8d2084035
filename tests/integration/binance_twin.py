"""The simulated Binance spot venue alone on 127.0.0.1, for the tests that drive it: a
``SimVenues`` market moved every tick, its spot engine behind a ``BinanceServer``."""

from __future__ import annotations

from typing import Any

import msgspec
import trio

from actors.sim import ServerConfig, SimConfig, SimVenues, SpotVenueConfig
from actors.sim.binance_server import BinanceRateLimits, BinanceServer
from actors.sim.servers import HOST, WallClock
from protocols.binance_ws_api import WS_API_PATH

TICK_S = 0.02
BINANCE_SPOT = SpotVenueConfig(
    name="binance",
    maker_fee=0.001,
    taker_fee=0.001,
    fee_asset="base",
    balances={"USDT": 100_000.0, "COIN": 100.0, "BTC": 1.0, "ETH": 10.0},
    client_id_pattern=r"[a-zA-Z0-9_-]{1,36}",
)
"""Binance's standard spot fees (0.1%), charged in the asset received, as Binance does
when no BNB pays them."""


def binance_config(config: SimConfig, **spot: Any) -> SimConfig:
    """``config`` with its spot venue Binance's (``spot`` changing it), ticking every
    20 ms."""
    return msgspec.structs.replace(
        config,
        spot=msgspec.structs.replace(BINANCE_SPOT, **spot),
        servers=ServerConfig(tick_s=TICK_S),
        pairs={str(s.symbol): ("binance", "gateio") for s in config.symbols},
    )


class BinanceTwin:
    """``config``'s market behind a Binance server; ``run`` serves it and moves the
    market every tick until cancelled."""

    def __init__(self, config: SimConfig, limits: BinanceRateLimits | None = None) -> None:
        self.config = config
        self.clock = WallClock()
        self.venues = SimVenues(config, self.clock.now())
        self.server = BinanceServer(
            self.venues.spot, config.spot, config.servers, self.clock.now, limits=limits
        )
        self.rest_url = ""
        self.ws_url = ""
        """The raw streams' base (``/ws``)."""
        self.stream_url = ""
        """The combined streams' base (``/stream``)."""
        self.ws_api_url = ""
        """The WebSocket API (``/ws-api/v3``), where the user data stream is."""

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED):
        self.clock.start()
        async with trio.open_nursery() as nursery:
            port = await nursery.start(self.server.serve, 0)
            self.rest_url = f"http://{HOST}:{port}"
            self.ws_url = f"ws://{HOST}:{port}/ws"
            self.stream_url = f"ws://{HOST}:{port}/stream"
            self.ws_api_url = f"ws://{HOST}:{port}{WS_API_PATH}"
            nursery.start_soon(self._move_market)
            task_status.started()

    async def _move_market(self) -> None:
        symbols = self.venues.market.symbols
        while True:
            await trio.sleep(self.config.servers.tick_s)
            now = self.clock.now()
            self.venues.advance(now, symbols)
            self.server.publish_market(now, symbols)


async def start(nursery: trio.Nursery, config: SimConfig, **options: Any) -> BinanceTwin:
    twin = BinanceTwin(config, **options)
    await nursery.start(twin.run)
    return twin
