"""MEXC spot codecs, checked first against the literal examples and the signing vector
(docs/venues.md) and frames built by hand from the documented field numbers, then
encoder → decoder round trips for the simulated venue."""

from __future__ import annotations

from urllib.parse import parse_qsl

import msgspec
import pytest
from google.protobuf import json_format
from hypothesis import given
from hypothesis import strategies as st

from protocols import _wire, mexc, mexc_client_requests, mexc_encode, mexc_rest
from protocols import mexc_push_pb2 as pb
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
    OrderAlreadyFinal,
    OrderUpdate,
    Pong,
    RateLimited,
    RestRequest,
    RestResponse,
    SubscriptionResult,
    TimestampRejected,
    Trade,
    TradingDisabled,
    UnknownOrder,
    VenueError,
    VenueUnavailable,
)
from tests.unit.protocols.level_texts import comparable, decimal_texts
from tests.venue_wire import mexc as mexc_wire

BTC = Symbol("BTC", "USDT")
DOC_SECRET = "45d0b3c26f2644f19bfb98b07741b2f5"
DOC_TOTAL_PARAMS = (
    "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=11&recvWindow=5000&timestamp=1644489390087"
)
DOC_SIGNATURE = "fd3e4e8543c5188531eb7279d68ae7d26a573d0fc5ab0d18eb692451654d837a"
CREDENTIALS = ApiCredentials("mx0key", DOC_SECRET)


def only(events):
    assert len(events) == 1
    return events[0]


# --------------------------------------------------- protobuf written by hand, per the doc


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def text_field(number: int, value: str | bytes) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(data)) + data


def int_field(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def level(price: str, quantity: str) -> bytes:
    return text_field(1, price) + text_field(2, quantity)


# ------------------------------------------------------------- the documented example

DOC_BOOK_TICKER = {
    "channel": "spot@public.aggre.bookTicker.v3.api.pb@100ms@BTCUSDT",
    "symbol": "BTCUSDT",
    "sendTime": "1778075384648",
    "publicAggreBookTicker": {
        "bidPrice": "100",
        "bidQuantity": "4",
        "askPrice": "",
        "askQuantity": "",
        "version": "10023",
    },
}
DOC_QUOTE = Quote(BTC, 100.0, 4.0, 0.0, 0.0, 1778075384.648, 7.0)


def test_documented_book_ticker_with_empty_ask_side():
    frame = json_format.ParseDict(DOC_BOOK_TICKER, pb.PushDataV3ApiWrapper()).SerializeToString()
    assert only(mexc.decode_frame(frame, 7.0)) == DOC_QUOTE


def test_book_ticker_written_by_hand_from_the_documented_field_numbers():
    # channel=1, symbol=3, sendTime=6, body 315 with bidPrice=1 .. version=5.
    body = text_field(1, "100") + text_field(2, "4") + text_field(3, "") + text_field(4, "")
    body += text_field(5, "10023")
    frame = text_field(1, DOC_BOOK_TICKER["channel"]) + text_field(3, "BTCUSDT")
    frame += int_field(6, 1778075384648) + text_field(315, body)
    assert only(mexc.decode_frame(frame, 7.0)) == DOC_QUOTE


def test_aggregated_depth_written_by_hand():
    # 313: asks=1, bids=2 ({price=1, quantity=2}), eventType=3, fromVersion=4, toVersion=5.
    body = text_field(1, level("101.5", "0")) + text_field(2, level("100", "2.5"))
    body += text_field(2, level("99.9", "1"))
    body += text_field(3, "spot@public.aggre.depth.v3.api.pb@100ms")
    body += text_field(4, "10024") + text_field(5, "10026")
    frame = text_field(1, "spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT")
    frame += text_field(3, "BTCUSDT") + int_field(5, 1778075384600) + text_field(313, body)
    assert only(mexc.decode_frame(frame, 7.0)) == DepthDiff(
        BTC,
        10024,
        10026,
        bids=(BookLevel(100.0, 2.5), BookLevel(99.9, 1.0)),
        asks=(BookLevel(101.5, 0.0),),
        venue_ts=1778075384.6,
    )


def _depth_frame(*bids: bytes) -> bytes:
    body = b"".join(text_field(2, bid) for bid in bids)
    body += text_field(4, "10024") + text_field(5, "10024")
    frame = text_field(1, "spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT")
    return frame + text_field(3, "BTCUSDT") + int_field(5, 1778075384600) + text_field(313, body)


def test_depth_levels_with_an_empty_quantity_read_as_removed():
    diff = only(mexc.decode_frame(_depth_frame(level("100", "2.5"), level("99.9", "")), 7.0))
    assert diff.bids == (BookLevel(100.0, 2.5), BookLevel(99.9, 0.0))


def test_a_depth_level_that_is_no_number_names_its_field():
    frame = _depth_frame(level("100", "2.5"), level("99.9", "1,5"))
    assert reason_of(frame) == "publicAggreDepths.bids.quantity '1,5' is not a number"


def test_limit_depth_written_by_hand_takes_the_symbol_from_the_channel():
    # 303: asks, bids, eventType, version=4; this frame leaves out the symbol field.
    body = text_field(1, level("101", "3")) + text_field(2, level("100", "4"))
    body += text_field(4, "555")
    frame = text_field(1, "spot@public.limit.depth.v3.api.pb@BTCUSDT@5") + text_field(303, body)
    assert only(mexc.decode_frame(frame, 7.0)) == DepthSnapshot(
        BTC, 555, (BookLevel(100.0, 4.0),), (BookLevel(101.0, 3.0),)
    )


def private_push(body_name: str, body: dict) -> bytes:
    push = {"channel": "x", "symbol": "BTCUSDT", "sendTime": "1700000000500", body_name: body}
    return json_format.ParseDict(push, pb.PushDataV3ApiWrapper()).SerializeToString()


def test_private_order_push_with_the_documented_fields():
    frame = private_push(
        "privateOrders",
        {
            "id": "C02__1",
            "clientId": "abc-1s",
            "price": "50000",
            "quantity": "0.5",
            "amount": "25000",
            "avgPrice": "49999.5",
            "orderType": 3,
            "tradeType": 1,
            "remainQuantity": "0.25",
            "lastDealQuantity": "0.25",
            "cumulativeQuantity": "0.25",
            "cumulativeAmount": "12499.875",
            "status": 3,
            "createTime": "1700000000000",
        },
    )
    assert only(mexc.decode_frame(frame, 7.0)) == OrderUpdate(
        BTC,
        "abc-1s",
        "C02__1",
        OrderStatus.PARTIALLY_FILLED,
        side=Side.BUY,
        qty=0.5,
        price=50000.0,
        filled_qty=0.25,
        avg_price=49999.5,
        ts=1700000000.5,
    )


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (1, OrderStatus.NEW),
        (2, OrderStatus.FILLED),
        (3, OrderStatus.PARTIALLY_FILLED),
        (4, OrderStatus.CANCELLED),
        (5, OrderStatus.CANCELLED),
    ],
)
def test_private_order_statuses(code, status):
    frame = private_push("privateOrders", {"id": "1", "status": code, "tradeType": 2})
    update = only(mexc.decode_frame(frame, 7.0))
    assert update.status is status and update.side is Side.SELL


