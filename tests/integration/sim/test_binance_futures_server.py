"""The simulated Binance USDⓈ-M venue driven by Basis's own Binance futures clients over
loopback: the router and feed codecs and ``RestClient`` for REST, ``open_websocket``
and the codecs for the market streams and the user data stream."""

from __future__ import annotations

import msgspec
import pytest
import trio

from actors.runtime.market.order_book import OrderBook, Outcome
from actors.runtime.market.websocket import WebSocketClosed, open_websocket
from actors.runtime.orders.funding_book import FundingBook
from actors.sim.aimed_faults import (
    AimedFaults,
    OrderFault,
    OrderFaultKind,
    OrderTarget,
    Role,
)
from actors.sim.binance_futures_server import BinanceFuturesLimits
from actors.venues.binance_futures import (
    BinanceFuturesFeedCodec,
    BinanceFuturesFundingBookCodec,
    BinanceFuturesPrivateCodec,
    BinanceFuturesRouterCodec,
    futures_account,
    read_position,
)
from actors.venues.rest import RestClient
from protocols import binance_futures, binance_futures_rest
from protocols.binance_signing import signed_query
from protocols.model import Leg, Order, OrderStatus, Quote, Side, TimeInForce, VenueRules
from protocols.venue import (
    ApiCredentials,
    BadCredentials,
    BadSignature,
    DepthDiff,
    FundingRate,
    FuturesPosition,
    InvalidParameter,
    InvalidPrecision,
    InvalidSymbol,
    OrderUpdate,
    Pong,
    PositionReducedByVenue,
    RateLimited,
    ReduceOnlyViolated,
    RestRequest,
    SubscriptionResult,
    TimestampRejected,
    Trade,
    UnknownOrder,
    UpgradeNotice,
)

from .binance_futures_twin import BINANCE_FUTURES, moving, start, still, with_funding_interval
from .support import BTC, COIN, CREDENTIALS, TICK_S, WAIT_S, next_matching, now

CONTRACT_SIZE = 0.1  # COIN's, in the still config


def decode(frame, recv_ts):
    return binance_futures.decode_frame(frame, recv_ts)


def is_(kind, **fields):
    return lambda event: (
        isinstance(event, kind)
        and all(getattr(event, name) == value for name, value in fields.items())
    )


@pytest.fixture
async def twin(nursery):
    return await start(nursery, still())


@pytest.fixture
async def rest(twin):
    async with RestClient(twin.urls.rest) as client:
        yield client


async def rules_of(rest, router=None) -> VenueRules:
    router = router or BinanceFuturesRouterCodec(CREDENTIALS)
    return (await router.load_rules(rest, [COIN]))[COIN]


ROUTER = BinanceFuturesRouterCodec(CREDENTIALS)


async def place(rest, order, rules):
    response = await rest.send(ROUTER.place(order, rules, now()))
    assert response.status == 200, response.body
    return ROUTER.parse_placed(response, order, rules)


async def query(rest, client_id, rules):
    response = await rest.send(ROUTER.query(COIN, client_id, None, now()))
    assert response.status == 200, response.body
    return ROUTER.parse_order(response, COIN, rules)


def error_of(response):
    return binance_futures_rest.error_from_response(response, now())


# ------------------------------------------------------------------------ REST


async def test_rules_fee_and_funding_are_served_as_configured(twin, rest):
    rules = await rules_of(rest)
    assert rules == VenueRules(
        qty_step=0.1,
        min_qty=0.1,
        price_tick=0.01,
        contract_size=0.1,
        min_contracts=1.0,
        taker_fee=0.0005,
    )
    response = await rest.send(binance_futures_rest.premium_index_request(COIN))
    funding = binance_futures_rest.parse_funding(response.body, 8 * 3600.0)
    published = twin.venues.market.funding_rate(COIN).at(now())
    assert (funding.rate, funding.next_ts) == (published.rate, published.next_ts)
    response = await rest.send(binance_futures_rest.funding_info_request())
    assert binance_futures_rest.parse_funding_intervals(response.body) == {}
    with pytest.raises(InvalidSymbol):
        await BinanceFuturesRouterCodec(CREDENTIALS).load_rules(rest, [BTC])


