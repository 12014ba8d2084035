"""The simulated Binance spot venue driven by Basis's own Binance clients over loopback:
the router codec and ``RestClient`` for REST, ``open_websocket`` and the codecs for
streams and the WebSocket API's user data stream; its rate limits and its faults."""

from __future__ import annotations

import msgspec
import pytest
import trio

from actors.runtime.market.order_book import OrderBook, Outcome
from actors.runtime.market.websocket import WebSocketClosed, open_websocket
from actors.sim import SimConfig
from actors.sim.aimed_faults import OrderFault, OrderFaultKind, OrderTarget, Role
from actors.sim.binance_server import BinanceRateLimits
from actors.venues.binance import BinanceFeedCodec, BinancePrivateCodec, BinanceRouterCodec
from actors.venues.rest import OutcomeUnknown, RestClient
from protocols import binance, binance_rest, binance_ws_api
from protocols.binance_signing import ORDER_COUNT_HEADER, USED_WEIGHT_HEADER, counters
from protocols.client_ids import client_order_id
from protocols.model import Leg, Order, OrderStatus, OrderType, Quote, Side, TimeInForce
from protocols.venue import (
    ApiCredentials,
    BadCredentials,
    BadSignature,
    Balance,
    DepthDiff,
    InsufficientBalance,
    InvalidSymbol,
    OrderUpdate,
    Pong,
    RateLimited,
    RestResponse,
    SubscriptionResult,
    TimestampRejected,
    UnknownOrder,
    UpgradeNotice,
    VenueUnavailable,
)
from tests.integration.binance_twin import binance_config, start
from tests.unit.sim import helpers

from .support import BTC, COIN, CREDENTIALS, next_matching, now

ROUTER = BinanceRouterCodec(CREDENTIALS)


def ms(ts: float) -> int:
    return int(ts * 1000)


def decode(frame, recv_ts):
    return binance.decode_frame(frame, recv_ts)


def is_(kind, **fields):
    return lambda event: (
        isinstance(event, kind)
        and all(getattr(event, name) == value for name, value in fields.items())
    )


@pytest.fixture
async def twin(nursery):
    """COIN/USDT standing still at 100."""
    return await start(nursery, binance_config(helpers.config()))


@pytest.fixture
async def moving(nursery):
    """The default coins on a moving market."""
    return await start(nursery, binance_config(SimConfig(seed=5)))


@pytest.fixture
async def rest(twin):
    async with RestClient(twin.rest_url) as client:
        yield client


async def rules_of(rest):
    return (await ROUTER.load_rules(rest, [COIN]))[COIN]


async def place(rest, order, rules):
    response = await rest.send(ROUTER.place(order, rules, now()))
    assert response.status == 200, response.body
    return ROUTER.parse_placed(response, order, rules)


async def query(rest, client_id, rules):
    response = await rest.send(ROUTER.query(COIN, client_id, None, now()))
    assert response.status == 200, response.body
    return ROUTER.parse_order(response, COIN, rules)


# ------------------------------------------------------------------------ REST


async def test_rules_are_served_as_configured_with_the_accounts_fee(twin, rest):
    configured = twin.config.symbols[0].spot_rules
    taker_fee = twin.config.spot.taker_fee
    assert await rules_of(rest) == msgspec.structs.replace(configured, taker_fee=taker_fee)
    with pytest.raises(InvalidSymbol) as refused:
        await ROUTER.load_rules(rest, [BTC])
    assert refused.value.code == -1121


async def test_server_time_is_wall_clock_time(rest):
    before = now()
    response = await rest.send(binance_rest.server_time_request())
    assert before - 1.0 <= binance_rest.parse_server_time(response.body) <= now() + 1.0


async def test_book_ticker_and_depth_are_the_engines_book(twin, rest):
    book = twin.venues.market.book(COIN, Leg.SPOT)
    response = await rest.send(binance_rest.book_ticker_request(COIN))
    ticker = msgspec.json.decode(response.body)
    expected = book.quote()
    assert [float(ticker[name]) for name in ("bidPrice", "bidQty", "askPrice", "askQty")] == [
        expected.bid,
        expected.bid_qty,
        expected.ask,
        expected.ask_qty,
    ]
    snapshot = binance_rest.parse_depth(
        (await rest.send(binance_rest.depth_request(COIN, 3))).body, COIN
    )
    engine = book.snapshot(3)
    assert (snapshot.bids, snapshot.asks) == (engine.bids, engine.asks)
    assert 0 < snapshot.version <= book.version