def test_private_deal_and_account_pushes():
    deal = private_push(
        "privateDeals",
        {
            "price": "50000",
            "quantity": "0.1",
            "amount": "5000",
            "tradeType": 2,
            "isMaker": True,
            "tradeId": "T9",
            "clientOrderId": "abc-1s",
            "orderId": "C02__1",
            "feeAmount": "2.5",
            "feeCurrency": "USDT",
            "time": "1700000000123",
        },
    )
    assert only(mexc.decode_frame(deal, 7.0)) == Trade(
        BTC, "T9", "abc-1s", "C02__1", Side.SELL, 0.1, 50000.0, 2.5, "USDT", True, 1700000000.123
    )
    account = private_push(
        "privateAccount", {"vcoinName": "USDT", "balanceAmount": "900.5", "frozenAmount": "100"}
    )
    assert only(mexc.decode_frame(account, 7.0)) == Balance("USDT", 900.5, 100.0)


# ------------------------------------------------------------------- control frames


def test_documented_subscribe_ack_pong_and_refusal():
    channel = "spot@public.aggre.bookTicker.v3.api.pb@100ms@BTCUSDT"
    ack = f'{{"id":0,"code":0,"msg":"{channel}"}}'
    assert only(mexc.decode_frame(ack, 0.0)) == SubscriptionResult(True, channel, channel)
    assert only(mexc.decode_frame('{"id":0,"code":0,"msg":"PONG"}', 0.0)) == Pong()
    refusal = (
        '{"id":0,"code":0,"msg":"Not Subscribed successfully! '
        '[spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT].  Reason\uff1a Blocked! "}'
    )
    result = only(mexc.decode_frame(refusal, 0.0))
    assert result.ok is False
    assert result.channel == "spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"
    assert "Blocked" in result.message


def test_ack_of_several_channels_and_a_nonzero_code():
    both = "spot@private.orders.v3.api.pb,spot@private.deals.v3.api.pb"
    assert only(mexc.decode_frame(f'{{"id":1,"code":0,"msg":"{both}"}}', 0.0)).ok
    refused = only(mexc.decode_frame('{"id":1,"code":1,"msg":"spot@x"}', 0.0))
    assert refused == SubscriptionResult(False, "", "spot@x")


def test_control_frame_delivered_as_bytes_is_read_as_json():
    assert only(mexc.decode_frame(b'{"id":0,"code":0,"msg":"PONG"}', 0.0)) == Pong()


def test_documented_request_frames():
    channel = "spot@public.aggre.bookTicker.v3.api.pb@100ms@BTCUSDT"
    assert mexc.subscribe_message([channel]) == (
        f'{{"method":"SUBSCRIPTION","params":["{channel}"],"id":1}}'
    )
    assert mexc_wire.unsubscribe_message([channel], 7) == (
        f'{{"method":"UNSUBSCRIPTION","params":["{channel}"],"id":7}}'
    )
    assert mexc.PING_MESSAGE == '{"method":"PING"}'


def test_documented_channel_names():
    assert mexc.book_ticker_channel(BTC) == "spot@public.aggre.bookTicker.v3.api.pb@100ms@BTCUSDT"
    assert mexc.book_ticker_channel(BTC, "10ms").endswith("@10ms@BTCUSDT")
    assert mexc.depth_channel(BTC) == "spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"
    assert mexc.limit_depth_channel(BTC, 5) == "spot@public.limit.depth.v3.api.pb@BTCUSDT@5"
    assert mexc.private_stream_url("wss://wbs-api.mexc.com/ws", "KEY") == (
        "wss://wbs-api.mexc.com/ws?listenKey=KEY"
    )
    with pytest.raises(ValueError, match="'1s' is not one of 100ms, 10ms"):
        mexc.book_ticker_channel(BTC, "1s")


def test_symbols():
    assert mexc.venue_symbol(BTC) == "BTCUSDT"
    assert mexc.parse_symbol("ETHBTC") == Symbol("ETH", "BTC")
    with pytest.raises(ValueError, match="'BTCXYZ' does not end in a known quote asset"):
        mexc.parse_symbol("BTCXYZ")


# --------------------------------------------------------------- malformed frames


def reason_of(frame) -> str:
    result = only(mexc.decode_frame(frame, 0.0))
    assert isinstance(result, MalformedMessage), result
    return result.reason


