"""Binance spot codecs, checked first against the documentation's sample messages
(``tests/data/binance``, whose README names the page of each), the error table code by
code, and the checks the simulated venue makes of a client's requests; then encoder →
decoder round trips."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.venues.binance import BinancePrivateCodec
from protocols import binance, binance_client_requests, binance_encode, binance_rest, binance_ws_api
from protocols.binance_signing import ORDER_COUNT_HEADER, USED_WEIGHT_HEADER, counters, sign
from protocols.client_ids import client_order_id
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
    Balance,
    Banned,
    BelowMinimum,
    BookLevel,
    DepthDiff,
    DepthSnapshot,
    DuplicateClientId,
    InsufficientBalance,
    InvalidParameter,
    InvalidPrecision,
    InvalidSymbol,
    MalformedMessage,
    MalformedResponse,
    OrderUpdate,
    Pong,
    PriceRejected,
    RateLimited,
    RestRequest,
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

DATA = Path(__file__).parents[2] / "data" / "binance"
BTC = Symbol("BTC", "USDT")
KEYS = ApiCredentials("key", "secret")


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def only(events):
    (event,) = events
    return event


def user_data(event: dict) -> tuple:
    """``event`` as the WebSocket API's user data stream delivers it, read back."""
    return binance_ws_api.decode_frame(binance_encode.user_data_frame(0, event), 0.0)


# ------------------------------------------------------------------ symbols, ids


def test_symbols_are_written_upper_case_for_rest_and_lower_case_for_streams():
    assert binance.venue_symbol(BTC) == "BTCUSDT"
    assert binance.parse_symbol("btcusdt") == BTC
    assert binance.parse_symbol("ETHFDUSD") == Symbol("ETH", "FDUSD")
    assert binance.book_ticker_stream(BTC) == "btcusdt@bookTicker"
    assert binance.depth_stream(BTC) == "btcusdt@depth@100ms"
    assert binance.depth_stream(BTC, "1000ms") == "btcusdt@depth"
    assert binance.partial_depth_stream(BTC, 5) == "btcusdt@depth5@100ms"


def test_basis_client_ids_fit_binances_rule():
    # The longest id Basis makes: a 16-character task, the highest sequence, an instance.
    longest = client_order_id("a" * 16, 36**5 - 1, Leg.SPOT, "zz99")
    assert binance.check_client_id(longest) == longest
    with pytest.raises(ValueError):
        binance.check_client_id("a.b")
    with pytest.raises(ValueError):
        binance.check_client_id("x" * 37)


# --------------------------------------------------------------- stream samples


def test_the_documented_book_ticker_is_a_quote_stamped_on_arrival():
    quote = only(binance.decode_frame(sample("book_ticker.json"), 5.0))
    assert quote == Quote(
        Symbol("BNB", "USDT"), 25.3519, 31.21, 25.3652, 40.66, venue_ts=5.0, recv_ts=5.0
    )


def test_the_documented_depth_update_is_a_diff_of_its_update_ids():
    diff = only(binance.decode_frame(sample("depth_update.json"), 0.0))
    assert diff == DepthDiff(
        Symbol("BNB", "BTC"),
        157,
        160,
        (BookLevel(0.0024, 10.0),),
        (BookLevel(0.0026, 100.0),),
        1672515782.136,
    )


def test_a_combined_frame_is_unwrapped_and_its_stream_names_a_partial_depths_symbol():
    event = msgspec.json.decode(sample("partial_depth.json"))
    combined = msgspec.json.encode({"stream": "bnbbtc@depth5@100ms", "data": event})
    snapshot = only(binance.decode_frame(combined, 0.0))
    assert snapshot == DepthSnapshot(
        Symbol("BNB", "BTC"), 160, (BookLevel(0.0024, 10.0),), (BookLevel(0.0026, 100.0),)
    )
    # Raw, the partial depth names no symbol.
    assert isinstance(
        only(binance.decode_frame(sample("partial_depth.json"), 0.0)), MalformedMessage
    )
    wrapped = msgspec.json.encode(
        {"stream": "bnbusdt@bookTicker", "data": msgspec.json.decode(sample("book_ticker.json"))}
    )
    assert only(binance.decode_frame(wrapped, 1.0)).symbol == Symbol("BNB", "USDT")


