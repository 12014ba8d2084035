"""The calls a trading client makes of MEXC beyond Basis's own, against the simulated
venue over loopback: the symbol list, the tickers, ping, all orders, market buys by what
they spend, parameters in the body, the venue's error codes and the websocket's
lower-case ping and request ids. Every reply is checked against the fields MEXC's spot
v3 documentation gives for it."""

from __future__ import annotations

import msgspec
import pytest
import trio

from actors.runtime.market.websocket import open_websocket
from actors.venues.mexc import MexcRouterCodec
from actors.venues.rest import RestClient
from protocols import mexc, mexc_rest
from protocols.model import Leg, Order, OrderStatus, Side, TimeInForce
from protocols.venue import (
    BadSignature,
    BelowMinimum,
    InvalidParameter,
    InvalidPrecision,
    InvalidSymbol,
)
from tests.venue_wire import mexc as mexc_wire

from .support import COIN, CREDENTIALS, WAIT_S, now

ROUTER = MexcRouterCodec(CREDENTIALS)

# The fields of each reply, as MEXC's spot v3 documentation lists them.
EXCHANGE_INFO_FIELDS = {"timezone", "serverTime", "rateLimits", "exchangeFilters", "symbols"}
SYMBOL_FIELDS = {
    "symbol",
    "status",
    "baseAsset",
    "baseAssetPrecision",
    "quoteAsset",
    "quotePrecision",
    "quoteAssetPrecision",
    "baseCommissionPrecision",
    "quoteCommissionPrecision",
    "orderTypes",
    "quoteOrderQtyMarketAllowed",
    "isSpotTradingAllowed",
    "isMarginTradingAllowed",
    "quoteAmountPrecision",
    "baseSizePrecision",
    "permissions",
    "filters",
    "maxQuoteAmount",
    "makerCommission",
    "takerCommission",
    "quoteAmountPrecisionMarket",
    "maxQuoteAmountMarket",
    "tradeSideType",
}
BOOK_TICKER_FIELDS = {"symbol", "bidPrice", "bidQty", "askPrice", "askQty"}
DAY_TICKER_FIELDS = BOOK_TICKER_FIELDS | {
    "priceChange",
    "priceChangePercent",
    "prevClosePrice",
    "lastPrice",
    "openPrice",
    "highPrice",
    "lowPrice",
    "volume",
    "quoteVolume",
    "openTime",
    "closeTime",
    "count",
}
PRICE_TICKER_FIELDS = {"symbol", "price"}
ORDER_FIELDS = {
    "symbol",
    "orderId",
    "orderListId",
    "clientOrderId",
    "price",
    "origQty",
    "executedQty",
    "cummulativeQuoteQty",
    "status",
    "timeInForce",
    "type",
    "side",
    "stopPrice",
    "icebergQty",
    "time",
    "updateTime",
    "isWorking",
    "origQuoteOrderQty",
}
ACCOUNT_FIELDS = {
    "canTrade",
    "canWithdraw",
    "canDeposit",
    "updateTime",
    "accountType",
    "balances",
    "permissions",
}
TRADE_FIELDS = {
    "symbol",
    "id",
    "orderId",
    "orderListId",
    "price",
    "qty",
    "quoteQty",
    "commission",
    "commissionAsset",
    "time",
    "isBuyer",
    "isMaker",
    "isBestMatch",
    "isSelfTrade",
    "clientOrderId",
}


def ms(ts: float) -> int:
    return int(ts * 1000)


async def get_json(client, request, status=200):
    response = await client.send(request)
    assert response.status == status, response.body
    return msgspec.json.decode(response.body)


async def refused(client, request):
    response = await client.send(request)
    assert response.status == 400, response.body
    return mexc_rest.error_from_response(response)


async def place(client, order, rules):
    response = await client.send(ROUTER.place(order, rules, now()))
    assert response.status == 200, response.body
    return ROUTER.parse_placed(response, order, rules)


# ------------------------------------------------------------------ market data


