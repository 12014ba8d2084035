"""MEXC spot (API v3), the venue's side: what the simulated venue sends, in exactly
MEXC's wire format. How it reads and checks what a client sends is
``protocols.mexc_client_requests``.

Pushes are built as ``PushDataV3ApiWrapper`` protobuf bytes, control answers and REST
bodies as JSON bytes, errors as ``RestResponse`` with MEXC's codes. Times are passed in
(Unix seconds) and written in milliseconds, as MEXC does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import msgspec

from protocols import mexc_push_pb2 as pb
from protocols._wire import decimal, exact_difference, exact_product
from protocols.mexc import venue_symbol
from protocols.mexc_rest import (
    ERRORS_BY_CODE,
)
from protocols.model import OrderStatus, Quote, Side, Symbol, VenueRules
from protocols.venue import (
    Balance,
    Banned,
    BookLevel,
    CandleFigures,
    DepthDiff,
    DepthSnapshot,
    OrderAlreadyFinal,
    OrderUpdate,
    PublicTrade,
    RateLimited,
    RestResponse,
    Trade,
    UnknownOrder,
    VenueError,
    VenueUnavailable,
)

_encode = msgspec.json.Encoder().encode


def _ms(ts: float) -> int:
    return round(ts * 1000.0)


class _Ack(msgspec.Struct):
    id: int
    code: int
    msg: str


def subscription_ack(channels: Sequence[str], request_id: int = 0) -> str:
    """The ack of a successful (un)subscription: ``msg`` echoes the channels, ``id`` the
    request's (0 when it sent none, as in MEXC's examples)."""
    return _encode(_Ack(request_id, 0, ",".join(channels))).decode()


def subscription_refusal(channels: Sequence[str], reason: str, request_id: int = 0) -> str:
    """A refused subscription as MEXC words it: ``code`` is still 0, and the prose uses a
    full-width colon."""
    message = f"Not Subscribed successfully! [{','.join(channels)}].  Reason\uff1a {reason} "
    return _encode(_Ack(request_id, 0, message)).decode()


def pong(request_id: int = 0) -> str:
    """The answer to a client's PING."""
    return _encode(_Ack(request_id, 0, "PONG")).decode()


PONG_MESSAGE = pong()


# ------------------------------------------------------------------------- pushes


def _wrapper(channel: str, symbol: Symbol | None, send_ts: float) -> pb.PushDataV3ApiWrapper:
    push = pb.PushDataV3ApiWrapper(channel=channel, sendTime=_ms(send_ts))
    if symbol is not None:
        push.symbol = venue_symbol(symbol)
    return push


def _side_text(price: float, qty: float) -> tuple[str, str]:
    # MEXC writes an empty side as two empty strings.
    return (decimal(price), decimal(qty)) if price > 0.0 else ("", "")


def book_ticker_push(quote: Quote, version: int, send_ts: float, interval: str = "100ms") -> bytes:
    """The ``publicAggreBookTicker`` push of ``quote`` (a side with price 0 is empty)."""
    push = _wrapper(
        f"spot@public.aggre.bookTicker.v3.api.pb@{interval}@{venue_symbol(quote.symbol)}",
        quote.symbol,
        send_ts,
    )
    ticker = push.publicAggreBookTicker
    ticker.bidPrice, ticker.bidQuantity = _side_text(quote.bid, quote.bid_qty)
    ticker.askPrice, ticker.askQuantity = _side_text(quote.ask, quote.ask_qty)
    ticker.version = str(version)
    return push.SerializeToString()


def _add_levels(target: Any, levels: Sequence[BookLevel]) -> None:
    add = target.add
    for level in levels:
        add(price=decimal(level.price), quantity=decimal(level.qty))