def test_answers_are_acks_pongs_or_refusals():
    assert only(binance.decode_frame(sample("subscribe_answer.json"), 0.0)) == SubscriptionResult(
        True, "1", ""
    )
    assert only(binance.decode_frame(sample("list_subscriptions_answer.json"), 0.0)) == Pong()
    refused = only(binance.decode_frame('{"code": 2, "msg": "Invalid request", "id": 4}', 0.0))
    assert refused == SubscriptionResult(False, "4", "Invalid request")


def test_requests_are_the_documented_json():
    assert msgspec.json.decode(binance.subscribe_message(["btcusdt@depth"], 1)) == {
        "method": "SUBSCRIBE",
        "params": ["btcusdt@depth"],
        "id": 1,
    }
    assert msgspec.json.decode(binance.list_subscriptions_message(3)) == {
        "method": "LIST_SUBSCRIPTIONS",
        "id": 3,
    }


def test_the_documented_execution_report_is_a_new_order():
    update = only(binance_ws_api.decode_frame(sample("execution_report.json"), 0.0))
    assert update == OrderUpdate(
        symbol=Symbol("ETH", "BTC"),
        client_id="mUvoqJxFIILMdfAW5iGSOW",
        venue_order_id="4293153",
        status=OrderStatus.NEW,
        side=Side.BUY,
        qty=1.0,
        price=0.1026441,
        filled_qty=0.0,
        avg_price=0.0,
        ts=1499405658.657,
    )


def test_a_trade_report_is_the_trade_and_the_orders_state_and_a_cancel_names_the_original_id():
    report = msgspec.json.decode(sample("execution_report.json"))["event"]
    traded = {
        **report,
        **{"x": "TRADE", "X": "PARTIALLY_FILLED", "l": "0.4", "L": "0.1", "z": "0.4"},
        **{"Z": "0.04", "n": "0.0004", "N": "ETH", "t": 77, "m": True},
    }
    trade, update = user_data(traded)
    assert (update.status, update.filled_qty, update.avg_price) == (
        OrderStatus.PARTIALLY_FILLED,
        0.4,
        pytest.approx(0.1),
    )
    assert (trade.trade_id, trade.qty, trade.price, trade.fee, trade.fee_asset, trade.is_maker) == (
        "77",
        0.4,
        0.1,
        0.0004,
        "ETH",
        True,
    )
    cancelled = {**report, "x": "CANCELED", "X": "CANCELED", "c": "cancel-1", "C": "order-1"}
    assert only(user_data(cancelled)).client_id == "order-1"
    expired = {**report, "x": "EXPIRED", "X": "EXPIRED"}
    assert only(user_data(expired)).status is OrderStatus.EXPIRED


def test_account_events_are_balances_and_a_terminated_stream_a_reason_to_reconnect():
    decode = binance_ws_api.decode_frame
    assert decode(sample("account_position.json"), 0.0) == (Balance("ETH", 10000.0, 0.0),)
    assert decode(sample("ws_api_event.json"), 0.0) == (
        Balance("BTC", 11818.0, 182.0),
        Balance("USDT", 10580.0, 70.0),
    )
    assert decode(sample("balance_update.json"), 0.0) == ()
    terminated = only(decode(sample("event_stream_terminated.json"), 0.0))
    assert isinstance(terminated, UpgradeNotice) and "terminated" in terminated.message
    assert isinstance(only(decode(sample("ws_api_server_shutdown.json"), 0.0)), UpgradeNotice)


# ------------------------------------------------------------------ WebSocket API

WS_API_EXAMPLE_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
"""The secret key of the documentation's example (the request carries its API key)."""
FULLWIDTH_123456 = "\uff11\uff12\uff13\uff14\uff15\uff16"
"""The example's symbol of non-ASCII characters: 123456 in fullwidth digits."""


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        (
            "ws_api_signed_request.json",
            "apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
            "&price=52000.00&quantity=0.01000000&recvWindow=100&side=SELL&symbol=BTCUSDT"
            "&timeInForce=GTC&timestamp=1645423376532&type=LIMIT",
        ),
        (
            "ws_api_signed_request_unicode.json",
            "apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
            "&price=0.10000000&quantity=1.00000000&recvWindow=5000&side=BUY"
            f"&symbol={FULLWIDTH_123456}&timeInForce=GTC&timestamp=1645423376532&type=LIMIT",
        ),
    ],
)
def test_the_documented_ws_api_requests_are_signed_as_basis_signs(name, payload):
    params = msgspec.json.decode(sample(name))["params"]
    assert binance_ws_api.signature_payload(params) == payload
    keys = ApiCredentials(params["apiKey"], WS_API_EXAMPLE_SECRET)
    unsigned = {k: v for k, v in params.items() if k not in ("apiKey", "timestamp", "signature")}
    signed = binance_ws_api.signed_params(unsigned, keys, params["timestamp"])
    assert signed["signature"] == params["signature"]
    # The venue takes it within its recvWindow, with the signature in either case.
    taken_at = params["timestamp"] + params["recvWindow"]
    binance_client_requests.verify_signed_params(params, keys, taken_at)
    upper = {**params, "signature": params["signature"].upper()}
    binance_client_requests.verify_signed_params(upper, keys, taken_at)
    with pytest.raises(TimestampRejected):
        binance_client_requests.verify_signed_params(params, keys, taken_at + 1)


