"""Gate.io futures codecs, checked first against the literal examples and both signing
vectors (docs/venues.md), then encoder → decoder round trips for the simulated
venue."""

from __future__ import annotations

import hashlib
import hmac

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols import _wire, gateio, gateio_client_requests, gateio_encode, gateio_rest
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
    BelowMinimum,
    BookLevel,
    DepthDiff,
    DepthSnapshot,
    DuplicateClientId,
    FundingBookEntry,
    FundingRate,
    FuturesAccountSettings,
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
    PositionSettings,
    PriceRejected,
    RateLimited,
    ReduceOnlyViolated,
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
from tests.unit.protocols.level_texts import comparable, decimal_texts
from tests.venue_wire import gateio as gateio_wire

BTC_USD = Symbol("BTC", "USD")  # the documented examples use BTC_USD
BTC = Symbol("BTC", "USDT")
SIZES = {BTC_USD: 0.0001, BTC: 0.0001}
DOC_CREDENTIALS = ApiCredentials("key", "secret")
DOC_TIMESTAMP = 1541993715


def decode(frame, sizes=SIZES):
    return gateio.decode_frame(frame, 9.0, sizes)


def only(events):
    assert len(events) == 1
    return events[0]


# -------------------------------------------------------------- documented examples

DOC_BOOK_TICKER = (
    '{"time":1615366379,"time_ms":1615366379123,"channel":"futures.book_ticker",'
    '"event":"update","result":{"t":1615366379123,"u":2517661076,"s":"BTC_USD",'
    '"b":"54696.6","B":37000,"a":"54696.7","A":47061}}'
)
DOC_ORDER_PUSH = (
    '{"channel":"futures.orders","event":"update","time":1541505434,'
    '"time_ms":1541505434123,"result":[{"contract":"BTC_USD","create_time":1628736847,'
    '"fill_price":40000.4,"finish_as":"filled","iceberg":0,"id":4872460,'
    '"is_reduce_only":false,"left":0,"price":40000.4,"size":1,"status":"finished",'
    '"text":"-","tif":"gtc","tkfr":0.0005,"user":"110xxxxx","update_time":1541505434123}]}'
)


def test_documented_book_ticker_converts_contracts_to_base_units():
    quote = only(decode(DOC_BOOK_TICKER))
    assert quote == Quote(
        BTC_USD,
        54696.6,
        pytest.approx(3.7),
        54696.7,
        pytest.approx(4.7061),
        1615366379.123,
        9.0,
    )


def test_book_ticker_empty_side_and_decimal_sizes():
    frame = DOC_BOOK_TICKER.replace('"a":"54696.7"', '"a":""').replace("37000", '"37000.5"')
    quote = only(decode(frame))
    assert (quote.ask, quote.ask_qty) == (0.0, 0.0)
    assert quote.bid_qty == pytest.approx(3.70005)


def test_documented_order_push():
    assert only(decode(DOC_ORDER_PUSH)) == OrderUpdate(
        BTC_USD,
        "-",
        "4872460",
        OrderStatus.FILLED,
        side=Side.BUY,
        qty=0.0001,
        price=40000.4,
        filled_qty=0.0001,
        avg_price=40000.4,
        reduce_only=False,
        ts=1541505434.123,
    )


@pytest.mark.parametrize(
    ("status", "finish_as", "size", "left", "expected"),
    [
        ("open", None, -10, -10, OrderStatus.NEW),
        ("open", None, -10, -4, OrderStatus.PARTIALLY_FILLED),
        ("finished", "filled", -10, 0, OrderStatus.FILLED),
        ("finished", "ioc", -10, -4, OrderStatus.CANCELLED),
        ("finished", "cancelled", 10, 10, OrderStatus.CANCELLED),
        ("finished", "reduce_only", 10, 10, OrderStatus.CANCELLED),
    ],
)
def test_order_statuses_and_signed_sizes(status, finish_as, size, left, expected):
    order = gateio.WireOrder(
        id=1,
        contract="BTC_USDT",
        size=size,
        left=left,
        status=status,
        finish_as=finish_as,
        text="t-abc-1f",
        price="50000",
        fill_price="0",
    )
    update = gateio.order_update(order, 0.001)
    assert update.status is expected
    assert update.side is (Side.BUY if size > 0 else Side.SELL)
    assert update.qty == pytest.approx(0.01)
    assert update.filled_qty == pytest.approx((abs(size) - abs(left)) * 0.001)
    assert update.client_id == "abc-1f"


def test_documented_subscription_ack_and_error():
    ack = (
        '{"time":1545459681,"time_ms":1545459681123,"channel":"futures.book_ticker",'
        '"event":"subscribe","result":{"status":"success"}}'
    )
    assert only(decode(ack)) == SubscriptionResult(True, "futures.book_ticker", "success")
    refused = (
        '{"time":1545459681,"channel":"futures.orders","event":"subscribe",'
        '"error":{"code":2,"message":"invalid argument"},"result":null}'
    )
    assert only(decode(refused)) == SubscriptionResult(
        False, "futures.orders", "error 2: invalid argument"
    )


def test_pong_and_both_upgrade_forms():
    assert only(decode('{"time":1,"channel":"futures.pong","event":"","result":null}')) == Pong()
    by_event = only(decode('{"time":1,"channel":"futures.book_ticker","event":"upgrade"}'))
    assert isinstance(by_event, UpgradeNotice)
    by_system = only(
        decode('{"time":1,"channel":"futures.system","result":{"type":"upgrade","msg":"soon"}}')
    )
    assert by_system == UpgradeNotice("soon")


def test_order_book_update_snapshot_trades_and_positions():
    update = (
        '{"time":1615366381,"time_ms":1615366381123,"channel":"futures.order_book_update",'
        '"event":"update","result":{"t":1615366381417,"s":"BTC_USD","U":2517661101,'
        '"u":2517661113,"b":[{"p":"54672.1","s":0},{"p":"54664.5","s":"58794"}],'
        '"a":[{"p":"54743.6","s":10}],"l":"100"}}'
    )
    diff = only(decode(update))
    assert (diff.first_version, diff.last_version, diff.venue_ts) == (
        2517661101,
        2517661113,
        1615366381.417,
    )
    assert diff.bids[0] == BookLevel(54672.1, 0.0)
    assert diff.bids[1].qty == pytest.approx(5.8794)
    snapshot = (
        '{"channel":"futures.order_book","event":"all","time":1,"result":{"t":1,"id":93973511,'
        '"contract":"BTC_USD","asks":[{"p":"97.1","s":2245}],"bids":[{"p":"97.0","s":5}]}}'
    )
    book = only(decode(snapshot))
    assert book.version == 93973511 and book.asks[0].qty == pytest.approx(0.2245)
    trades = (
        '{"time":1,"channel":"futures.usertrades","event":"update","result":[{"contract":'
        '"BTC_USD","create_time":1628736848,"create_time_ms":1628736848321,"id":"4872460",'
        '"order_id":"38194","price":"40000.4","size":-2,"role":"maker","text":"t-abc",'
        '"fee":0.0009290592,"point_fee":0}]}'
    )
    assert only(decode(trades)) == Trade(
        BTC_USD,
        "4872460",
        "abc",
        "38194",
        Side.SELL,
        0.0002,
        40000.4,
        0.0009290592,
        "USDT",
        True,
        1628736848.321,
    )
    positions = (
        '{"time":1,"channel":"futures.positions","event":"update","result":[{"contract":'
        '"BTC_USD","entry_price":40000.36666661111,"leverage":0,"margin":49.99,'
        '"mode":"single","realised_pnl":-1.25e-8,"size":-3,"time":1628736848,'
        '"user":"110xxxxx"}]}'
    )
    position = only(decode(positions))
    assert position.qty == pytest.approx(-0.0003)
    assert position.entry_price == 40000.36666661111 and position.realised_pnl == -1.25e-8


