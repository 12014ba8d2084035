"""Basis's feed and router on Binance spot against the simulated Binance venue over real
loopback sockets, in Binance's wire format, through the faults the venue can inject.
What every venue is held to alike (refusals, 429s, 5xxs) is in ``tests/conformance``."""

from __future__ import annotations

import math
import random

import httpx
import pytest
import trio

from actors.runtime.market.feed import Feed
from actors.runtime.orders.router import Router
from actors.sim import SimConfig
from actors.venues.binance import (
    BinanceFeedCodec,
    BinancePrivateCodec,
    BinanceRouterCodec,
    base_holdings,
    free_usdt,
    open_and_recent_orders,
)
from actors.venues.rest import RestClient
from protocols.messages import (
    AmendOrder,
    FeedHealth,
    MarketQuote,
    OrderAccepted,
    OrderFinal,
    OrderRejected,
    PlaceOrder,
    ReconcileOrder,
)
from protocols.model import Fill, Leg, Order, OrderStatus, OrderType, Side, Symbol, TimeInForce
from protocols.venue import ApiCredentials
from supervision import Backoff, Incarnation, Mailbox
from tests.integration.binance_twin import binance_config, start
from tests.integration.polling import wait_until

BTC = Symbol("BTC", "USDT")
ETH = Symbol("ETH", "USDT")
SIM = ApiCredentials("sim-key", "sim-secret")
FAST = Backoff(min_s=0.02, max_s=0.1)


@pytest.fixture
async def sim(nursery):
    twin = await start(nursery, binance_config(SimConfig()))
    async with RestClient(twin.rest_url) as rest:
        twin.rest = rest
        yield twin


def feed_for(sim, mailbox, **options):
    codec = BinanceFeedCodec(sim.rest)
    return Feed(
        "feed-binance",
        codec,
        sim.ws_url,
        {BTC: [mailbox.address], ETH: [mailbox.address]},
        backoff=FAST,
        rng=random.Random(3),
        fetch_snapshot=codec.fetch_snapshot,
        **options,
    )


async def next_of(mailbox, kind, where=lambda m: True):
    with trio.fail_after(10.0):
        while True:
            message = await mailbox.receive()
            if isinstance(message, kind) and where(message):
                return message


async def test_quotes_flow_and_survive_a_drop(nursery, sim):
    strategy = Mailbox("strategy")
    feed = feed_for(sim, strategy)
    nursery.start_soon(feed.run, Incarnation(feed.name, 0, None, None))
    first = await next_of(strategy, MarketQuote)
    assert first.leg is Leg.SPOT
    assert 0 < first.quote.bid < first.quote.ask
    await next_of(strategy, MarketQuote, lambda m: m.quote.symbol == ETH)
    sim.server.drop_websockets()
    down = await next_of(strategy, FeedHealth, lambda h: not h.fresh)
    assert down.leg is Leg.SPOT
    await next_of(strategy, FeedHealth, lambda h: h.fresh)
    await next_of(strategy, MarketQuote)
    assert feed.status.connects == 2


async def test_a_stalled_connection_is_caught_by_staleness(nursery, sim):
    strategy = Mailbox("strategy")
    feed = feed_for(sim, strategy, stale_after_s=0.5, connect_timeout_s=0.5)
    nursery.start_soon(feed.run, Incarnation(feed.name, 0, None, None))
    await next_of(strategy, FeedHealth, lambda h: h.fresh)
    sim.server.stall_websockets(2.0)
    stalled = await next_of(strategy, FeedHealth, lambda h: not h.fresh)
    assert "stalled" in stalled.detail
    await next_of(strategy, FeedHealth, lambda h: h.fresh)


async def test_depth_syncs_from_a_snapshot_and_a_gap_resyncs(nursery, sim):
    strategy = Mailbox("strategy")
    feed = feed_for(sim, strategy, depth=True)
    nursery.start_soon(feed.run, Incarnation(feed.name, 0, None, None))
    quote = await next_of(strategy, MarketQuote, lambda m: m.quote.symbol == BTC)
    # Binance's diffs start from nothing: each book began with a snapshot.
    assert feed.status.resyncs >= 1
    assert quote.quote.depth is not None
    sim.server.skip_depth_update(BTC)
    status = feed.status
    await wait_until(lambda: status.gaps > 0 and status.resyncs >= 3 and status.state == "fresh")
    await next_of(strategy, MarketQuote, lambda m: m.quote.symbol == BTC)