def depth_diff_push(diff: DepthDiff, send_ts: float, interval: str = "100ms") -> bytes:
    """The ``publicAggreDepths`` push of ``diff`` (versions ``first..last``)."""
    push = _wrapper(
        f"spot@public.aggre.depth.v3.api.pb@{interval}@{venue_symbol(diff.symbol)}",
        diff.symbol,
        send_ts,
    )
    depths = push.publicAggreDepths
    _add_levels(depths.asks, diff.asks)
    _add_levels(depths.bids, diff.bids)
    depths.eventType = "spot@public.aggre.depth.v3.api.pb"
    depths.fromVersion = str(diff.first_version)
    depths.toVersion = str(diff.last_version)
    return push.SerializeToString()


def limit_depth_push(snapshot: DepthSnapshot, levels: int, send_ts: float) -> bytes:
    """The ``publicLimitDepths`` push: the top ``levels`` of ``snapshot``."""
    push = _wrapper(
        f"spot@public.limit.depth.v3.api.pb@{venue_symbol(snapshot.symbol)}@{levels}",
        snapshot.symbol,
        send_ts,
    )
    depths = push.publicLimitDepths
    _add_levels(depths.asks, snapshot.asks[:levels])
    _add_levels(depths.bids, snapshot.bids[:levels])
    depths.eventType = "spot@public.limit.depth.v3.api.pb"
    depths.version = str(snapshot.version)
    return push.SerializeToString()


PUSH_ORDER_TYPES = {
    "LIMIT": 1,
    "LIMIT_MAKER": 2,
    "IMMEDIATE_OR_CANCEL": 3,
    "FILL_OR_KILL": 4,
    "MARKET": 5,
}
_TRADE_TYPES = {Side.BUY: 1, Side.SELL: 2}


def _push_status(update: OrderUpdate) -> int:
    filled = update.filled_qty or 0.0
    match update.status:
        case OrderStatus.NEW:
            return 1
        case OrderStatus.FILLED:
            return 2
        case OrderStatus.PARTIALLY_FILLED:
            return 3
        case OrderStatus.CANCELLED:
            return 5 if filled > 0.0 else 4
    raise ValueError(f"MEXC pushes no order status for {update.status.value!r}")


def order_push(update: OrderUpdate, order_type: str, send_ts: float) -> bytes:
    """The ``privateOrders`` push of ``update``; ``order_type`` is MEXC's REST name
    (``LIMIT``, ``IMMEDIATE_OR_CANCEL``, ...)."""
    if update.side is None:
        raise ValueError(f"order {update.client_id!r} needs a side to be pushed")
    push = _wrapper("spot@private.orders.v3.api.pb", update.symbol, send_ts)
    qty, price = update.qty or 0.0, update.price or 0.0
    filled, avg_price = update.filled_qty or 0.0, update.avg_price or 0.0
    order = push.privateOrders
    order.id = update.venue_order_id
    order.clientId = update.client_id
    order.price = decimal(price)
    order.quantity = decimal(qty)
    order.amount = decimal(exact_product(qty, price))
    order.avgPrice = decimal(avg_price)
    order.orderType = PUSH_ORDER_TYPES[order_type]
    order.tradeType = _TRADE_TYPES[update.side]
    remaining = max(0.0, exact_difference(qty, filled))
    order.remainAmount = decimal(exact_product(remaining, price))
    order.remainQuantity = decimal(remaining)
    order.cumulativeQuantity = decimal(filled)
    order.cumulativeAmount = decimal(exact_product(filled, avg_price))
    order.status = _push_status(update)
    order.createTime = _ms(update.ts)
    return push.SerializeToString()


def deal_push(trade: Trade, send_ts: float) -> bytes:
    """The ``privateDeals`` push of one of the account's executions."""
    if trade.side is None:
        raise ValueError(f"trade {trade.trade_id!r} needs a side to be pushed")
    push = _wrapper("spot@private.deals.v3.api.pb", trade.symbol, send_ts)
    deal = push.privateDeals
    deal.price = decimal(trade.price)
    deal.quantity = decimal(trade.qty)
    deal.amount = decimal(exact_product(trade.qty, trade.price))
    deal.tradeType = _TRADE_TYPES[trade.side]
    deal.isMaker = trade.is_maker
    deal.tradeId = trade.trade_id
    deal.clientOrderId = trade.client_id
    deal.orderId = trade.venue_order_id
    deal.feeAmount = decimal(trade.fee)
    deal.feeCurrency = trade.fee_asset
    deal.time = _ms(trade.ts)
    return push.SerializeToString()