def test_a_full_order_book_update_is_the_whole_book_at_its_last_version():
    update = (
        '{"time":1615366381,"time_ms":1615366381123,"channel":"futures.order_book_update",'
        '"event":"update","result":{"t":1615366381417,"full":true,"s":"BTC_USD",'
        '"U":2517661114,"u":2517661119,"b":[{"p":"54672.1","s":"120"}],'
        '"a":[{"p":"54743.6","s":10},{"p":"54750","s":"2"}],"l":"20"}}'
    )
    assert only(decode(update)) == DepthSnapshot(
        BTC_USD,
        2517661119,
        (BookLevel(54672.1, pytest.approx(0.012)),),
        (BookLevel(54743.6, pytest.approx(0.001)), BookLevel(54750.0, pytest.approx(0.0002))),
    )


# ------------------------------------------------------------------- requests


def test_documented_get_signature_vector():
    request = gateio_rest.signed_request(
        "GET",
        "/futures/orders",
        "contract=BTC_USD&status=finished&limit=50",
        b"",
        DOC_CREDENTIALS,
        DOC_TIMESTAMP,
    )
    assert request.path == "/api/v4/futures/orders"
    assert request.header("KEY") == "key" and request.header("Timestamp") == "1541993715"
    assert request.header("SIGN") == (
        "55f84ea195d6fe57ce62464daaa7c3c02fa9d1dde954e4c898289c9a2407a3d6"
        "fb3faf24deff16790d726b66ac9f74526668b13bd01029199cc4fcc522418b8a"
    )
    assert request.header("X-Gate-Size-Decimal") == "1"


def test_documented_post_signature_vector():
    body = b'{"contract":"BTC_USD","type":"limit","size":100,"price":6800,"time_in_force":"gtc"}'
    request = gateio_rest.signed_request(
        "POST", "/futures/orders", "", body, DOC_CREDENTIALS, DOC_TIMESTAMP
    )
    assert request.header("SIGN") == (
        "eae42da914a590ddf727473aff25fc87d50b64783941061f47a3fdb92742541f"
        "c4c2c14017581b4199a1418d54471c269c03a38d788d802e2c306c37636389f0"
    )


# Gate.io's batch fee query takes a comma-separated list, which URL encoding writes as
# %2C: the signature covers the list with its commas.
BATCH_FEE_QUERY_SENT = "currency_pairs=BTC_USDT%2CETH_USDT"
BATCH_FEE_QUERY_SIGNED = "currency_pairs=BTC_USDT,ETH_USDT"


def hand_signed(query: str) -> str:
    """The SIGN of ``GET /api/v4/spot/batch_fee?<query>`` with the documented key,
    written out from the documentation's recipe rather than with the codec."""
    empty_body_hash = hashlib.sha512(b"").hexdigest()
    message = f"GET\n/api/v4/spot/batch_fee\n{query}\n{empty_body_hash}\n{DOC_TIMESTAMP}"
    return hmac.new(b"secret", message.encode(), hashlib.sha512).hexdigest()


def test_the_query_is_signed_without_its_url_encoding():
    request = gateio_rest.signed_request(
        "GET", "/spot/batch_fee", BATCH_FEE_QUERY_SENT, b"", DOC_CREDENTIALS, DOC_TIMESTAMP
    )
    assert request.query == BATCH_FEE_QUERY_SENT
    assert request.header("SIGN") == hand_signed(BATCH_FEE_QUERY_SIGNED)
    assert request.header("SIGN") != hand_signed(BATCH_FEE_QUERY_SENT)


def test_the_venue_checks_the_signature_over_the_decoded_query():
    def sent_with(signature: str) -> RestRequest:
        headers = (("KEY", "key"), ("Timestamp", str(DOC_TIMESTAMP)), ("SIGN", signature))
        return RestRequest("GET", "/api/v4/spot/batch_fee", BATCH_FEE_QUERY_SENT, b"", headers)

    verify = gateio_client_requests.verify_signed_request
    verify(sent_with(hand_signed(BATCH_FEE_QUERY_SIGNED)), DOC_CREDENTIALS, DOC_TIMESTAMP)
    with pytest.raises(BadSignature):
        verify(sent_with(hand_signed(BATCH_FEE_QUERY_SENT)), DOC_CREDENTIALS, DOC_TIMESTAMP)


def test_channel_auth_signature_as_documented():
    frame = gateio.subscribe_message(
        "futures.orders", ["20011", "!all"], 1545459681, 3, DOC_CREDENTIALS
    )
    request = msgspec.json.decode(frame)
    expected = hmac.new(
        b"secret", b"channel=futures.orders&event=subscribe&time=1545459681", hashlib.sha512
    ).hexdigest()
    assert request == {
        "time": 1545459681,
        "channel": "futures.orders",
        "event": "subscribe",
        "id": 3,
        "payload": ["20011", "!all"],
        "auth": {"method": "api_key", "KEY": "key", "SIGN": expected},
    }
    with pytest.raises(ValueError, match="private channel"):
        gateio.subscribe_message("futures.positions", ["1", "BTC_USDT"], 1)


def test_public_subscriptions_and_ping():
    frame = gateio.subscribe_message(
        gateio.ORDER_BOOK_UPDATE, gateio.order_book_update_payload(BTC, "20ms", 50), 7
    )
    assert msgspec.json.decode(frame) == {
        "time": 7,
        "channel": "futures.order_book_update",
        "event": "subscribe",
        "id": 1,
        "payload": ["BTC_USDT", "20ms", "50"],
    }
    assert msgspec.json.decode(gateio.ping_message(8)) == {"time": 8, "channel": "futures.ping"}
    assert gateio.private_payload("42") == ["42", "!all"]