async def start_router(nursery, sim, strategy, private=False):
    router = Router(
        "router-binance",
        BinanceRouterCodec(SIM),
        sim.rest,
        owners={"t1": strategy.address},
        subscribers={BTC: [strategy.address]},
        private=BinancePrivateCodec(SIM) if private else None,
        ws_url=sim.ws_url,
        poll_interval_s=0.05,
        read_after_write_s=0.2,
        backoff=FAST,
        rng=random.Random(5),
    )
    inbox = Mailbox("router-binance")
    await nursery.start(router.run, Incarnation(router.name, 0, None, inbox))
    return router, inbox


def market_order(seq, side=Side.BUY, qty=0.001):
    return Order(f"t1-{seq}s", Leg.SPOT, BTC, side, qty, 0.0, type=OrderType.MARKET)


async def settle(strategy, client_id):
    heard = []
    with trio.fail_after(10):
        while True:
            message = await strategy.receive()
            if getattr(message, "client_id", None) == client_id:
                heard.append(message)
                if isinstance(message, (OrderFinal, OrderRejected)):
                    return heard


@pytest.mark.parametrize("private", [False, True])
async def test_an_order_fills_once_and_every_report_arrives(nursery, sim, private):
    strategy = Mailbox("strategy")
    router, inbox = await start_router(nursery, sim, strategy, private)
    if private:
        await wait_until(lambda: router.stream is not None and router.stream.up)
    order = market_order(1)
    await inbox.send(PlaceOrder(order))
    heard = await settle(strategy, order.client_id)
    assert isinstance(heard[0], OrderAccepted)
    final = heard[-1]
    assert (final.status, final.filled_qty) == (OrderStatus.FILLED, pytest.approx(order.qty))
    fills = [m for m in heard if isinstance(m, Fill)]
    assert sum(f.qty for f in fills) == pytest.approx(order.qty)
    assert sim.venues.spot.ledger.client_ids() == [order.client_id]
    # The fee Binance took in the coin bought is told as such, valued in USDT.
    [charged] = sim.venues.spot.ledger.fills(BTC)
    assert charged.fee_asset == "BTC"
    assert sum(f.fee for f in fills) == pytest.approx(charged.fee_usdt, rel=1e-6)


async def test_the_private_stream_subscribes_anew_after_a_drop_and_a_refusal(nursery, sim):
    strategy = Mailbox("strategy")
    router, inbox = await start_router(nursery, sim, strategy, private=True)
    await wait_until(lambda: router.stream is not None and router.stream.up)
    stream = router.stream
    sim.server.drop_websockets()
    await wait_until(lambda: stream.connects == 2 and stream.up)
    # A venue clock 30 s behind takes the subscription's timestamp for one from the
    # future: refused (-1021), the stream stays down and tries again.
    sim.server.clock_ahead_s = -30.0
    sim.server.drop_websockets()
    await wait_until(lambda: "-1021" in stream.last_reason and not stream.up)
    assert "subscription refused" in stream.last_reason
    sim.server.clock_ahead_s = 0.0
    await wait_until(lambda: stream.up)
    order = market_order(1)
    await inbox.send(PlaceOrder(order))
    heard = await settle(strategy, order.client_id)
    assert heard[-1].status is OrderStatus.FILLED


async def test_a_timeout_after_the_venue_took_the_order_never_doubles_it(nursery, sim):
    strategy = Mailbox("strategy")
    router, inbox = await start_router(nursery, sim, strategy)
    router.rest._client.timeout = httpx.Timeout(0.5)
    sim.server.time_out_orders(1, hold_s=2.0)
    order = market_order(2)
    await inbox.send(PlaceOrder(order))
    heard = await settle(strategy, order.client_id)
    assert heard[-1].status is OrderStatus.FILLED
    assert sim.venues.spot.ledger.client_ids() == [order.client_id]
    assert router.stats.unknown_resolved == 1


def resting_price(sim):
    """A buy price well under the market, on the venue's tick: the order rests unfilled."""
    tick = sim.venues.spot.rules(BTC).price_tick
    return math.floor(sim.venues.market.spot_mid(BTC) * 0.9 / tick) * tick