def test_the_subscription_request_is_the_documented_one_signed_by_hmac():
    documented = msgspec.json.decode(sample("ws_api_subscribe_signature.json"))
    ours = msgspec.json.decode(binance_ws_api.subscribe_message(KEYS, 1747385641636))
    assert ours.keys() == documented.keys() and ours["method"] == documented["method"]
    assert ours["params"].keys() == documented["params"].keys()
    assert ours["params"]["signature"] == sign("secret", "apiKey=key&timestamp=1747385641636")
    request = binance_client_requests.decode_api_request(binance_ws_api.subscribe_message(KEYS, 5))
    assert request.method == "userDataStream.subscribe.signature"
    binance_client_requests.verify_signed_params(request.params, KEYS, 5)


@pytest.mark.parametrize(
    ("change", "error", "code"),
    [
        ({"signature": None}, InvalidParameter, -1102),
        ({"apiKey": "other"}, BadCredentials, -2015),
        ({"timestamp": 6}, BadSignature, -1022),
        ({"recvWindow": 70000}, BadSignature, -1022),
    ],
)
def test_a_ws_api_request_that_does_not_check_out_is_refused(change, error, code):
    params = binance_ws_api.signed_params({}, KEYS, 5)
    changed = {k: v for k, v in {**params, **change}.items() if v is not None}
    with pytest.raises(error) as refused:
        binance_client_requests.verify_signed_params(changed, KEYS, 5)
    assert refused.value.code == code


def test_the_documented_answers_read():
    decode = binance_ws_api.decode_frame
    subscribed = only(decode(sample("ws_api_subscribe_answer.json"), 0.0))
    result, subscription = binance_ws_api.subscription_outcome(subscribed)
    assert result.ok and subscription == 0
    listed = only(decode(sample("ws_api_subscriptions_answer.json"), 0.0))
    assert binance_ws_api.active_subscriptions(listed) == {0, 1}
    assert only(decode(sample("ws_api_unsubscribe_answer.json"), 0.0)).result == {}
    refused = only(decode(sample("ws_api_error.json"), 0.0))
    assert (refused.ok, refused.status, refused.code) == (False, 400, -2010)
    assert refused.message == "Account has insufficient balance for requested action."
    banned = only(decode(sample("ws_api_banned.json"), 0.0))
    assert (banned.status, banned.code, banned.retry_after_ms) == (418, -1003, 1659146400000)
    result, subscription = binance_ws_api.subscription_outcome(banned)
    assert not result.ok and "418 (-1003)" in result.message and subscription is None


def test_the_private_codec_follows_its_subscription():
    codec = BinancePrivateCodec(KEYS)
    (request,) = codec.subscriptions(1.0)
    assert msgspec.json.decode(request)["id"] == binance_ws_api.SUBSCRIBE_REQUEST_ID

    def answer(request_id, status=200, result=None, error=None):
        body = {"id": request_id, "status": status, "result": result}
        if error is not None:
            body["error"] = error
        return msgspec.json.encode(body)

    assert only(codec.decode(answer("subscribe", result={"subscriptionId": 4}), 0.0)).ok
    assert codec.subscription_id == 4
    keepalive = binance_ws_api.KEEPALIVE_REQUEST_ID
    assert msgspec.json.decode(codec.ping(0.0))["method"] == "session.subscriptions"
    standing = answer(keepalive, result=[{"subscriptionId": 3}, {"subscriptionId": 4}])
    assert isinstance(only(codec.decode(standing, 0.0)), Pong)
    gone = only(codec.decode(answer(keepalive, result=[{"subscriptionId": 3}]), 0.0))
    assert isinstance(gone, UpgradeNotice)
    throttled = answer(keepalive, 429, error={"code": -1003, "msg": "Too much request weight."})
    assert isinstance(only(codec.decode(throttled, 0.0)), Pong)
    refused = answer("subscribe", 400, error={"code": -1022, "msg": "Signature not valid."})
    assert only(codec.decode(refused, 0.0)) == SubscriptionResult(
        False, "subscribe", "400 (-1022) Signature not valid."
    )
    assert isinstance(only(codec.decode(answer("other"), 0.0)), MalformedMessage)
    order = msgspec.json.decode(sample("execution_report.json"))
    assert isinstance(only(codec.decode(msgspec.json.encode(order), 0.0)), OrderUpdate)