def documented_frame() -> bytes:
    return json_format.ParseDict(DOC_BOOK_TICKER, pb.PushDataV3ApiWrapper()).SerializeToString()


def test_truncated_protobuf():
    frame = documented_frame()
    assert "not a PushDataV3ApiWrapper" in reason_of(frame[:-3])
    assert only(mexc.decode_frame(frame[:-3], 0.0)).excerpt.startswith("0a 34")


def test_push_without_a_known_body_names_the_channel():
    frame = text_field(1, "spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT") + text_field(314, b"")
    assert "'spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT' carries no body" in reason_of(frame)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"bidPrice": "1O0", "bidQuantity": "4"}, "publicAggreBookTicker.bidPrice '1O0'"),
        ({"askPrice": "101", "askQuantity": "x"}, "publicAggreBookTicker.askQuantity 'x'"),
    ],
)
def test_bad_number_names_the_field(body, field):
    push = dict(DOC_BOOK_TICKER, publicAggreBookTicker=body)
    frame = json_format.ParseDict(push, pb.PushDataV3ApiWrapper()).SerializeToString()
    assert reason_of(frame) == f"{field} is not a number"


def test_bad_version_status_side_and_symbol():
    depth = text_field(4, "ten") + text_field(5, "11")
    frame = text_field(1, "c") + text_field(3, "BTCUSDT") + text_field(313, depth)
    assert reason_of(frame) == "publicAggreDepths.fromVersion 'ten' is not an integer"
    frame = private_push("privateOrders", {"id": "1", "status": 9, "tradeType": 1})
    assert reason_of(frame) == "privateOrders.status 9 is not one of 1-5"
    frame = private_push("privateDeals", {"tradeType": 0})
    assert reason_of(frame) == "privateDeals.tradeType 0 is neither 1 (buy) nor 2 (sell)"
    frame = text_field(1, "spot@x@NOPE") + text_field(315, text_field(1, "1"))
    assert reason_of(frame) == "push on channel 'spot@x@NOPE' names no symbol"


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ('{"id":0,"code":0,', "truncated"),
        ('{"id":0,"code":0}', "missing required field `msg`"),
        ('{"id":0,"code":"zero","msg":"PONG"}', "Expected `int`, got `str` - at `$.code`"),
        ("[]", "Expected `object`, got `array`"),
    ],
)
def test_malformed_control_frames(frame, expected):
    assert expected in reason_of(frame)


# --------------------------------------------------------------------- REST signing


def test_documented_signature_vector():
    assert mexc_rest.sign(DOC_SECRET, DOC_TOTAL_PARAMS) == DOC_SIGNATURE