async def test_an_order_rests_is_found_by_either_id_and_is_cancelled(twin, rest):
    rules = await rules_of(rest)
    order = Order("rest-1", Leg.SPOT, COIN, Side.BUY, 1.5, 99.0, tif=TimeInForce.GTC)
    placed = await place(rest, order, rules)
    assert (placed.client_id, placed.status, placed.qty, placed.price) == (
        "rest-1",
        OrderStatus.NEW,
        1.5,
        99.0,
    )
    assert (await query(rest, "rest-1", rules)).status is OrderStatus.NEW
    by_id = await rest.send(ROUTER.query(COIN, "rest-1", placed.venue_order_id, now()))
    assert ROUTER.parse_order(by_id, COIN, rules).client_id == "rest-1"
    mismatched = await rest.send(ROUTER.query(COIN, "other", placed.venue_order_id, now()))
    assert type(ROUTER.error(mismatched, now())) is UnknownOrder
    listed = await rest.send(binance_rest.open_orders_request(COIN, CREDENTIALS, ms(now())))
    assert [o.client_id for o in binance_rest.parse_orders(listed.body)] == ["rest-1"]

    cancelled = await rest.send(ROUTER.cancel(COIN, "rest-1", None, now()))
    assert ROUTER.parse_order(cancelled, COIN, rules).status is OrderStatus.CANCELLED
    again = ROUTER.error(await rest.send(ROUTER.cancel(COIN, "rest-1", None, now())), now())
    assert (type(again), again.code) == (UnknownOrder, -2011)
    unknown = ROUTER.error(await rest.send(ROUTER.query(COIN, "never-sent", None, now())), now())
    assert (type(unknown), unknown.code) == (UnknownOrder, -2013)


async def test_an_ioc_order_fills_at_the_touch_and_moves_the_balances(twin, rest):
    rules = await rules_of(rest)
    ask = twin.venues.market.quote(COIN, Leg.SPOT).ask
    placed = await place(rest, Order("take-1", Leg.SPOT, COIN, Side.BUY, 2.0, ask), rules)
    # The reply (RESULT) already tells what filled.
    assert (placed.status, placed.filled_qty, placed.avg_price) == (OrderStatus.FILLED, 2.0, ask)
    account = await rest.send(binance_rest.account_request(CREDENTIALS, ms(now())))
    balances = {b.asset: b for b in binance_rest.parse_account(account.body)}
    # The fee is taken from what was bought, as Binance takes it without BNB.
    assert balances["COIN"].free == pytest.approx(102.0 - 2.0 * 0.001)
    assert balances["USDT"].free == pytest.approx(100_000.0 - 2.0 * ask)
    [trade] = await ROUTER.order_trades(rest, COIN, placed.venue_order_id, now())
    assert (trade.side, trade.qty, trade.price, trade.is_maker, trade.fee_asset) == (
        Side.BUY,
        2.0,
        ask,
        False,
        "COIN",
    )
    assert trade.fee == pytest.approx(0.002)
    # A market sell with nothing left over fills; an IOC that finds too little expires.
    sold = await place(
        rest, Order("take-2", Leg.SPOT, COIN, Side.SELL, 1.0, 0.0, OrderType.MARKET), rules
    )
    assert sold.status is OrderStatus.FILLED
    bid = twin.venues.market.quote(COIN, Leg.SPOT).bid
    deep = Order("take-3", Leg.SPOT, COIN, Side.SELL, 99.0, bid)
    twin.venues.spot.transfer("COIN", 1000.0, twin.clock.now())
    partly = await place(rest, deep, rules)
    assert partly.status is OrderStatus.EXPIRED and 0.0 < partly.filled_qty < 99.0


async def test_a_market_buy_by_quote_amount_and_an_ack(twin, rest):
    stamp = ms(now())
    request = binance_rest.signed_request(
        "POST",
        "order",
        [
            ("symbol", "COINUSDT"),
            ("side", "BUY"),
            ("type", "MARKET"),
            ("quoteOrderQty", 500.0),
            ("newClientOrderId", "by-quote"),
            ("newOrderRespType", "ACK"),
        ],
        CREDENTIALS,
        stamp,
    )
    reply = msgspec.json.decode((await rest.send(request)).body)
    assert set(reply) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    found = await query(rest, "by-quote", await rules_of(rest))
    assert found.status is OrderStatus.FILLED
    assert found.filled_qty * found.avg_price <= 500.0