async def test_ping_and_the_symbol_list_for_all_some_and_one_pair(moving_sim):
    config = moving_sim.config
    symbols = [sc.symbol for sc in config.symbols]
    async with RestClient(moving_sim.urls.mexc_rest) as client:
        assert await get_json(client, mexc_wire.ping_request()) == {}
        info = await get_json(client, mexc_wire.exchange_info_request())
        some = await get_json(client, mexc_wire.exchange_info_request(symbols[:2]))
        one = await get_json(client, mexc_rest.exchange_info_request(symbols[0]))
        unknown = await refused(client, mexc_wire.exchange_info_request([COIN]))
    assert set(info) == EXCHANGE_INFO_FIELDS
    assert abs(info["serverTime"] - ms(now())) < 5000
    listed = [entry["symbol"] for entry in info["symbols"]]
    assert listed == [mexc.venue_symbol(symbol) for symbol in symbols]
    assert [e["symbol"] for e in some["symbols"]] == listed[:2]
    assert [e["symbol"] for e in one["symbols"]] == listed[:1]
    assert (type(unknown), unknown.code) == (InvalidSymbol, 30014)
    for entry, sc in zip(info["symbols"], config.symbols, strict=True):
        assert set(entry) >= SYMBOL_FIELDS
        rules = sc.spot_rules
        assert entry["status"] == "1"
        assert (entry["baseAsset"], entry["quoteAsset"]) == (sc.symbol.base, sc.symbol.quote)
        assert 10.0 ** -entry["baseAssetPrecision"] == pytest.approx(rules.qty_step)
        assert 10.0 ** -entry["quotePrecision"] == pytest.approx(rules.price_tick)
        assert float(entry["baseSizePrecision"]) == rules.min_qty
        assert float(entry["quoteAmountPrecision"]) == rules.min_notional
        assert float(entry["quoteAmountPrecisionMarket"]) == rules.min_notional
        assert float(entry["makerCommission"]) == config.spot.maker_fee
        assert float(entry["takerCommission"]) == config.spot.taker_fee
        assert entry["isSpotTradingAllowed"] is True
        assert set(entry["orderTypes"]) == {
            "LIMIT",
            "MARKET",
            "LIMIT_MAKER",
            "IMMEDIATE_OR_CANCEL",
            "FILL_OR_KILL",
        }


async def test_tickers_for_one_pair_are_objects_and_for_all_pairs_arrays(moving_sim):
    symbols = [sc.symbol for sc in moving_sim.config.symbols]
    names = [mexc.venue_symbol(symbol) for symbol in symbols]
    async with RestClient(moving_sim.urls.mexc_rest) as client:
        for kind, fields in (
            ("24hr", DAY_TICKER_FIELDS),
            ("price", PRICE_TICKER_FIELDS),
            ("bookTicker", BOOK_TICKER_FIELDS),
        ):
            one = await get_json(client, mexc_wire.ticker_request(kind, symbols[1]))
            every = await get_json(client, mexc_wire.ticker_request(kind))
            assert set(one) == fields and one["symbol"] == names[1]
            assert [ticker["symbol"] for ticker in every] == names
            assert all(set(ticker) == fields for ticker in every)
            assert (await refused(client, mexc_wire.ticker_request(kind, COIN))).code == 30014
        day = await get_json(client, mexc_wire.ticker_request("24hr", symbols[0]))
    assert float(day["lowPrice"]) <= float(day["lastPrice"]) <= float(day["highPrice"])
    mid = moving_sim.venues.market.spot_mid(symbols[0])
    assert float(day["lastPrice"]) == pytest.approx(mid, rel=0.01)
    assert day["openTime"] <= day["closeTime"]


async def test_the_still_pairs_tickers_are_its_book(still_sim, mexc_client):
    quote = still_sim.venues.market.quote(COIN, Leg.SPOT)
    book = await get_json(mexc_client, mexc_wire.ticker_request("bookTicker", COIN))
    assert (float(book["bidPrice"]), float(book["askPrice"])) == (quote.bid, quote.ask)
    price = await get_json(mexc_client, mexc_wire.ticker_request("price", COIN))
    assert float(price["price"]) == 100.0  # the still pair's mid
    day = await get_json(mexc_client, mexc_wire.ticker_request("24hr", COIN))
    assert (day["openPrice"], day["lastPrice"], day["priceChange"]) == ("100", "100", "0")


# ------------------------------------------------------------- account and orders


async def test_account_fields_are_as_documented(mexc_client):
    account = await get_json(mexc_client, mexc_rest.account_request(CREDENTIALS, ms(now())))
    assert set(account) == ACCOUNT_FIELDS
    assert (account["accountType"], account["permissions"], account["canTrade"]) == (
        "SPOT",
        ["SPOT"],
        True,
    )
    assert {"asset": "COIN", "free": "100", "locked": "0"} in account["balances"]