def test_place_order_in_signed_whole_contracts():
    order = Order("abc-1f", Leg.FUTURES, BTC, Side.SELL, 0.003, 50000.5, tif=TimeInForce.IOC)
    request = gateio_rest.place_order_request(order, 0.0001, DOC_CREDENTIALS, DOC_TIMESTAMP)
    assert (request.method, request.path) == ("POST", "/api/v4/futures/usdt/orders")
    assert msgspec.json.decode(request.body) == {
        "contract": "BTC_USDT",
        "size": -30,
        "price": "50000.5",
        "tif": "ioc",
        "text": "t-abc-1f",
        "reduce_only": False,
    }
    assert request.header("SIGN") == gateio_rest.sign(
        "secret", "POST", request.path, "", request.body, DOC_TIMESTAMP
    )
    market = msgspec.structs.replace(order, type=OrderType.MARKET, reduce_only=True)
    body = msgspec.json.decode(
        gateio_rest.place_order_request(market, 0.0001, DOC_CREDENTIALS, 1).body
    )
    assert (body["price"], body["tif"], body["reduce_only"]) == ("0", "ioc", True)


def test_order_rules_are_enforced_before_sending():
    order = Order("abc", Leg.FUTURES, BTC, Side.BUY, 0.00015, 1.0)
    with pytest.raises(ValueError, match="round it to whole contracts"):
        gateio_rest.place_order_request(order, 0.0001, DOC_CREDENTIALS, 1)
    with pytest.raises(ValueError, match="1-28 characters"):
        gateio.client_text("x" * 29)
    with pytest.raises(ValueError, match="1-28 characters"):
        gateio.client_text("has space")


def test_other_requests():
    query = gateio_rest.query_order_request(DOC_CREDENTIALS, 1, client_id="abc")
    assert query.target == "/api/v4/futures/usdt/orders/t-abc"
    cancel = gateio_rest.cancel_order_request(
        DOC_CREDENTIALS, 1, client_id="abc", venue_order_id="123"
    )
    assert (cancel.method, cancel.target) == ("DELETE", "/api/v4/futures/usdt/orders/123")
    opened = gateio_wire.open_orders_request(BTC, DOC_CREDENTIALS, 1)
    assert opened.target == "/api/v4/futures/usdt/orders?status=open&contract=BTC_USDT"
    book = gateio_rest.order_book_request(BTC, 50)
    assert book.target == (
        "/api/v4/futures/usdt/order_book?contract=BTC_USDT&limit=50&with_id=true"
    )
    assert gateio_rest.contract_request(BTC).header("SIGN") is None
    assert gateio_rest.position_request(BTC, DOC_CREDENTIALS, 1).target.endswith(
        "/positions/BTC_USDT"
    )


def test_an_amend_puts_the_new_total_size_signed_as_the_order_was_placed():
    """Gate.io's "Amend single order": ``PUT /futures/{settle}/orders/{order_id}`` with
    ``size`` the new size in contracts, what was filled included; the side may not
    change, so a sell's size stays negative."""
    sell = gateio_rest.amend_order_request(
        Side.SELL, 0.3, 0.1, DOC_CREDENTIALS, DOC_TIMESTAMP, client_id="abc"
    )
    assert (sell.method, sell.target) == ("PUT", "/api/v4/futures/usdt/orders/t-abc")
    assert msgspec.json.decode(sell.body) == {"size": -3}
    expected = gateio_rest.sign(
        "secret", "PUT", "/api/v4/futures/usdt/orders/t-abc", "", sell.body, DOC_TIMESTAMP
    )
    assert sell.header("SIGN") == expected
    buy = gateio_rest.amend_order_request(
        Side.BUY, 2.0, 1.0, DOC_CREDENTIALS, 1, client_id="abc", venue_order_id="123"
    )
    assert (buy.target, msgspec.json.decode(buy.body)) == (
        "/api/v4/futures/usdt/orders/123",
        {"size": 2},
    )
    assert gateio_client_requests.read_amendment(sell.body) == -3
    with pytest.raises(ValueError, match="whole contracts"):
        gateio_rest.amend_order_request(Side.BUY, 0.25, 0.1, DOC_CREDENTIALS, 1, client_id="a")


def test_leverage_account_and_account_detail_requests_are_signed_as_documented():
    request = gateio_rest.set_leverage_request(BTC, 10.0, DOC_CREDENTIALS, DOC_TIMESTAMP)
    assert (request.method, request.target, request.body) == (
        "POST",
        "/api/v4/futures/usdt/positions/BTC_USDT/leverage?leverage=10",
        b"",
    )
    path = "/api/v4/futures/usdt/positions/BTC_USDT/leverage"
    expected = gateio_rest.sign("secret", "POST", path, "leverage=10", b"", DOC_TIMESTAMP)
    assert request.header("SIGN") == expected
    assert gateio_rest.set_leverage_request(BTC, 2.5, DOC_CREDENTIALS, 1).query == "leverage=2.5"
    with pytest.raises(ValueError, match="leverage 0"):
        gateio_rest.set_leverage_request(BTC, 0.0, DOC_CREDENTIALS, 1)
    account = gateio_rest.futures_account_request(DOC_CREDENTIALS, 1)
    assert (account.method, account.target) == ("GET", "/api/v4/futures/usdt/accounts")
    detail = gateio_rest.account_detail_request(DOC_CREDENTIALS, 1)
    assert (detail.method, detail.target) == ("GET", "/api/v4/account/detail")
    assert detail.header("KEY") == "key"


# A position object with the documented fields, typed as Gate.io types them: leverage
# "0" is cross margin at cross_leverage_limit, a positive leverage isolated margin.
DOC_POSITION = (
    b'{"user":10000,"contract":"BTC_USDT","size":-9440,"leverage":"0","risk_limit":"100",'
    b'"leverage_max":"100","maintenance_rate":"0.005","value":"3568.62","margin":"4.43",'
    b'"entry_price":"3779.55","liq_price":"99999999","mark_price":"3780.32",'
    b'"unrealised_pnl":"-0.000507486844","realised_pnl":"0.045543982432","pnl_pnl":"0",'
    b'"pnl_fund":"0","pnl_fee":"0","history_pnl":"0","last_close_pnl":"0",'
    b'"realised_point":"0","history_point":"0","adl_ranking":5,"pending_orders":16,'
    b'"mode":"single","cross_leverage_limit":"10","update_time":1684994,"open_time":1684994}'
)


def test_documented_position_settings_tell_cross_from_isolated_margin():
    cross = gateio_rest.parse_position_settings(DOC_POSITION, 0.0001)
    assert cross == PositionSettings(BTC, pytest.approx(-0.944), 0.0, 10.0, "single", 99999999.0)
    assert cross.margin_mode == "cross"
    isolated = DOC_POSITION.replace(b'"leverage":"0"', b'"leverage":"5"')
    assert gateio_rest.parse_position_settings(isolated, 0.0001).margin_mode == "isolated"
    with pytest.raises(MalformedResponse, match="liq_price"):
        gateio_rest.parse_position_settings(DOC_POSITION.replace(b'"99999999"', b'"high"'), 0.0001)