@pytest.mark.parametrize(
    ("tamper", "kind", "code"),
    [
        (
            lambda r: msgspec.structs.replace(r, query=r.query.replace("5000", "6000")),
            BadSignature,
            -1022,
        ),
        (
            lambda r: binance_rest.account_request(ApiCredentials("sim-key", "guess"), ms(now())),
            BadSignature,
            -1022,
        ),
        (
            lambda r: binance_rest.account_request(
                ApiCredentials("other", "sim-secret"), ms(now())
            ),
            BadCredentials,
            -2015,
        ),
        (
            lambda r: binance_rest.account_request(CREDENTIALS, ms(now() - 60.0)),
            TimestampRejected,
            -1021,
        ),
        (
            lambda r: binance_rest.account_request(CREDENTIALS, ms(now() + 5.0)),
            TimestampRejected,
            -1021,
        ),
    ],
)
async def test_a_request_that_does_not_check_out_gets_binances_error(rest, tamper, kind, code):
    response = await rest.send(tamper(binance_rest.account_request(CREDENTIALS, ms(now()))))
    error = binance_rest.error_from_response(response)
    assert (type(error), error.code) == (kind, code)


async def test_a_refused_order_carries_binances_code_and_message(twin, rest):
    rules = await rules_of(rest)
    ask = twin.venues.market.quote(COIN, Leg.SPOT).ask
    broke = await rest.send(
        ROUTER.place(Order("big-1", Leg.SPOT, COIN, Side.BUY, 5000.0, ask), rules, now())
    )
    error = ROUTER.error(broke, now())
    assert (type(error), error.code, error.message) == (
        InsufficientBalance,
        -2010,
        "Account has insufficient balance for requested action.",
    )
    fok = Order("fok-1", Leg.SPOT, COIN, Side.BUY, 1.0, ask, tif=TimeInForce.FOK)
    refused = ROUTER.error(await rest.send(ROUTER.place(fok, rules, now())), now())
    assert refused.code == -1014


# ----------------------------------------------------------------- rate limits


def at_window_start(twin, length_s: float) -> None:
    """Set the venue's clock just past the start of one of its ``length_s`` windows, so
    that the requests of the next seconds count in one window whatever the time of day.
    The venue judges signed requests by this clock: they sign with it
    (``twin.server.clock()``)."""
    server = twin.server
    server.clock_ahead_s += length_s - server.clock() % length_s + 0.001


async def test_every_reply_tells_the_weight_used_and_past_the_limit_429_says_when(nursery):
    twin = await start(
        nursery, binance_config(helpers.config()), limits=BinanceRateLimits(weight_per_minute=30)
    )
    at_window_start(twin, 60.0)
    async with RestClient(twin.rest_url) as rest:
        first = await rest.send(binance_rest.server_time_request())
        info = await rest.send(binance_rest.exchange_info_request(COIN))
        refused = await rest.send(binance_rest.exchange_info_request(COIN))
        used = [counters(r, USED_WEIGHT_HEADER)["1M"] for r in (first, info, refused)]
        assert used == [1, 21, 21]
        error = ROUTER.error(refused, now())
        # Refused, it cost nothing; the reply still tells the weight used.
        assert (refused.status, type(error), error.code) == (429, RateLimited, -1003)
        assert 0 < error.retry_after_s <= 60
        assert twin.server.faults_view().rate_limited_requests == 1
        # Near the limit, the router codec holds off until the minute turns.
        codec = BinanceRouterCodec(CREDENTIALS, weight_limit_1m=22)
        assert 0 < codec.pause_s(info, now()) <= 60
        assert ROUTER.pause_s(info, now()) == 0.0


