"""Feeds and routers against the simulated venues over real loopback sockets, in both
venues' real wire formats, through the faults the venues can inject."""

from __future__ import annotations

import math
import random

import pytest
import trio

from actors.runtime.market.feed import Feed
from actors.runtime.orders.router import Router
from actors.sim.config import FuturesVenueConfig, SimConfig, SpotVenueConfig
from actors.sim.servers import SimServers
from actors.venues.gateio import GateioFeedCodec, GateioPrivateCodec, GateioRouterCodec
from actors.venues.mexc import MexcFeedCodec, MexcPrivateCodec, MexcRouterCodec
from actors.venues.rest import RestClient
from protocols import gateio
from protocols.client_ids import client_order_id
from protocols.messages import (
    AmendOrder,
    CancelOrder,
    FeedHealth,
    MarketQuote,
    OrderAccepted,
    OrderFinal,
    OrderRejected,
    PlaceOrder,
    ReconcileOrder,
)
from protocols.model import Fill, Leg, Order, OrderStatus, OrderType, Side, Symbol, TimeInForce
from protocols.venue import ApiCredentials, InsufficientBalance
from supervision import Backoff, Incarnation, Mailbox
from tests.integration.polling import wait_until

BTC = Symbol("BTC", "USDT")
ETH = Symbol("ETH", "USDT")
SIM = ApiCredentials("sim-key", "sim-secret")
FAST = Backoff(min_s=0.02, max_s=0.1)


@pytest.fixture
async def sim(nursery):
    servers = SimServers()
    await nursery.start(servers.run)
    async with (
        RestClient(servers.urls.mexc_rest) as mexc,
        RestClient(servers.urls.gateio_rest) as gateio,
    ):
        servers.rest = {"mexc": mexc, "gateio": gateio}
        yield servers