async def test_a_symbol_with_its_own_funding_interval_is_listed_in_funding_info(nursery):
    twin = await start(nursery, _with_interval(4 * 3600.0))
    async with RestClient(twin.urls.rest) as rest:
        codec = BinanceFuturesFeedCodec(rest)
        await codec.prepare([COIN])
    assert codec.funding_intervals == {COIN: 4 * 3600.0}
    (funding,) = codec.funding_rates(now())
    assert funding.interval_s == 4 * 3600.0


def _with_interval(interval_s: float):
    return with_funding_interval(still(), interval_s)


async def test_the_order_book_is_the_engines(twin, rest):
    response = await rest.send(binance_futures_rest.depth_request(COIN, limit=5))
    snapshot = binance_futures_rest.parse_depth(response.body, COIN)
    book = twin.venues.market.book(COIN, Leg.FUTURES)
    engine = book.snapshot(5)
    assert snapshot.asks == engine.asks and snapshot.bids == engine.bids
    assert snapshot.version == book.version


async def test_an_order_rests_is_found_by_client_id_listed_and_cancelled(twin, rest):
    rules = await rules_of(rest)
    order = Order("rest-1", Leg.FUTURES, COIN, Side.BUY, 0.3, 95.0, tif=TimeInForce.GTC)
    placed = await place(rest, order, rules)
    assert (placed.status, placed.qty, placed.client_id) == (OrderStatus.NEW, 0.3, "rest-1")
    assert (await query(rest, "rest-1", rules)).venue_order_id == placed.venue_order_id
    response = await rest.send(
        binance_futures_rest.open_orders_request(COIN, CREDENTIALS, int(now() * 1000))
    )
    assert [o.client_id for o in binance_futures_rest.parse_orders(response.body)] == ["rest-1"]
    response = await rest.send(ROUTER.cancel(COIN, "rest-1", None, now()))
    assert ROUTER.parse_order(response, COIN, rules).status is OrderStatus.CANCELLED
    again = await rest.send(ROUTER.cancel(COIN, "rest-1", None, now()))
    assert isinstance(error_of(again), UnknownOrder) and error_of(again).code == -2011
    missing = await rest.send(ROUTER.query(COIN, "never-sent", None, now()))
    assert isinstance(error_of(missing), UnknownOrder) and error_of(missing).code == -2013
    response = await rest.send(
        binance_futures_rest.all_orders_request(COIN, CREDENTIALS, int(now() * 1000))
    )
    (listed,) = binance_futures_rest.parse_orders(response.body)
    assert (listed.client_id, listed.status) == ("rest-1", OrderStatus.CANCELLED)


async def test_an_ioc_short_fills_at_the_bid_opens_a_position_and_lists_its_trade(twin, rest):
    rules = await rules_of(rest)
    bid = twin.venues.market.quote(COIN, Leg.FUTURES).bid
    order = Order("short-1", Leg.FUTURES, COIN, Side.SELL, 0.5, bid - 1.0)
    placed = await place(rest, order, rules)
    assert (placed.status, placed.filled_qty, placed.avg_price) == (OrderStatus.FILLED, 0.5, bid)
    (trade,) = await ROUTER.order_trades(rest, COIN, placed.venue_order_id, now())
    assert (trade.client_id, trade.qty, trade.price, trade.fee_asset) == (
        "short-1",
        0.5,
        bid,
        "USDT",
    )
    assert trade.fee == pytest.approx(0.5 * bid * 0.0005)
    position = await read_position(rest, CREDENTIALS, COIN, rules, now())
    assert (position.qty, position.entry_price) == (-0.5, bid)
    account = await futures_account(rest, CREDENTIALS, now())
    assert account.total == pytest.approx(100_000.0 - trade.fee)
    assert not account.in_dual_mode