def account_push(balance: Balance, send_ts: float) -> bytes:
    """The ``privateAccount`` push of one asset's balance."""
    push = _wrapper("spot@private.account.v3.api.pb", None, send_ts)
    account = push.privateAccount
    account.vcoinName = balance.asset
    account.balanceAmount = decimal(balance.free)
    account.frozenAmount = decimal(balance.locked)
    account.time = _ms(send_ts)
    return push.SerializeToString()


# -------------------------------------------------------------------- REST bodies


def _decimals(step: float, name: str) -> int:
    places = round(-math.log10(step))
    if not math.isclose(10.0**-places, step, rel_tol=1e-9):
        raise ValueError(f"{name} {step} is not a power of ten; MEXC states it as decimals")
    return places


class ListedSymbol(msgspec.Struct, frozen=True):
    """One pair as ``exchangeInfo`` lists it: its rules (steps must be powers of ten, as
    MEXC states them as numbers of decimals), its fees and its status (``"1"`` online,
    ``"2"`` paused, ``"3"`` offline)."""

    symbol: Symbol
    rules: VenueRules
    maker_fee: float
    taker_fee: float
    status: str = "1"
    max_quote_amount: float = 2_000_000.0
    max_quote_amount_market: float = 100_000.0


def _symbol_entry(listed: ListedSymbol) -> dict[str, object]:
    symbol, rules = listed.symbol, listed.rules
    qty_decimals = _decimals(rules.qty_step, "qty_step")
    price_decimals = _decimals(rules.price_tick, "price_tick")
    return {
        "symbol": venue_symbol(symbol),
        "status": listed.status,
        "baseAsset": symbol.base,
        "baseAssetPrecision": qty_decimals,
        "quoteAsset": symbol.quote,
        "quotePrecision": price_decimals,
        "quoteAssetPrecision": price_decimals,
        "baseCommissionPrecision": qty_decimals,
        "quoteCommissionPrecision": price_decimals,
        "orderTypes": list(PUSH_ORDER_TYPES),
        "quoteOrderQtyMarketAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "quoteAmountPrecision": decimal(rules.min_notional),
        "baseSizePrecision": decimal(rules.min_qty),
        "permissions": ["SPOT"],
        "filters": [],
        "maxQuoteAmount": decimal(listed.max_quote_amount),
        "makerCommission": decimal(listed.maker_fee),
        "takerCommission": decimal(listed.taker_fee),
        "quoteAmountPrecisionMarket": decimal(rules.min_notional),
        "maxQuoteAmountMarket": decimal(listed.max_quote_amount_market),
        "fullName": symbol.base,
        "tradeSideType": "1",
    }


def exchange_info_body(listed: Sequence[ListedSymbol], server_ts: float) -> bytes:
    """``GET /api/v3/exchangeInfo`` listing the pairs ``listed``."""
    return _encode(
        {
            "timezone": "CST",
            "serverTime": _ms(server_ts),
            "rateLimits": [],
            "exchangeFilters": [],
            "symbols": [_symbol_entry(entry) for entry in listed],
        }
    )


def server_time_body(server_ts: float) -> bytes:
    return _encode({"serverTime": _ms(server_ts)})


PING_BODY = b"{}"
"""The answer to ``GET /api/v3/ping``."""


def _book_ticker(quote: Quote) -> dict[str, object]:
    bid_price, bid_qty = _side_text(quote.bid, quote.bid_qty)
    ask_price, ask_qty = _side_text(quote.ask, quote.ask_qty)
    return {
        "symbol": venue_symbol(quote.symbol),
        "bidPrice": bid_price,
        "bidQty": bid_qty,
        "askPrice": ask_price,
        "askQty": ask_qty,
    }