async def test_placements_count_orders_and_the_codec_pauses_near_the_limit(nursery):
    twin = await start(
        nursery, binance_config(helpers.config()), limits=BinanceRateLimits(orders_per_10s=2)
    )
    async with RestClient(twin.rest_url) as rest:
        rules = await rules_of(rest)
        at_window_start(twin, 10.0)
        counts = []
        for n in range(3):
            order = Order(f"count-{n}", Leg.SPOT, COIN, Side.BUY, 0.1, 90.0, tif=TimeInForce.GTC)
            response = await rest.send(ROUTER.place(order, rules, twin.server.clock()))
            counts.append((response.status, counters(response, ORDER_COUNT_HEADER).get("10S")))
        assert counts[:2] == [(200, 1), (200, 2)]
        assert counts[2][0] == 429
        codec = BinanceRouterCodec(CREDENTIALS, order_limit_10s=2)
        full = RestResponse(200, b"{}", ((f"{ORDER_COUNT_HEADER}10S", "2"),))
        assert codec.pause_s(full, 1_000_003.0) == pytest.approx(7.0)
        assert codec.pause_s(RestResponse(200, b"{}", ()), 1_000_003.0) == 0.0


# ------------------------------------------------------------------ faults


async def test_injected_faults_answer_in_binances_words(twin, rest):
    twin.server.fail_requests(1)
    failed = await rest.send(binance_rest.server_time_request())
    assert (failed.status, type(ROUTER.error(failed, now()))) == (503, VenueUnavailable)
    twin.server.rate_limit_requests(1, retry_after_s=2.0)
    limited = ROUTER.error(await rest.send(binance_rest.server_time_request()), now())
    assert (type(limited), limited.retry_after_s) == (RateLimited, 2.0)
    rules = await rules_of(rest)
    rest._client.timeout = __import__("httpx").Timeout(0.3)
    twin.server.time_out_orders(1, hold_s=1.0)
    ask = twin.venues.market.quote(COIN, Leg.SPOT).ask
    with pytest.raises(OutcomeUnknown):
        await rest.send(
            ROUTER.place(Order("lost-1", Leg.SPOT, COIN, Side.BUY, 1.0, ask), rules, now())
        )
    # The venue took it all the same: the client id finds it.
    assert (await query(rest, "lost-1", rules)).status is OrderStatus.FILLED


async def test_a_lookup_lag_hides_a_new_order_from_queries(twin, rest):
    rules = await rules_of(rest)
    twin.server.set_read_after_write(0.5, None)
    order = Order("lag-1", Leg.SPOT, COIN, Side.BUY, 1.0, 90.0, tif=TimeInForce.GTC)
    await place(rest, order, rules)
    hidden = ROUTER.error(await rest.send(ROUTER.query(COIN, "lag-1", None, now())), now())
    assert (type(hidden), hidden.code) == (UnknownOrder, -2013)
    await trio.sleep(0.6)
    assert (await query(rest, "lag-1", rules)).status is OrderStatus.NEW
    assert twin.server.faults_view().hidden_lookups["lagged_lookup"] >= 1


# ------------------------------------------------------------------ websockets


async def test_subscriptions_lists_properties_and_refusals_are_answered_as_documented(twin):
    async with open_websocket(twin.ws_url) as ws:
        ticker = binance.book_ticker_stream(COIN)
        await ws.send_message(binance.subscribe_message([ticker], 1))
        assert msgspec.json.decode(await ws.get_message()) == {"result": None, "id": 1}
        await ws.send_message(binance.list_subscriptions_message(2))
        assert await next_matching(ws, decode, is_(Pong))
        await ws.send_message(binance.subscribe_message(["coinusdt@aggTrade"], 3))
        refused = await next_matching(ws, decode, is_(SubscriptionResult, ok=False))
        assert refused.channel == "3"
        await ws.send_message('{"method": "SET_PROPERTY", "params": ["combined", true], "id": 4}')
        wrapped = await next_matching(
            ws, lambda frame, _: [msgspec.json.decode(frame)], lambda m: "stream" in m
        )
        assert wrapped["stream"] == ticker
        await ws.send_message(binance.unsubscribe_message([ticker], 5))
        assert await next_matching(ws, decode, is_(SubscriptionResult, ok=True, channel="5"))


async def test_streams_named_in_the_url_raw_and_combined(twin):
    ticker = binance.book_ticker_stream(COIN)
    async with open_websocket(f"{twin.ws_url}/{ticker}") as ws:
        assert (await next_matching(ws, decode, is_(Quote))).symbol == COIN
    async with open_websocket(f"{twin.stream_url}?streams={ticker}") as ws:
        frame = msgspec.json.decode(await ws.get_message())
        assert frame["stream"] == ticker and frame["data"]["s"] == "COINUSDT"


