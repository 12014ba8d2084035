"""The simulated MEXC venue driven by Basis's own MEXC clients over loopback: the router
codec and ``RestClient`` for REST, ``open_websocket`` and the feed codec for streams."""

from __future__ import annotations

import msgspec
import pytest

from actors.runtime.market.order_book import OrderBook, Outcome
from actors.runtime.market.websocket import WebSocketClosed, open_websocket
from actors.venues.mexc import MexcFeedCodec, MexcRouterCodec
from actors.venues.rest import RestClient
from protocols import mexc, mexc_rest
from protocols.model import Leg, Order, OrderStatus, OrderType, Quote, Side, Symbol, TimeInForce
from protocols.venue import (
    ApiCredentials,
    BadCredentials,
    BadSignature,
    Balance,
    DepthDiff,
    InvalidSymbol,
    OrderUpdate,
    Pong,
    SubscriptionResult,
    TimestampRejected,
    Trade,
    UnknownOrder,
)
from tests.venue_wire import mexc as mexc_wire

from .support import BTC, COIN, CREDENTIALS, next_matching, now

ROUTER = MexcRouterCodec(CREDENTIALS)
PRIVATE = [
    mexc.PRIVATE_ORDERS_CHANNEL,
    mexc.PRIVATE_DEALS_CHANNEL,
    mexc.PRIVATE_ACCOUNT_CHANNEL,
]


def ms(ts: float) -> int:
    return int(ts * 1000)


def decode(frame, recv_ts):
    return mexc.decode_frame(frame, recv_ts)


def is_(kind, **fields):
    return lambda event: (
        isinstance(event, kind)
        and all(getattr(event, name) == value for name, value in fields.items())
    )


async def place(rest, order, rules):
    response = await rest.send(ROUTER.place(order, rules, now()))
    assert response.status == 200, response.body
    return ROUTER.parse_placed(response, order, rules)


async def query(rest, client_id, rules):
    response = await rest.send(ROUTER.query(COIN, client_id, None, now()))
    assert response.status == 200, response.body
    return ROUTER.parse_order(response, COIN, rules)


# ------------------------------------------------------------------------ REST


async def test_rules_are_served_as_configured(still_sim, mexc_client):
    rules = await ROUTER.load_rules(mexc_client, [COIN])
    configured = still_sim.config.symbols[0].spot_rules
    assert rules == {COIN: msgspec.structs.replace(configured, taker_fee=0.0005)}
    with pytest.raises(InvalidSymbol) as refused:
        await ROUTER.load_rules(mexc_client, [BTC])
    assert refused.value.code == 30014


async def test_server_time_is_wall_clock_time(mexc_client):
    before = now()
    response = await mexc_client.send(mexc_rest.server_time_request())
    after = now()
    # trio's clock, which the server reads, and the system clock may drift a little apart.
    assert before - 1.0 <= mexc_rest.parse_server_time(response.body) <= after + 1.0


async def test_book_ticker_and_depth_are_the_engines_book(still_sim, mexc_client):
    book = still_sim.venues.market.book(COIN, Leg.SPOT)
    response = await mexc_client.send(mexc_wire.book_ticker_request(COIN))
    quote = mexc_wire.parse_book_ticker(response.body, 0.0)
    expected = book.quote()
    assert (quote.bid, quote.bid_qty, quote.ask, quote.ask_qty) == (
        expected.bid,
        expected.bid_qty,
        expected.ask,
        expected.ask_qty,
    )
    response = await mexc_client.send(mexc_rest.depth_request(COIN, limit=3))
    snapshot = mexc_rest.parse_depth(response.body, COIN)
    engine = book.snapshot(3)
    # The still book is redrawn identically on each tick: only its version moves on.
    assert (snapshot.bids, snapshot.asks) == (engine.bids, engine.asks)
    assert 0 < snapshot.version <= book.version


async def test_an_order_rests_is_found_by_either_id_and_is_cancelled(still_sim, mexc_client):
    rules = (await ROUTER.load_rules(mexc_client, [COIN]))[COIN]
    order = Order("rest-1", Leg.SPOT, COIN, Side.BUY, 1.5, 99.0, tif=TimeInForce.GTC)
    placed = await place(mexc_client, order, rules)
    assert (placed.client_id, placed.status, placed.qty, placed.price) == (
        "rest-1",
        OrderStatus.NEW,
        1.5,
        99.0,
    )
    assert (await query(mexc_client, "rest-1", rules)).status is OrderStatus.NEW
    by_id = await mexc_client.send(ROUTER.query(COIN, "ignored", placed.venue_order_id, now()))
    assert ROUTER.parse_order(by_id, COIN, rules).client_id == "rest-1"
    listed = await mexc_client.send(mexc_wire.open_orders_request(COIN, CREDENTIALS, ms(now())))
    assert [o.client_id for o in mexc_wire.parse_open_orders(listed.body)] == ["rest-1"]

    cancelled = await mexc_client.send(ROUTER.cancel(COIN, "rest-1", None, now()))
    assert ROUTER.parse_order(cancelled, COIN, rules).status is OrderStatus.CANCELLED
    again = await mexc_client.send(ROUTER.cancel(COIN, "rest-1", None, now()))
    assert (type(ROUTER.error(again, now())), ROUTER.error(again, now()).code) == (
        UnknownOrder,
        -2011,
    )
    unknown = await mexc_client.send(ROUTER.query(COIN, "never-sent", None, now()))
    assert (type(ROUTER.error(unknown, now())), ROUTER.error(unknown, now()).code) == (
        UnknownOrder,
        -2013,
    )