async def test_the_private_codec_connects_beside_the_streams_or_where_it_is_told():
    codec = BinancePrivateCodec(KEYS, subscription_id=2)
    url = await codec.open_url(None, "wss://stream.binance.com:9443/ws", 0.0)
    assert url == "wss://ws-api.binance.com:9443/ws-api/v3" and codec.subscription_id is None
    local = await codec.open_url(None, "ws://127.0.0.1:8001/ws", 0.0)
    assert local == "ws://127.0.0.1:8001/ws-api/v3"
    told = BinancePrivateCodec(KEYS, ws_api_url=binance_ws_api.WS_API_URL)
    assert await told.open_url(None, "ws://127.0.0.1:8001/ws", 0.0) == binance_ws_api.WS_API_URL


@pytest.mark.parametrize(
    "frame",
    [
        b"not json",
        b"[1]",
        b'{"id": 1}',
        b'{"id": 1, "status": 400}',
        b'{"id": 1, "status": "x"}',
        b'{"subscriptionId": 0, "event": []}',
        b'{"subscriptionId": 0, "event": {"e": "somethingNew"}}',
    ],
)
def test_what_the_ws_api_sends_that_cannot_be_read_is_malformed(frame):
    assert isinstance(only(binance_ws_api.decode_frame(frame, 0.0)), MalformedMessage)


@pytest.mark.parametrize(
    "frame",
    [
        b"not json",
        b"[1, 2]",
        b'{"e": "somethingNew", "E": 1}',
        b'{"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": "x", "u": 2, "b": [], "a": []}',
        b'{"u": 1, "s": "BTCUSDT", "b": "x", "B": "1", "a": "2", "A": "1"}',
        b'{"e": "executionReport", "s": "BTCUSDT", "S": "HOLD"}',
    ],
)
def test_what_cannot_be_read_is_malformed_never_raised(frame):
    assert isinstance(only(binance.decode_frame(frame, 0.0)), MalformedMessage)


# ----------------------------------------------------------------- REST samples


def test_the_documented_filters_are_the_rules():
    rules = binance_rest.parse_exchange_info(sample("exchange_info.json"), Symbol("ETH", "BTC"))
    assert rules == VenueRules(qty_step=0.001, min_qty=0.001, min_notional=10.0, price_tick=1e-6)
    with pytest.raises(InvalidSymbol):
        binance_rest.parse_exchange_info(sample("exchange_info.json"), BTC)
    halted = sample("exchange_info.json").replace(b'"TRADING"', b'"HALT"')
    with pytest.raises(TradingDisabled):
        binance_rest.parse_exchange_info(halted, Symbol("ETH", "BTC"))


def test_the_documented_depth_and_time():
    snapshot = binance_rest.parse_depth(sample("depth_snapshot.json"), BTC)
    assert snapshot == DepthSnapshot(
        BTC, 1027024, (BookLevel(4.0, 431.0),), (BookLevel(4.000002, 12.0),)
    )
    assert binance_rest.parse_server_time(sample("server_time.json")) == 1499827319.559


def test_every_documented_placement_reply_reads():
    ack = binance_rest.parse_new_order(sample("new_order_ack.json"), "6gCrw2kRUAF9CvJDGP16IP")
    assert (ack.status, ack.venue_order_id, ack.side, ack.ts) == (
        OrderStatus.NEW,
        "28",
        None,
        1507725176.595,
    )
    for name in ("new_order_result.json", "new_order_full.json"):
        result = binance_rest.parse_new_order(sample(name), "6gCrw2kRUAF9CvJDGP16IP")
        assert (result.status, result.side, result.filled_qty, result.avg_price) == (
            OrderStatus.FILLED,
            Side.SELL,
            10.0,
            1.0,
        )