def book_ticker_body(quote: Quote) -> bytes:
    """``GET /api/v3/ticker/bookTicker`` for one pair."""
    return _encode(_book_ticker(quote))


def book_tickers_body(quotes: Sequence[Quote]) -> bytes:
    """``GET /api/v3/ticker/bookTicker`` without a symbol: every pair, in an array."""
    return _encode([_book_ticker(quote) for quote in quotes])


class DayStats(msgspec.Struct, frozen=True):
    """A pair's last 24 hours as ``ticker/24hr`` reports them: the price then
    (``open_price``) and now, the range, and the base and quote volume traded."""

    quote: Quote
    open_price: float
    last_price: float
    high_price: float
    low_price: float
    volume: float
    quote_volume: float
    open_ts: float
    close_ts: float


def _day_ticker(stats: DayStats) -> dict[str, object]:
    change = exact_difference(stats.last_price, stats.open_price)
    change_ratio = change / stats.open_price if stats.open_price else 0.0
    return {
        **_book_ticker(stats.quote),
        "priceChange": decimal(change),
        "priceChangePercent": decimal(round(change_ratio, 8)),
        "prevClosePrice": decimal(stats.open_price),
        "lastPrice": decimal(stats.last_price),
        "openPrice": decimal(stats.open_price),
        "highPrice": decimal(stats.high_price),
        "lowPrice": decimal(stats.low_price),
        "volume": decimal(stats.volume),
        "quoteVolume": decimal(stats.quote_volume),
        "openTime": _ms(stats.open_ts),
        "closeTime": _ms(stats.close_ts),
        "count": None,
    }


def day_ticker_body(stats: DayStats) -> bytes:
    """``GET /api/v3/ticker/24hr`` for one pair."""
    return _encode(_day_ticker(stats))


def day_tickers_body(stats: Sequence[DayStats]) -> bytes:
    """``GET /api/v3/ticker/24hr`` without a symbol: every pair, in an array."""
    return _encode([_day_ticker(entry) for entry in stats])


def price_ticker_body(symbol: Symbol, price: float) -> bytes:
    """``GET /api/v3/ticker/price`` for one pair: its last price."""
    return _encode({"symbol": venue_symbol(symbol), "price": decimal(price)})


def price_tickers_body(prices: Sequence[tuple[Symbol, float]]) -> bytes:
    """``GET /api/v3/ticker/price`` without a symbol: every pair, in an array."""
    return _encode(
        [{"symbol": venue_symbol(symbol), "price": decimal(price)} for symbol, price in prices]
    )


def klines_body(candles: Sequence[tuple[CandleFigures, float]]) -> bytes:
    """``GET /api/v3/klines``: each candle (with when the next one opens) as an array of
    its open time (ms), open, high, low, close, volume, close time (ms) and quote volume,
    oldest first."""
    return _encode(
        [
            [
                _ms(c.open_ts),
                decimal(c.open),
                decimal(c.high),
                decimal(c.low),
                decimal(c.close),
                decimal(c.volume),
                _ms(close_ts),
                decimal(c.quote_volume),
            ]
            for c, close_ts in candles
        ]
    )


def public_trades_body(trades: Sequence[PublicTrade]) -> bytes:
    """``GET /api/v3/trades``: the market's recent trades; MEXC leaves their ids out
    (``null``)."""
    return _encode(
        [
            {
                "id": None,
                "price": decimal(t.price),
                "qty": decimal(t.qty),
                "quoteQty": decimal(exact_product(t.qty, t.price)),
                "time": _ms(t.ts),
                "isBuyerMaker": not t.taker_buys,
                "isBestMatch": True,
            }
            for t in trades
        ]
    )