async def test_all_orders_lists_open_and_finished_orders_within_the_window(still_sim, mexc_client):
    rules = (await ROUTER.load_rules(mexc_client, [COIN]))[COIN]
    ask = still_sim.venues.market.quote(COIN, Leg.SPOT).ask
    await place(
        mexc_client, Order("all-1", Leg.SPOT, COIN, Side.BUY, 1.0, 99.0, tif=TimeInForce.GTC), rules
    )
    await place(mexc_client, Order("all-2", Leg.SPOT, COIN, Side.BUY, 1.0, ask), rules)
    start = ms(now())

    def all_orders(**window):
        return mexc_wire.all_orders_request(COIN, CREDENTIALS, ms(now()), **window)

    orders = await get_json(mexc_client, all_orders())
    assert all(set(order) == ORDER_FIELDS for order in orders)
    assert [(o["clientOrderId"], o["status"], o["isWorking"]) for o in orders] == [
        ("all-1", "NEW", True),
        ("all-2", "FILLED", False),
    ]
    assert [o["clientOrderId"] for o in await get_json(mexc_client, all_orders(limit=1))] == [
        "all-1"
    ]
    assert await get_json(mexc_client, all_orders(start_ms=start + 1000)) == []
    assert await get_json(mexc_client, all_orders(end_ms=start - 60_000)) == []

    # Without a symbol, openOrders lists the open orders of every pair, as the venue does
    # (its parameter table marks the symbol required).
    every_pair = mexc_wire.open_orders_request(None, CREDENTIALS, ms(now()))
    listed = await get_json(mexc_client, every_pair)
    assert [(o["symbol"], o["clientOrderId"], o["status"]) for o in listed] == [
        ("COINUSDT", "all-1", "NEW")
    ]


async def test_own_trades_have_the_documented_fields_and_filter_by_order(still_sim, mexc_client):
    rules = (await ROUTER.load_rules(mexc_client, [COIN]))[COIN]
    ask = still_sim.venues.market.quote(COIN, Leg.SPOT).ask
    first = await place(mexc_client, Order("mine-1", Leg.SPOT, COIN, Side.BUY, 1.0, ask), rules)
    await place(mexc_client, Order("mine-2", Leg.SPOT, COIN, Side.BUY, 1.0, ask), rules)

    def my_trades(**filters):
        return mexc_wire.my_trades_request(COIN, CREDENTIALS, ms(now()), **filters)

    trades = await get_json(mexc_client, my_trades())
    assert len(trades) == 2 and all(set(trade) == TRADE_FIELDS for trade in trades)
    only_first = await get_json(mexc_client, my_trades(order_id=first.venue_order_id))
    assert [trade["clientOrderId"] for trade in only_first] == ["mine-1"]
    assert await get_json(mexc_client, my_trades(end_ms=ms(now()) - 60_000)) == []


async def test_a_market_buy_by_what_it_spends_and_a_market_sell_by_quantity(still_sim, mexc_client):
    rules = (await ROUTER.load_rules(mexc_client, [COIN]))[COIN]
    ask = still_sim.venues.market.quote(COIN, Leg.SPOT).ask
    # 250.5 USDT at the best ask buys 2.5 COIN and a little change: whole steps only.
    request = mexc_wire.market_buy_for_quote_request(
        COIN, 2.5 * ask + 0.005, "spend-1", CREDENTIALS, ms(now())
    )
    placed = await get_json(mexc_client, request)
    assert (placed["type"], placed["side"]) == ("MARKET", "BUY")
    orders = await get_json(mexc_client, mexc_wire.all_orders_request(COIN, CREDENTIALS, ms(now())))
    [bought] = orders
    assert (bought["status"], float(bought["executedQty"])) == ("FILLED", 2.5)
    assert float(bought["cummulativeQuoteQty"]) == pytest.approx(2.5 * ask)
    assert float(bought["origQuoteOrderQty"]) == pytest.approx(2.5 * ask + 0.005)

    bid = still_sim.venues.market.quote(COIN, Leg.SPOT).bid
    await place(mexc_client, Order("sell-1", Leg.SPOT, COIN, Side.SELL, 1.5, bid), rules)
    sold = ROUTER.parse_order(
        await mexc_client.send(ROUTER.query(COIN, "sell-1", None, now())), COIN, rules
    )
    assert (sold.status, sold.filled_qty) == (OrderStatus.FILLED, 1.5)

    too_little = mexc_wire.market_buy_for_quote_request(
        COIN, 0.5, "spend-2", CREDENTIALS, ms(now())
    )
    error = await refused(mexc_client, too_little)
    assert (type(error), error.code) == (BelowMinimum, 30002)
    # A sell names its quantity, never what it spends.
    sell_by_quote = mexc_wire.body_signed_request(
        "POST",
        "order",
        [("symbol", "COINUSDT"), ("side", "SELL"), ("type", "MARKET"), ("quoteOrderQty", "50")],
        CREDENTIALS,
        ms(now()),
    )
    error = await refused(mexc_client, sell_by_quote)
    assert (type(error), error.code) == (InvalidParameter, 44444)