def test_the_documented_query_cancel_and_list_replies():
    query = binance_rest.parse_order(sample("query_order.json"))
    assert (query.client_id, query.venue_order_id, query.status, query.qty, query.price) == (
        "myOrder1",
        "1",
        OrderStatus.NEW,
        1.0,
        0.1,
    )
    cancel = binance_rest.parse_order(sample("cancel_order.json"))
    # The order's own client id, not the cancel's.
    assert (cancel.client_id, cancel.status) == ("myOrder1", OrderStatus.CANCELLED)
    assert binance_rest.parse_orders(sample("open_orders.json")) == [query]


def test_the_documented_account_and_trades():
    assert binance_rest.parse_account(sample("account.json")) == (
        Balance("BTC", 4723846.89208129, 0.0),
        Balance("LTC", 4763368.68006011, 0.0),
    )
    assert binance_rest.parse_account_permissions(sample("account.json")).canTrade
    assert binance_rest.parse_taker_fee(sample("account.json")) == 0.0015
    assert binance_rest.parse_taker_fee(b'{"balances": []}') is None
    (trade,) = binance_rest.parse_my_trades(sample("my_trades.json"))
    assert (trade.venue_order_id, trade.side, trade.qty, trade.fee, trade.fee_asset) == (
        "100234",
        Side.BUY,
        12.0,
        10.1,
        "BNB",
    )


def test_a_reply_that_cannot_be_read_is_malformed():
    with pytest.raises(MalformedResponse):
        binance_rest.parse_order(b'{"symbol": "BTCUSDT"}')
    with pytest.raises(MalformedResponse):
        binance_rest.parse_order(sample("query_order.json").replace(b'"NEW"', b'"LOST"'))


# ------------------------------------------------------------------- errors


def error_of(status, code, message, headers=()):
    body = msgspec.json.encode({"code": code, "msg": message})
    return binance_rest.error_from_response(RestResponse(status, body, headers))


@pytest.mark.parametrize(
    ("code", "message", "kind"),
    [
        (-1000, "An unknown error occurred while processing the request.", VenueUnavailable),
        (
            -1001,
            "Internal error; unable to process your request. Please try again.",
            VenueUnavailable,
        ),
        (-1002, "You are not authorized to execute this request.", BadCredentials),
        (-1003, "Too many requests queued.", RateLimited),
        (-1006, "An unexpected response was received from the message bus.", VenueUnavailable),
        (-1007, "Timeout waiting for response from backend server.", VenueUnavailable),
        (-1008, "Server is currently overloaded with other requests.", VenueUnavailable),
        (-1013, "Filter failure: PRICE_FILTER", InvalidPrecision),
        (-1013, "Filter failure: PERCENT_PRICE_BY_SIDE", PriceRejected),
        (-1013, "Filter failure: LOT_SIZE", BelowMinimum),
        (-1013, "Filter failure: MIN_NOTIONAL", BelowMinimum),
        (-1013, "Filter failure: NOTIONAL", BelowMinimum),
        (-1013, "Filter failure: MAX_NUM_ORDERS", AboveMaximum),
        (-1013, "Filter failure: ICEBERG_PARTS", InvalidParameter),
        (-1014, "Unsupported order combination.", InvalidParameter),
        (-1015, "Too many new orders.", RateLimited),
        (-1016, "This service is no longer available.", VenueUnavailable),
        (-1021, "Timestamp for this request is outside of the recvWindow.", TimestampRejected),
        (-1022, "Signature for this request is not valid.", BadSignature),
        (-1100, "Illegal characters found in a parameter.", InvalidParameter),
        (
            -1102,
            "A mandatory parameter was not sent, was empty/null, or malformed.",
            InvalidParameter,
        ),
        (-1111, "Parameter 'quantity' has too much precision.", InvalidPrecision),
        (-1121, "Invalid symbol.", InvalidSymbol),
        (-1125, "This listenKey does not exist.", InvalidParameter),
        (-1130, "Data sent for parameter 'limit' is not valid.", InvalidParameter),
        (-2010, "Account has insufficient balance for requested action.", InsufficientBalance),
        (-2010, "Duplicate order sent.", DuplicateClientId),
        (-2010, "Market is closed.", TradingDisabled),
        (-2010, "Order would immediately match and take.", PriceRejected),
        (-2010, "Price * QTY is zero or less.", BelowMinimum),
        (-2010, "Order would trigger immediately.", VenueError),
        (-2011, "Unknown order sent.", UnknownOrder),
        (-2013, "Order does not exist.", UnknownOrder),
        (-2014, "API-key format invalid.", BadCredentials),
        (-2015, "Invalid API-key, IP, or permissions for action.", BadCredentials),
    ],
)
def test_each_code_is_classified(code, message, kind):
    error = error_of(400, code, message)
    assert type(error) is kind
    assert (error.code, error.message, error.exchange) == (code, message, "binance")