def feed_for(sim, venue, mailbox, **options):
    rest = sim.rest[venue]
    codec = MexcFeedCodec(rest) if venue == "mexc" else GateioFeedCodec(rest)
    url = sim.urls.mexc_ws if venue == "mexc" else sim.urls.gateio_ws
    return Feed(
        f"feed-{venue}",
        codec,
        url,
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


@pytest.mark.parametrize("venue", ["mexc", "gateio"])
async def test_quotes_flow_and_survive_a_drop(nursery, sim, venue):
    strategy = Mailbox("strategy")
    feed = feed_for(sim, venue, strategy)
    nursery.start_soon(feed.run, Incarnation(feed.name, 0, None, None))
    first = await next_of(strategy, MarketQuote)
    leg = Leg.SPOT if venue == "mexc" else Leg.FUTURES
    assert first.leg is leg
    assert 0 < first.quote.bid < first.quote.ask
    await next_of(strategy, MarketQuote, lambda m: m.quote.symbol == ETH)
    sim.exchange(venue).drop_websockets()
    down = await next_of(strategy, FeedHealth, lambda h: not h.fresh)
    assert down.leg is leg
    await next_of(strategy, FeedHealth, lambda h: h.fresh)
    await next_of(strategy, MarketQuote)
    assert feed.status.connects == 2


@pytest.mark.parametrize("venue", ["mexc", "gateio"])
async def test_a_stalled_connection_is_caught_by_staleness(nursery, sim, venue):
    strategy = Mailbox("strategy")
    # A stalled venue also leaves handshakes unanswered: give up on those quickly too.
    feed = feed_for(sim, venue, strategy, stale_after_s=0.5, connect_timeout_s=0.5)
    nursery.start_soon(feed.run, Incarnation(feed.name, 0, None, None))
    await next_of(strategy, FeedHealth, lambda h: h.fresh)
    sim.exchange(venue).stall_websockets(1.5)  # three times stale_after_s
    stalled = await next_of(strategy, FeedHealth, lambda h: not h.fresh)
    assert "stalled" in stalled.detail
    await next_of(strategy, FeedHealth, lambda h: h.fresh)


async def test_a_depth_gap_resyncs_from_a_snapshot(nursery, sim):
    strategy = Mailbox("strategy")
    feed = feed_for(sim, "gateio", strategy, depth=True)
    nursery.start_soon(feed.run, Incarnation(feed.name, 0, None, None))
    await next_of(strategy, MarketQuote)
    # Gate.io's first order book update is the whole book: no snapshot was fetched.
    assert feed.status.resyncs == 0
    sim.gateio.skip_depth_update(BTC)
    # The gap took a snapshot, and the feed is fresh again after it.
    status = feed.status
    await wait_until(lambda: status.gaps > 0 and status.resyncs >= 1 and status.state == "fresh")
    await next_of(strategy, MarketQuote, lambda m: m.quote.symbol == BTC)


async def test_the_upgrade_notice_reconnects(nursery, sim):
    strategy = Mailbox("strategy")
    feed = feed_for(sim, "gateio", strategy)
    nursery.start_soon(feed.run, Incarnation(feed.name, 0, None, None))
    await next_of(strategy, FeedHealth, lambda h: h.fresh)
    sim.gateio.send_upgrade_notice()
    notice = await next_of(strategy, FeedHealth, lambda h: not h.fresh)
    assert "upgrade" in notice.detail
    await next_of(strategy, FeedHealth, lambda h: h.fresh)


async def start_router(nursery, sim, venue, strategy, private=False):
    rest = sim.rest[venue]
    if venue == "mexc":
        codec = MexcRouterCodec(SIM)
        stream = MexcPrivateCodec(SIM) if private else None
        ws = sim.urls.mexc_ws
    else:
        codec = GateioRouterCodec(SIM)
        stream = None
        ws = sim.urls.gateio_ws
    router = Router(
        f"router-{venue}",
        codec,
        rest,
        owners={"t1": strategy.address},
        subscribers={BTC: [strategy.address]},
        private=stream,
        ws_url=ws,
        poll_interval_s=0.05,
        read_after_write_s=0.2,
        backoff=FAST,
        rng=random.Random(5),
    )
    if venue == "gateio" and private:
        router.private = GateioPrivateCodec(SIM, "", router.rules)
    inbox = Mailbox(f"router-{venue}")
    await nursery.start(router.run, Incarnation(router.name, 0, None, inbox))
    return router, inbox


def market_order(venue, seq, side=Side.BUY, qty=None):
    leg = Leg.SPOT if venue == "mexc" else Leg.FUTURES
    qty = 0.001 if qty is None else qty
    return Order(
        f"t1-{seq}{'s' if venue == 'mexc' else 'f'}",
        leg,
        BTC,
        side,
        qty,
        0.0,
        type=OrderType.MARKET,
    )


def ledger_client_ids(sim, venue):
    """The client ids the venue accepted, as we spell them (Gate.io adds ``t-``)."""
    exchange = sim.venues.spot if venue == "mexc" else sim.venues.futures
    return [gateio.client_id_from_text(c) for c in exchange.ledger.client_ids()]


async def settle(strategy, client_id):
    heard = []
    with trio.fail_after(10):
        while True:
            message = await strategy.receive()
            if getattr(message, "client_id", None) == client_id:
                heard.append(message)
                if isinstance(message, (OrderFinal, OrderRejected)):
                    return heard


@pytest.mark.parametrize("venue", ["mexc", "gateio"])
@pytest.mark.parametrize("private", [False, True])
async def test_an_order_fills_once_and_every_report_arrives(nursery, sim, venue, private):
    strategy = Mailbox("strategy")
    router, inbox = await start_router(nursery, sim, venue, strategy, private)
    if private:
        await wait_until(lambda: router.stream is not None and router.stream.up)
    order = market_order(venue, 1)
    await inbox.send(PlaceOrder(order))
    heard = await settle(strategy, order.client_id)
    assert isinstance(heard[0], OrderAccepted)
    final = heard[-1]
    assert (final.status, final.filled_qty) == (OrderStatus.FILLED, pytest.approx(order.qty))
    assert sum(m.qty for m in heard if isinstance(m, Fill)) == pytest.approx(order.qty)
    assert ledger_client_ids(sim, venue) == [order.client_id]


@pytest.mark.parametrize("venue", ["mexc", "gateio"])
async def test_a_timeout_after_the_venue_took_the_order_never_doubles_it(nursery, sim, venue):
    strategy = Mailbox("strategy")
    router, inbox = await start_router(nursery, sim, venue, strategy)
    router.rest._client.timeout = __import__("httpx").Timeout(0.5)
    sim.exchange(venue).time_out_orders(1, hold_s=2.0)
    order = market_order(venue, 2)
    await inbox.send(PlaceOrder(order))
    heard = await settle(strategy, order.client_id)
    assert heard[-1].status is OrderStatus.FILLED
    assert ledger_client_ids(sim, venue) == [order.client_id]
    assert router.stats.unknown_resolved == 1


@pytest.mark.parametrize("venue", ["mexc", "gateio"])
async def test_rejects_429_and_5xx(nursery, sim, venue):
    strategy = Mailbox("strategy")
    router, inbox = await start_router(nursery, sim, venue, strategy)
    server = sim.exchange(venue)
    server.reject_orders(1, InsufficientBalance)
    rejected = market_order(venue, 3)
    await inbox.send(PlaceOrder(rejected))
    [refusal] = await settle(strategy, rejected.client_id)
    assert isinstance(refusal, OrderRejected)
    # One 429: the venue tells its wait in whole seconds, so each one costs a second.
    server.rate_limit_requests(1, retry_after_s=0.3)
    limited = market_order(venue, 4)
    await inbox.send(PlaceOrder(limited))
    assert (await settle(strategy, limited.client_id))[-1].status is OrderStatus.FILLED
    assert router.stats.rate_limited == 1
    server.fail_requests(1)
    failed = market_order(venue, 5)
    await inbox.send(PlaceOrder(failed))
    assert (await settle(strategy, failed.client_id))[-1].status is OrderStatus.FILLED
    ids = ledger_client_ids(sim, venue)
    assert ids.count(limited.client_id) == ids.count(failed.client_id) == 1


async def test_a_partial_fill_is_reported_as_what_filled(nursery, sim):
    strategy = Mailbox("strategy")
    _, inbox = await start_router(nursery, sim, "gateio", strategy)
    sim.gateio.fill_partially(0.5)
    order = market_order("gateio", 6, qty=0.002)
    await inbox.send(PlaceOrder(order))
    heard = await settle(strategy, order.client_id)
    final = heard[-1]
    assert final.filled_qty == pytest.approx(0.001)
    assert final.status is OrderStatus.CANCELLED


@pytest.mark.parametrize("venue", ["mexc", "gateio"])
async def test_an_amend_brings_a_working_gateio_order_down_and_cancels_a_mexc_one(
    nursery, sim, venue
):
    strategy = Mailbox("strategy")
    router, inbox = await start_router(nursery, sim, venue, strategy)
    leg = Leg.SPOT if venue == "mexc" else Leg.FUTURES
    exchange = sim.venues.spot if venue == "mexc" else sim.venues.futures
    bid = sim.venues.market.quote(BTC, leg).bid
    tick = router.rules[BTC].price_tick
    # A buy well below the market rests there, nothing filled.
    price = round(round(bid * 0.99 / tick) * tick, 8)
    seq = 9
    client_id = f"t1-{seq}{'s' if venue == 'mexc' else 'f'}"
    order = Order(client_id, leg, BTC, Side.BUY, 0.003, price, tif=TimeInForce.GTC)
    await inbox.send(PlaceOrder(order))
    with trio.fail_after(10):
        while not isinstance(await strategy.receive(), OrderAccepted):
            pass
    await inbox.send(AmendOrder(leg, order.client_id, BTC, 0.001))
    if venue == "mexc":  # no amend on MEXC spot: the order is cancelled
        heard = await settle(strategy, order.client_id)
        assert heard[-1].status is OrderStatus.CANCELLED
        return
    tracked = router.orders[order.client_id]
    await wait_until(lambda: tracked.order.qty == 0.001)
    (resting,) = exchange.open_orders(BTC)
    assert resting.qty == pytest.approx(0.001) and resting.status is OrderStatus.NEW
    await inbox.send(CancelOrder(leg, order.client_id, BTC))
    heard = await settle(strategy, order.client_id)
    assert heard[-1].status is OrderStatus.CANCELLED


@pytest.fixture(params=["base", "mx"])
async def charging_sim(nursery, request):
    """The simulated venues with MEXC charging its fees in the base coin, or in MX."""
    spot = SpotVenueConfig(fee_asset=request.param, balances={"USDT": 10_000.0, "MX": 10.0})
    servers = SimServers(SimConfig(spot=spot))
    await nursery.start(servers.run)
    async with RestClient(servers.urls.mexc_rest) as mexc:
        servers.rest = {"mexc": mexc}
        yield servers


async def test_mexc_fills_carry_the_fees_the_venue_charged_though_orders_say_none(
    nursery, charging_sim
):
    # No private stream: the order's reports alone, which carry no fees, would deliver
    # its fills at an estimated fee in USDT; the router asks for the order's trades
    # before it reports the end, so the fills carry what the venue charged.
    strategy = Mailbox("strategy")
    _, inbox = await start_router(nursery, charging_sim, "mexc", strategy)
    order = market_order("mexc", 1)
    await inbox.send(PlaceOrder(order))
    heard = await settle(strategy, order.client_id)
    [charged] = charging_sim.venues.spot.ledger.fills(BTC)
    assert charged.fee_asset in ("BTC", "MX")
    fills = [m for m in heard if isinstance(m, Fill)]
    assert sum(f.qty for f in fills) == pytest.approx(order.qty)
    told = sum(f.commission for f in fills if f.commission_asset == charged.fee_asset)
    assert told == pytest.approx(charged.fee, rel=1e-9)
    assert sum(f.fee for f in fills) == pytest.approx(charged.fee_usdt, rel=1e-9)


async def test_gateio_fills_carry_the_fees_the_venue_charged_though_orders_say_none(nursery, sim):
    # No private stream: the order's reports alone, which carry no fees, would deliver
    # its fill at the contract's taker rate. The order rests and fills as maker, at the
    # lower maker rate; the router asks for the order's trades before it reports the end.
    strategy = Mailbox("strategy")
    _, inbox = await start_router(nursery, sim, "gateio", strategy)
    futures = sim.venues.futures
    tick = futures.rules(BTC).price_tick
    bid = sim.venues.market.quote(BTC, Leg.FUTURES).bid
    order = Order(
        "t1-1f", Leg.FUTURES, BTC, Side.BUY, 0.001, math.floor(bid / tick) * tick,
        tif=TimeInForce.GTC,
    )  # fmt: skip
    await inbox.send(PlaceOrder(order))
    with trio.fail_after(5):
        while not isinstance(await strategy.receive(), OrderAccepted):
            pass
    sim.dislocate(BTC, -0.05)  # the perpetual's asks fall through the resting bid
    heard = await settle(strategy, order.client_id)
    [charged] = futures.ledger.fills(BTC)
    assert charged.is_maker and charged.fee_asset == "USDT"
    assert heard[-1].status is OrderStatus.FILLED
    fills = [m for m in heard if isinstance(m, Fill)]
    assert sum(f.qty for f in fills) == pytest.approx(order.qty)
    assert sum(f.fee for f in fills) == pytest.approx(charged.fee, rel=1e-9)
    assert charged.fee < order.qty * charged.price * futures.taker_fee


# ------------------------------------------------------------------ read-after-write lag
# The venues' queries lag behind their writes, as the real ones' do: MEXC answers "order
# does not exist" (-2013) for a while after it accepted an order, and Gate.io forgets an
# order that ended with nothing filled. The router must neither take the first for
# "never arrived" nor wait forever on the second.

LAG_S = 1.0


def resting_price(sim, leg):
    """A buy price well under the market, on the venue's tick: the order rests unfilled."""
    exchange = sim.venues.spot if leg is Leg.SPOT else sim.venues.futures
    tick = exchange.rules(BTC).price_tick
    return math.floor(sim.venues.market.spot_mid(BTC) * 0.9 / tick) * tick


async def test_an_order_mexc_does_not_show_yet_is_found_not_reported_never_arrived(nursery, sim):
    """An earlier run sent the order just before it stopped; recovery asks the router to
    settle it at once, while MEXC still answers -2013. Reported "never arrived", the
    strategy would trade on as if the leg were not there while it rests (or fills)."""
    sim.mexc.set_read_after_write(LAG_S, None)
    placed = sim.venues.spot.place_order(
        BTC,
        Side.BUY,
        OrderType.LIMIT,
        0.001,
        price=resting_price(sim, Leg.SPOT),
        client_id="t1-9s",
        now=sim.clock.now(),
    )
    strategy = Mailbox("strategy")
    router, inbox = await start_router(nursery, sim, "mexc", strategy)
    router.read_after_write_s = 2 * LAG_S
    await inbox.send(ReconcileOrder(Leg.SPOT, "t1-9s", BTC))
    heard = await settle(strategy, "t1-9s")
    assert isinstance(heard[0], OrderAccepted)
    assert heard[0].venue_order_id == placed.venue_order_id
    final = heard[-1]
    assert isinstance(final, OrderFinal)
    assert (final.status, final.filled_qty) == (OrderStatus.CANCELLED, 0.0)
    assert sim.venues.spot.open_orders() == []
    assert sim.mexc.faults_view().hidden_lookups["lagged_lookup"] > 0


async def test_an_order_that_never_reached_mexc_is_concluded_after_the_lag(nursery, sim):
    sim.mexc.set_read_after_write(LAG_S, None)
    strategy = Mailbox("strategy")
    router, inbox = await start_router(nursery, sim, "mexc", strategy)
    router.read_after_write_s = 0.5
    started = trio.current_time()
    await inbox.send(ReconcileOrder(Leg.SPOT, "t1-8s", BTC))
    [rejected] = await settle(strategy, "t1-8s")
    assert isinstance(rejected, OrderRejected)
    assert trio.current_time() - started >= 0.5


async def test_a_gateio_order_forgotten_after_its_cancel_ends_cancelled_unfilled(nursery, sim):
    """Gate.io forgets an order that ended with nothing filled, even by its id. Here the
    order is cancelled at the venue behind the router's back (as when a cancel lands and
    its answer is lost) and forgotten at once: the router keeps asking (it has no reason
    to think the order ended) until it sends a cancel of its own, then concludes the
    order ended cancelled with nothing filled, instead of asking forever."""
    sim.gateio.set_read_after_write(0.0, 0.0)
    strategy = Mailbox("strategy")
    router, inbox = await start_router(nursery, sim, "gateio", strategy)
    order = Order(
        "t1-7f", Leg.FUTURES, BTC, Side.BUY, 0.001, resting_price(sim, Leg.FUTURES),
        tif=TimeInForce.GTC,
    )  # fmt: skip
    await inbox.send(PlaceOrder(order))
    with trio.fail_after(5):
        while not isinstance(await strategy.receive(), OrderAccepted):
            pass
    sim.venues.futures.cancel_order(
        client_id=gateio.client_text(order.client_id), now=sim.clock.now()
    )
    await wait_until(lambda: sim.gateio.faults_view().hidden_lookups["forgotten_lookup"] >= 3)
    assert len(strategy) == 0, "concluded without having sent a cancel"
    await inbox.send(CancelOrder(Leg.FUTURES, order.client_id, BTC))
    [final] = await settle(strategy, order.client_id)
    assert isinstance(final, OrderFinal)
    assert (final.status, final.filled_qty) == (OrderStatus.CANCELLED, 0.0)
    assert router.statistics().open_orders == 0


async def test_a_cancel_mexc_answers_unknown_within_the_lag_is_sent_again(nursery, sim):
    """MEXC answers a cancel of an order it does not show yet as it answers one of an
    order that has ended (-2011). Taken for an end, the order would rest on, open."""
    sim.mexc.set_read_after_write(LAG_S, None)
    strategy = Mailbox("strategy")
    router, inbox = await start_router(nursery, sim, "mexc", strategy)
    router.read_after_write_s = 2 * LAG_S
    order = Order(
        "t1-6s", Leg.SPOT, BTC, Side.BUY, 0.001, resting_price(sim, Leg.SPOT),
        tif=TimeInForce.GTC,
    )  # fmt: skip
    await inbox.send(PlaceOrder(order))
    with trio.fail_after(5):
        while not isinstance(await strategy.receive(), OrderAccepted):
            pass
    await inbox.send(CancelOrder(Leg.SPOT, order.client_id, BTC))
    [final] = await settle(strategy, order.client_id)
    assert (final.status, final.filled_qty) == (OrderStatus.CANCELLED, 0.0)
    assert sim.venues.spot.open_orders() == []
    assert sim.mexc.faults_view().hidden_lookups["lagged_lookup"] > 0


# ------------------------------------------------------- lookups after the client id's window
# Gate.io finds an order by its client id (``text``) only until 60 s after it ended; here
# the window is a fifth of a second, so every lookup the router makes comes after it, as
# one would after Gate.io was unreachable for over a minute, or after a longer stop.

CLIENT_ID_WINDOW_S = 0.2


@pytest.fixture
async def late_sim(nursery):
    """The simulated venues with Gate.io's client id window shortened."""
    futures = FuturesVenueConfig(client_id_query_window_s=CLIENT_ID_WINDOW_S)
    servers = SimServers(SimConfig(futures=futures))
    await nursery.start(servers.run)
    async with RestClient(servers.urls.gateio_rest) as gateio_rest:
        servers.rest = {"gateio": gateio_rest}
        yield servers


async def test_a_gateio_order_of_unknown_outcome_found_only_in_the_lists_is_not_sent_again(
    nursery, late_sim
):
    """The placement times out after the venue took and filled the order; by the time the
    router looks, the client id no longer finds it. Taken for "never arrived", the intent
    would go again: a second order, the leg doubled."""
    strategy = Mailbox("strategy")
    router, inbox = await start_router(nursery, late_sim, "gateio", strategy)
    router.rest._client.timeout = __import__("httpx").Timeout(0.5)
    late_sim.gateio.time_out_orders(1, hold_s=2.0)
    order = market_order("gateio", 2)
    await inbox.send(PlaceOrder(order))
    heard = await settle(strategy, order.client_id)
    final = heard[-1]
    assert isinstance(final, OrderFinal)
    assert (final.status, final.filled_qty) == (OrderStatus.FILLED, pytest.approx(order.qty))
    assert ledger_client_ids(late_sim, "gateio") == [order.client_id]
    assert router.stats.resent_after_not_found == 0


async def test_a_filled_gateio_order_reconciled_after_the_window_is_adopted_not_rejected(
    nursery, late_sim
):
    """Recovery after a longer stop: the journal has no venue id (the placement's answer
    was never heard), and the client id finds nothing any more. The order filled: called
    "never arrived", the strategy would trade on without the leg it holds."""
    futures = late_sim.venues.futures
    placed = futures.place_order(
        BTC, Side.SELL, OrderType.MARKET, 1, client_id="t-t1-9f", now=late_sim.clock.now()
    )
    assert placed.status is OrderStatus.FILLED
    await trio.sleep(2 * CLIENT_ID_WINDOW_S)
    strategy = Mailbox("strategy")
    _, inbox = await start_router(nursery, late_sim, "gateio", strategy)
    await inbox.send(ReconcileOrder(Leg.FUTURES, "t1-9f", BTC))
    heard = await settle(strategy, "t1-9f")
    assert isinstance(heard[0], OrderAccepted)
    assert heard[0].venue_order_id == placed.venue_order_id
    final = heard[-1]
    assert isinstance(final, OrderFinal)
    assert (final.status, final.filled_qty) == (OrderStatus.FILLED, pytest.approx(placed.qty))
    assert sum(m.qty for m in heard if isinstance(m, Fill)) == pytest.approx(placed.qty)


async def test_another_instances_orders_in_the_lists_are_never_taken_for_ours(nursery, late_sim):
    """Recovery looks for an order of an older snapshot, ``t1-9f``, that never reached
    the venue. The venue's lists hold another instance's orders of a task of the same
    name and number, one filled and one resting: matched on anything less than the whole
    client id, one would be adopted (its fill taken for ours) or cancelled."""
    futures = late_sim.venues.futures
    now = late_sim.clock.now()
    theirs = client_order_id("t1", 9, Leg.FUTURES, "zz01")
    filled = futures.place_order(
        BTC, Side.SELL, OrderType.MARKET, 1, client_id=f"t-{theirs}", now=now
    )
    resting = futures.place_order(
        BTC, Side.BUY, OrderType.LIMIT, 1,
        price=resting_price(late_sim, Leg.FUTURES),
        client_id=f"t-{client_order_id('t1', 10, Leg.FUTURES, 'zz01')}", now=now,
    )  # fmt: skip
    assert filled.status is OrderStatus.FILLED
    await trio.sleep(2 * CLIENT_ID_WINDOW_S)
    strategy = Mailbox("strategy")
    router, inbox = await start_router(nursery, late_sim, "gateio", strategy)
    router.lookup_give_up_s = 0.0
    await inbox.send(ReconcileOrder(Leg.FUTURES, "t1-9f", BTC))
    [rejected] = await settle(strategy, "t1-9f")
    assert isinstance(rejected, OrderRejected)
    assert list(router.orders) == ["t1-9f"]
    order = futures.order(venue_order_id=resting.venue_order_id, now=late_sim.clock.now())
    assert (order.status, order.filled_qty) == (OrderStatus.NEW, 0.0)


async def test_a_reconciled_gateio_order_is_asked_by_its_journaled_venue_id(nursery, late_sim):
    """The journal holds the venue's acknowledgement. The order ended unfilled and Gate.io
    forgot it; asked by its venue id, the router concludes it ended with nothing filled,
    where by client id alone it could only report it never arrived."""
    late_sim.gateio.set_read_after_write(0.0, 0.0)
    futures = late_sim.venues.futures
    placed = futures.place_order(
        BTC, Side.BUY, OrderType.LIMIT, 1,
        price=resting_price(late_sim, Leg.FUTURES), client_id="t-t1-8f",
        now=late_sim.clock.now(),
    )  # fmt: skip
    futures.cancel_order(venue_order_id=placed.venue_order_id, now=late_sim.clock.now())
    strategy = Mailbox("strategy")
    _, inbox = await start_router(nursery, late_sim, "gateio", strategy)
    await inbox.send(ReconcileOrder(Leg.FUTURES, "t1-8f", BTC, placed.venue_order_id))
    heard = await settle(strategy, "t1-8f")
    assert isinstance(heard[0], OrderAccepted)
    assert heard[0].venue_order_id == placed.venue_order_id
    final = heard[-1]
    assert isinstance(final, OrderFinal)
    assert final.filled_qty == 0.0
    assert late_sim.gateio.faults_view().hidden_lookups["forgotten_lookup"] > 0