def test_signed_request_puts_every_parameter_in_the_query_and_signs_it():
    params = [("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "LIMIT")]
    params += [("quantity", 1.0), ("price", 11.0)]
    request = mexc_rest.signed_request("POST", "order", params, CREDENTIALS, 1644489390087)
    assert request == RestRequest(
        "POST",
        "/api/v3/order",
        f"{DOC_TOTAL_PARAMS}&signature={DOC_SIGNATURE}",
        b"",
        (("X-MEXC-APIKEY", "mx0key"),),
    )


def test_place_order_request_from_a_domain_order():
    order = Order("abc-1s", Leg.SPOT, BTC, Side.BUY, 1.0, 11.0, tif=TimeInForce.GTC)
    request = mexc_rest.place_order_request(order, CREDENTIALS, 1644489390087)
    query = request.query.rsplit("&signature=", 1)[0]
    assert query == (
        "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=11&newClientOrderId=abc-1s"
        "&recvWindow=5000&timestamp=1644489390087"
    )
    assert request.query.endswith("&signature=" + mexc_rest.sign(DOC_SECRET, query))


@pytest.mark.parametrize(
    ("kind", "tif", "expected"),
    [
        (OrderType.LIMIT, TimeInForce.IOC, "IMMEDIATE_OR_CANCEL"),
        (OrderType.LIMIT, TimeInForce.FOK, "FILL_OR_KILL"),
        (OrderType.LIMIT, TimeInForce.POST_ONLY, "LIMIT_MAKER"),
        (OrderType.MARKET, TimeInForce.IOC, "MARKET"),
    ],
)
def test_order_types(kind, tif, expected):
    order = Order("a", Leg.SPOT, BTC, Side.SELL, 0.00001, 50000.5, kind, tif)
    query = mexc_rest.place_order_request(order, CREDENTIALS, 1).query
    assert f"type={expected}&quantity=0.00001&" in query
    assert ("price=" in query) is (kind is OrderType.LIMIT)


def test_client_id_rule():
    order = Order("x" * 33, Leg.SPOT, BTC, Side.BUY, 1.0, 1.0)
    with pytest.raises(ValueError, match="is not 1-32 characters of"):
        mexc_rest.place_order_request(order, CREDENTIALS, 1)


def test_other_requests():
    cancel = mexc_rest.cancel_order_request(BTC, CREDENTIALS, 5, client_id="abc-1s")
    assert (cancel.method, cancel.path) == ("DELETE", "/api/v3/order")
    assert cancel.query.startswith("symbol=BTCUSDT&origClientOrderId=abc-1s&recvWindow=5000")
    query = mexc_rest.query_order_request(BTC, CREDENTIALS, 5, venue_order_id="C1")
    assert query.query.startswith("symbol=BTCUSDT&orderId=C1&recvWindow")
    with pytest.raises(ValueError, match="name the order"):
        mexc_rest.query_order_request(BTC, CREDENTIALS, 5)
    assert mexc_rest.depth_request(BTC, 50).target == "/api/v3/depth?symbol=BTCUSDT&limit=50"
    assert mexc_rest.exchange_info_request(BTC).target == "/api/v3/exchangeInfo?symbol=BTCUSDT"
    assert mexc_rest.server_time_request().target == "/api/v3/time"
    keep = mexc_rest.listen_key_request("PUT", CREDENTIALS, 5, "LK")
    assert keep.query.startswith("listenKey=LK&recvWindow")
    with pytest.raises(ValueError, match="recvWindow 60001"):
        mexc_rest.account_request(CREDENTIALS, 5, recv_window_ms=60001)


def test_secret_is_not_in_repr():
    assert DOC_SECRET not in repr(CREDENTIALS)


# ------------------------------------------------------------------- REST replies


@pytest.mark.parametrize("status", ['"1"', '"ENABLED"', "1"])
def test_exchange_info(status):
    body = (
        '{"timezone":"CST","serverTime":1,"symbols":[{"symbol":"ETHUSDT","status":"1",'
        '"baseAsset":"ETH","quoteAsset":"USDT","baseAssetPrecision":4,"quotePrecision":2,'
        '"baseSizePrecision":"0.001","quoteAmountPrecision":"5"},'
        f'{{"symbol":"BTCUSDT","status":{status},"baseAsset":"BTC","quoteAsset":"USDT",'
        '"baseAssetPrecision":6,"quotePrecision":2,"baseSizePrecision":"0.0001",'
        '"quoteAmountPrecision":"1.000000000000000000","makerCommission":"0",'
        '"takerCommission":0.0005,"orderTypes":["LIMIT","MARKET","LIMIT_MAKER"]}]}'
    ).encode()
    rules = mexc_rest.parse_exchange_info(body, BTC)
    assert rules == VenueRules(
        qty_step=pytest.approx(1e-6),
        min_qty=0.0001,
        min_notional=1.0,
        price_tick=pytest.approx(0.01),
        taker_fee=0.0005,
    )


def test_exchange_info_offline_or_missing_symbol():
    body = (
        b'{"symbols":[{"symbol":"BTCUSDT","status":"2","baseAsset":"BTC","quoteAsset":"USDT",'
        b'"baseAssetPrecision":6,"quotePrecision":2}]}'
    )
    with pytest.raises(TradingDisabled, match="BTCUSDT is not online"):
        mexc_rest.parse_exchange_info(body, BTC)
    with pytest.raises(InvalidSymbol, match="does not list ETHUSDT"):
        mexc_rest.parse_exchange_info(body, Symbol("ETH", "USDT"))


def test_depth_time_ticker_and_listen_key():
    depth = b'{"lastUpdateId":10023,"bids":[["100","4"],[99.5,1]],"asks":[]}'
    assert mexc_rest.parse_depth(depth, BTC) == DepthSnapshot(
        BTC, 10023, (BookLevel(100.0, 4.0), BookLevel(99.5, 1.0)), ()
    )
    assert mexc_rest.parse_server_time(b'{"serverTime":1644489390087}') == 1644489390.087
    ticker = b'{"symbol":"BTCUSDT","bidPrice":"100","bidQty":"4","askPrice":"","askQty":""}'
    assert mexc_wire.parse_book_ticker(ticker, 3.0) == Quote(BTC, 100.0, 4.0, 0.0, 0.0, 3.0, 3.0)
    assert mexc_rest.parse_listen_key(b'{"listenKey":"pqia91ma19a5s61"}') == "pqia91ma19a5s61"


def test_order_replies():
    placed = (
        b'{"symbol":"BTCUSDT","orderId":"C02__44","orderListId":-1,"price":"11",'
        b'"origQty":"1","type":"LIMIT","side":"BUY","transactTime":1644489390087}'
    )
    assert mexc_rest.parse_new_order(placed, "abc-1s") == OrderUpdate(
        BTC,
        "abc-1s",
        "C02__44",
        OrderStatus.NEW,
        side=Side.BUY,
        qty=1.0,
        price=11.0,
        filled_qty=0.0,
        avg_price=0.0,
        ts=1644489390.087,
    )
    queried = (
        b'{"symbol":"BTCUSDT","orderId":"C02__44","clientOrderId":"abc-1s","price":"11",'
        b'"origQty":"1","executedQty":"0.5","cummulativeQuoteQty":"5.25",'
        b'"status":"PARTIALLY_CANCELED","type":"IMMEDIATE_OR_CANCEL","side":"SELL",'
        b'"time":1644489390087,"updateTime":1644489391000}'
    )
    update = mexc_rest.parse_order(queried)
    assert (update.client_id, update.status, update.side) == (
        "abc-1s",
        OrderStatus.CANCELLED,
        Side.SELL,
    )
    assert (update.filled_qty, update.avg_price, update.ts) == (0.5, 10.5, 1644489391.0)
    assert mexc_wire.parse_open_orders(b"[" + queried + b"]") == (update,)


def test_account_permissions_as_documented():
    account = (
        b'{"makerCommission":0,"takerCommission":0,"buyerCommission":0,"sellerCommission":0,'
        b'"canTrade":true,"canWithdraw":false,"canDeposit":true,"updateTime":null,'
        b'"accountType":"SPOT","balances":[],"permissions":["SPOT"]}'
    )
    assert mexc_rest.parse_account_permissions(account) == mexc_rest.AccountPermissions(
        True, ["SPOT"]
    )
    refused = mexc_rest.parse_account_permissions(b'{"canTrade":false,"balances":[]}')
    assert (refused.canTrade, refused.permissions) == (False, [])
    with pytest.raises(MalformedResponse, match="account reply"):
        mexc_rest.parse_account_permissions(b'{"balances":[]}')


def test_account_and_my_trades():
    account = b'{"canTrade":true,"balances":[{"asset":"USDT","free":"900.5","locked":"100"}]}'
    assert mexc_rest.parse_account(account) == (Balance("USDT", 900.5, 100.0),)
    trades = (
        b'[{"symbol":"BTCUSDT","id":"T1","orderId":"C1","orderListId":-1,"price":"50000",'
        b'"qty":"0.1","quoteQty":"5000","commission":"0.0001","commissionAsset":"BTC",'
        b'"time":1700000000000,"isBuyer":true,"isMaker":false,"isBestMatch":true,'
        b'"isSelfTrade":false,"clientOrderId":"abc-1s"}]'
    )
    assert mexc_rest.parse_my_trades(trades) == (
        Trade(BTC, "T1", "abc-1s", "C1", Side.BUY, 0.1, 50000.0, 0.0001, "BTC", False, 1.7e9),
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{", "order reply: Input data was truncated"),
        (b'{"symbol":"BTCUSDT","side":"BUY"}', "missing required field `orderId`"),
        (b'{"symbol":"BTCUSDT","orderId":1,"side":"BUY","price":[1]}', "at `$.price`"),
        (b'{"symbol":"BTCUSDT","orderId":1,"side":"BUY","price":"x"}', "price 'x' is not a"),
        (b'{"symbol":"BTCUSDT","orderId":1,"side":"UP"}', "side 'UP' is neither BUY nor SELL"),
        (b'{"symbol":"BTCUSDT","orderId":1,"side":"BUY","status":"GONE"}', "status 'GONE'"),
    ],
)
def test_malformed_order_reply_names_the_field(body, expected):
    with pytest.raises(MalformedResponse, match=expected.replace("[", r"\[").replace("$", r"\$")):
        mexc_rest.parse_order(body)


# -------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (10101, InsufficientBalance),
        (30002, BelowMinimum),
        (30003, AboveMaximum),
        (30004, InsufficientBalance),
        (30014, InvalidSymbol),
        (30021, InvalidSymbol),
        (30016, TradingDisabled),
        (30018, TradingDisabled),
        (30019, TradingDisabled),
        (-2011, UnknownOrder),
        (-2013, UnknownOrder),
        (602, BadSignature),
        (700002, BadSignature),
        (700003, TimestampRejected),
        (mexc_rest.PRECISION_ERROR_CODE, InvalidPrecision),
        (12345, VenueError),
    ],
)
def test_documented_error_codes(code, kind):
    body = f'{{"code":{code},"msg":"no"}}'.encode()
    error = mexc_rest.error_from_response(RestResponse(400, body))
    assert type(error) is kind and error.code == code and error.message == "no"