def test_http_status_decides_before_the_code():
    limited = error_of(429, -1003, "Too much request weight used", (("Retry-After", "17"),))
    assert (type(limited), limited.retry_after_s) == (RateLimited, 17.0)
    banned = error_of(418, -1003, "IP banned until 1", (("Retry-After", "120"),))
    assert (type(banned), banned.retry_after_s) == (Banned, 120.0)
    assert type(error_of(403, 0, "WAF")) is Banned
    # A 5xx is an unknown outcome, whatever its body says: the order may have gone in.
    assert type(error_of(503, -2010, "Duplicate order sent.")) is VenueUnavailable
    unreadable = binance_rest.error_from_response(RestResponse(502, b"<html>bad gateway"))
    assert type(unreadable) is VenueUnavailable
    assert type(error_of(400, 0, "?")) is VenueError


def test_the_documented_error_body_reads():
    error = binance_rest.error_from_response(RestResponse(400, sample("error_bad_symbol.json")))
    assert (type(error), error.code) == (InvalidSymbol, -1121)


@pytest.mark.parametrize(
    "error",
    [
        InsufficientBalance("binance", None, "x"),
        DuplicateClientId("binance", None, "x"),
        BelowMinimum("binance", None, "COIN/USDT order value 1 USDT is below the minimum 5"),
        BelowMinimum("binance", None, "COIN/USDT quantity 0.001 is below the minimum 0.01"),
        InvalidPrecision("binance", None, "x"),
        InvalidSymbol("binance", None, "x"),
        UnknownOrder("binance", None, "x"),
        TradingDisabled("binance", None, "x"),
        RateLimited("binance", None, "x", 429, 3.2),
        VenueUnavailable("binance", None, "x"),
        Banned("binance", None, "x", 418, 60.0),
    ],
)
def test_the_venues_errors_read_back_as_themselves(error):
    response = binance_encode.error_response(error)
    back = binance_rest.error_from_response(response)
    assert type(back) is type(error)
    if error.retry_after_s is not None:
        assert back.retry_after_s == pytest.approx(error.retry_after_s, abs=1.0)


# ------------------------------------------------------------------ requests


def test_a_placement_is_signed_with_its_parameters_in_binances_order():
    order = Order("t1-1s-abcd", Leg.SPOT, BTC, Side.BUY, 0.0015, 50000.5, tif=TimeInForce.GTC)
    request = binance_rest.place_order_request(order, KEYS, 1_700_000_000_000)
    params = parse_qsl(request.query)
    assert params[:8] == [
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", "0.0015"),
        ("price", "50000.5"),
        ("newClientOrderId", "t1-1s-abcd"),
        ("newOrderRespType", "RESULT"),
    ]
    assert params[-1][0] == "signature"
    market = Order("t1-2s", Leg.SPOT, BTC, Side.SELL, 1.0, 0.0, OrderType.MARKET)
    names = [name for name, _ in parse_qsl(binance_rest.place_order_request(market, KEYS, 1).query)]
    assert "price" not in names and "timeInForce" not in names
    maker = Order("t1-3s", Leg.SPOT, BTC, Side.BUY, 1.0, 1.0, tif=TimeInForce.POST_ONLY)
    query = dict(parse_qsl(binance_rest.place_order_request(maker, KEYS, 1).query))
    assert query["type"] == "LIMIT_MAKER" and "timeInForce" not in query


# ------------------------------------------------------------ the venue's side


def test_a_signed_request_is_verified_as_binance_verifies_it():
    request = binance_rest.account_request(KEYS, 1_700_000_000_000)
    params = binance_client_requests.verify_signed_request(request, KEYS, 1_700_000_000_500)
    assert params["omitZeroBalances"] == "true"
    with pytest.raises(BadSignature) as bad:
        binance_client_requests.verify_signed_request(
            request, ApiCredentials("key", "other"), 1_700_000_000_500
        )
    assert bad.value.code == -1022
    with pytest.raises(BadCredentials) as unknown:
        binance_client_requests.verify_signed_request(
            request, ApiCredentials("other", "secret"), 1_700_000_000_500
        )
    assert unknown.value.code == -2015
    with pytest.raises(TimestampRejected) as late:
        binance_client_requests.verify_signed_request(request, KEYS, 1_700_000_006_000)
    assert late.value.code == -1021
    with pytest.raises(TimestampRejected):
        binance_client_requests.verify_signed_request(request, KEYS, 1_699_999_999_000)


