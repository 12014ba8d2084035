"""A private stream outlives the venue's longest connection: against each simulated venue
that closes a connection 24 hours after it opened, as the real one documents (Binance
spot's WebSocket API, Binance USDⓈ-M's and MEXC's user data streams), on 127.0.0.1 and
trio's MockClock, the stream replaces its connection an hour before, opening and
subscribing the new one before it closes the old, so that it never goes down; every
report comes to the router once, those the two connections both carried while they
overlapped included. Without the renewal the venue's close is a drop.

The venue's clock is the test's (virtual) one; its market does not move, so a day passes
in a few seconds of keepalives. Frames reach the client half a second late, so that
orders placed while the two connections overlap are reported on both."""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

import attrs
import pytest
import trio

from actors.runtime.market.private_stream import PrivateStream
from actors.sim import SimConfig, SimVenues
from actors.sim.binance_futures_server import STREAM_PATH, BinanceFuturesServer
from actors.sim.binance_server import BinanceServer
from actors.sim.mexc_server import MexcServer
from actors.sim.servers import HOST
from actors.sim.venue_server import VenueServer
from actors.sim.ws_server import LONGEST_CONNECTION_S
from actors.venues.binance import BinancePrivateCodec
from actors.venues.binance_futures import BinanceFuturesPrivateCodec
from actors.venues.mexc import MexcPrivateCodec
from actors.venues.rest import RestClient
from protocols.binance_ws_api import WS_API_PATH
from protocols.model import OrderType, Side, TimeInForce
from protocols.venue import OrderUpdate, Trade
from tests.integration.binance_twin import binance_config
from tests.integration.sim import binance_futures_twin
from tests.integration.sim.support import CREDENTIALS
from tests.unit.sim import helpers

START = 1_800_000_000.0
"""The venue's Unix time when the test's clock reads 0."""
HOUR_S = 3600.0
FRAME_DELAY_MS = 500.0


def unix_now() -> float:
    return START + trio.current_time()


@dataclass(frozen=True)
class Venue:
    """A simulated venue with a 24-hour connection, and its private stream's codec."""

    config: Callable[[], SimConfig]
    server: Callable[[SimVenues, SimConfig], VenueServer]
    codec: Callable[[], object]
    ws_path: str
    place: Callable[[SimVenues, str], object]


def spot_buy(venues: SimVenues, client_id: str) -> object:
    """A buy below the market: accepted, and resting."""
    return venues.spot.place_order(
        helpers.COIN,
        Side.BUY,
        OrderType.LIMIT,
        1.0,
        price=90.0,
        tif=TimeInForce.GTC,
        client_id=client_id,
        now=unix_now(),
    )


def futures_buy(venues: SimVenues, client_id: str) -> object:
    return venues.futures.place_order(
        helpers.COIN,
        Side.BUY,
        OrderType.LIMIT,
        1,
        price=90.0,
        tif=TimeInForce.GTC,
        client_id=client_id,
        now=unix_now(),
    )


VENUES = {
    "binance": Venue(
        lambda: binance_config(helpers.config()),
        lambda venues, config: BinanceServer(venues.spot, config.spot, config.servers, unix_now),
        lambda: BinancePrivateCodec(CREDENTIALS),
        WS_API_PATH,
        spot_buy,
    ),
    "binance_futures": Venue(
        binance_futures_twin.still,
        lambda venues, config: BinanceFuturesServer(
            venues.futures, config.futures, config.servers, unix_now
        ),
        lambda: BinanceFuturesPrivateCodec(CREDENTIALS),
        STREAM_PATH,
        futures_buy,
    ),
    "mexc": Venue(
        helpers.config,
        lambda venues, config: MexcServer(venues.spot, config.spot, config.servers, unix_now),
        lambda: MexcPrivateCodec(CREDENTIALS),
        "/ws",
        spot_buy,
    ),
}


@attrs.define
class Run:
    stream: PrivateStream
    venues: SimVenues
    place_order: Callable[[SimVenues, str], object]
    orders: list[str] = attrs.field(factory=list)
    reports: list[OrderUpdate] = attrs.field(factory=list)

    def place(self) -> None:
        client_id = f"o{len(self.orders)}"
        self.orders.append(client_id)
        self.place_order(self.venues, client_id)

    def told(self) -> list[str]:
        """The orders the router was told of, each as often as it was, in order."""
        return [report.client_id for report in self.reports if report.status.name == "NEW"]


async def start(
    nursery: trio.Nursery, exits: AsyncExitStack, name: str, venue: Venue, codec
) -> Run:
    config = venue.config()
    venues = SimVenues(config, unix_now())
    server = venue.server(venues, config)
    server.wire_faults.delay_frames(FRAME_DELAY_MS)
    port = await nursery.start(server.serve, 0)
    rest = await exits.enter_async_context(RestClient(f"http://{HOST}:{port}"))
    if isinstance(codec, BinancePrivateCodec):
        codec.ws_api_url = f"ws://{HOST}:{port}{WS_API_PATH}"
    reports: list[OrderUpdate] = []

    async def on_order(update: OrderUpdate) -> None:
        reports.append(update)

    async def on_trade(trade: Trade) -> None:
        raise AssertionError(f"nothing trades here: {trade}")

    stream = PrivateStream(
        name,
        codec,
        rest,
        f"ws://{HOST}:{port}{venue.ws_path}",
        on_order,
        on_trade,
        rng=random.Random(1),
        wall_clock=unix_now,
    )
    nursery.start_soon(stream.run)
    return Run(stream, venues, venue.place, reports=reports)


@pytest.fixture
async def exits():
    """What the test opens, closed when it ends."""
    async with AsyncExitStack() as stack:
        yield stack


@pytest.mark.parametrize("name", sorted(VENUES))
async def test_the_connection_is_replaced_before_the_venue_closes_it(
    nursery, autojump_clock, exits, name
):
    venue = VENUES[name]
    codec = venue.codec()
    assert codec.max_lifetime_s == LONGEST_CONNECTION_S
    run = await start(nursery, exits, name, venue, codec)
    await trio.sleep(60.0)
    assert run.stream.up and run.stream.connects == 1
    run.place()
    renewal_at = LONGEST_CONNECTION_S - run.stream.renew_before_s
    await trio.sleep_until(renewal_at - 2.0)
    assert run.stream.connects == 1
    # Around the renewal, one order every 100 ms: some before the new connection is
    # subscribed, some while both connections read, some after the old one closed.
    while trio.current_time() < renewal_at + 10.0:
        run.place()
        await trio.sleep(0.1)
    await trio.sleep_until(LONGEST_CONNECTION_S + HOUR_S)
    run.place()
    await trio.sleep(60.0)
    assert run.stream.connects == 2
    assert run.stream.up and run.stream.last_reason == ""  # never down
    assert run.told() == run.orders  # each once, in order


async def test_without_the_renewal_the_venue_closes_the_connection_at_24_hours(
    nursery, autojump_clock, exits
):
    venue = VENUES["binance"]
    codec = attrs.evolve(venue.codec(), max_lifetime_s=None)
    run = await start(nursery, exits, "binance", venue, codec)
    await trio.sleep_until(LONGEST_CONNECTION_S - 1.0)
    assert run.stream.connects == 1 and run.stream.last_reason == ""
    await trio.sleep_until(LONGEST_CONNECTION_S + 60.0)
    assert run.stream.connects == 2 and run.stream.up
    assert "connection closed" in run.stream.last_reason
