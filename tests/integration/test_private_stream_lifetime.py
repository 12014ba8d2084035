"""A private stream outlives the venue's longest connection: against the simulated
Binance spot venue on 127.0.0.1 (its WebSocket API user data stream, closed by the venue
24 hours after it opened), on trio's MockClock, the stream replaces its connection an
hour before, opening and subscribing the new one before it closes the old, so that it
never goes down; every report comes to the router once, those the two connections both
carried while they overlapped included. Without the renewal the venue's close is a drop.

The venue's clock is the test's (virtual) one; its market does not move, so a day passes
in a few seconds of pings. Frames reach the client half a second late, so that orders
placed while the two connections overlap are reported on both."""

from __future__ import annotations

import random

import attrs
import trio

from actors.runtime.market.private_stream import PrivateStream
from actors.sim import SimVenues
from actors.sim.binance_server import BinanceServer
from actors.sim.servers import HOST
from actors.sim.ws_server import LONGEST_CONNECTION_S
from actors.venues.binance import BinancePrivateCodec
from actors.venues.rest import RestClient
from protocols.binance_ws_api import WS_API_PATH
from protocols.model import OrderType, Side, TimeInForce
from protocols.venue import OrderUpdate, Trade
from tests.integration.binance_twin import binance_config
from tests.integration.sim.support import CREDENTIALS
from tests.unit.sim import helpers

START = 1_800_000_000.0
"""The venue's Unix time when the test's clock reads 0."""
HOUR_S = 3600.0
FRAME_DELAY_MS = 500.0


def unix_now() -> float:
    return START + trio.current_time()


@attrs.define
class Run:
    stream: PrivateStream
    venues: SimVenues
    orders: list[str] = attrs.field(factory=list)
    reports: list[OrderUpdate] = attrs.field(factory=list)
    trades: list[Trade] = attrs.field(factory=list)

    def place(self) -> None:
        """A buy below the market: accepted, and resting."""
        client_id = f"o{len(self.orders)}"
        self.orders.append(client_id)
        self.venues.spot.place_order(
            helpers.COIN,
            Side.BUY,
            OrderType.LIMIT,
            1.0,
            price=90.0,
            tif=TimeInForce.GTC,
            client_id=client_id,
            now=unix_now(),
        )


async def start(nursery: trio.Nursery, codec: BinancePrivateCodec, rest: RestClient) -> Run:
    config = binance_config(helpers.config())
    venues = SimVenues(config, unix_now())
    server = BinanceServer(venues.spot, config.spot, config.servers, unix_now)
    server.wire_faults.delay_frames(FRAME_DELAY_MS)
    port = await nursery.start(server.serve, 0)
    codec.ws_api_url = f"ws://{HOST}:{port}{WS_API_PATH}"
    run = Run(stream=None, venues=venues)  # type: ignore[arg-type]

    async def on_order(update: OrderUpdate) -> None:
        run.reports.append(update)

    async def on_trade(trade: Trade) -> None:
        run.trades.append(trade)

    run.stream = PrivateStream(
        "binance",
        codec,
        rest,
        f"ws://{HOST}:{port}/ws",
        on_order,
        on_trade,
        rng=random.Random(1),
        wall_clock=unix_now,
    )
    nursery.start_soon(run.stream.run)
    return run


async def test_the_connection_is_replaced_before_the_venue_closes_it(nursery, autojump_clock):
    codec = BinancePrivateCodec(CREDENTIALS)
    assert codec.max_lifetime_s == LONGEST_CONNECTION_S
    async with RestClient(f"http://{HOST}:1") as rest:
        run = await start(nursery, codec, rest)
        await trio.sleep(60.0)
        assert run.stream.up and run.stream.connects == 1
        run.place()
        renewal_at = LONGEST_CONNECTION_S - run.stream.renew_before_s
        await trio.sleep_until(renewal_at - 2.0)
        assert run.stream.connects == 1
        run.place()
        # Around the renewal, one order every 100 ms: some before the new connection is
        # subscribed, some while both are, some after the old one closed.
        while trio.current_time() < renewal_at + 8.0:
            run.place()
            await trio.sleep(0.1)
        await trio.sleep_until(LONGEST_CONNECTION_S + HOUR_S)
        run.place()
        await trio.sleep(60.0)
    assert run.stream.connects == 2
    assert run.stream.up and run.stream.last_reason == ""  # never down
    told = [report.client_id for report in run.reports]
    assert told == run.orders  # each once, in order
    assert all(report.status.name == "NEW" for report in run.reports)


async def test_without_the_renewal_the_venue_closes_the_connection_at_24_hours(
    nursery, autojump_clock
):
    codec = attrs.evolve(BinancePrivateCodec(CREDENTIALS), max_lifetime_s=None)
    async with RestClient(f"http://{HOST}:1") as rest:
        run = await start(nursery, codec, rest)
        await trio.sleep_until(LONGEST_CONNECTION_S - 1.0)
        assert run.stream.connects == 1 and run.stream.last_reason == ""
        await trio.sleep_until(LONGEST_CONNECTION_S + 60.0)
    assert run.stream.connects == 2 and run.stream.up
    assert "connection closed" in run.stream.last_reason