async def test_the_feed_codecs_subscription_gets_the_engines_quote(twin):
    async with open_websocket(twin.ws_url) as ws:
        codec = BinanceFeedCodec(rest=None)
        for request in codec.subscriptions([COIN], depth=False, now=now()):
            await ws.send_message(request)
        quote = await next_matching(ws, codec.decode, is_(Quote))
    expected = twin.venues.market.quote(COIN, Leg.SPOT)
    assert (quote.bid, quote.bid_qty, quote.ask, quote.ask_qty) == (
        expected.bid,
        expected.bid_qty,
        expected.ask,
        expected.ask_qty,
    )


async def test_depth_diffs_continue_the_snapshot_and_a_skipped_one_is_a_gap(moving):
    async with open_websocket(moving.ws_url) as ws, RestClient(moving.rest_url) as rest:
        codec = BinanceFeedCodec(rest)
        await ws.send_message(binance.subscribe_message([binance.book_ticker_stream(BTC)], 9))
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
                continue
            elif outcome is Outcome.APPLIED:
                applied += 1
                assert book.best() == (
                    last_quote.bid,
                    last_quote.bid_qty,
                    last_quote.ask,
                    last_quote.ask_qty,
                )
            else:
                pytest.fail(f"diff {event.first_version}..{event.last_version}: {outcome}")
        moving.server.skip_depth_update(BTC)
        last_version = book.version
        while True:
            diff = await next_matching(ws, codec.decode, is_(DepthDiff))
            if book.on_diff(diff) is not Outcome.APPLIED:
                break
            last_version = diff.last_version
        assert diff.first_version > last_version + 1
        assert book.gaps == 1


async def subscribed(ws, private):
    for request in private.subscriptions(now()):
        await ws.send_message(request)
    return await next_matching(ws, private.decode, is_(SubscriptionResult))


def answer(frame, _):
    return [msgspec.json.decode(frame)]


async def test_own_orders_are_pushed_to_the_ws_api_connection_subscribed(twin, rest):
    rules = await rules_of(rest)
    private = BinancePrivateCodec(CREDENTIALS)
    url = await private.open_url(rest, twin.ws_url, now())
    assert url == twin.ws_api_url
    async with open_websocket(url) as ws:
        assert (await subscribed(ws, private)).ok
        assert private.subscription_id == 0
        ask = twin.venues.market.quote(COIN, Leg.SPOT).ask
        await place(rest, Order("push-1", Leg.SPOT, COIN, Side.BUY, 1.0, ask), rules)
        accepted = await next_matching(ws, private.decode, is_(OrderUpdate))
        assert (accepted.client_id, accepted.status) == ("push-1", OrderStatus.NEW)
        # One report tells the fill: the trade, and the order's state after it.
        trade, filled = await next_matching(
            ws, lambda frame, ts: [private.decode(frame, ts)], lambda events: len(events) == 2
        )
        assert (filled.status, filled.filled_qty, filled.avg_price) == (
            OrderStatus.FILLED,
            1.0,
            ask,
        )
        assert (trade.client_id, trade.qty, trade.price, trade.fee_asset) == (
            "push-1",
            1.0,
            ask,
            "COIN",
        )
        coin = await next_matching(ws, private.decode, is_(Balance, asset="COIN"))
        assert coin.free == pytest.approx(100.999)
        # The keepalive finds the subscription standing; a second one is refused.
        await ws.send_message(private.ping(now()))
        assert await next_matching(ws, private.decode, is_(Pong))
        again = await subscribed(ws, private)
        assert not again.ok and "-2035" in again.message
        # Unsubscribed, the stream says it ended; the keepalive then finds it gone.
        await ws.send_message(binance_ws_api.unsubscribe_message(None, "end"))
        ended = await next_matching(ws, private.decode, is_(UpgradeNotice))
        assert "terminated" in ended.message
        await ws.send_message(private.ping(now()))
        gone = await next_matching(ws, private.decode, is_(UpgradeNotice))
        assert "no longer active" in gone.message


