"""Binance USDⓈ-M futures codecs: first the documentation's own sample messages
(``tests/data/binance_futures``, each file's page named in its README), then encoder →
decoder round trips for the simulated venue, the signing of requests as the venue checks
it, and the error table code by code."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols import (
    binance_futures,
    binance_futures_client_requests,
    binance_futures_encode,
    binance_futures_rest,
)
from protocols.model import (
    Leg,
    Order,
    OrderStatus,
    OrderType,
    Quote,
    Side,
    Symbol,
    TimeInForce,
    VenueRules,
)
from protocols.venue import (
    AboveMaximum,
    ApiCredentials,
    BadCredentials,
    BadSignature,
    Banned,
    BelowMinimum,
    BookLevel,
    DepthDiff,
    DepthSnapshot,
    DuplicateClientId,
    FundingRate,
    FuturesPosition,
    InsufficientBalance,
    InvalidParameter,
    InvalidPrecision,
    InvalidSymbol,
    MalformedMessage,
    MalformedResponse,
    OrderAlreadyFinal,
    OrderUpdate,
    Pong,
    PriceRejected,
    RateLimited,
    ReduceOnlyViolated,
    RestResponse,
    SubscriptionResult,
    TimestampRejected,
    Trade,
    TradingDisabled,
    UnknownOrder,
    UpgradeNotice,
    VenueError,
    VenueUnavailable,
)

DATA = Path(__file__).parents[2] / "data" / "binance_futures"
BTC = Symbol("BTC", "USDT")
BLZ = Symbol("BLZ", "USDT")
CREDENTIALS = ApiCredentials("key", "secret")
RECV = 1_700_000_000.0


def fixture(name: str) -> bytes:
    return (DATA / name).read_bytes()


def decode(name: str, intervals=None) -> tuple:
    return binance_futures.decode_frame(fixture(name), RECV, intervals)


# ------------------------------------------------------------- documented pushes


def test_the_documented_book_ticker_is_a_quote_in_base_units():
    (quote,) = decode("book_ticker.json")
    assert quote == Quote(
        Symbol("BNB", "USDT"), 25.3519, 31.21, 25.3652, 40.66, 1568014460.891, RECV
    )


def test_the_documented_depth_update_covers_the_versions_after_pu():
    (diff,) = decode("depth_update.json")
    assert diff == DepthDiff(
        BTC, 150, 160, (BookLevel(0.0024, 10.0),), (BookLevel(0.0026, 100.0),), 123456.788
    )


def test_a_combined_stream_carries_the_same_payload():
    payload = fixture("depth_update.json").decode()
    frame = binance_futures_encode.combined("btcusdt@depth@100ms", payload)
    assert binance_futures.decode_frame(frame, RECV) == decode("depth_update.json")


def test_the_documented_mark_price_gives_the_funding_with_the_symbols_interval():
    (funding,) = decode("mark_price_update.json")
    assert funding == FundingRate(BTC, 0.00038167, 8 * 3600.0, 1562306400.0)
    (four_hourly,) = decode("mark_price_update.json", {BTC: 4 * 3600.0})
    assert four_hourly.interval_s == 4 * 3600.0


def test_a_delivery_contract_mark_price_has_no_funding():
    frame = b'{"e":"markPriceUpdate","E":1,"s":"BTCUSD_201225","p":"1","r":"","T":0}'
    assert binance_futures.decode_frame(frame, RECV) == ()


def test_the_documented_order_update_is_the_order_as_it_stands():
    (update,) = decode("order_trade_update.json")
    assert update == OrderUpdate(
        symbol=BTC,
        client_id="TEST",
        venue_order_id="8886774",
        status=OrderStatus.NEW,
        side=Side.SELL,
        qty=0.001,
        price=0.0,
        filled_qty=0.0,
        avg_price=0.0,
        reduce_only=False,
        ts=1568879465.65,
    )


def trade_push(**fields) -> bytes:
    event = msgspec.json.decode(fixture("order_trade_update.json"))
    event["o"].update(fields)
    return msgspec.json.encode(event)


def test_a_trade_update_is_its_trade_with_the_commission_then_the_order():
    frame = trade_push(
        x="TRADE",
        X="PARTIALLY_FILLED",
        l="0.0005",
        z="0.0005",
        L="7100.5",
        ap="7100.5",
        n="0.00142",
        N="USDT",
        t=77,
        m=True,
    )
    trade, update = binance_futures.decode_frame(frame, RECV)
    assert update.status is OrderStatus.PARTIALLY_FILLED
    assert update.filled_qty == 0.0005
    assert trade == Trade(
        BTC,
        "77",
        "TEST",
        "8886774",
        Side.SELL,
        0.0005,
        7100.5,
        0.00142,
        "USDT",
        True,
        1568879465.65,
    )


@pytest.mark.parametrize(
    ("client_id", "cause"),
    [("autoclose-1568879465650", "liquidation"), ("adl_autoclose", "auto_deleveraging")],
)
def test_the_venues_own_closing_trades_are_reductions(client_id, cause):
    frame = trade_push(c=client_id, x="TRADE", S="BUY", X="FILLED", l="0.002", L="7200")
    (reduction,) = binance_futures.decode_frame(frame, RECV)
    assert (reduction.qty, reduction.price, reduction.cause) == (0.002, 7200.0, cause)


def test_the_documented_account_update_gives_the_one_way_position_only():
    (position,) = decode("account_update.json")
    assert position == FuturesPosition(BTC, 0.0, 0.0, realised_pnl=200.0, margin=0.0)


def test_an_expired_listen_key_asks_for_a_new_stream():
    (notice,) = decode("listen_key_expired.json")
    assert isinstance(notice, UpgradeNotice)


def test_request_answers_acknowledge_list_or_refuse():
    assert decode("subscribe_answer.json") == (SubscriptionResult(True, "1", ""),)
    assert decode("list_subscriptions_answer.json") == (Pong(),)
    (refusal,) = decode("request_error.json")
    assert not refusal.ok and "property name" in refusal.message
    nested = b'{"error":{"code":2,"msg":"Invalid request"},"id":4}'
    assert binance_futures.decode_frame(nested, RECV)[0].ok is False


@pytest.mark.parametrize(
    "frame",
    [
        b"not json",
        b'{"e":"depthUpdate","s":"BTCUSDT","U":5,"u":4,"pu":4}',
        b'{"e":"bookTicker","s":"BTCXYZ","b":"1","B":"1","a":"1","A":"1"}',
        b'{"e":"somethingNew","E":1}',
        b"{}",
    ],
)
def test_what_cannot_be_read_is_malformed_and_never_raises(frame):
    (event,) = binance_futures.decode_frame(frame, RECV)
    assert isinstance(event, MalformedMessage)


def test_events_basis_does_not_read_say_nothing():
    frame = b'{"e":"ACCOUNT_CONFIG_UPDATE","E":1,"ac":{"s":"BTCUSDT","l":25}}'
    assert binance_futures.decode_frame(frame, RECV) == ()


# -------------------------------------------------------------- documented REST


def test_the_documented_exchange_info_gives_the_rules_with_the_step_as_contract():
    rules = binance_futures_rest.parse_exchange_info(fixture("exchange_info.json"), BLZ)
    assert rules == VenueRules(
        qty_step=1.0,
        min_qty=1.0,
        min_notional=5.0,
        price_tick=0.0001,
        contract_size=1.0,
        min_contracts=1.0,
    )
    with pytest.raises(InvalidSymbol):
        binance_futures_rest.parse_exchange_info(fixture("exchange_info.json"), BTC)


def test_a_symbol_that_is_not_trading_refuses_its_rules():
    info = fixture("exchange_info.json").replace(b'"status":"TRADING"', b'"status":"SETTLING"')
    with pytest.raises(TradingDisabled):
        binance_futures_rest.parse_exchange_info(info, BLZ)


def test_the_documented_replies_are_read():
    rest = binance_futures_rest
    depth = rest.parse_depth(fixture("depth.json"), BTC)
    assert depth == DepthSnapshot(
        BTC, 1027024, (BookLevel(4.0, 431.0),), (BookLevel(4.000002, 12.0),)
    )
    order = rest.parse_order(fixture("new_order.json"))
    assert (order.client_id, order.venue_order_id, order.status, order.qty) == (
        "testOrder",
        "22542179",
        OrderStatus.NEW,
        10.0,
    )
    (trade,) = rest.parse_user_trades(fixture("user_trades.json"), "mine")
    assert trade == Trade(
        BTC,
        "698759",
        "mine",
        "25851813",
        Side.SELL,
        0.002,
        7819.01,
        -0.0781901,
        "USDT",
        False,
        1569514978.02,
    )
    position = rest.parse_position(fixture("position_risk.json"), BTC)
    assert (position.qty, position.mark_price, position.leverage) == (0.0, 6679.50671178, 10.0)
    settings = rest.parse_position_settings(fixture("position_risk.json"), BTC)
    assert (settings.margin_mode, settings.mode, settings.leverage) == ("isolated", "single", 10.0)
    funding = rest.parse_funding(fixture("premium_index.json"), 4 * 3600.0)
    assert funding == FundingRate(BTC, 0.00038246, 4 * 3600.0, 1597392000.0)
    assert rest.parse_mark_price(fixture("premium_index.json")) == 11793.63104562
    assert rest.parse_funding_intervals(fixture("funding_info.json")) == {BLZ: 8 * 3600.0}
    assert rest.parse_position_mode(fixture("position_mode.json")) is True
    assert rest.parse_leverage(fixture("leverage.json")) == 21.0
    assert rest.parse_commission_rate(fixture("commission_rate.json")) == (0.0002, 0.0004)
    assert rest.parse_listen_key(fixture("listen_key.json")).startswith("pqia91")
    assert rest.parse_server_time(fixture("server_time.json")) == 1499827319.559


def test_the_documented_income_lists_no_funding_settlement():
    body = fixture("income.json")
    assert binance_futures_rest.parse_funding_book(body) == []
    assert binance_futures_rest.income_length(body) == 2


def test_the_documented_error_is_an_invalid_symbol():
    response = RestResponse(400, fixture("error_invalid_symbol.json"))
    error = binance_futures_rest.error_from_response(response)
    assert isinstance(error, InvalidSymbol)
    assert (error.code, error.message) == (-1121, "Invalid symbol.")


def test_an_unreadable_reply_is_malformed():
    with pytest.raises(MalformedResponse):
        binance_futures_rest.parse_order(b'{"orderId": "x"}')


# ---------------------------------------------------------------- error table

ERRORS = [
    (400, -1000, VenueUnavailable),
    (400, -1003, RateLimited),
    (400, -1007, VenueUnavailable),
    (400, -1015, RateLimited),
    (400, -1021, TimestampRejected),
    (400, -1022, BadSignature),
    (400, -1102, InvalidParameter),
    (400, -1111, InvalidPrecision),
    (400, -1125, InvalidParameter),
    (400, -1121, InvalidSymbol),
    (400, -2011, UnknownOrder),
    (400, -2013, UnknownOrder),
    (401, -2014, BadCredentials),
    (401, -2015, BadCredentials),
    (400, -2019, InsufficientBalance),
    (400, -2022, ReduceOnlyViolated),
    (400, -4004, BelowMinimum),
    (400, -4005, AboveMaximum),
    (400, -4014, InvalidPrecision),
    (400, -4016, PriceRejected),
    (400, -4116, DuplicateClientId),
    (400, -4141, TradingDisabled),
    (400, -4164, BelowMinimum),
    (400, -2010, VenueError),
    (503, -1001, VenueUnavailable),
    (408, -1007, VenueUnavailable),
    (503, -1121, VenueUnavailable),
    (401, -1002, BadCredentials),
    (400, -1099, BadCredentials),
    (400, -1122, TradingDisabled),
    (400, -2027, AboveMaximum),
    (400, -2028, InsufficientBalance),
    (400, -4015, InvalidParameter),
    (400, -4047, InvalidParameter),
    (400, -4061, InvalidParameter),
    (400, -4400, TradingDisabled),
    (400, -5022, PriceRejected),
    (400, -1136, InvalidParameter),
    (400, -5021, VenueError),
]


@pytest.mark.parametrize(("status", "code", "kind"), ERRORS)
def test_each_code_is_its_error(status, code, kind):
    body = msgspec.json.encode({"code": code, "msg": "text"})
    error = binance_futures_rest.error_from_response(RestResponse(status, body))
    assert type(error) is kind
    assert (error.exchange, error.code) == ("binance_futures", code)


def test_429_and_418_carry_the_wait_whatever_the_body():
    for status, kind in ((429, RateLimited), (418, Banned)):
        response = RestResponse(status, b"<html>", (("Retry-After", "7"),))
        error = binance_futures_rest.error_from_response(response)
        assert type(error) is kind and error.retry_after_s == 7.0


def test_an_uncoded_5xx_leaves_the_outcome_unknown():
    error = binance_futures_rest.error_from_response(RestResponse(502, b"Bad Gateway"))
    assert isinstance(error, VenueUnavailable)


def test_no_change_answers_are_success():
    for code in (-4046, -4059):
        body = msgspec.json.encode({"code": code, "msg": "No need to change"})
        assert binance_futures_rest.is_no_change(RestResponse(400, body))
    assert not binance_futures_rest.is_no_change(RestResponse(400, b'{"code":-1121}'))


VENUE_ERRORS = [
    RateLimited,
    Banned,
    VenueUnavailable,
    TimestampRejected,
    BadSignature,
    BadCredentials,
    InvalidSymbol,
    InvalidPrecision,
    UnknownOrder,
    InsufficientBalance,
    ReduceOnlyViolated,
    BelowMinimum,
    AboveMaximum,
    PriceRejected,
    TradingDisabled,
    DuplicateClientId,
    InvalidParameter,
]


@pytest.mark.parametrize("kind", VENUE_ERRORS)
def test_the_venues_errors_read_back_as_themselves(kind):
    written = binance_futures_encode.error_response(kind("binance_futures", None, "why", None, 3))
    assert type(binance_futures_rest.error_from_response(written)) is kind


def test_a_cancel_of_a_finished_order_reads_as_unknown():
    written = binance_futures_encode.error_response(OrderAlreadyFinal("x", None, "done"))
    assert type(binance_futures_rest.error_from_response(written)) is UnknownOrder


# -------------------------------------------------------------- round trips

prices = st.decimals(min_value="0.01", max_value="100000", places=2).map(float)
quantities = st.integers(min_value=1, max_value=10**6).map(lambda n: n / 1000)
sides = st.sampled_from(list(Side))


@given(bid=prices, bid_qty=quantities, ask=prices, ask_qty=quantities)
def test_book_tickers_round_trip(bid, bid_qty, ask, ask_qty):
    quote = Quote(BTC, bid, bid_qty, ask, ask_qty, 1_700_000_000.123, 0.0)
    (decoded,) = binance_futures.decode_frame(
        binance_futures_encode.book_ticker_push(quote, 9, 1_700_000_000.123), RECV
    )
    assert decoded == Quote(BTC, bid, bid_qty, ask, ask_qty, 1_700_000_000.123, RECV)


@given(
    first=st.integers(min_value=1, max_value=10**12),
    span=st.integers(min_value=0, max_value=1000),
    levels=st.lists(st.tuples(prices, quantities), max_size=5),
)
def test_depth_updates_round_trip(first, span, levels):
    book = tuple(BookLevel(p, q) for p, q in levels)
    diff = DepthDiff(BTC, first, first + span, book, book, 1_700_000_000.5)
    frame = binance_futures_encode.depth_update_push(diff, first - 1, diff.venue_ts)
    assert binance_futures.decode_frame(frame, RECV) == (diff,)


@given(
    rate=st.floats(min_value=-0.03, max_value=0.03, allow_nan=False),
    hours=st.sampled_from([1, 4, 8]),
)
def test_mark_prices_round_trip_with_their_interval(rate, hours):
    rate = round(rate, 8)
    frame = binance_futures_encode.mark_price_push(BTC, 100.5, 100.4, rate, 1_700_006_400.0, RECV)
    (funding,) = binance_futures.decode_frame(frame, RECV, {BTC: hours * 3600.0})
    assert funding == FundingRate(BTC, rate, hours * 3600.0, 1_700_006_400.0)


def figures(status="PARTIALLY_FILLED", qty=3.0, filled=1.0) -> binance_futures_encode.OrderFigures:
    return binance_futures_encode.OrderFigures(
        BTC,
        42,
        "cid-1",
        Side.BUY,
        status,
        "LIMIT",
        "IOC",
        qty,
        100.5,
        filled,
        100.25,
        True,
        1_700_000_000.0,
        1_700_000_001.0,
    )


@pytest.mark.parametrize(
    ("status", "ours"),
    [
        ("NEW", OrderStatus.NEW),
        ("PARTIALLY_FILLED", OrderStatus.PARTIALLY_FILLED),
        ("FILLED", OrderStatus.FILLED),
        ("CANCELED", OrderStatus.CANCELLED),
        ("EXPIRED", OrderStatus.EXPIRED),
        ("EXPIRED_IN_MATCH", OrderStatus.EXPIRED),
    ],
)
def test_orders_round_trip_in_each_status(status, ours):
    order = binance_futures_rest.parse_order(binance_futures_encode.order_body(figures(status)))
    assert order == OrderUpdate(
        BTC, "cid-1", "42", ours, Side.BUY, 3.0, 100.5, 1.0, 100.25, None, True, 1_700_000_001.0
    )
    frame = binance_futures_encode.order_trade_update_push(figures(status), status, None, 5.0)
    (pushed,) = binance_futures.decode_frame(frame, RECV)
    assert pushed.status is ours and pushed.filled_qty == 1.0


def test_a_pushed_trade_round_trips():
    fill = binance_futures_encode.FillFigures(9, 1.0, 100.5, 0.05, "USDT", False, 0.0)
    frame = binance_futures_encode.order_trade_update_push(figures(), "TRADE", fill, 5.0)
    trade, _ = binance_futures.decode_frame(frame, RECV)
    assert trade == Trade(BTC, "9", "cid-1", "42", Side.BUY, 1.0, 100.5, 0.05, "USDT", False, 5.0)


def test_positions_round_trip_by_rest_and_push():
    position = binance_futures_encode.PositionFigures(
        BTC, -0.3, 100.0, 101.0, -0.3, 149.5, 2.0, "isolated", 15.0, 1e6, 5.0
    )
    read = binance_futures_rest.parse_position(
        binance_futures_encode.position_risk_body([position]), BTC
    )
    assert (read.qty, read.entry_price, read.liq_price, read.margin) == (-0.3, 100.0, 149.5, 15.0)
    frame = binance_futures_encode.account_update_push("ORDER", 1000.0, [position], 5.0)
    (pushed,) = binance_futures.decode_frame(frame, RECV)
    assert (pushed.qty, pushed.entry_price, pushed.margin) == (-0.3, 100.0, 15.0)


def test_funding_settlements_round_trip_through_the_income_history():
    records = [
        binance_futures_encode.IncomeFigures(BTC, "FUNDING_FEE", -0.25, 1_700_006_400.0, 12),
        binance_futures_encode.IncomeFigures(BTC, "FUNDING_FEE", 0.5, 1_700_000_000.0, 11),
    ]
    entries = binance_futures_rest.parse_funding_book(binance_futures_encode.income_body(records))
    assert [(e.ledger_id, e.ts, e.amount) for e in entries] == [
        ("11", 1_700_000_000.0, 0.5),
        ("12", 1_700_006_400.0, -0.25),
    ]


def test_the_exchange_info_the_venue_writes_reads_back_as_its_rules():
    rules = VenueRules(
        qty_step=0.1,
        min_qty=0.1,
        min_notional=5.0,
        price_tick=0.01,
        contract_size=0.1,
        min_contracts=1.0,
    )
    body = binance_futures_encode.exchange_info_body([(BTC, rules)], RECV, 2400, 300, 1200)
    assert binance_futures_rest.parse_exchange_info(body, BTC) == rules


# ---------------------------------------------------- requests, as the venue reads them


def order(**fields) -> Order:
    base = Order("cid.1:a/b_c-d", Leg.FUTURES, BTC, Side.SELL, 0.3, 100.5, tif=TimeInForce.IOC)
    return msgspec.structs.replace(base, **fields)


RULES = VenueRules(qty_step=0.1, min_qty=0.1, price_tick=0.1, contract_size=0.1, min_contracts=1)


@pytest.mark.parametrize(
    "placed",
    [
        order(),
        order(reduce_only=True, side=Side.BUY),
        order(type=OrderType.MARKET),
        order(tif=TimeInForce.POST_ONLY),
        order(tif=TimeInForce.GTC),
    ],
)
def test_a_placement_is_signed_and_read_back_as_sent(placed):
    request = binance_futures_rest.place_order_request(
        placed, RULES, CREDENTIALS, 1_700_000_000_000
    )
    binance_futures_client_requests.verify_signed_request(request, CREDENTIALS, 1_700_000_000.5)
    read = binance_futures_client_requests.read_new_order(
        binance_futures_client_requests.params_of(request)
    )
    assert (read.symbol, read.side, read.type, read.qty, read.reduce_only, read.client_id) == (
        BTC,
        placed.side,
        placed.type,
        0.3,
        placed.reduce_only,
        placed.client_id,
    )
    assert read.price == (None if placed.type is OrderType.MARKET else 100.5)
    assert read.tif == (None if placed.type is OrderType.MARKET else placed.tif)
    assert read.response_type == "RESULT"


def test_a_quantity_between_steps_is_not_sent():
    with pytest.raises(ValueError):
        binance_futures_rest.place_order_request(order(qty=0.25), RULES, CREDENTIALS, 1)


def test_a_client_id_binance_would_refuse_is_not_sent():
    with pytest.raises(ValueError):
        binance_futures_rest.place_order_request(order(client_id="x" * 37), RULES, CREDENTIALS, 1)


@pytest.mark.parametrize(
    ("tamper", "kind"),
    [
        (lambda r: msgspec.structs.replace(r, query=r.query.replace("SELL", "BUY")), BadSignature),
        (
            lambda r: msgspec.structs.replace(r, headers=(("X-MBX-APIKEY", "other"),)),
            BadCredentials,
        ),
        (lambda r: msgspec.structs.replace(r, headers=()), BadCredentials),
    ],
)
def test_a_request_that_does_not_check_out_is_refused(tamper, kind):
    request = binance_futures_rest.place_order_request(
        order(), RULES, CREDENTIALS, 1_700_000_000_000
    )
    with pytest.raises(kind):
        binance_futures_client_requests.verify_signed_request(
            tamper(request), CREDENTIALS, 1_700_000_000.0
        )


@pytest.mark.parametrize("venue_now", [1_699_999_998.9, 1_700_000_005.1])
def test_a_timestamp_outside_the_window_is_refused(venue_now):
    request = binance_futures_rest.query_order_request(
        BTC, CREDENTIALS, 1_700_000_000_000, client_id="c"
    )
    with pytest.raises(TimestampRejected):
        binance_futures_client_requests.verify_signed_request(request, CREDENTIALS, venue_now)


def test_an_order_is_named_by_the_venues_id_when_known():
    request = binance_futures_rest.cancel_order_request(
        BTC, CREDENTIALS, 1, client_id="c", venue_order_id="17"
    )
    reference = binance_futures_client_requests.read_order_reference(
        binance_futures_client_requests.params_of(request)
    )
    assert (reference.venue_order_id, reference.client_id) == ("17", None)


def test_a_parameter_in_both_the_query_and_the_body_is_the_querys():
    request = msgspec.structs.replace(
        binance_futures_rest.public_request("POST", "/v1/order", [("side", "BUY")]),
        body=b"side=SELL&type=LIMIT",
    )
    params = binance_futures_client_requests.params_of(request)
    assert (params["side"], params["type"]) == ("BUY", "LIMIT")


def test_the_funding_book_pages_follow_the_offset():
    request = binance_futures_rest.income_request(CREDENTIALS, 1, since_ms=5000, limit=1000, page=3)
    params = binance_futures_client_requests.params_of(request)
    assert (params["incomeType"], params["startTime"], params["page"]) == (
        "FUNDING_FEE",
        "5000",
        "3",
    )


def test_streams_and_requests_are_named_as_documented():
    assert binance_futures.stream_names([BTC], depth=False) == [
        "btcusdt@bookTicker",
        "btcusdt@markPrice@1s",
    ]
    assert binance_futures.depth_stream(BTC) == "btcusdt@depth@100ms"
    assert binance_futures.depth_stream(BTC, "250ms") == "btcusdt@depth"
    message = binance_futures.subscribe_message(["btcusdt@bookTicker"], 7)
    assert msgspec.json.decode(message) == {
        "method": "SUBSCRIBE",
        "params": ["btcusdt@bookTicker"],
        "id": 7,
    }
    request = binance_futures_client_requests.decode_client_message(message)
    assert binance_futures.decode_frame(binance_futures_encode.request_answer(request), RECV) == (
        SubscriptionResult(True, "7", ""),
    )


def test_usage_headers_are_read_back():
    headers = binance_futures_encode.usage_headers(1200, 3, 40)
    assert binance_futures_rest.usage(RestResponse(200, b"{}", headers)) == (1200, 3, 40)
    assert binance_futures_rest.usage(RestResponse(200, b"{}")) == (None, None, None)