def test_futures_account_and_account_detail_with_the_documented_fields():
    account = (
        b'{"user":1666,"currency":"USDT","total":"9707.803567115145",'
        b'"unrealised_pnl":"3371.248828","position_margin":"38.712189181",'
        b'"order_margin":"0","available":"9669.091377934145","point":"0","bonus":"0",'
        b'"in_dual_mode":false,"enable_credit":false,"history":{"dnw":"10000"}}'
    )
    assert gateio_rest.parse_futures_account(account) == FuturesAccountSettings(
        "USDT", 9707.803567115145, 9669.091377934145, False
    )
    dual = account.replace(b'"in_dual_mode":false', b'"in_dual_mode":true')
    assert gateio_rest.parse_futures_account(dual).in_dual_mode
    detail = (
        b'{"user_id":1667201533,"ip_whitelist":["127.0.0.1"],"currency_pairs":["BTC_USDT"],'
        b'"key":{"mode":1},"tier":2,"copy_trading_role":0}'
    )
    assert gateio_rest.parse_account_detail(detail) == "1667201533"
    with pytest.raises(MalformedResponse, match="account detail"):
        gateio_rest.parse_account_detail(b'{"tier":2}')


def test_account_position_and_detail_bodies_read_back():
    body = gateio_encode.accounts_body(1000.0, 900.0, in_dual_mode=True)
    assert gateio_rest.parse_futures_account(body) == FuturesAccountSettings(
        "USDT", 1000.0, 900.0, True
    )
    assert gateio_rest.parse_account_detail(gateio_encode.account_detail_body("10001")) == "10001"
    position = FuturesPosition(BTC, -0.5, 60_000.0, 60_100.0, 3.0, liq_price=79_600.0)
    settings = gateio_rest.parse_position_settings(
        gateio_encode.position_body(position, 0.0001), 0.0001
    )
    assert settings == PositionSettings(BTC, -0.5, 3.0, 0.0, "single", 79_600.0)
    listed = msgspec.json.decode(gateio_encode.positions_body([(position, 0.0001)]))
    assert [(p["contract"], p["size"], p["value"]) for p in listed] == [
        ("BTC_USDT", -5000, "30050")
    ]


def test_server_time_request_and_reply():
    request = gateio_rest.server_time_request()
    assert (request.method, request.target) == ("GET", "/api/v4/spot/time")
    assert request.header("SIGN") is None
    assert gateio_rest.parse_server_time(b'{"server_time":1597026383085}') == 1597026383.085
    assert gateio_rest.parse_server_time(gateio_encode.server_time_body(1.5)) == 1.5


def test_a_futures_account_without_its_position_mode_is_malformed():
    with pytest.raises(MalformedResponse, match="in_dual_mode"):
        gateio_rest.parse_futures_account(b'{"total":"1","available":"1"}')


# ---------------------------------------------------------------------- replies

CONTRACT = (
    b'{"name":"BTC_USDT","type":"direct","quanto_multiplier":"0.0001",'
    b'"order_price_round":"0.1","order_size_min":1,"order_size_max":1000000,'
    b'"taker_fee_rate":"0.00075","maker_fee_rate":"-0.00025","funding_rate":"0.000157",'
    b'"funding_interval":28800,"funding_next_apply":1610035200,"status":"trading",'
    b'"in_delisting":false,"enable_decimal":true}'
)


def test_contract_rules_and_funding():
    assert gateio_rest.parse_contract(CONTRACT) == VenueRules(
        qty_step=0.0001,
        min_qty=0.0001,
        min_notional=0.0,
        price_tick=0.1,
        contract_size=0.0001,
        min_contracts=1.0,
        taker_fee=0.00075,
    )
    assert gateio_rest.parse_funding(CONTRACT) == FundingRate(BTC, 0.000157, 28800.0, 1610035200.0)
    delisting = CONTRACT.replace(b'"in_delisting":false', b'"in_delisting":true')
    with pytest.raises(TradingDisabled, match="BTC_USDT is not trading"):
        gateio_rest.parse_contract(delisting)


def test_rest_order_with_string_prices_and_decimal_sizes():
    body = (
        b'{"id":15675394,"user":100000,"contract":"BTC_USDT","create_time":1546569968.184,'
        b'"size":"-6024.5","iceberg":0,"left":"-2000","price":"3765","fill_price":"3765.1",'
        b'"mkfr":"-0.00025","tkfr":"0.00075","tif":"gtc","refu":0,"is_reduce_only":true,'
        b'"is_close":false,"is_liq":false,"text":"t-my_id.1","status":"open",'
        b'"finish_time":null,"finish_as":null}'
    )
    assert gateio_rest.parse_order(body, 0.0001) == OrderUpdate(
        BTC,
        "my_id.1",
        "15675394",
        OrderStatus.PARTIALLY_FILLED,
        side=Side.SELL,
        qty=pytest.approx(0.60245),
        price=3765.0,
        filled_qty=pytest.approx(0.40245),
        avg_price=3765.1,
        reduce_only=True,
        ts=1546569968.184,
    )
    assert len(gateio_wire.parse_orders(b"[" + body + b"," + body + b"]", 0.0001)) == 2


def test_position_account_and_order_book():
    position = (
        b'{"user":10000,"contract":"BTC_USDT","size":"-9","leverage":"5","value":"3.4",'
        b'"margin":"4","entry_price":"3779.55","liq_price":"99999999","mark_price":"3780.32",'
        b'"unrealised_pnl":"-0.0000","realised_pnl":"-0.01","pnl_fund":"0.02","mode":"single"}'
    )
    assert gateio_rest.parse_position(position, 0.0001) == FuturesPosition(
        BTC, pytest.approx(-0.0009), 3779.55, 3780.32, 5.0, -0.01, 0.02, 4.0, 0.0, 99999999.0
    )
    account = (
        b'{"total":"4.4","unrealised_pnl":"0.0","position_margin":"1.1","order_margin":"0.5",'
        b'"available":"2.8","point":"0","currency":"USDT"}'
    )
    assert gateio_wire.parse_accounts(account) == Balance("USDT", 2.8, pytest.approx(1.6))
    book = (
        b'{"id":123456,"current":1623898993.123,"update":1623898993.121,'
        b'"asks":[{"p":"1.52","s":100}],"bids":[{"p":"1.17","s":"150.5"}]}'
    )
    snapshot = gateio_rest.parse_order_book(book, BTC, 0.01)
    assert snapshot.version == 123456
    assert snapshot.asks == (BookLevel(1.52, 1.0),)
    assert snapshot.bids[0].qty == pytest.approx(1.505)


@pytest.mark.parametrize(
    ("label", "kind"),
    [
        ("INSUFFICIENT_AVAILABLE", InsufficientBalance),
        ("BALANCE_NOT_ENOUGH", InsufficientBalance),
        ("SIZE_TOO_SMALL", BelowMinimum),
        ("SIZE_TOO_LARGE", AboveMaximum),
        ("PRICE_TOO_DEVIATED", PriceRejected),
        ("ORDER_NOT_FOUND", UnknownOrder),
        ("ORDER_FINISHED", OrderAlreadyFinal),
        ("CONTRACT_NOT_FOUND", InvalidSymbol),
        ("INVALID_PARAM_VALUE", InvalidParameter),
        ("INVALID_PRECISION", InvalidPrecision),
        ("INVALID_SIGNATURE", BadSignature),
        ("INVALID_KEY", BadCredentials),
        ("REQUEST_EXPIRED", TimestampRejected),
        ("REDUCE_EXCEEDED", ReduceOnlyViolated),
        ("SERVER_ERROR", VenueUnavailable),
        ("TOO_BUSY", VenueUnavailable),
        ("LEVERAGE_TOO_HIGH", InvalidParameter),
        ("LEVERAGE_TOO_LOW", InvalidParameter),
        ("TOO_MANY_ORDERS", VenueError),
    ],
)
def test_documented_error_labels(label, kind):
    body = f'{{"label":"{label}","message":"why"}}'.encode()
    error = gateio_rest.error_from_response(RestResponse(400, body))
    assert type(error) is kind and error.code == label and error.message == "why"


