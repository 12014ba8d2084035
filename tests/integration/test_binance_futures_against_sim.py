"""Basis's own feed and router with the Binance USDⓈ-M codecs against the simulated
Binance futures venue over real loopback sockets, in its real wire format, through the
faults the venue can inject: quotes, depth resync by ``pu``, funding, orders placed,
filled, amended and cancelled, reduce-only, unknown outcomes looked up by client id,
rate limits, reconnects, the user data stream and its listen key, positions and the
funding book.
What every venue is held to alike (refusals, 429s, 5xxs) is in ``tests/conformance``."""

from __future__ import annotations

import random
import time

import httpx
import pytest
import trio

from actors.runtime.market.feed import Feed
from actors.runtime.orders.funding_book import FundingBook
from actors.runtime.orders.router import Router
from actors.venues.binance_futures import (
    BinanceFuturesFeedCodec,
    BinanceFuturesFundingBookCodec,
    BinanceFuturesPrivateCodec,
    BinanceFuturesRouterCodec,
    available_usdt,
    open_and_recent_orders,
    read_position,
    short_position,
)
from actors.venues.rest import RestClient
from protocols.messages import (
    AmendOrder,
    CancelOrder,
    FeedHealth,
    FundingRateUpdate,
    MarketQuote,
    OrderAccepted,
    OrderFinal,
    OrderRejected,
    PlaceOrder,
)
from protocols.model import Fill, Leg, Order, OrderStatus, OrderType, Side, Symbol, TimeInForce
from protocols.venue import ApiCredentials
from supervision import Backoff, Incarnation, Mailbox
from tests.integration.polling import wait_until
from tests.integration.sim.binance_futures_twin import moving, start, with_funding_interval

BTC = Symbol("BTC", "USDT")
ETH = Symbol("ETH", "USDT")
SIM = ApiCredentials("sim-key", "sim-secret")
FAST = Backoff(min_s=0.02, max_s=0.1)


@pytest.fixture
async def twin(nursery):
    twin = await start(nursery, moving())
    async with RestClient(twin.urls.rest) as rest:
        twin.rest = rest
        yield twin