async def test_an_ioc_order_fills_at_the_touch_and_moves_the_balances(still_sim, mexc_client):
    rules = (await ROUTER.load_rules(mexc_client, [COIN]))[COIN]
    ask = still_sim.venues.market.quote(COIN, Leg.SPOT).ask
    await place(mexc_client, Order("take-1", Leg.SPOT, COIN, Side.BUY, 2.0, ask), rules)
    filled = await query(mexc_client, "take-1", rules)
    assert (filled.status, filled.filled_qty, filled.avg_price) == (OrderStatus.FILLED, 2.0, ask)

    account = await mexc_client.send(mexc_rest.account_request(CREDENTIALS, ms(now())))
    balances = {b.asset: b for b in mexc_rest.parse_account(account.body)}
    assert balances["COIN"] == Balance("COIN", 102.0, 0.0)
    assert balances["USDT"].free == pytest.approx(100_000.0 - 2.0 * ask * 1.0005)
    trades = await mexc_client.send(mexc_wire.my_trades_request(COIN, CREDENTIALS, ms(now())))
    [trade] = mexc_rest.parse_my_trades(trades.body)
    assert (trade.client_id, trade.side, trade.qty, trade.price, trade.is_maker) == (
        "take-1",
        Side.BUY,
        2.0,
        ask,
        False,
    )
    assert trade.fee == pytest.approx(2.0 * ask * 0.0005)
    assert trade.fee_asset == "USDT"  # the market's currency, as MEXC documents
    await place(
        mexc_client, Order("take-2", Leg.SPOT, COIN, Side.SELL, 1.0, 0.0, OrderType.MARKET), rules
    )
    taken = await query(mexc_client, "take-2", rules)
    by_order = await mexc_client.send(
        mexc_rest.my_trades_request(COIN, taken.venue_order_id, CREDENTIALS, ms(now()))
    )
    [sale] = mexc_rest.parse_my_trades(by_order.body)
    assert (sale.client_id, sale.venue_order_id) == ("take-2", taken.venue_order_id)


async def test_the_mx_price_is_quoted_for_valuing_fees_paid_in_mx(still_sim, mexc_client):
    reply = await mexc_client.send(mexc_rest.ticker_price_request(Symbol("MX", "USDT")))
    assert mexc_rest.parse_ticker_price(reply.body) == still_sim.config.spot.mx_price_usdt
    reply = await mexc_client.send(mexc_rest.ticker_price_request(COIN))
    quote = still_sim.venues.market.quote(COIN, Leg.SPOT)
    # The last price is the mid on the price grid.
    tick = still_sim.venues.spot.rules(COIN).price_tick
    mid = (quote.bid + quote.ask) / 2
    assert mexc_rest.parse_ticker_price(reply.body) == pytest.approx(mid, abs=tick / 2 + 1e-12)


@pytest.mark.parametrize(
    ("tamper", "kind", "code"),
    [
        (
            lambda r: msgspec.structs.replace(r, query=r.query.replace("5000", "6000")),
            BadSignature,
            700002,
        ),
        (
            lambda r: mexc_rest.account_request(ApiCredentials("sim-key", "guess"), ms(now())),
            BadSignature,
            700002,
        ),
        (
            lambda r: mexc_rest.account_request(ApiCredentials("other", "sim-secret"), ms(now())),
            BadCredentials,
            401,
        ),
        (
            lambda r: mexc_rest.account_request(CREDENTIALS, ms(now() - 60.0)),
            TimestampRejected,
            700003,
        ),
    ],
)
async def test_a_request_that_does_not_check_out_gets_mexcs_error(mexc_client, tamper, kind, code):
    request = tamper(mexc_rest.account_request(CREDENTIALS, ms(now())))
    response = await mexc_client.send(request)
    error = mexc_rest.error_from_response(response)
    assert (type(error), error.code) == (kind, code)


# ------------------------------------------------------------------ websockets