@pytest.mark.parametrize(
    ("label", "kind"),
    [
        ("INVALID_CREDENTIALS", BadCredentials),
        ("INVALID_KEY", BadCredentials),
        ("IP_FORBIDDEN", BadCredentials),
        ("READ_ONLY", BadCredentials),
        ("INVALID_SIGNATURE", BadSignature),
        ("MISSING_REQUIRED_HEADER", BadCredentials),
        ("REQUEST_EXPIRED", TimestampRejected),
        ("ACCOUNT_LOCKED", BadCredentials),
        ("FORBIDDEN", BadCredentials),
        ("A_LABEL_NOT_YET_DOCUMENTED", BadCredentials),
    ],
)
def test_every_documented_authentication_label_is_an_authentication_error(label, kind):
    body = f'{{"label":"{label}","message":"why"}}'.encode()
    error = gateio_rest.error_from_response(RestResponse(401, body))
    assert type(error) is kind and error.http_status == 401
    assert not isinstance(error, (VenueUnavailable, RateLimited))


def test_a_request_missing_an_authentication_header_is_refused_as_documented():
    request = gateio_rest.futures_account_request(DOC_CREDENTIALS, DOC_TIMESTAMP)
    for dropped in ("KEY", "Timestamp", "SIGN"):
        headers = tuple((name, value) for name, value in request.headers if name != dropped)
        unsigned = msgspec.structs.replace(request, headers=headers)
        with pytest.raises(BadCredentials) as refused:
            gateio_client_requests.verify_signed_request(unsigned, DOC_CREDENTIALS, DOC_TIMESTAMP)
        assert refused.value.code == "MISSING_REQUIRED_HEADER"
        assert refused.value.http_status == 401 and dropped in refused.value.message
        response = gateio_encode.error_response(refused.value)
        assert response.status == 401
        assert gateio_rest.error_from_response(response).code == "MISSING_REQUIRED_HEADER"


def test_rate_limit_by_status_and_outage():
    headers = (("X-Gate-RateLimit-Reset-Timestamp", "1700000002500"),)
    limited = gateio_rest.error_from_response(
        RestResponse(429, b'{"label":"ANYTHING"}', headers), now_s=1700000000.0
    )
    assert isinstance(limited, RateLimited) and limited.retry_after_s == pytest.approx(2.5)
    assert gateio_rest.error_from_response(RestResponse(429, b"")).retry_after_s is None
    outage = gateio_rest.error_from_response(RestResponse(502, b"Bad Gateway"))
    assert isinstance(outage, VenueUnavailable) and "Bad Gateway" in outage.message


# -------------------------------------------------------------------- malformed


def reason_of(frame, sizes=SIZES) -> str:
    result = only(decode(frame, sizes))
    assert isinstance(result, MalformedMessage), result
    return result.reason


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ('{"channel":"futures.book_ticker",', "frame: Input data was truncated"),
        ("not json", "frame: JSON is malformed"),
        (
            DOC_BOOK_TICKER.replace('"s":"BTC_USD",', ""),
            "futures.book_ticker update result: Object missing required field `s`",
        ),
        (
            DOC_BOOK_TICKER.replace('"B":37000', '"B":[1]'),
            "Expected `float | str`, got `array` - at `$.B`",
        ),
        (
            DOC_BOOK_TICKER.replace('"b":"54696.6"', '"b":"54,696.6"'),
            "futures.book_ticker update: b '54,696.6' is not a number",
        ),
        (
            DOC_ORDER_PUSH.replace('"status":"finished"', '"status":"done"'),
            "futures.orders update: status 'done' is neither open nor finished",
        ),
        (
            DOC_ORDER_PUSH.replace('"id":4872460', '"id":null'),
            "Expected `int | str`, got `null` - at `$[0].id`",
        ),
        (
            '{"channel":"futures.trades","event":"update","result":[]}',
            "no 'update' event is read on channel 'futures.trades'",
        ),
        (
            '{"channel":"futures.orders","event":"update","error":{"code":3,"message":"x"}}',
            "venue reported error 3: x",
        ),
    ],
)
def test_malformed_frames_name_what_was_wrong(frame, expected):
    assert expected in reason_of(frame)


def test_unknown_contract_size_is_named():
    assert "no contract size is known for BTC_USD" in reason_of(DOC_BOOK_TICKER, {})


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"id":1}', "order reply: Object missing required field `contract`"),
        (b'{"id":1,"contract":"BTC_USDT","size":"1","status":"open","price":"x"}', "price 'x'"),
        (b'{"id":1,"contract":"BTCUSDT","size":1,"status":"open"}', "'BTCUSDT' is not of the form"),
    ],
)
def test_malformed_order_reply(body, expected):
    with pytest.raises(MalformedResponse, match=expected):
        gateio_rest.parse_order(body, 0.0001)


# ------------------------------------------------------------------ the venue's side


def test_venue_verifies_what_the_client_signed():
    request = gateio_rest.futures_account_request(DOC_CREDENTIALS, DOC_TIMESTAMP)
    gateio_client_requests.verify_signed_request(request, DOC_CREDENTIALS, DOC_TIMESTAMP + 60)
    with pytest.raises(TimestampRejected):
        gateio_client_requests.verify_signed_request(request, DOC_CREDENTIALS, DOC_TIMESTAMP + 61)
    with pytest.raises(BadCredentials):
        gateio_client_requests.verify_signed_request(
            request, ApiCredentials("other", "secret"), DOC_TIMESTAMP
        )
    with pytest.raises(BadSignature):
        gateio_client_requests.verify_signed_request(
            request, ApiCredentials("key", "wrong"), DOC_TIMESTAMP
        )


DOC_POST_BODY = (
    b'{"contract":"BTC_USD","type":"limit","size":100,"price":6800,"time_in_force":"gtc"}'
)


def test_the_documented_signed_order_is_verified_and_read():
    request = gateio_rest.signed_request(
        "POST", "/futures/orders", "", DOC_POST_BODY, DOC_CREDENTIALS, DOC_TIMESTAMP
    )
    gateio_client_requests.verify_signed_request(request, DOC_CREDENTIALS, DOC_TIMESTAMP)
    order = gateio_client_requests.read_new_order(DOC_POST_BODY)
    assert order == gateio_client_requests.NewOrderParams(
        BTC_USD, Side.BUY, OrderType.LIMIT, TimeInForce.GTC, 100.0, 6800.0, None, False
    )