def test_rate_limit_ban_and_outage():
    limited = mexc_rest.error_from_response(RestResponse(429, b"", (("retry-after", "7"),)))
    assert isinstance(limited, RateLimited) and limited.retry_after_s == 7.0
    banned = mexc_rest.error_from_response(RestResponse(418, b"", (("Retry-After", "120"),)))
    assert isinstance(banned, Banned) and banned.retry_after_s == 120.0
    outage = mexc_rest.error_from_response(RestResponse(502, b"<html>bad gateway</html>"))
    assert isinstance(outage, VenueUnavailable) and "bad gateway" in outage.message


# ----------------------------------------------------------------- the venue's side

SECRET_REQUEST = mexc_rest.account_request(CREDENTIALS, 1_000_000)


def test_verify_accepts_what_the_client_signed():
    params = mexc_client_requests.verify_signed_request(SECRET_REQUEST, CREDENTIALS, 1_000_000)
    assert params == {"recvWindow": "5000", "timestamp": "1000000"}


def test_verify_checks_key_signature_and_the_documented_time_window():
    with pytest.raises(BadCredentials):
        mexc_client_requests.verify_signed_request(
            SECRET_REQUEST, ApiCredentials("other", DOC_SECRET), 1_000_000
        )
    tampered = msgspec.structs.replace(
        SECRET_REQUEST, query=SECRET_REQUEST.query.replace("5000", "6000")
    )
    with pytest.raises(BadSignature):
        mexc_client_requests.verify_signed_request(tampered, CREDENTIALS, 1_000_000)
    # accepted while timestamp < serverTime + 1000 and serverTime - timestamp <= recvWindow
    mexc_client_requests.verify_signed_request(SECRET_REQUEST, CREDENTIALS, 999_001)
    mexc_client_requests.verify_signed_request(SECRET_REQUEST, CREDENTIALS, 1_005_000)
    for server_time in (999_000, 1_005_001):
        with pytest.raises(TimestampRejected) as caught:
            mexc_client_requests.verify_signed_request(SECRET_REQUEST, CREDENTIALS, server_time)
        assert caught.value.code == 700003


def test_client_messages_as_the_venue_reads_them():
    channel = "spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"
    request = mexc_client_requests.decode_client_message(mexc.subscribe_message([channel], 3))
    assert request == mexc_client_requests.ClientSubscription(True, (channel,), 3)
    assert (
        mexc_client_requests.decode_client_message(mexc.PING_MESSAGE)
        == mexc_client_requests.ClientPing()
    )
    bad = mexc_client_requests.decode_client_message('{"method":"SUBSCRIBE","params":["x"]}')
    assert isinstance(bad, MalformedMessage) and "'SUBSCRIBE'" in bad.reason


def test_the_documented_signed_order_is_read_as_the_order_it_asks_for():
    request = RestRequest(
        "POST",
        "/api/v3/order",
        f"{DOC_TOTAL_PARAMS}&signature={DOC_SIGNATURE}",
        b"",
        ((mexc_rest.API_KEY_HEADER, "mx0key"),),
    )
    params = mexc_client_requests.verify_signed_request(request, CREDENTIALS, 1644489390087)
    order = mexc_client_requests.read_new_order(params)
    assert order == mexc_client_requests.NewOrderParams(
        BTC, Side.BUY, OrderType.LIMIT, TimeInForce.GTC, "LIMIT", 1.0, None, 11.0, None
    )