async def test_pings_subscriptions_and_refusals_are_answered_as_documented(still_sim):
    async with open_websocket(still_sim.urls.mexc_ws) as ws:
        await ws.send_message(mexc.PING_MESSAGE)
        assert await next_matching(ws, decode, is_(Pong))
        ticker = mexc.book_ticker_channel(COIN)
        await ws.send_message(mexc.subscribe_message([ticker]))
        ack = await next_matching(ws, decode, is_(SubscriptionResult))
        assert (ack.ok, ack.channel) == (True, ticker)
        await ws.send_message(mexc.subscribe_message(["spot@public.deals.v3.api@COINUSDT"]))
        refused = await next_matching(ws, decode, is_(SubscriptionResult))
        assert not refused.ok and "Blocked!" in refused.message
        await ws.send_message(mexc.subscribe_message([mexc.PRIVATE_ORDERS_CHANNEL]))
        assert not (await next_matching(ws, decode, is_(SubscriptionResult))).ok
        await ws.send_message(mexc_wire.unsubscribe_message([ticker]))
        assert (await next_matching(ws, decode, is_(SubscriptionResult))).ok


async def test_the_feed_codecs_book_ticker_subscription_gets_the_engines_quote(still_sim):
    async with open_websocket(still_sim.urls.mexc_ws) as ws:
        codec = MexcFeedCodec(rest=None)
        for request in codec.subscriptions([COIN], depth=False, now=now()):
            await ws.send_message(request)
        quote = await next_matching(ws, codec.decode, is_(Quote))
    expected = still_sim.venues.market.quote(COIN, Leg.SPOT)
    assert (quote.symbol, quote.bid, quote.bid_qty, quote.ask, quote.ask_qty) == (
        COIN,
        expected.bid,
        expected.bid_qty,
        expected.ask,
        expected.ask_qty,
    )


async def test_depth_diffs_continue_the_snapshot_and_a_skipped_one_is_a_gap(moving_sim):
    sim = moving_sim
    async with open_websocket(sim.urls.mexc_ws) as ws, RestClient(sim.urls.mexc_rest) as rest:
        codec = MexcFeedCodec(rest)
        await ws.send_message(mexc.subscribe_message([mexc.book_ticker_channel(BTC)]))
        for request in codec.subscriptions([BTC], depth=True, now=now()):
            await ws.send_message(request)
        book = OrderBook()
        snapshot = None
        last_quote = None
        applied = 0
        while applied < 20:
            event = await next_matching(ws, codec.decode, is_((Quote, DepthDiff)))
            if isinstance(event, Quote):
                last_quote = event
                continue
            outcome = book.on_diff(event)
            if snapshot is None:
                snapshot = await codec.fetch_snapshot(BTC)
                assert book.on_snapshot(snapshot) is Outcome.APPLIED
            elif outcome is Outcome.REPEAT:
                continue  # sent while the snapshot was fetched, and already in it
            elif outcome is Outcome.APPLIED:
                applied += 1
                # The ticker of the same tick came just before: the book must agree with it.
                assert book.best() == (
                    last_quote.bid,
                    last_quote.bid_qty,
                    last_quote.ask,
                    last_quote.ask_qty,
                )
            else:
                pytest.fail(f"diff {event.first_version}..{event.last_version}: {outcome}")
        sim.mexc.skip_depth_update(BTC)
        last_version = book.version
        while True:
            diff = await next_matching(ws, codec.decode, is_(DepthDiff))
            if book.on_diff(diff) is not Outcome.APPLIED:
                break
            last_version = diff.last_version
        assert diff.first_version > last_version + 1
        assert book.gaps == 1


async def test_own_orders_are_pushed_on_the_private_streams(still_sim, mexc_client):
    rules = (await ROUTER.load_rules(mexc_client, [COIN]))[COIN]
    created = await mexc_client.send(mexc_rest.listen_key_request("POST", CREDENTIALS, ms(now())))
    key = mexc_rest.parse_listen_key(created.body)
    async with open_websocket(mexc.private_stream_url(still_sim.urls.mexc_ws, key)) as ws:
        await ws.send_message(mexc.subscribe_message(PRIVATE))
        assert (await next_matching(ws, decode, is_(SubscriptionResult))).ok
        ask = still_sim.venues.market.quote(COIN, Leg.SPOT).ask
        await place(mexc_client, Order("push-1", Leg.SPOT, COIN, Side.BUY, 1.0, ask), rules)
        trade = await next_matching(ws, decode, is_(Trade))
        assert (trade.client_id, trade.qty, trade.price, trade.fee_asset) == (
            "push-1",
            1.0,
            ask,
            "USDT",
        )
        update = await next_matching(ws, decode, is_(OrderUpdate))
        assert (update.client_id, update.status, update.filled_qty) == (
            "push-1",
            OrderStatus.FILLED,
            1.0,
        )
        coin = await next_matching(ws, decode, is_(Balance, asset="COIN"))
        assert coin.free == 101.0

        extended = await mexc_client.send(
            mexc_rest.listen_key_request("PUT", CREDENTIALS, ms(now()), key)
        )
        assert extended.status == 200
        closed = await mexc_client.send(
            mexc_rest.listen_key_request("DELETE", CREDENTIALS, ms(now()), key)
        )
        assert closed.status == 200
        with pytest.raises(WebSocketClosed):
            await next_matching(ws, decode, lambda event: False)