def test_what_our_client_places_is_read_back_as_the_same_order():
    order = Order("abc", Leg.FUTURES, BTC, Side.SELL, 0.0003, 40000.5, reduce_only=True)
    request = gateio_rest.place_order_request(order, 0.0001, DOC_CREDENTIALS, DOC_TIMESTAMP)
    read = gateio_client_requests.read_new_order(request.body)
    assert read == gateio_client_requests.NewOrderParams(
        BTC, Side.SELL, OrderType.LIMIT, TimeInForce.IOC, 3.0, 40000.5, "t-abc", True
    )
    market = msgspec.structs.replace(order, type=OrderType.MARKET, side=Side.BUY)
    request = gateio_rest.place_order_request(market, 0.0001, DOC_CREDENTIALS, DOC_TIMESTAMP)
    read = gateio_client_requests.read_new_order(request.body)
    assert (read.type, read.tif, read.price, read.side) == (
        OrderType.MARKET,
        TimeInForce.IOC,
        None,
        Side.BUY,
    )


@pytest.mark.parametrize(
    ("body", "kind", "says"),
    [
        (b"{}", InvalidParameter, "contract"),
        (b'{"contract":"BTCUSDT","size":1}', InvalidSymbol, "BTCUSDT"),
        (b'{"contract":"BTC_USDT","size":0,"close":true}', InvalidParameter, "non-zero"),
        (b'{"contract":"BTC_USDT","size":"x"}', InvalidParameter, "size 'x'"),
        (b'{"contract":"BTC_USDT","size":1,"price":"1","tif":"day"}', InvalidParameter, "day"),
        (b'{"contract":"BTC_USDT","size":1,"price":"0","tif":"gtc"}', InvalidParameter, "ioc"),
        (b'{"contract":"BTC_USDT","size":1,"price":"1","text":"abc"}', InvalidParameter, "t-"),
    ],
)
def test_a_bad_order_body_is_refused_with_gateios_label(body, kind, says):
    with pytest.raises(kind, match=says) as caught:
        gateio_client_requests.read_new_order(body)
    assert caught.value.code in ("INVALID_PARAM_VALUE", "CONTRACT_NOT_FOUND")


def test_an_order_path_names_the_order_by_id_or_text():
    read = gateio_client_requests.read_order_reference
    assert read("4872460") == gateio_client_requests.OrderReference("4872460", None)
    assert read("t-abc") == gateio_client_requests.OrderReference(None, "t-abc")


def test_funding_history_as_documented():
    body = gateio_encode.funding_history_body([(1700000000.0, 0.0001), (1700028800.0, 0.000157)])
    assert msgspec.json.decode(body) == [
        {"t": 1700028800, "r": "0.000157"},
        {"t": 1700000000, "r": "0.0001"},
    ]


def test_an_unknown_order_is_answered_404_and_read_as_unknown():
    # Gate.io answers ORDER_NOT_FOUND with HTTP 404, not 400.
    response = gateio_encode.error_response(UnknownOrder("gateio", None, "no such order"))
    assert response.status == 404
    assert msgspec.json.decode(response.body)["label"] == "ORDER_NOT_FOUND"
    error = gateio_rest.error_from_response(response)
    assert type(error) is UnknownOrder and error.http_status == 404


def test_one_orders_trades_are_asked_for_by_contract_and_order():
    request = gateio_rest.order_trades_request(BTC, "21893289839", DOC_CREDENTIALS, 1)
    assert (request.method, request.path) == ("GET", "/api/v4/futures/usdt/my_trades")
    assert request.query == "contract=BTC_USDT&order=21893289839&limit=1000"
    listed = gateio_rest.orders_request(BTC, "finished", DOC_CREDENTIALS, 1, offset=2000)
    assert (listed.method, listed.path) == ("GET", "/api/v4/futures/usdt/orders")
    assert listed.query == "status=finished&contract=BTC_USDT&limit=1000&offset=2000"
    with pytest.raises(ValueError, match="neither open nor finished"):
        gateio_rest.orders_request(BTC, "done", DOC_CREDENTIALS, 1)


def test_a_trade_list_gives_each_trade_with_its_fee_in_usdt():
    # The fields of Gate.io's personal trade object: ids and sizes as numbers, the rest
    # as strings.
    body = (
        b'[{"id":121234231,"create_time":1514764800.123,"contract":"BTC_USDT",'
        b'"order_id":"21893289839","size":-100,"close_size":0,"price":"100.123",'
        b'"role":"maker","text":"t-t1-3f","fee":"0.01","point_fee":"0"}]'
    )
    [trade] = gateio_rest.parse_trades(body, 0.0001)
    assert trade == Trade(
        BTC, "121234231", "t1-3f", "21893289839", Side.SELL, pytest.approx(0.01), 100.123,
        0.01, "USDT", True, 1514764800.123,
    )  # fmt: skip
    with pytest.raises(MalformedResponse, match="my_trades"):
        gateio_rest.parse_trades(b'[{"id":1,"contract":"BTC_USDT"}]', 0.0001)


def test_a_refined_error_carries_the_label_of_what_it_refines():
    response = gateio_encode.error_response(DuplicateClientId("gateio", None, "used"))
    assert gateio_rest.error_from_response(response).code == "INVALID_PARAM_VALUE"


def test_venue_reads_and_checks_channel_requests():
    frame = gateio.subscribe_message(
        "futures.orders", ["20011", "BTC_USDT"], 1545459681, 3, DOC_CREDENTIALS
    )
    request = gateio_client_requests.decode_client_message(frame)
    assert isinstance(request, gateio.ChannelRequest) and request.payload == ["20011", "BTC_USDT"]
    gateio_client_requests.verify_channel_auth(request, DOC_CREDENTIALS)
    with pytest.raises(BadSignature):
        gateio_client_requests.verify_channel_auth(request, ApiCredentials("key", "other"))
    ack = only(decode(gateio_encode.subscription_ack(request, 1545459681.5)))
    assert ack == SubscriptionResult(True, "futures.orders", "success")
    refusal = gateio_encode.subscription_ack(request, 1.0, BadSignature("gateio", None, "bad"))
    assert only(decode(refusal)) == SubscriptionResult(False, "futures.orders", "error 2: bad")
    ping = gateio_client_requests.decode_client_message(gateio.ping_message(5))
    assert ping == gateio.ChannelRequest(5, "futures.ping")
    assert only(decode(gateio_encode.pong_message(5.0))) == Pong()
    assert isinstance(only(decode(gateio_encode.upgrade_notice(5.0))), UpgradeNotice)


@pytest.mark.parametrize(
    "error",
    [
        InsufficientBalance("gateio", None, "no"),
        UnknownOrder("gateio", None, "no"),
        OrderAlreadyFinal("gateio", None, "no"),
        ReduceOnlyViolated("gateio", None, "no"),
        TimestampRejected("gateio", None, "no"),
        VenueUnavailable("gateio", None, "no"),
        RateLimited("gateio", None, "no"),
    ],
)
def test_error_responses_read_back(error):
    response = gateio_encode.error_response(error, reset_ts=1700000001.0)
    back = gateio_rest.error_from_response(response, now_s=1700000000.0)
    assert type(back) is type(error) and back.message == "no"
    if isinstance(error, RateLimited):
        assert response.status == 429 and back.retry_after_s == pytest.approx(1.0)