@pytest.mark.parametrize(
    ("query", "kind", "tif"),
    [
        ("type=IMMEDIATE_OR_CANCEL&price=1", OrderType.LIMIT, TimeInForce.IOC),
        ("type=LIMIT_MAKER&price=1", OrderType.LIMIT, TimeInForce.POST_ONLY),
        ("type=FILL_OR_KILL&price=1", OrderType.LIMIT, TimeInForce.FOK),
        ("type=MARKET", OrderType.MARKET, None),
    ],
)
def test_every_documented_order_type_is_read(query, kind, tif):
    params = dict(parse_qsl(f"symbol=ETHUSDT&side=SELL&quantity=0.5&{query}"))
    order = mexc_client_requests.read_new_order(params)
    assert (order.type, order.tif, order.side, order.qty) == (kind, tif, Side.SELL, 0.5)
    assert order.type_name == params["type"]
    assert order.type_name == mexc_rest.order_type_name(kind, tif or TimeInForce.IOC)


@pytest.mark.parametrize(
    ("query", "kind", "code", "says"),
    [
        ("side=BUY&type=LIMIT", InvalidParameter, 44444, "'symbol'"),
        ("symbol=BTCXYZ&side=BUY&type=LIMIT", InvalidSymbol, 30014, "BTCXYZ"),
        ("symbol=BTCUSDT&side=LONG&type=LIMIT", InvalidParameter, 33333, "LONG"),
        ("symbol=BTCUSDT&side=BUY&type=STOP", InvalidParameter, 33333, "STOP"),
        ("symbol=BTCUSDT&side=BUY&type=LIMIT&price=cheap", InvalidParameter, 33333, "price"),
    ],
)
def test_a_bad_order_names_the_parameter_with_mexcs_code(query, kind, code, says):
    with pytest.raises(kind, match=says) as caught:
        mexc_client_requests.read_new_order(dict(parse_qsl(query)))
    assert caught.value.code == code


def test_an_order_is_referenced_by_either_id():
    read = mexc_client_requests.read_order_reference
    by_id = read({"symbol": "BTCUSDT", "orderId": "42", "origClientOrderId": "c1"})
    assert by_id == mexc_client_requests.OrderReference(BTC, "42", None)
    assert read({"symbol": "BTCUSDT", "origClientOrderId": "c1"}).client_id == "c1"
    with pytest.raises(InvalidParameter, match="must be sent"):
        read({"symbol": "BTCUSDT"})


def test_a_refined_error_carries_the_code_of_what_it_refines():
    response = mexc_encode.error_response(DuplicateClientId("mexc", None, "used"))
    assert mexc_rest.error_from_response(response).code == 33333


def test_control_answers_read_back():
    channels = ["spot@private.orders.v3.api.pb", "spot@private.deals.v3.api.pb"]
    ack = only(mexc.decode_frame(mexc_encode.subscription_ack(channels), 0.0))
    assert ack.ok and ack.channel == ",".join(channels)
    refusal = only(mexc.decode_frame(mexc_encode.subscription_refusal(channels, "Blocked!"), 0.0))
    assert not refusal.ok and refusal.channel == ",".join(channels)
    assert only(mexc.decode_frame(mexc_encode.PONG_MESSAGE, 0.0)) == Pong()


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InsufficientBalance("mexc", None, "no money"), 400, 10101),
        (UnknownOrder("mexc", None, "gone"), 400, -2013),
        (OrderAlreadyFinal("mexc", None, "done"), 400, -2011),
        (InvalidPrecision("mexc", None, "scale"), 400, mexc_rest.PRECISION_ERROR_CODE),
        (BadSignature("mexc", None, "sig"), 400, 700002),
        (VenueUnavailable("mexc", None, "down"), 503, None),
    ],
)
def test_error_responses_read_back(error, status, code):
    response = mexc_encode.error_response(error)
    assert response.status == status
    back = mexc_rest.error_from_response(response)
    assert back.message == error.message
    if code is not None:
        assert back.code == code
    if not isinstance(error, OrderAlreadyFinal):  # MEXC says -2011 for both
        assert type(back) is type(error)


def test_rate_limited_response_carries_retry_after():
    response = mexc_encode.error_response(RateLimited("mexc", None, "slow", retry_after_s=2.5))
    assert response.status == 429 and response.header("Retry-After") == "3"
    assert mexc_rest.error_from_response(response).retry_after_s == 3.0


# ------------------------------------------------------------------ round trips

prices = st.floats(min_value=0.0001, max_value=1e6, allow_nan=False).map(lambda x: round(x, 4))
quantities = st.floats(min_value=0.0, max_value=1e6, allow_nan=False).map(lambda x: round(x, 6))
timestamps = st.integers(min_value=1_500_000_000_000, max_value=2_500_000_000_000).map(
    lambda ms: ms / 1000.0
)
levels = st.lists(st.builds(BookLevel, prices, quantities), max_size=5).map(tuple)


@given(
    st.one_of(st.just(0.0), prices),
    quantities,
    st.one_of(st.just(0.0), prices),
    quantities,
    timestamps,
)
def test_book_ticker_round_trip(bid, bid_qty, ask, ask_qty, ts):
    quote = Quote(BTC, bid, bid_qty if bid else 0.0, ask, ask_qty if ask else 0.0, ts, 1.0)
    frame = mexc_encode.book_ticker_push(quote, 77, ts)
    assert only(mexc.decode_frame(frame, 1.0)) == quote


@given(st.integers(1, 2**40), st.integers(0, 50), levels, levels, timestamps)
def test_depth_round_trip(first, span, bids, asks, ts):
    diff = DepthDiff(BTC, first, first + span, bids, asks, ts)
    assert only(mexc.decode_frame(mexc_encode.depth_diff_push(diff, ts), 0.0)) == diff
    snapshot = DepthSnapshot(BTC, first, bids, asks)
    frame = mexc_encode.limit_depth_push(snapshot, 5, ts)
    assert only(mexc.decode_frame(frame, 0.0)) == snapshot