async def test_an_amend_cancels_a_working_order(nursery, sim):
    strategy = Mailbox("strategy")
    _, inbox = await start_router(nursery, sim, strategy)
    order = Order("t1-9s", Leg.SPOT, BTC, Side.BUY, 0.003, resting_price(sim), tif=TimeInForce.GTC)
    await inbox.send(PlaceOrder(order))
    with trio.fail_after(10):
        while not isinstance(await strategy.receive(), OrderAccepted):
            pass
    await inbox.send(AmendOrder(Leg.SPOT, order.client_id, BTC, 0.001))
    heard = await settle(strategy, order.client_id)
    assert heard[-1].status is OrderStatus.CANCELLED
    assert sim.venues.spot.open_orders() == []


async def test_an_ioc_remainder_expires_and_ends_the_order(nursery, sim):
    strategy = Mailbox("strategy")
    _, inbox = await start_router(nursery, sim, strategy)
    sim.server.fill_partially(0.5)
    ask = sim.venues.market.quote(BTC, Leg.SPOT).ask
    order = Order("t1-6s", Leg.SPOT, BTC, Side.BUY, 0.002, ask, tif=TimeInForce.IOC)
    await inbox.send(PlaceOrder(order))
    final = (await settle(strategy, order.client_id))[-1]
    assert isinstance(final, OrderFinal)
    assert final.status is OrderStatus.EXPIRED
    assert final.filled_qty == pytest.approx(0.001)


LAG_S = 1.0


async def test_an_order_binance_does_not_show_yet_is_found_not_reported_never_arrived(nursery, sim):
    """An earlier run sent the order just before it stopped; recovery asks the router to
    settle it at once, while the venue still answers -2013."""
    sim.server.set_read_after_write(LAG_S, None)
    placed = sim.venues.spot.place_order(
        BTC,
        Side.BUY,
        OrderType.LIMIT,
        0.001,
        price=resting_price(sim),
        client_id="t1-7s",
        now=sim.clock.now(),
    )
    strategy = Mailbox("strategy")
    router, inbox = await start_router(nursery, sim, strategy)
    router.read_after_write_s = 2 * LAG_S
    await inbox.send(ReconcileOrder(Leg.SPOT, "t1-7s", BTC))
    heard = await settle(strategy, "t1-7s")
    assert isinstance(heard[0], OrderAccepted)
    assert heard[0].venue_order_id == placed.venue_order_id
    assert (heard[-1].status, heard[-1].filled_qty) == (OrderStatus.CANCELLED, 0.0)
    assert sim.server.faults_view().hidden_lookups["lagged_lookup"] > 0


async def test_an_order_that_never_reached_binance_is_concluded_after_the_lag(nursery, sim):
    sim.server.set_read_after_write(LAG_S, None)
    strategy = Mailbox("strategy")
    router, inbox = await start_router(nursery, sim, strategy)
    router.read_after_write_s = 0.5
    await inbox.send(ReconcileOrder(Leg.SPOT, "t1-8s", BTC))
    [rejected] = await settle(strategy, "t1-8s")
    assert isinstance(rejected, OrderRejected)


async def test_the_venue_helpers_read_balances_and_orders(sim):
    now = sim.clock.now()
    assert await free_usdt(sim.rest, SIM, now) == 100_000.0
    assert await base_holdings(sim.rest, SIM, BTC, now) == 1.0
    resting = sim.venues.spot.place_order(
        BTC, Side.BUY, OrderType.LIMIT, 0.001, price=resting_price(sim), client_id="t1-1s",
        now=now,
    )  # fmt: skip
    done = sim.venues.spot.place_order(
        BTC, Side.SELL, OrderType.MARKET, 0.001, client_id="t1-2s", now=now
    )
    orders = await open_and_recent_orders(sim.rest, SIM, BTC, sim.clock.now())
    assert {(o.venue_order_id, o.status) for o in orders} == {
        (resting.venue_order_id, OrderStatus.NEW),
        (done.venue_order_id, OrderStatus.FILLED),
    }
    assert await free_usdt(sim.rest, SIM, sim.clock.now()) > 100_000.0  # the sale's proceeds