# ------------------------------------------------------------------ round trips

CONTRACT_SIZE = 0.001
prices = st.floats(min_value=0.1, max_value=1e6, allow_nan=False).map(lambda x: round(x, 1))
contracts = st.integers(min_value=0, max_value=10**6)
timestamps = st.integers(min_value=1_500_000_000_000, max_value=2_500_000_000_000).map(
    lambda ms: ms / 1000.0
)


def base(n: int) -> float:
    return n * CONTRACT_SIZE


@given(st.one_of(st.just(0.0), prices), contracts, st.one_of(st.just(0.0), prices), contracts)
def test_book_ticker_round_trip(bid, bid_n, ask, ask_n):
    quote = Quote(
        BTC, bid, base(bid_n) if bid else 0.0, ask, base(ask_n) if ask else 0.0, 1700000000.5, 9.0
    )
    frame = gateio_encode.book_ticker_push(quote, CONTRACT_SIZE, 77, 1700000000.6)
    back = only(decode(frame, {BTC: CONTRACT_SIZE}))
    assert back == msgspec.structs.replace(
        quote, bid_qty=pytest.approx(quote.bid_qty), ask_qty=pytest.approx(quote.ask_qty)
    )


levels = st.lists(st.tuples(prices, contracts), max_size=4)


@given(st.integers(1, 2**40), st.integers(0, 50), levels, levels)
def test_depth_round_trip(first, span, bids, asks):
    def book(pairs):
        return tuple(BookLevel(p, base(n)) for p, n in pairs)

    sizes = {BTC: CONTRACT_SIZE}
    diff = DepthDiff(BTC, first, first + span, book(bids), book(asks), 1700000000.5)
    back = only(decode(gateio_encode.order_book_update_push(diff, CONTRACT_SIZE, 1.0), sizes))
    assert (back.first_version, back.last_version) == (first, first + span)
    assert [lv.price for lv in back.bids] == [lv.price for lv in diff.bids]
    assert [lv.qty for lv in back.asks] == pytest.approx([lv.qty for lv in diff.asks])
    snapshot = DepthSnapshot(BTC, first, book(bids), book(asks))
    pushed = only(decode(gateio_wire.order_book_push(snapshot, CONTRACT_SIZE, 1.0), sizes))
    rest = gateio_rest.parse_order_book(
        gateio_encode.order_book_body(snapshot, CONTRACT_SIZE, 1.0), BTC, CONTRACT_SIZE
    )
    assert pushed == rest
    assert [lv.qty for lv in rest.bids] == pytest.approx([lv.qty for lv in snapshot.bids])


@given(
    st.integers(1, 10**6),
    st.integers(0, 10**6),
    st.sampled_from(
        [OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELLED]
    ),
    st.sampled_from(Side),
    prices,
    st.from_regex(r"[0-9A-Za-z_.-]{1,28}", fullmatch=True),
    st.booleans(),
)
def test_order_round_trip(size, filled, status, side, price, client_id, reduce_only):
    filled = {
        OrderStatus.NEW: 0,
        OrderStatus.FILLED: size,
        OrderStatus.PARTIALLY_FILLED: min(filled, size - 1),
        OrderStatus.CANCELLED: min(filled, size - 1),
    }[status]
    if status is OrderStatus.PARTIALLY_FILLED and filled == 0:
        filled = 0 if size == 1 else 1
        status = OrderStatus.NEW if size == 1 else status
    update = OrderUpdate(
        BTC,
        client_id,
        "4872460",
        status,
        side=side,
        qty=base(size),
        price=price,
        filled_qty=base(filled),
        avg_price=price if filled else 0.0,
        reduce_only=reduce_only,
        ts=1700000000.25,
    )
    expected = msgspec.structs.replace(
        update, qty=pytest.approx(update.qty), filled_qty=pytest.approx(update.filled_qty)
    )
    pushed = gateio_encode.orders_push([update], CONTRACT_SIZE, 1.0)
    assert only(decode(pushed, {BTC: CONTRACT_SIZE})) == expected
    body = gateio_encode.order_body(update, CONTRACT_SIZE)
    assert gateio_rest.parse_order(body, CONTRACT_SIZE) == expected


@given(st.integers(-(10**6), 10**6), prices)
def test_position_and_trade_round_trip(size, price):
    position = FuturesPosition(BTC, base(size), price, price, 3.0, -1.5, 0.25)
    expected = msgspec.structs.replace(position, qty=pytest.approx(position.qty))
    pushed = gateio_encode.positions_push([position], CONTRACT_SIZE, 1.0)
    assert only(decode(pushed, {BTC: CONTRACT_SIZE})) == expected
    body = gateio_encode.position_body(position, CONTRACT_SIZE)
    assert gateio_rest.parse_position(body, CONTRACT_SIZE) == expected
    if size:
        trade = Trade(
            BTC,
            "9",
            "abc",
            "4872460",
            Side.BUY if size > 0 else Side.SELL,
            base(abs(size)),
            price,
            0.5,
            "USDT",
            size % 2 == 0,
            1700000000.321,
        )
        pushed = gateio_encode.user_trades_push([trade], CONTRACT_SIZE, 1.0)
        back = only(decode(pushed, {BTC: CONTRACT_SIZE}))
        assert back == msgspec.structs.replace(trade, qty=pytest.approx(trade.qty))


def test_contract_and_account_bodies_read_back():
    rules = VenueRules(
        qty_step=0.0001,
        min_qty=0.0001,
        price_tick=0.1,
        contract_size=0.0001,
        min_contracts=1.0,
        taker_fee=0.00075,
    )
    funding = FundingRate(BTC, 0.0001, 28800.0, 1700006400.0)
    body = gateio_encode.contract_body(BTC, rules, funding)
    assert gateio_rest.parse_contract(body) == rules
    assert gateio_rest.parse_funding(body) == funding
    body = gateio_encode.accounts_body(1000.0, 900.0, position_margin=60.0, order_margin=40.0)
    assert gateio_wire.parse_accounts(body) == Balance("USDT", 900.0, 100.0)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=10,
)


@given(
    st.sampled_from(
        [
            "futures.book_ticker",
            "futures.order_book_update",
            "futures.order_book",
            "futures.orders",
            "futures.usertrades",
            "futures.positions",
            "futures.system",
            "futures.pong",
        ]
    ),
    st.sampled_from(["update", "all", "subscribe", "unsubscribe", "upgrade", ""]),
    json_values,
)
def test_no_frame_makes_the_decoder_raise(channel, event, result):
    frame = msgspec.json.encode({"channel": channel, "event": event, "result": result})
    events = decode(frame)
    assert all(not isinstance(event, Exception) for event in events)


@given(st.text(max_size=200))
def test_no_text_makes_the_decoder_raise(frame):
    decode(frame)