order_updates = st.builds(
    OrderUpdate,
    symbol=st.just(BTC),
    client_id=st.from_regex(r"[A-Za-z0-9_-]{1,32}", fullmatch=True),
    venue_order_id=st.from_regex(r"C0[0-9]{1,10}", fullmatch=True),
    status=st.sampled_from(
        [OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELLED]
    ),
    side=st.sampled_from(Side),
    qty=quantities,
    price=prices,
    filled_qty=quantities,
    avg_price=prices,
    ts=timestamps,
)


@given(order_updates)
def test_order_push_and_rest_round_trip(update):
    assert only(mexc.decode_frame(mexc_encode.order_push(update, "LIMIT", update.ts), 0.0)) == (
        update
    )
    back = mexc_rest.parse_order(mexc_encode.order_body(update, "IMMEDIATE_OR_CANCEL"))
    assert back == msgspec.structs.replace(
        update, avg_price=pytest.approx(update.avg_price) if update.filled_qty else 0.0
    )


trades = st.builds(
    Trade,
    symbol=st.just(BTC),
    trade_id=st.from_regex(r"[0-9]{1,12}", fullmatch=True),
    client_id=st.from_regex(r"[A-Za-z0-9_-]{1,32}", fullmatch=True),
    venue_order_id=st.from_regex(r"C0[0-9]{1,10}", fullmatch=True),
    side=st.sampled_from(Side),
    qty=quantities,
    price=prices,
    fee=quantities,
    fee_asset=st.sampled_from(["USDT", "BTC", "MX"]),
    is_maker=st.booleans(),
    ts=timestamps,
)


@given(trades, st.builds(Balance, st.sampled_from(["USDT", "BTC"]), quantities, quantities))
def test_deal_account_and_rest_round_trips(trade, balance):
    assert only(mexc.decode_frame(mexc_encode.deal_push(trade, 1.0), 0.0)) == trade
    assert mexc_rest.parse_my_trades(mexc_encode.my_trades_body([trade])) == (trade,)
    assert only(mexc.decode_frame(mexc_encode.account_push(balance, 1.0), 0.0)) == balance
    assert mexc_rest.parse_account(mexc_encode.account_body([balance])) == (balance,)


def test_amounts_are_written_as_exact_decimals_without_float_noise():
    # 0.000323 * 65001.25 is 20.995403749999998 in float arithmetic.
    trade = Trade(BTC, "1", "c", "C01", Side.BUY, 0.000323, 65001.25, 0.01, "USDT", False, 1.0)
    [written] = msgspec.json.decode(mexc_encode.my_trades_body([trade]))
    assert written["quoteQty"] == "20.99540375"
    deal = pb.PushDataV3ApiWrapper.FromString(mexc_encode.deal_push(trade, 1.0))
    assert deal.privateDeals.amount == "20.99540375"
    quote = Quote(BTC, 65014.78, 1.0, 65014.8, 1.0, 1.0, 1.0)
    stats = mexc_encode.DayStats(quote, 65002.24, 65014.79, 65016.0, 65000.0, 1.0, 1.0, 0.0, 1.0)
    # 65014.79 - 65002.24 is 12.55000000000291 in float arithmetic.
    assert msgspec.json.decode(mexc_encode.day_ticker_body(stats))["priceChange"] == "12.55"


def test_rest_bodies_read_back():
    rules = VenueRules(qty_step=1e-6, min_qty=1e-4, min_notional=1.0, price_tick=0.01)
    rules = msgspec.structs.replace(rules, taker_fee=0.0005)
    listed = mexc_encode.ListedSymbol(BTC, rules, 0.0002, 0.0005)
    back = mexc_rest.parse_exchange_info(mexc_encode.exchange_info_body([listed], 1.0), BTC)
    assert back == rules
    off_grid = msgspec.structs.replace(
        listed, rules=msgspec.structs.replace(rules, price_tick=0.05)
    )
    with pytest.raises(ValueError, match="not a power of ten"):
        mexc_encode.exchange_info_body([off_grid], 1.0)
    snapshot = DepthSnapshot(BTC, 9, (BookLevel(100.0, 1.0),), (BookLevel(101.0, 2.0),))
    assert mexc_rest.parse_depth(mexc_encode.depth_body(snapshot), BTC) == snapshot
    quote = Quote(BTC, 0.0, 0.0, 101.0, 2.0, 5.0, 5.0)
    assert mexc_wire.parse_book_ticker(mexc_encode.book_ticker_body(quote), 5.0) == quote
    assert mexc_rest.parse_server_time(mexc_encode.server_time_body(1.5)) == 1.5
    assert mexc_rest.parse_listen_key(mexc_encode.listen_key_body("k")) == "k"


@given(st.binary(max_size=300))
def test_no_binary_frame_makes_the_decoder_raise(frame):
    assert len(mexc.decode_frame(frame, 0.0)) == 1


@given(st.binary(max_size=40), st.integers(0, 80))
def test_corrupted_pushes_never_raise(noise, cut):
    frame = bytearray(documented_frame())
    frame[cut % len(frame) :] = noise
    assert len(mexc.decode_frame(bytes(frame), 0.0)) == 1


@given(st.text(max_size=200))
def test_no_text_frame_makes_the_decoder_raise(frame):
    assert len(mexc.decode_frame(frame, 0.0)) == 1


DOC_MIXED_SIGNATURE = "d1a676610ceb39174c8039b3f548357994b2a34139a8addd33baadba65684592"
"""MEXC's example of a signed order split between the query and the body: the signature
is over the query immediately followed by the body, with no ``&`` between them."""