@pytest.mark.parametrize(
    ("credentials", "skew_s", "code"),
    [
        (ApiCredentials(CREDENTIALS.key, "other"), 0.0, -1022),
        (ApiCredentials("other", CREDENTIALS.secret), 0.0, -2015),
        (CREDENTIALS, -6.0, -1021),
        (CREDENTIALS, 2.0, -1021),
    ],
)
async def test_a_subscription_that_does_not_check_out_is_refused(twin, credentials, skew_s, code):
    private = BinancePrivateCodec(credentials)
    async with open_websocket(twin.ws_api_url) as ws:
        await ws.send_message(binance_ws_api.subscribe_message(credentials, ms(now() + skew_s)))
        refused = await next_matching(ws, private.decode, is_(SubscriptionResult))
    assert not refused.ok and f"({code})" in refused.message
    assert private.subscription_id is None


async def test_the_ws_api_answers_with_the_weight_used_and_refuses_what_it_cannot_take(twin):
    async with open_websocket(twin.ws_api_url) as ws:
        await ws.send_message(binance_ws_api.request_message("ping", None, 1))
        pong = await next_matching(ws, answer, lambda m: m.get("id") == 1)
        assert (pong["status"], pong["result"]) == (200, {})
        (weight,) = pong["rateLimits"]
        assert (weight["rateLimitType"], weight["limit"]) == ("REQUEST_WEIGHT", 6000)
        assert weight["count"] >= 3  # the connection's 2 and the ping's 1
        await ws.send_message(binance_ws_api.request_message("time", None, 2))
        time = await next_matching(ws, answer, lambda m: m.get("id") == 2)
        assert abs(time["result"]["serverTime"] - ms(now())) < 5000
        await ws.send_message(binance_ws_api.request_message("session.logon", None, 3))
        logon = await next_matching(ws, answer, lambda m: m.get("id") == 3)
        assert (logon["status"], logon["error"]["code"]) == (400, -1020)
        await ws.send_message("not a request")
        garbled = await next_matching(ws, answer, lambda m: "error" in m)
        assert (garbled["id"], garbled["error"]["code"]) == (None, -1135)
        await ws.send_message(binance_ws_api.subscriptions_message(4))
        listed = await next_matching(ws, answer, lambda m: m.get("id") == 4)
        assert listed["result"] == []


async def test_past_the_weight_limit_the_ws_api_answers_429_with_when_to_retry(nursery):
    twin = await start(
        nursery, binance_config(helpers.config()), limits=BinanceRateLimits(weight_per_minute=4)
    )
    at_window_start(twin, 60.0)
    private = BinancePrivateCodec(CREDENTIALS)
    async with open_websocket(twin.ws_api_url) as ws:
        await ws.send_message(binance_ws_api.request_message("ping", None, 1))
        assert (await next_matching(ws, answer, lambda m: m.get("id") == 1))["status"] == 200
        signed_at = ms(twin.server.clock())
        await ws.send_message(binance_ws_api.subscribe_message(CREDENTIALS, signed_at))
        refused = await next_matching(ws, answer, lambda m: "error" in m)
        assert (refused["status"], refused["error"]["code"]) == (429, -1003)
        data = refused["error"]["data"]
        assert 0 < data["retryAfter"] - data["serverTime"] <= 60_000
        outcome = private.decode(msgspec.json.encode(refused), now())
        assert not outcome[0].ok and "429" in outcome[0].message


async def test_a_websocket_elsewhere_is_dropped(twin):
    port = twin.rest_url.rsplit(":", 1)[1]
    async with open_websocket(f"ws://127.0.0.1:{port}/elsewhere") as ws:
        with pytest.raises(WebSocketClosed):
            with trio.fail_after(5):
                await ws.get_message()


async def test_a_fault_aimed_at_a_placement_meets_it_on_the_wire(twin, rest):
    rules = await rules_of(rest)
    target = OrderTarget("binance", Role.CORRECTION)
    fault = OrderFault(OrderFaultKind.REJECT, error=InsufficientBalance)
    aimed = twin.server.aimed.arm(target, fault, 30.0)
    ask = twin.venues.market.quote(COIN, Leg.SPOT).ask
    cid = client_order_id("coin_1", 1, Leg.SPOT, "ab12")
    response = await rest.send(
        ROUTER.place(Order(cid, Leg.SPOT, COIN, Side.BUY, 1.0, ask), rules, now())
    )
    error = ROUTER.error(response, now())
    assert (type(error), error.code) == (InsufficientBalance, -2010)
    assert aimed.hit is not None
    assert twin.server.faults_view().wire.injected["rejected_order"] == 1