async def test_reduce_only_closes_no_more_than_is_held(twin, rest):
    rules = await rules_of(rest)
    ask = twin.venues.market.quote(COIN, Leg.FUTURES).ask
    nothing = Order("ro-0", Leg.FUTURES, COIN, Side.BUY, 0.2, ask + 1, reduce_only=True)
    refused = await rest.send(ROUTER.place(nothing, rules, now()))
    assert isinstance(error_of(refused), ReduceOnlyViolated) and error_of(refused).code == -2022
    bid = twin.venues.market.quote(COIN, Leg.FUTURES).bid
    await place(rest, Order("ro-1", Leg.FUTURES, COIN, Side.SELL, 0.3, bid - 1), rules)
    closing = Order("ro-2", Leg.FUTURES, COIN, Side.BUY, 0.5, ask + 1, reduce_only=True)
    closed = await place(rest, closing, rules)
    assert (closed.filled_qty, closed.status, closed.reduce_only) == (
        pytest.approx(0.3),
        OrderStatus.EXPIRED,
        True,
    )
    assert (await read_position(rest, CREDENTIALS, COIN, rules, now())).qty == 0.0


async def test_an_open_order_is_amended_down_at_its_price(twin, rest):
    rules = await rules_of(rest)
    order = Order("amend-1", Leg.FUTURES, COIN, Side.BUY, 0.5, 95.0, tif=TimeInForce.GTC)
    placed = await place(rest, order, rules)
    smaller = msgspec.structs.replace(order, qty=0.2)
    response = await rest.send(ROUTER.amend(smaller, placed.venue_order_id, rules, now()))
    assert response.status == 200, response.body
    assert ROUTER.parse_order(response, COIN, rules).qty == 0.2
    (resting,) = twin.venues.futures.open_orders(COIN)
    assert resting.contracts == 2
    moved = msgspec.structs.replace(smaller, price=96.0)
    refused = await rest.send(ROUTER.amend(moved, placed.venue_order_id, rules, now()))
    assert isinstance(error_of(refused), InvalidParameter)