def agg_trades_body(trades: Sequence[PublicTrade]) -> bytes:
    """``GET /api/v3/aggTrades``: the market's recent trades in short names (``p``,
    ``q``, ``T``; ``m`` when the buyer was the maker), their ids ``null`` as MEXC's."""
    return _encode(
        [
            {
                "a": None,
                "f": None,
                "l": None,
                "p": decimal(t.price),
                "q": decimal(t.qty),
                "T": _ms(t.ts),
                "m": not t.taker_buys,
                "M": True,
            }
            for t in trades
        ]
    )


def avg_price_body(minutes: int, price: float) -> bytes:
    """``GET /api/v3/avgPrice``: the average price over the last ``minutes``."""
    return _encode({"mins": minutes, "price": decimal(price)})


def trade_fee_body(maker: float, taker: float, server_ts: float) -> bytes:
    """``GET /api/v3/tradeFee``: the account's fee rates, wrapped as MEXC wraps them."""
    return _encode(
        {
            "data": {"makerCommission": maker, "takerCommission": taker},
            "code": 0,
            "msg": "success",
            "timestamp": _ms(server_ts),
        }
    )


def default_symbols_body(symbols: Sequence[Symbol]) -> bytes:
    """``GET /api/v3/defaultSymbols``: the pairs open to API trading."""
    return _encode({"code": 200, "data": [venue_symbol(symbol) for symbol in symbols], "msg": None})


def depth_body(snapshot: DepthSnapshot) -> bytes:
    return _encode(
        {
            "lastUpdateId": snapshot.version,
            "bids": [[decimal(level.price), decimal(level.qty)] for level in snapshot.bids],
            "asks": [[decimal(level.price), decimal(level.qty)] for level in snapshot.asks],
        }
    )


_REST_STATUS = {
    OrderStatus.NEW: "NEW",
    OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    OrderStatus.FILLED: "FILLED",
}


def _rest_status(update: OrderUpdate) -> str:
    if update.status is OrderStatus.CANCELLED:
        return "PARTIALLY_CANCELED" if (update.filled_qty or 0.0) > 0.0 else "CANCELED"
    status = _REST_STATUS.get(update.status)
    if status is None:
        raise ValueError(f"MEXC reports no order status for {update.status.value!r}")
    return status


def _side_name(side: Side | None) -> str:
    if side is None:
        raise ValueError("a MEXC order reply needs the order's side")
    return "BUY" if side is Side.BUY else "SELL"


def new_order_body(update: OrderUpdate, order_type: str) -> bytes:
    """The reply to ``POST /api/v3/order``: no client id, no status, no fills."""
    return _encode(
        {
            "symbol": venue_symbol(update.symbol),
            "orderId": update.venue_order_id,
            "orderListId": -1,
            "price": decimal(update.price or 0.0),
            "origQty": decimal(update.qty or 0.0),
            "type": order_type,
            "side": _side_name(update.side),
            "transactTime": _ms(update.ts),
        }
    )


def _order_object(
    update: OrderUpdate, order_type: str, quote_qty: float = 0.0
) -> dict[str, object]:
    filled = update.filled_qty or 0.0
    return {
        "symbol": venue_symbol(update.symbol),
        "orderId": update.venue_order_id,
        "orderListId": -1,
        "clientOrderId": update.client_id,
        "price": decimal(update.price or 0.0),
        "origQty": decimal(update.qty or 0.0),
        "executedQty": decimal(filled),
        "cummulativeQuoteQty": decimal(exact_product(filled, update.avg_price or 0.0)),
        "status": _rest_status(update),
        "type": order_type,
        "side": _side_name(update.side),
        "timeInForce": None,
        "stopPrice": None,
        "icebergQty": None,
        "time": _ms(update.ts),
        "updateTime": _ms(update.ts),
        "isWorking": update.status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED),
        "origQuoteOrderQty": decimal(quote_qty),
    }