def feed_for(twin, mailbox, **options):
    codec = BinanceFuturesFeedCodec(twin.rest)
    return Feed(
        "feed-binance-futures",
        codec,
        twin.urls.ws,
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


# --------------------------------------------------------------------- the feed


async def test_quotes_and_funding_flow_and_survive_a_drop(nursery, twin):
    strategy = Mailbox("strategy")
    feed = feed_for(twin, strategy)
    nursery.start_soon(feed.run, Incarnation(feed.name, 0, None, None))
    first = await next_of(strategy, MarketQuote)
    assert first.leg is Leg.FUTURES
    assert 0 < first.quote.bid < first.quote.ask
    await next_of(strategy, MarketQuote, lambda m: m.quote.symbol == ETH)
    funding = await next_of(strategy, FundingRateUpdate)
    published = twin.venues.market.funding_rate(BTC)
    assert funding.interval_s == published.interval_s
    assert funding.next_ts is not None and funding.next_ts > funding.now - 1.0
    twin.server.drop_websockets()
    await next_of(strategy, FeedHealth, lambda h: not h.fresh)
    await next_of(strategy, FeedHealth, lambda h: h.fresh)
    await next_of(strategy, MarketQuote)
    assert feed.status.connects == 2


async def test_a_stalled_connection_is_caught_by_staleness(nursery, twin):
    strategy = Mailbox("strategy")
    feed = feed_for(twin, strategy, stale_after_s=0.5, connect_timeout_s=0.5)
    nursery.start_soon(feed.run, Incarnation(feed.name, 0, None, None))
    await next_of(strategy, FeedHealth, lambda h: h.fresh)
    twin.server.stall_websockets(2.0)
    stalled = await next_of(strategy, FeedHealth, lambda h: not h.fresh)
    assert "stalled" in stalled.detail
    await next_of(strategy, FeedHealth, lambda h: h.fresh)


async def test_a_depth_update_whose_pu_is_not_the_last_u_resyncs_from_a_snapshot(nursery, twin):
    strategy = Mailbox("strategy")
    feed = feed_for(twin, strategy, depth=True)
    nursery.start_soon(feed.run, Incarnation(feed.name, 0, None, None))
    await next_of(strategy, MarketQuote, lambda m: m.quote.symbol == BTC)
    status = feed.status
    resyncs = status.resyncs
    assert resyncs >= 1  # Binance sends no whole book: the first sync is a snapshot
    twin.server.skip_depth_update(BTC)
    await wait_until(
        lambda: status.gaps > 0 and status.resyncs > resyncs and status.state == "fresh"
    )
    quote = await next_of(strategy, MarketQuote, lambda m: m.quote.symbol == BTC)
    assert quote.quote.depth is not None


# ------------------------------------------------------------------- the router


async def start_router(nursery, twin, strategy, private=False):
    router = Router(
        "router-binance-futures",
        BinanceFuturesRouterCodec(SIM, leverage={BTC: 2.0}),
        twin.rest,
        owners={"t1": strategy.address},
        subscribers={BTC: [strategy.address]},
        private=BinanceFuturesPrivateCodec(SIM) if private else None,
        ws_url=twin.urls.ws,
        poll_interval_s=0.05,
        read_after_write_s=0.2,
        backoff=FAST,
        rng=random.Random(5),
    )
    inbox = Mailbox("router-binance-futures")
    await nursery.start(router.run, Incarnation(router.name, 0, None, inbox))
    return router, inbox


def market_order(seq, side=Side.SELL, qty=0.001, reduce_only=False):
    return Order(
        f"t1-{seq}f",
        Leg.FUTURES,
        BTC,
        side,
        qty,
        0.0,
        type=OrderType.MARKET,
        reduce_only=reduce_only,
    )


def ledger_client_ids(twin):
    return list(twin.venues.futures.ledger.client_ids())


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
async def test_an_order_fills_once_and_every_report_arrives(nursery, twin, private):
    strategy = Mailbox("strategy")
    router, inbox = await start_router(nursery, twin, strategy, private)
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
    (charged,) = twin.venues.futures.ledger.fills(BTC)
    assert sum(f.fee for f in fills) == pytest.approx(charged.fee_usdt, rel=1e-9)
    assert ledger_client_ids(twin) == [order.client_id]
    position = await read_position(twin.rest, SIM, BTC, router.rules[BTC], time.time())
    assert position.qty == pytest.approx(-order.qty)
    assert position.leverage == 2.0


async def test_a_timeout_after_the_venue_took_the_order_is_looked_up_never_doubled(nursery, twin):
    strategy = Mailbox("strategy")
    router, inbox = await start_router(nursery, twin, strategy)
    router.rest._client.timeout = httpx.Timeout(0.5)
    twin.server.time_out_orders(1, hold_s=2.0)
    order = market_order(2)
    await inbox.send(PlaceOrder(order))
    heard = await settle(strategy, order.client_id)
    assert heard[-1].status is OrderStatus.FILLED
    assert ledger_client_ids(twin) == [order.client_id]
    assert router.stats.unknown_resolved == 1


async def test_a_reduce_only_order_closes_what_is_held_and_no_more(nursery, twin):
    strategy = Mailbox("strategy")
    router, inbox = await start_router(nursery, twin, strategy)
    opening = market_order(6, qty=0.002)
    await inbox.send(PlaceOrder(opening))
    assert (await settle(strategy, opening.client_id))[-1].status is OrderStatus.FILLED
    closing = market_order(7, side=Side.BUY, qty=0.003, reduce_only=True)
    await inbox.send(PlaceOrder(closing))
    final = (await settle(strategy, closing.client_id))[-1]
    assert final.filled_qty == pytest.approx(0.002)
    assert final.status in (OrderStatus.EXPIRED, OrderStatus.CANCELLED)
    short = await short_position(twin.rest, SIM, BTC, router.rules[BTC], time.time())
    assert short == 0.0


async def test_an_amend_brings_a_working_order_down_and_a_cancel_ends_it(nursery, twin):
    strategy = Mailbox("strategy")
    router, inbox = await start_router(nursery, twin, strategy)
    bid = twin.venues.market.quote(BTC, Leg.FUTURES).bid
    tick = router.rules[BTC].price_tick
    price = round(round(bid * 0.99 / tick) * tick, 8)
    order = Order("t1-9f", Leg.FUTURES, BTC, Side.BUY, 0.003, price, tif=TimeInForce.GTC)
    await inbox.send(PlaceOrder(order))
    with trio.fail_after(10):
        while not isinstance(await strategy.receive(), OrderAccepted):
            pass
    await inbox.send(AmendOrder(Leg.FUTURES, order.client_id, BTC, 0.001))
    tracked = router.orders[order.client_id]
    await wait_until(lambda: tracked.order.qty == 0.001)
    (resting,) = twin.venues.futures.open_orders(BTC)
    assert resting.qty == pytest.approx(0.001) and resting.status is OrderStatus.NEW
    listed = await open_and_recent_orders(twin.rest, SIM, BTC, router.rules[BTC], time.time())
    assert [o.client_id for o in listed] == [order.client_id]
    await inbox.send(CancelOrder(Leg.FUTURES, order.client_id, BTC))
    heard = await settle(strategy, order.client_id)
    assert heard[-1].status is OrderStatus.CANCELLED


async def test_the_private_stream_opens_a_new_listen_key_when_the_old_one_expires(nursery, twin):
    strategy = Mailbox("strategy")
    router, inbox = await start_router(nursery, twin, strategy, private=True)
    await wait_until(lambda: router.stream is not None and router.stream.up)
    assert twin.server.expire_listen_key()
    await wait_until(lambda: router.stream.connects == 2 and router.stream.up)
    order = market_order(10)
    await inbox.send(PlaceOrder(order))
    assert (await settle(strategy, order.client_id))[-1].status is OrderStatus.FILLED


async def test_the_funding_book_reads_the_settlements_of_the_position(nursery):
    twin = await start(nursery, with_funding_interval(moving(), 0.1))
    async with RestClient(twin.urls.rest) as rest:
        codec = BinanceFuturesRouterCodec(SIM)
        rules = (await codec.load_rules(rest, [BTC]))[BTC]
        bid = twin.venues.market.quote(BTC, Leg.FUTURES).bid
        order = Order("t1-fund", Leg.FUTURES, BTC, Side.SELL, 0.01, round(bid * 0.98, 1))
        response = await rest.send(codec.place(order, rules, time.time()))
        assert response.status == 200, response.body
        with trio.fail_after(10):
            while len(twin.venues.futures.ledger.funding_entries()) < 3:  # noqa: ASYNC110
                await trio.sleep(0.02)
        book = FundingBook("funding", BinanceFuturesFundingBookCodec(SIM), rest, {})
        await book.poll()
    assert book.delivered >= 3


async def test_the_balance_the_caps_read_again_and_again_weighs_only_the_account(twin):
    # Read with the position mode, it would weigh 30 more each time: Binance's weights.
    async def used() -> int:
        async with httpx.AsyncClient() as client:
            reply = await client.get(f"{twin.urls.rest}/fapi/v1/time")
        return int(reply.headers["X-MBX-USED-WEIGHT-1M"])

    before = await used()
    available = await available_usdt(twin.rest, SIM, time.time())
    assert await used() - before == 5 + 1  # the account, and the time asked after it
    assert available == pytest.approx(twin.venues.futures.account().available)


@pytest.mark.parametrize("private", [False, True])
async def test_a_partial_fill_is_reported_as_what_filled(nursery, twin, private):
    strategy = Mailbox("strategy")
    router, inbox = await start_router(nursery, twin, strategy, private)
    if private:
        await wait_until(lambda: router.stream is not None and router.stream.up)
    twin.server.fill_partially(0.5)
    order = market_order(11, qty=0.002)
    await inbox.send(PlaceOrder(order))
    heard = await settle(strategy, order.client_id)
    final = heard[-1]
    assert final.filled_qty == pytest.approx(0.001)
    assert final.status is OrderStatus.EXPIRED
    assert sum(m.qty for m in heard if isinstance(m, Fill)) == pytest.approx(0.001)