def test_a_signature_in_the_body_covers_the_query_and_the_body():
    query = "symbol=BTCUSDT"
    body = "side=BUY&type=MARKET&quantity=1&timestamp=1000"
    signature = sign("secret", query + body)
    request = RestRequest(
        "POST",
        "/api/v3/order",
        query,
        f"{body}&signature={signature}".encode(),
        (("X-MBX-APIKEY", "key"),),
    )
    params = binance_client_requests.verify_signed_request(request, KEYS, 1000)
    order = binance_client_requests.read_new_order(params)
    assert (order.symbol, order.side, order.type, order.qty, order.response_type) == (
        BTC,
        Side.BUY,
        OrderType.MARKET,
        1.0,
        "FULL",
    )


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"side": "BUY", "type": "MARKET"}, -1102),
        ({"symbol": "BTCUSDT", "side": "HOLD", "type": "MARKET"}, -1117),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "STOP"}, -1116),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "price": "1"}, -1102),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTD"}, -1115),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "timeInForce": "GTC"}, -1106),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1e"}, -1100),
        (
            {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "newClientOrderId": "a.b"},
            -1100,
        ),
        ({"symbol": "BTC", "side": "BUY", "type": "MARKET"}, -1121),
    ],
)
def test_a_bad_order_is_refused_with_binances_code(params, code):
    with pytest.raises((InvalidParameter, InvalidSymbol)) as refused:
        binance_client_requests.read_new_order(params)
    assert refused.value.code == code


def test_client_websocket_requests_are_read():
    subscribe = binance_client_requests.decode_client_message(binance.subscribe_message(["a"], 7))
    assert subscribe == binance_client_requests.ClientRequest("SUBSCRIBE", ("a",), 7)
    prop = binance_client_requests.decode_client_message(
        '{"method": "SET_PROPERTY", "params": ["combined", true], "id": 5}'
    )
    assert prop.params == ("combined", True)
    assert isinstance(
        binance_client_requests.decode_client_message('{"method": "PING"}'), MalformedMessage
    )


def test_usage_headers_are_what_the_signing_module_reads():
    headers = binance_encode.usage_headers(42, [("10S", 3), ("1D", 9)])
    response = RestResponse(200, b"{}", headers)
    assert counters(response, USED_WEIGHT_HEADER) == {"1M": 42}
    assert counters(response, ORDER_COUNT_HEADER) == {"10S": 3, "1D": 9}


# ------------------------------------------------------------------ round trips

prices = st.floats(min_value=0.0001, max_value=1e6, allow_nan=False).map(lambda x: round(x, 4))
quantities = st.floats(min_value=0.0, max_value=1e6, allow_nan=False).map(lambda x: round(x, 6))
timestamps = st.integers(min_value=1_500_000_000_000, max_value=2_500_000_000_000).map(
    lambda ms: ms / 1000.0
)
levels = st.lists(st.builds(BookLevel, prices, quantities), max_size=5).map(tuple)


@given(prices, quantities, prices, quantities, st.integers(1, 2**40), st.booleans())
def test_book_ticker_round_trip(bid, bid_qty, ask, ask_qty, version, combined):
    quote = Quote(BTC, bid, bid_qty, ask, ask_qty, 3.0, 3.0)
    event = binance_encode.book_ticker_event(quote, version)
    frame = binance_encode.stream_frame(binance.book_ticker_stream(BTC), event, combined)
    assert only(binance.decode_frame(frame, 3.0)) == quote


@given(st.integers(1, 2**40), st.integers(0, 50), levels, levels, timestamps, st.booleans())
def test_depth_round_trip(first, span, bids, asks, ts, combined):
    diff = DepthDiff(BTC, first, first + span, bids, asks, ts)
    event = binance_encode.depth_update_event(diff, ts)
    frame = binance_encode.stream_frame(binance.depth_stream(BTC), event, combined)
    assert only(binance.decode_frame(frame, 0.0)) == diff
    snapshot = DepthSnapshot(BTC, first, bids, asks)
    assert binance_rest.parse_depth(binance_encode.depth_body(snapshot), BTC) == snapshot
    stream = binance.partial_depth_stream(BTC, 5)
    partial = binance_encode.stream_frame(
        stream, binance_encode.partial_depth_event(snapshot, 5), True
    )
    assert only(binance.decode_frame(partial, 0.0)) == snapshot