# ------------------------------------------------------------------------ funding

# futures.tickers as documented: a list of tickers, prices and rates as strings.
DOC_TICKERS = (
    '{"time":1541659086,"time_ms":1541659086123,"channel":"futures.tickers",'
    '"event":"update","result":[{"contract":"BTC_USD","last":"118.4","change_percentage":'
    '"0.77","funding_rate":"-0.000114","funding_rate_indicative":"0.01875",'
    '"mark_price":"118.35","index_price":"118.36","total_size":"73648","volume_24h":"745487577",'
    '"volume_24h_btc":"117","volume_24h_usd":"419950","quanto_base_rate":"",'
    '"volume_24h_quote":"1665006","volume_24h_settle":"178","volume_24h_base":"5526",'
    '"low_24h":"99.2","high_24h":"132.5"}]}'
)

# One change of GET /futures/usdt/account_book with the documented fields.
DOC_ACCOUNT_BOOK = (
    b'[{"time":1682294400.123456,"change":"0.000010152188","balance":"4.59316525194",'
    b'"text":"ETH_USD:6086261","type":"fee","contract":"ETH_USD","trade_id":"1","id":"1"},'
    b'{"time":1682323200,"change":"-0.0125","balance":"4.58066525194",'
    b'"text":"BTC_USDT:funding","type":"fund","contract":"BTC_USDT","trade_id":"","id":"7"},'
    b'{"time":1682294400,"change":"0.5","balance":"4.59316525194",'
    b'"text":"","type":"fund","contract":"BTC_USDT","trade_id":"","id":"3"}]'
)


def test_a_tickers_push_gives_each_contracts_funding_rate():
    assert decode(DOC_TICKERS) == (gateio.FundingTick(BTC_USD, -0.000114),)


def test_funding_book_reads_the_funding_settlements_oldest_first():
    assert gateio_rest.parse_funding_book(DOC_ACCOUNT_BOOK) == [
        FundingBookEntry("3", BTC, 1682294400.0, 0.5),
        FundingBookEntry("7", BTC, 1682323200.0, -0.0125),
    ]
    with pytest.raises(MalformedResponse, match="change"):
        gateio_rest.parse_funding_book(DOC_ACCOUNT_BOOK.replace(b'"-0.0125"', b'"x"'))


def test_funding_book_request_asks_for_funding_from_a_time():
    request = gateio_rest.funding_book_request(
        DOC_CREDENTIALS, DOC_TIMESTAMP, since_s=1682294400, limit=1000
    )
    assert request.method == "GET"
    assert request.path == "/api/v4/futures/usdt/account_book"
    assert request.query == "type=fund&from=1682294400&limit=1000"
    later_page = gateio_rest.funding_book_request(
        DOC_CREDENTIALS, DOC_TIMESTAMP, since_s=1682294400, limit=1000, offset=2000
    )
    assert later_page.query == "type=fund&from=1682294400&limit=1000&offset=2000"


def test_a_contract_without_funding_times_is_refused_by_name():
    body = CONTRACT.replace(b'"funding_next_apply":1610035200,', b"")
    with pytest.raises(MalformedResponse, match="funding_next_apply"):
        gateio_rest.parse_funding(body)


def test_a_published_funding_time_that_passed_names_the_next_settlement():
    funding = FundingRate(BTC, 0.0001, 3600.0, 1000.0)
    assert funding.at(999.0) is funding
    assert funding.at(1000.0).next_ts == 4600.0
    assert funding.at(8300.0).next_ts == 11800.0


def test_simulated_tickers_and_account_book_read_back():
    quote = Quote(BTC, 99.5, 0.3, 100.5, 0.2, 1.0, 1.0)
    funding = FundingRate(BTC, -0.0002, 14400.0, 1700006400.0)
    figures = gateio_encode.TickerFigures(quote, 100.0, 99.9, funding)
    assert decode(gateio_encode.tickers_push(figures, 0.0001, 5.0)) == (
        gateio.FundingTick(BTC, -0.0002),
    )
    [ticker] = msgspec.json.decode(gateio_encode.tickers_body([(figures, 0.0001)]))
    assert ticker["funding_rate"] == ticker["funding_rate_indicative"] == "-0.0002"
    assert ticker["highest_size"] == "3000" and ticker["lowest_ask"] == "100.5"
    change = gateio_encode.AccountChange(9, 1700006400.0, 1.5, 101.5, "fund", "", "BTC_USDT")
    body = gateio_encode.account_book_body([change])
    assert gateio_rest.parse_funding_book(body) == [FundingBookEntry("9", BTC, 1700006400.0, 1.5)]
    listed = msgspec.json.decode(gateio_encode.contracts_body([(BTC, VenueRules(), funding)]))
    assert listed[0]["funding_interval"] == 14400
    assert listed[0]["funding_rate_indicative"] == "-0.0002"


@given(
    st.floats(1.0, 1e10),
    st.sampled_from([3600.0, 14400.0, 28800.0]),
    st.floats(0.0, 1e7),
)
def test_the_next_settlement_is_the_first_of_the_schedule_after_now(next_ts, interval, ahead):
    now = next_ts + ahead
    moved = FundingRate(BTC, 0.0001, interval, next_ts).at(now)
    skipped = (moved.next_ts - next_ts) / interval
    # Adding and taking back an interval may leave a rounding error of the times' size.
    assert moved.next_ts > now >= moved.next_ts - interval - 1e-12 * moved.next_ts
    assert skipped == pytest.approx(round(skipped))


def _levels_read_by_field(raw: bytes, contract_size: float) -> tuple[BookLevel, ...]:
    """Levels read as the codec read them before it decoded numbers in one pass: each
    field as a number or a string, then ``float``, and ``number`` when that fails."""
    levels = msgspec.json.decode(raw, type=list[gateio._Level])
    try:
        return tuple(BookLevel(float(lv.p), float(lv.s) * contract_size) for lv in levels)
    except ValueError:
        pass
    return tuple(
        BookLevel(_wire.number(lv.p, "p"), _wire.number(lv.s, "s") * contract_size) for lv in levels
    )


level_values = st.one_of(
    decimal_texts,
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.integers(-(10**30), 10**30),
)


@given(
    st.lists(st.tuples(level_values, level_values), max_size=6),
    st.sampled_from([1.0, 0.001, 0.0001, 10.0]),
)
def test_levels_decoded_in_one_pass_are_those_read_by_field(pairs, contract_size):
    """Whatever a level's fields hold, the levels the codec reads are those it read each
    field by field before, or both ways refuse them."""
    raw = msgspec.json.encode([{"p": p, "s": s} for p, s in pairs])
    try:
        expected = _levels_read_by_field(raw, contract_size)
    except (_wire.WireFormatError, msgspec.DecodeError, OverflowError):
        with pytest.raises(_wire.WireFormatError):
            gateio._levels(msgspec.Raw(raw), contract_size, "b")
        return
    assert comparable(gateio._levels(msgspec.Raw(raw), contract_size, "b")) == comparable(expected)