# ------------------------------------------------------------ body and errors


async def test_parameters_in_the_body_of_a_post_and_a_delete(still_sim, mexc_client):
    placed = await get_json(
        mexc_client,
        mexc_wire.body_signed_request(
            "POST",
            "order",
            [("quantity", "1"), ("price", "99"), ("newClientOrderId", "body-1")],
            CREDENTIALS,
            ms(now()),
            query=[("symbol", "COINUSDT"), ("side", "BUY"), ("type", "LIMIT")],
        ),
    )
    assert (placed["origQty"], placed["price"]) == ("1", "99")
    # MEXC documents the symbol of a query as optional.
    queried = await get_json(
        mexc_client,
        mexc_rest.signed_request(
            "GET", "order", [("orderId", placed["orderId"])], CREDENTIALS, ms(now())
        ),
    )
    assert (queried["clientOrderId"], queried["status"]) == ("body-1", "NEW")
    cancelled = await get_json(
        mexc_client,
        mexc_wire.body_signed_request(
            "DELETE",
            "order",
            [("symbol", "COINUSDT"), ("origClientOrderId", "body-1")],
            CREDENTIALS,
            ms(now()),
        ),
    )
    assert (cancelled["status"], cancelled["origClientOrderId"]) == ("CANCELED", "body-1")
    tampered = mexc_wire.body_signed_request(
        "DELETE", "order", [("symbol", "COINUSDT"), ("orderId", "1")], CREDENTIALS, ms(now())
    )
    tampered = msgspec.structs.replace(tampered, body=tampered.body.replace(b"=1&", b"=2&"))
    error = await refused(mexc_client, tampered)
    assert (type(error), error.code) == (BadSignature, 700002)


@pytest.mark.parametrize(
    ("params", "kind", "code"),
    [
        (
            [("quantity", "1.001"), ("price", "99")],
            InvalidPrecision,
            mexc_rest.PRECISION_ERROR_CODE,
        ),
        ([("price", "99")], InvalidParameter, 44444),
        ([("quantity", "1"), ("price", "99"), ("symbol", "NOPEUSDT")], InvalidSymbol, 30014),
        ([("quantity", "1"), ("price", "lots")], InvalidParameter, 33333),
    ],
    ids=["over-precise-quantity", "missing-quantity", "unknown-symbol", "bad-number"],
)
async def test_bad_orders_get_mexcs_codes(mexc_client, params, kind, code):
    base = {"symbol": "COINUSDT", "side": "BUY", "type": "LIMIT"}
    base.update(params)
    request = mexc_wire.body_signed_request(
        "POST", "order", list(base.items()), CREDENTIALS, ms(now())
    )
    error = await refused(mexc_client, request)
    assert (type(error), error.code) == (kind, code)


# ------------------------------------------------------------------ websockets


async def test_a_lower_case_ping_and_acks_echo_the_request_id(still_sim):
    async with open_websocket(still_sim.urls.mexc_ws) as ws:
        with trio.fail_after(WAIT_S):
            await ws.send_message('{"method":"ping","id":41}')
            assert msgspec.json.decode(await ws.get_message()) == {
                "id": 41,
                "code": 0,
                "msg": "PONG",
            }
            await ws.send_message(mexc.PING_MESSAGE)
            assert msgspec.json.decode(await ws.get_message())["id"] == 0
            channel = mexc.limit_depth_channel(COIN, 5)
            await ws.send_message(mexc.subscribe_message([channel], 42))
            assert msgspec.json.decode(await ws.get_message()) == {
                "id": 42,
                "code": 0,
                "msg": channel,
            }