def _doc_order(query: str, body: str) -> RestRequest:
    return RestRequest(
        "POST",
        "/api/v3/order",
        query,
        body.encode(),
        (
            (mexc_rest.API_KEY_HEADER, "mx0key"),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ),
    )


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ("", f"{DOC_TOTAL_PARAMS}&signature={DOC_SIGNATURE}"),
        (
            "symbol=BTCUSDT&side=BUY&type=LIMIT",
            f"quantity=1&price=11&recvWindow=5000&timestamp=1644489390087"
            f"&signature={DOC_MIXED_SIGNATURE}",
        ),
    ],
    ids=["all-in-the-body", "query-and-body"],
)
def test_the_documented_orders_signed_in_the_body_are_read(query, body):
    params = mexc_client_requests.verify_signed_request(
        _doc_order(query, body), CREDENTIALS, 1644489390087
    )
    order = mexc_client_requests.read_new_order(params)
    assert (order.symbol, order.side, order.type_name, order.qty, order.price) == (
        BTC,
        Side.BUY,
        "LIMIT",
        1.0,
        11.0,
    )


def test_a_parameter_in_both_the_query_and_the_body_is_taken_from_the_query():
    query = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=2"
    body = "quantity=1&price=11&recvWindow=5000&timestamp=1644489390087"
    signed = f"{body}&signature={mexc_rest.sign(DOC_SECRET, query + body)}"
    params = mexc_client_requests.verify_signed_request(
        _doc_order(query, signed), CREDENTIALS, 1644489390087
    )
    assert params["quantity"] == "2"


def test_missing_parameters_get_mexcs_documented_codes():
    with pytest.raises(InvalidParameter) as missing:
        mexc_client_requests.read_symbol({})
    assert missing.value.code == 44444
    with pytest.raises(InvalidParameter) as no_id:
        mexc_client_requests.read_order_reference({"symbol": "BTCUSDT"})
    assert no_id.value.code == 700004
    for code in (44444, 700004, 700005):
        body = msgspec.json.encode({"code": code, "msg": "x"})
        assert isinstance(mexc_rest.error_from_response(RestResponse(400, body)), InvalidParameter)


def test_a_lower_case_ping_and_request_ids_are_answered_as_mexc_does():
    ping = mexc_client_requests.decode_client_message('{"method":"ping","id":7}')
    assert ping == mexc_client_requests.ClientPing(7)
    assert msgspec.json.decode(mexc_encode.pong(ping.request_id)) == {
        "id": 7,
        "code": 0,
        "msg": "PONG",
    }
    # MEXC's own examples send no id and are answered with id 0.
    assert mexc_encode.PONG_MESSAGE == '{"id":0,"code":0,"msg":"PONG"}'
    ack = msgspec.json.decode(mexc_encode.subscription_ack(["spot@x"], 12))
    assert ack == {"id": 12, "code": 0, "msg": "spot@x"}
    assert only(mexc.decode_frame(mexc_encode.pong(3), 0.0)) == Pong()


def test_a_receive_window_over_a_minute_gets_mexcs_code():
    query = "recvWindow=60001&timestamp=1000000"
    request = RestRequest(
        "GET",
        "/api/v3/account",
        f"{query}&signature={mexc_rest.sign(DOC_SECRET, query)}",
        b"",
        ((mexc_rest.API_KEY_HEADER, "mx0key"),),
    )
    with pytest.raises(InvalidParameter) as caught:
        mexc_client_requests.verify_signed_request(request, CREDENTIALS, 1_000_000)
    assert caught.value.code == 700005


def test_order_lists_are_asked_by_symbol_and_read_with_their_client_ids():
    listed = mexc_rest.open_orders_request(BTC, CREDENTIALS, 1_000_000)
    assert (listed.method, listed.path) == ("GET", "/api/v3/openOrders")
    assert parse_qsl(listed.query)[0] == ("symbol", "BTCUSDT")
    history = mexc_rest.all_orders_request(BTC, CREDENTIALS, 1_000_000)
    assert history.path == "/api/v3/allOrders"
    assert parse_qsl(history.query)[:2] == [("symbol", "BTCUSDT"), ("limit", "1000")]
    orders = [
        OrderUpdate(BTC, "btc_1-1s-k3x9", "7", OrderStatus.NEW, Side.BUY, 0.5, 100.0, 0.0, 0.0),
        OrderUpdate(BTC, "web", "8", OrderStatus.FILLED, Side.SELL, 0.2, 101.0, 0.2, 101.0),
    ]
    body = mexc_encode.open_orders_body([(order, "LIMIT", 0.0) for order in orders])
    parsed = mexc_rest.parse_orders(body)
    assert [(o.client_id, o.venue_order_id, o.status) for o in parsed] == [
        ("btc_1-1s-k3x9", "7", OrderStatus.NEW),
        ("web", "8", OrderStatus.FILLED),
    ]


def _levels_read_by_field(levels) -> tuple[BookLevel, ...]:
    """Levels read as the codec read them before it decoded their texts in one pass:
    ``float`` on each, and ``number`` (which names the field) when that fails."""
    try:
        return tuple(BookLevel(float(lv.price), float(lv.quantity)) for lv in levels)
    except ValueError:
        pass
    return tuple(
        BookLevel(_wire.number(lv.price, "price"), _wire.number(lv.quantity, "quantity"))
        for lv in levels
    )


@given(st.lists(st.tuples(decimal_texts, decimal_texts), max_size=6))
def test_levels_decoded_in_one_pass_are_those_read_by_field(pairs):
    """Whatever the levels' texts hold, the levels the codec reads are those it read
    field by field before, or both ways refuse them."""
    levels = [pb.PublicDepthLevelV3Api(price=p, quantity=q) for p, q in pairs]
    try:
        expected = _levels_read_by_field(levels)
    except _wire.WireFormatError:
        with pytest.raises(_wire.WireFormatError):
            mexc._levels(levels, "bids")
        return
    assert comparable(mexc._levels(levels, "bids")) == comparable(expected)