def order_body(update: OrderUpdate, order_type: str, quote_qty: float = 0.0) -> bytes:
    """The reply to ``GET /api/v3/order`` (and, with status CANCELED, to ``DELETE``);
    ``quote_qty`` is what a market buy by ``quoteOrderQty`` asked to spend (0 for an
    order by quantity)."""
    return _encode(_order_object(update, order_type, quote_qty))


def cancel_body(update: OrderUpdate, order_type: str) -> bytes:
    """The reply to ``DELETE /api/v3/order``: the order, its client id also as
    ``origClientOrderId``."""
    return _encode({**_order_object(update, order_type), "origClientOrderId": update.client_id})


def open_orders_body(orders: Sequence[tuple[OrderUpdate, str, float]]) -> bytes:
    """The reply to ``GET /api/v3/openOrders`` or ``allOrders``: each order with its MEXC
    order type and the quote quantity it asked for."""
    return _encode([_order_object(update, kind, quote_qty) for update, kind, quote_qty in orders])


def account_body(balances: Sequence[Balance], update_ts: float | None = None) -> bytes:
    """``GET /api/v3/account``: a spot account that may trade, deposit and withdraw."""
    return _encode(
        {
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "updateTime": None if update_ts is None else _ms(update_ts),
            "accountType": "SPOT",
            "balances": [
                {"asset": b.asset, "free": decimal(b.free), "locked": decimal(b.locked)}
                for b in balances
            ],
            "permissions": ["SPOT"],
        }
    )


def my_trades_body(trades: Sequence[Trade]) -> bytes:
    return _encode(
        [
            {
                "symbol": venue_symbol(trade.symbol),
                "id": trade.trade_id,
                "orderId": trade.venue_order_id,
                "orderListId": -1,
                "price": decimal(trade.price),
                "qty": decimal(trade.qty),
                "quoteQty": decimal(exact_product(trade.qty, trade.price)),
                "commission": decimal(trade.fee),
                "commissionAsset": trade.fee_asset,
                "time": _ms(trade.ts),
                "isBuyer": trade.side is Side.BUY,
                "isMaker": trade.is_maker,
                "isBestMatch": True,
                "isSelfTrade": False,
                "clientOrderId": trade.client_id,
            }
            for trade in trades
        ]
    )


def listen_key_body(listen_key: str) -> bytes:
    return _encode({"listenKey": listen_key})


# ------------------------------------------------------------------------ errors

# The code a simulated error carries when it names none: the first documented code of
# its kind. OrderAlreadyFinal is MEXC's -2011 (the cancel of a finished order).
_DEFAULT_CODES: dict[type[VenueError], int] = {OrderAlreadyFinal: -2011, UnknownOrder: -2013}
for _code, _kind in ERRORS_BY_CODE.items():
    _DEFAULT_CODES.setdefault(_kind, _code)


def _default_code(kind: type[VenueError]) -> int | None:
    # A refinement (DuplicateClientId) carries the code of the error it refines.
    for ancestor in kind.__mro__:
        if ancestor in _DEFAULT_CODES:
            return _DEFAULT_CODES[ancestor]
    return None


def error_response(error: VenueError) -> RestResponse:
    """The HTTP reply MEXC gives for ``error``: 429 (with ``Retry-After``) when rate
    limited, 418 when banned, 503 when unavailable (MEXC's error list numbers these codes
    as their HTTP status), else 400 with the documented code in ``{"code","msg"}``."""
    code = error.code if isinstance(error.code, int) else _default_code(type(error))
    headers: tuple[tuple[str, str], ...] = ()
    if isinstance(error, RateLimited | Banned | VenueUnavailable):
        status = (
            429 if isinstance(error, RateLimited) else 418 if isinstance(error, Banned) else 503
        )
        code = status if code is None else code
        if error.retry_after_s is not None:
            headers = (("Retry-After", str(math.ceil(error.retry_after_s))),)
    else:
        status = error.http_status or 400
    if code is None:
        raise ValueError(f"no MEXC error code for {type(error).__name__}; give the error one")
    return RestResponse(status, _encode({"code": code, "msg": error.message}), headers)