async def test_a_quantity_between_contracts_is_refused_as_off_the_step(twin, rest):
    params = [
        ("symbol", "COINUSDT"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", "0.25"),
        ("price", "95"),
    ]
    query, headers = signed_query(params, CREDENTIALS, int(now() * 1000))
    response = await rest.send(RestRequest("POST", "/fapi/v1/order", query, b"", headers))
    assert isinstance(error_of(response), InvalidPrecision)


async def test_leverage_margin_type_and_one_way_mode_are_set_when_rules_load(nursery):
    dual = msgspec.structs.replace(
        still(), futures=msgspec.structs.replace(BINANCE_FUTURES, dual_mode=True)
    )
    twin = await start(nursery, dual)
    async with RestClient(twin.urls.rest) as rest:
        timestamp = int(now() * 1000)
        response = await rest.send(
            binance_futures_rest.position_mode_request(CREDENTIALS, timestamp)
        )
        assert binance_futures_rest.parse_position_mode(response.body) is True
        bid = twin.venues.market.quote(COIN, Leg.FUTURES).bid
        refused = await rest.send(
            ROUTER.place(
                Order("d-1", Leg.FUTURES, COIN, Side.SELL, 0.1, bid),
                VenueRules(qty_step=0.1, contract_size=0.1),
                now(),
            )
        )
        assert error_of(refused).code == -4061
        router = BinanceFuturesRouterCodec(CREDENTIALS, leverage={COIN: 3.0})
        rules = await rules_of(rest, router)
        assert rules.entries_refused is None
        settings = router.positions[COIN]
        assert (settings.leverage, settings.margin_mode, settings.mode) == (
            3.0,
            "isolated",
            "single",
        )
        assert not (await futures_account(rest, CREDENTIALS, now())).in_dual_mode
        # Loaded again, every setting is as asked: the venue's "no need to change" is no refusal.
        assert (await rules_of(rest, router)).entries_refused is None
        fractional = BinanceFuturesRouterCodec(CREDENTIALS, leverage={COIN: 2.5})
        assert "whole number" in (await rules_of(rest, fractional)).entries_refused


async def test_hedge_mode_with_a_position_held_refuses_entries(nursery):
    twin = await start(nursery, still())
    async with RestClient(twin.urls.rest) as rest:
        rules = await rules_of(rest)
        bid = twin.venues.market.quote(COIN, Leg.FUTURES).bid
        await place(rest, Order("h-1", Leg.FUTURES, COIN, Side.SELL, 0.1, bid - 1), rules)
        twin.server.dual_mode = True  # switched elsewhere while the position was held
        refused = await rules_of(rest)
    assert "hedge" in refused.entries_refused


def signed(credentials=CREDENTIALS, clock_offset_s=0.0):
    return binance_futures_rest.query_order_request(
        COIN, credentials, int((now() + clock_offset_s) * 1000), client_id="x"
    )


@pytest.mark.parametrize(
    ("request_", "kind"),
    [
        (lambda: signed(ApiCredentials("sim-key", "guess")), BadSignature),
        (lambda: signed(ApiCredentials("other", "sim-secret")), BadCredentials),
        (lambda: signed(clock_offset_s=-30.0), TimestampRejected),
        (lambda: signed(clock_offset_s=+5.0), TimestampRejected),
        (lambda: msgspec.structs.replace(signed(), headers=()), BadCredentials),
    ],
)
async def test_a_request_that_does_not_check_out_gets_binances_error(twin, rest, request_, kind):
    response = await rest.send(request_())
    assert isinstance(error_of(response), kind)


async def test_every_reply_carries_the_used_weight_and_the_limit_answers_429(nursery):
    twin = await start(nursery, still(), limits=BinanceFuturesLimits(weight_1m=12, orders_10s=2))
    async with RestClient(twin.urls.rest) as rest:
        replies = [await rest.send(binance_futures_rest.depth_request(COIN, 5)) for _ in range(7)]
        unknown = await rest.send(binance_futures_rest.public_request("GET", "/v1/nothing"))
    weights = [int(reply.header("X-MBX-USED-WEIGHT-1M")) for reply in replies]
    statuses = [reply.status for reply in replies]
    # Each snapshot of 5 levels weighs 2: six fit in 12, the seventh does not (unless the
    # minute turned meanwhile, which starts the count again).
    if weights == sorted(weights):
        assert statuses == [200] * 6 + [429]
        assert weights == [2, 4, 6, 8, 10, 12, 12]
        limited = error_of(replies[-1])
        assert isinstance(limited, RateLimited) and 0 < limited.retry_after_s <= 60
        assert limited.code == -1003
    assert unknown.status == 404 and unknown.header("X-MBX-USED-WEIGHT-1M") is not None
    assert twin.server.faults_view().rate_limited_requests >= 0


async def test_order_placements_count_against_the_order_windows(nursery):
    twin = await start(nursery, still(), limits=BinanceFuturesLimits(orders_10s=2))
    async with RestClient(twin.urls.rest) as rest:
        rules = await rules_of(rest)
        replies = []
        for n in range(3):
            order = Order(f"w-{n}", Leg.FUTURES, COIN, Side.BUY, 0.1, 95.0, tif=TimeInForce.GTC)
            replies.append(await rest.send(ROUTER.place(order, rules, now())))
    counts = [reply.header("X-MBX-ORDER-COUNT-10S") for reply in replies]
    if counts[:2] == ["1", "2"]:
        assert replies[2].status == 429 and error_of(replies[2]).code == -1015
    usage = binance_futures_rest.usage(replies[0])
    assert usage[1] is not None and usage[2] is not None
    assert BinanceFuturesRouterCodec(CREDENTIALS, orders_limit_10s=2).pause_s(replies[1], 5.0) > 0


async def test_injected_faults_answer_in_binances_words(twin, rest):
    twin.server.fail_requests(1)
    failed = await rest.send(binance_futures_rest.server_time_request())
    twin.server.rate_limit_requests(1, retry_after_s=3.0)
    limited = await rest.send(binance_futures_rest.server_time_request())
    assert failed.status == 503 and error_of(failed).__class__.__name__ == "VenueUnavailable"
    assert limited.status == 429 and error_of(limited).retry_after_s == 3.0
    served = await rest.send(binance_futures_rest.server_time_request())
    assert abs(binance_futures_rest.parse_server_time(served.body) - now()) < 2.0


async def test_funding_settlements_are_in_the_income_history_under_their_ledger_ids(nursery):
    twin = await start(nursery, _with_interval(0.1))
    async with RestClient(twin.urls.rest) as rest:
        rules = await rules_of(rest)
        bid = twin.venues.market.quote(COIN, Leg.FUTURES).bid
        await place(rest, Order("f-short", Leg.FUTURES, COIN, Side.SELL, 0.5, bid - 1), rules)
        with trio.fail_after(WAIT_S):
            while len(twin.venues.futures.ledger.funding_entries()) < 5:  # noqa: ASYNC110
                await trio.sleep(TICK_S)
        codec = BinanceFuturesFundingBookCodec(CREDENTIALS, page_size=2)
        response = await rest.send(codec.request(0, now()))
        listed = codec.parse(response)
        engine = {str(e.seq): e.payment for e in twin.venues.futures.ledger.funding_entries()}
        for entry in listed:
            payment = engine[entry.ledger_id]
            # The income history has 8 decimals; a 0.1 s contract's settlement is tiny.
            assert (entry.symbol, entry.amount) == (COIN, pytest.approx(payment.amount, abs=5e-9))
            assert entry.amount > 0.0
            assert entry.ts == pytest.approx(payment.ts, abs=0.001)
        book = FundingBook("funding", codec, rest, {})
        await book.poll()
        assert book.delivered >= 5


# ------------------------------------------------------------------ websockets


async def test_subscriptions_listings_and_refusals_are_answered_as_documented(twin):
    async with open_websocket(twin.urls.ws) as ws:
        await ws.send_message(binance_futures.subscribe_message(["coinusdt@bookTicker"], 5))
        ack = await next_matching(ws, decode, is_(SubscriptionResult))
        assert (ack.ok, ack.channel) == (True, "5")
        await ws.send_message(binance_futures.list_subscriptions_message(6))
        assert await next_matching(ws, decode, is_(Pong))
        await ws.send_message(binance_futures.subscribe_message(["nosuchusdt@bookTicker"], 7))
        refused = await next_matching(ws, decode, is_(SubscriptionResult))
        assert not refused.ok


async def test_the_feed_codecs_streams_carry_the_engines_quote_and_funding(twin, rest):
    codec = BinanceFuturesFeedCodec(rest)
    await codec.prepare([COIN])
    async with open_websocket(twin.urls.ws) as ws:
        for request in codec.subscriptions([COIN], depth=False, now=now()):
            await ws.send_message(request)
        quote = await next_matching(ws, codec.decode, is_(Quote))
        funding = await next_matching(ws, codec.decode, is_(FundingRate))
    expected = twin.venues.market.quote(COIN, Leg.FUTURES)
    assert (quote.symbol, quote.bid, quote.ask) == (COIN, expected.bid, expected.ask)
    assert (quote.bid_qty, quote.ask_qty) == pytest.approx((expected.bid_qty, expected.ask_qty))
    published = twin.venues.market.funding_rate(COIN).at(now())
    assert (funding.rate, funding.interval_s, funding.next_ts) == (
        published.rate,
        published.interval_s,
        published.next_ts,
    )


async def test_a_combined_stream_wraps_each_payload(twin):
    url = f"{twin.urls.stream}?streams=coinusdt@bookTicker/coinusdt@markPrice@1s"
    async with open_websocket(url) as ws:
        frame = await ws.get_message()
    wrapped = msgspec.json.decode(frame)
    assert wrapped["stream"] in ("coinusdt@bookTicker", "coinusdt@markPrice@1s")
    assert wrapped["data"]["s"] == "COINUSDT"


async def test_depth_updates_continue_the_snapshot_and_a_skipped_one_is_a_gap(nursery):
    twin = await start(nursery, moving())
    async with RestClient(twin.urls.rest) as rest:
        codec = BinanceFuturesFeedCodec(rest)
        async with open_websocket(twin.urls.ws) as ws:
            ticker = binance_futures.subscribe_message([binance_futures.book_ticker_stream(BTC)])
            await ws.send_message(ticker)
            for request in codec.subscriptions([BTC], depth=True, now=now()):
                await ws.send_message(request)
            book = OrderBook()
            synced = False
            last_quote = None
            applied = 0
            while applied < 20:
                event = await next_matching(ws, codec.decode, is_((Quote, DepthDiff)))
                if isinstance(event, Quote):
                    last_quote = event
                    continue
                outcome = book.on_diff(event)
                if not synced:
                    snapshot = await codec.fetch_snapshot(BTC)
                    assert book.on_snapshot(snapshot) is Outcome.APPLIED
                    synced = True
                elif outcome is Outcome.APPLIED:
                    applied += 1
                    # The ticker of the same tick came just before: the book agrees with it.
                    bid, bid_qty, ask, ask_qty = book.best()
                    assert (bid, ask) == (last_quote.bid, last_quote.ask)
                    assert (bid_qty, ask_qty) == pytest.approx(
                        (last_quote.bid_qty, last_quote.ask_qty)
                    )
                else:
                    pytest.fail(f"update {event.first_version}..{event.last_version}: {outcome}")
            twin.server.skip_depth_update(BTC)
            last_version = book.version
            while True:
                diff = await next_matching(ws, codec.decode, is_(DepthDiff))
                if book.on_diff(diff) is not Outcome.APPLIED:
                    break
                last_version = diff.last_version
            # The update after the skipped one names, as its pu, a u this book never had.
            assert diff.first_version - 1 > last_version
            assert book.gaps == 1


async def test_own_orders_trades_and_positions_come_on_the_user_data_stream(twin, rest):
    rules = await rules_of(rest)
    codec = BinanceFuturesPrivateCodec(CREDENTIALS)
    url = await codec.open_url(rest, twin.urls.ws, now())
    async with open_websocket(url) as ws:
        for request in codec.subscriptions(now()):
            await ws.send_message(request)
        assert await next_matching(ws, codec.decode, is_(SubscriptionResult, ok=True))
        bid = twin.venues.market.quote(COIN, Leg.FUTURES).bid
        await place(rest, Order("p-1", Leg.FUTURES, COIN, Side.SELL, 0.3, bid - 1), rules)
        accepted = await next_matching(ws, codec.decode, is_(OrderUpdate))
        assert (accepted.client_id, accepted.status) == ("p-1", OrderStatus.NEW)
        trade = await next_matching(ws, codec.decode, is_(Trade))
        assert (trade.client_id, trade.qty, trade.price) == ("p-1", 0.3, bid)
        position = await next_matching(ws, codec.decode, is_(FuturesPosition))
        assert (position.symbol, position.qty) == (COIN, -0.3)


async def test_an_expired_listen_key_is_told_and_a_new_one_is_opened(twin, rest):
    codec = BinanceFuturesPrivateCodec(CREDENTIALS)
    url = await codec.open_url(rest, twin.urls.ws, now())
    first = codec.listen_key
    await codec.renew(rest, now())
    async with open_websocket(url) as ws:
        for request in codec.subscriptions(now()):
            await ws.send_message(request)
        await next_matching(ws, codec.decode, is_(SubscriptionResult))
        assert twin.server.expire_listen_key()
        assert await next_matching(ws, codec.decode, is_(UpgradeNotice))
    with pytest.raises(InvalidParameter):
        await codec.renew(rest, now())
    await codec.open_url(rest, twin.urls.ws, now())
    assert codec.listen_key != first
    async with open_websocket(f"{twin.urls.ws}/{first}") as ws:
        with pytest.raises(WebSocketClosed), trio.fail_after(WAIT_S):
            await ws.get_message()


async def test_the_venues_own_closing_orders_are_reductions_on_the_user_data_stream(twin, rest):
    rules = await rules_of(rest)
    codec = BinanceFuturesPrivateCodec(CREDENTIALS)
    url = await codec.open_url(rest, twin.urls.ws, now())
    bid = twin.venues.market.quote(COIN, Leg.FUTURES).bid
    await place(rest, Order("adl-1", Leg.FUTURES, COIN, Side.SELL, 0.5, bid - 1), rules)
    async with open_websocket(url) as ws:
        for request in codec.subscriptions(now()):
            await ws.send_message(request)
        await next_matching(ws, codec.decode, is_(SubscriptionResult))
        twin.venues.auto_deleverage(COIN, 2)
        reduction = await next_matching(ws, codec.decode, is_(PositionReducedByVenue))
        position = await next_matching(ws, codec.decode, is_(FuturesPosition))
    assert (reduction.cause, reduction.qty) == ("auto_deleveraging", pytest.approx(0.2))
    assert position.qty == pytest.approx(-0.3)


async def test_an_order_is_not_found_within_the_lag_and_found_after_it(twin, rest):
    rules = await rules_of(rest)
    twin.server.set_read_after_write(0.3, None)
    order = Order("lag-1", Leg.FUTURES, COIN, Side.BUY, 0.1, 95.0, tif=TimeInForce.GTC)
    await place(rest, order, rules)
    hidden = await rest.send(ROUTER.query(COIN, "lag-1", None, now()))
    assert isinstance(error_of(hidden), UnknownOrder) and error_of(hidden).code == -2013
    await trio.sleep(0.4)
    assert (await query(rest, "lag-1", rules)).status is OrderStatus.NEW
    assert twin.server.faults_view().hidden_lookups


async def test_an_order_sent_without_a_client_id_gets_one_from_the_venue(twin, rest):
    params = [
        ("symbol", "COINUSDT"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", "0.1"),
        ("price", "95"),
    ]
    query, headers = signed_query(params, CREDENTIALS, int(now() * 1000))
    response = await rest.send(RestRequest("POST", "/fapi/v1/order", query, b"", headers))
    placed = binance_futures_rest.parse_order(response.body)
    assert placed.client_id and placed.status is OrderStatus.NEW


async def test_a_fault_aimed_at_a_correction_meets_the_placement(nursery):
    aimed = AimedFaults()
    twin = await start(nursery, still(), aimed=aimed)
    fault = aimed.arm(
        OrderTarget(binance_futures.EXCHANGE, Role.CORRECTION),
        OrderFault(OrderFaultKind.PARTIAL_FILL, fraction=0.5),
        waits_s=WAIT_S,
    )
    async with RestClient(twin.urls.rest) as rest:
        rules = await rules_of(rest)
        bid = twin.venues.market.quote(COIN, Leg.FUTURES).bid
        placed = await place(
            rest, Order("t1-5f", Leg.FUTURES, COIN, Side.SELL, 0.4, bid - 1), rules
        )
    assert (placed.filled_qty, placed.status) == (pytest.approx(0.2), OrderStatus.EXPIRED)
    hit = await fault.outcome()
    assert hit is not None and hit.client_id == "t1-5f"
    assert twin.server.faults_view().wire.injected.get("partial_fill") == 1


async def test_all_orders_lists_the_newest_or_those_from_a_start(twin, rest):
    rules = await rules_of(rest)
    for n in range(3):
        order = Order(f"all-{n}", Leg.FUTURES, COIN, Side.BUY, 0.1, 95.0, tif=TimeInForce.GTC)
        await place(rest, order, rules)
    timestamp = int(now() * 1000)
    params = [("symbol", "COINUSDT"), ("limit", 2)]
    query, headers = signed_query(params, CREDENTIALS, timestamp)
    newest = await rest.send(RestRequest("GET", "/fapi/v1/allOrders", query, b"", headers))
    assert [o.client_id for o in binance_futures_rest.parse_orders(newest.body)] == [
        "all-1",
        "all-2",
    ]
    query, headers = signed_query([*params, ("startTime", 0)], CREDENTIALS, timestamp)
    oldest = await rest.send(RestRequest("GET", "/fapi/v1/allOrders", query, b"", headers))
    assert [o.client_id for o in binance_futures_rest.parse_orders(oldest.body)] == [
        "all-0",
        "all-1",
    ]