order_updates = st.builds(
    OrderUpdate,
    symbol=st.just(BTC),
    client_id=st.from_regex(r"[a-zA-Z0-9_-]{1,36}", fullmatch=True),
    venue_order_id=st.integers(1, 2**50).map(str),
    status=st.sampled_from(
        [
            OrderStatus.NEW,
            OrderStatus.PARTIALLY_FILLED,
            OrderStatus.FILLED,
            OrderStatus.CANCELLED,
            OrderStatus.EXPIRED,
        ]
    ),
    side=st.sampled_from(Side),
    qty=quantities,
    price=prices,
    filled_qty=quantities,
    avg_price=prices,
    ts=timestamps,
)


def _as_read(update: OrderUpdate) -> OrderUpdate:
    return msgspec.structs.replace(
        update, avg_price=pytest.approx(update.avg_price) if update.filled_qty else 0.0
    )


@given(order_updates, timestamps)
def test_order_replies_and_reports_round_trip(update, created_ts):
    facts = binance_encode.OrderFacts(update, "LIMIT", "GTC", created_ts)
    assert binance_rest.parse_order(binance_encode.order_body(facts)) == _as_read(update)
    assert binance_rest.parse_orders(binance_encode.orders_body([facts])) == [_as_read(update)]
    placed = binance_rest.parse_new_order(
        binance_encode.new_order_body(facts, "RESULT"), update.client_id
    )
    assert placed == _as_read(update)
    cancelled = binance_rest.parse_order(binance_encode.cancel_body(facts, "cancel-x", update.ts))
    assert cancelled == _as_read(update)
    if update.status in (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED):
        return  # reported with the trade that filled it
    report = binance_encode.execution_report(update, "LIMIT", "GTC", created_ts, update.ts)
    assert only(user_data(report)) == _as_read(update)


trades = st.builds(
    Trade,
    symbol=st.just(BTC),
    trade_id=st.integers(1, 2**50).map(str),
    client_id=st.just(""),
    venue_order_id=st.integers(1, 2**50).map(str),
    side=st.sampled_from(Side),
    qty=quantities,
    price=prices,
    fee=quantities,
    fee_asset=st.sampled_from(["USDT", "BTC", "BNB"]),
    is_maker=st.booleans(),
    ts=timestamps,
)


@given(trades, st.builds(Balance, st.sampled_from(["USDT", "BTC"]), quantities, quantities))
def test_trades_and_balances_round_trip(trade, balance):
    assert binance_rest.parse_my_trades(binance_encode.my_trades_body([trade])) == (trade,)
    body = binance_encode.account_body([balance], 0.001, 0.001, 1.0)
    assert binance_rest.parse_account(body) == (balance,)
    event = binance_encode.account_position_event([balance], 1.0)
    assert user_data(event) == (balance,)


@given(trades)
def test_a_trade_report_carries_the_trade(trade):
    update = OrderUpdate(
        BTC, "t1-1s", trade.venue_order_id, OrderStatus.FILLED, trade.side, trade.qty,
        trade.price, trade.qty, trade.price, ts=trade.ts,
    )  # fmt: skip
    report = binance_encode.execution_report(update, "LIMIT", "GTC", 1.0, 2.0, trade)
    read_trade, read_update = user_data(report)
    assert read_trade == msgspec.structs.replace(trade, client_id="t1-1s")
    assert read_update.status is OrderStatus.FILLED


@given(
    st.builds(
        VenueRules,
        qty_step=st.sampled_from([1e-5, 0.001, 0.01, 1.0]),
        min_qty=st.sampled_from([1e-5, 0.001, 0.01, 1.0]),
        min_notional=st.sampled_from([0.0, 1.0, 5.0, 10.0]),
        price_tick=st.sampled_from([1e-8, 0.01, 0.1]),
    )
)
def test_rules_round_trip(rules):
    listed = binance_encode.ListedSymbol(BTC, rules)
    body = binance_encode.exchange_info_body([listed], 1.0, [])
    assert binance_rest.parse_exchange_info(body, BTC) == rules


@given(order_updates.filter(lambda u: u.status is OrderStatus.CANCELLED))
def test_a_cancel_report_names_the_cancel_and_reads_as_the_order(update):
    report = binance_encode.execution_report(update, "LIMIT", "GTC", 1.0, 2.0, None, "cancel-9")
    assert (report["c"], report["C"]) == ("cancel-9", update.client_id)
    assert only(user_data(report)) == _as_read(update)
