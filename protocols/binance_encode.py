"""Binance spot (API v3), the venue's side: what the simulated venue sends, in exactly
Binance's wire format. How it reads and checks what a client sends is
``protocols.binance_client_requests``.

Stream events, request answers (the streams' and the WebSocket API's) and REST bodies
are JSON; REST errors are ``RestResponse`` with Binance's codes and messages. Times are
passed in (Unix seconds) and written in milliseconds, as Binance does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import msgspec

from protocols._wire import decimal, exact_product
from protocols.binance import venue_symbol
from protocols.binance_signing import ORDER_COUNT_HEADER, RETRY_AFTER_HEADER, USED_WEIGHT_HEADER
from protocols.model import OrderStatus, Quote, Side, Symbol, VenueRules
from protocols.venue import (
    Balance,
    Banned,
    BelowMinimum,
    DepthDiff,
    DepthSnapshot,
    DuplicateClientId,
    InsufficientBalance,
    InvalidParameter,
    InvalidPrecision,
    InvalidSymbol,
    OrderAlreadyFinal,
    OrderUpdate,
    PriceRejected,
    RateLimited,
    RestResponse,
    Trade,
    TradingDisabled,
    UnknownOrder,
    VenueError,
    VenueUnavailable,
)

_encode = msgspec.json.Encoder().encode


def _ms(ts: float) -> int:
    return round(ts * 1000.0)


def _text(payload: object) -> str:
    return _encode(payload).decode()


# ---------------------------------------------------------------- request answers


def result_answer(request_id: int | str | None, result: object = None) -> str:
    """The answer to a websocket request: ``null`` for a subscribe or unsubscribe, the
    streams for a ``LIST_SUBSCRIPTIONS``."""
    return _text({"result": result, "id": request_id})


def error_answer(code: int, message: str, request_id: int | str | None = None) -> str:
    """A websocket request refused, as Binance words it (``code`` 2 for an invalid
    request, 0 for an unknown property, 3 for invalid JSON)."""
    return _text({"code": code, "msg": message, "id": request_id})


# ------------------------------------------------------------------------- events


def stream_frame(stream: str, event: dict[str, Any], combined: bool) -> str:
    """``event`` as a connection receives it: wrapped with its stream's name on a
    combined stream (``/stream``), bare on a raw one (``/ws``)."""
    return _text({"stream": stream, "data": event} if combined else event)


def book_ticker_event(quote: Quote, update_id: int) -> dict[str, Any]:
    """The ``<symbol>@bookTicker`` event of ``quote`` at book version ``update_id``."""
    return {
        "u": update_id,
        "s": venue_symbol(quote.symbol),
        "b": decimal(quote.bid),
        "B": decimal(quote.bid_qty),
        "a": decimal(quote.ask),
        "A": decimal(quote.ask_qty),
    }


def depth_update_event(diff: DepthDiff, event_ts: float) -> dict[str, Any]:
    """The ``depthUpdate`` event of ``diff`` (update ids ``U``..``u``)."""
    return {
        "e": "depthUpdate",
        "E": _ms(event_ts),
        "s": venue_symbol(diff.symbol),
        "U": diff.first_version,
        "u": diff.last_version,
        "b": [[decimal(level.price), decimal(level.qty)] for level in diff.bids],
        "a": [[decimal(level.price), decimal(level.qty)] for level in diff.asks],
    }


def partial_depth_event(snapshot: DepthSnapshot, levels: int) -> dict[str, Any]:
    """The ``<symbol>@depth<levels>`` event: the top ``levels`` of ``snapshot``."""
    return {
        "lastUpdateId": snapshot.version,
        "bids": [[decimal(level.price), decimal(level.qty)] for level in snapshot.bids[:levels]],
        "asks": [[decimal(level.price), decimal(level.qty)] for level in snapshot.asks[:levels]],
    }


_STATUS_NAMES = {
    OrderStatus.NEW: "NEW",
    OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    OrderStatus.FILLED: "FILLED",
    OrderStatus.CANCELLED: "CANCELED",
    OrderStatus.EXPIRED: "EXPIRED",
    OrderStatus.REJECTED: "REJECTED",
}


def status_name(status: OrderStatus) -> str:
    name = _STATUS_NAMES.get(status)
    if name is None:
        raise ValueError(f"Binance reports no order status for {status.value!r}")
    return name


def _side_name(side: Side | None) -> str:
    if side is None:
        raise ValueError("a Binance order report needs the order's side")
    return "BUY" if side is Side.BUY else "SELL"


def execution_report(
    update: OrderUpdate,
    order_type: str,
    time_in_force: str,
    created_ts: float,
    event_ts: float,
    trade: Trade | None = None,
    cancel_client_id: str | None = None,
) -> dict[str, Any]:
    """The ``executionReport`` of ``update``: a ``TRADE`` execution when ``trade`` is
    the fill that made it, else one named after the order's status (``NEW``,
    ``CANCELED``, ``EXPIRED``). A cancel is reported under the cancel request's own
    client id, ``cancel_client_id``, the order's being then the original one (``C``)."""
    filled, avg_price = update.filled_qty or 0.0, update.avg_price or 0.0
    status = status_name(update.status)
    if trade is None and update.status in (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED):
        raise ValueError(f"order {update.client_id!r} filled: report it with the trade")
    execution = "TRADE" if trade is not None else status
    working = update.status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)
    return {
        "e": "executionReport",
        "E": _ms(event_ts),
        "s": venue_symbol(update.symbol),
        "c": update.client_id if cancel_client_id is None else cancel_client_id,
        "S": _side_name(update.side),
        "o": order_type,
        "f": time_in_force,
        "q": decimal(update.qty or 0.0),
        "p": decimal(update.price or 0.0),
        "P": "0",
        "F": "0",
        "g": -1,
        "C": "" if cancel_client_id is None else update.client_id,
        "x": execution,
        "X": status,
        "r": "NONE",
        "i": int(update.venue_order_id),
        "l": decimal(trade.qty if trade else 0.0),
        "z": decimal(filled),
        "L": decimal(trade.price if trade else 0.0),
        "n": decimal(trade.fee if trade else 0.0),
        "N": trade.fee_asset if trade else None,
        "T": _ms(trade.ts if trade else update.ts),
        "t": int(trade.trade_id) if trade else -1,
        "I": 0,
        "w": working,
        "m": trade.is_maker if trade else False,
        "M": False,
        "O": _ms(created_ts),
        "Z": decimal(exact_product(filled, avg_price)),
        "Y": decimal(exact_product(trade.qty, trade.price) if trade else 0.0),
        "Q": "0",
        "W": _ms(created_ts),
        "V": "NONE",
    }


def account_position_event(balances: Sequence[Balance], event_ts: float) -> dict[str, Any]:
    """The ``outboundAccountPosition`` of the assets a change touched."""
    return {
        "e": "outboundAccountPosition",
        "E": _ms(event_ts),
        "u": _ms(event_ts),
        "B": [{"a": b.asset, "f": decimal(b.free), "l": decimal(b.locked)} for b in balances],
    }


# -------------------------------------------------------------------- REST bodies


class ListedSymbol(msgspec.Struct, frozen=True):
    """One pair as ``exchangeInfo`` lists it: its rules as filters, and its status
    (``TRADING``, ``HALT``, ``BREAK``)."""

    symbol: Symbol
    rules: VenueRules
    status: str = "TRADING"
    max_qty: float = 9_000_000.0
    max_price: float = 1_000_000.0
    max_notional: float = 9_000_000.0


def _symbol_entry(listed: ListedSymbol) -> dict[str, object]:
    symbol, rules = listed.symbol, listed.rules
    return {
        "symbol": venue_symbol(symbol),
        "status": listed.status,
        "baseAsset": symbol.base,
        "baseAssetPrecision": 8,
        "quoteAsset": symbol.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "amendAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": decimal(rules.price_tick),
                "maxPrice": decimal(listed.max_price),
                "tickSize": decimal(rules.price_tick),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": decimal(rules.min_qty or rules.qty_step),
                "maxQty": decimal(listed.max_qty),
                "stepSize": decimal(rules.qty_step),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": decimal(rules.min_notional),
                "applyMinToMarket": True,
                "maxNotional": decimal(listed.max_notional),
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "NONE",
        "allowedSelfTradePreventionModes": ["NONE"],
    }


def exchange_info_body(
    listed: Sequence[ListedSymbol], server_ts: float, rate_limits: Sequence[dict[str, object]]
) -> bytes:
    """``GET /api/v3/exchangeInfo`` listing the pairs ``listed`` and the venue's
    ``rateLimits``."""
    return _encode(
        {
            "timezone": "UTC",
            "serverTime": _ms(server_ts),
            "rateLimits": list(rate_limits),
            "exchangeFilters": [],
            "symbols": [_symbol_entry(entry) for entry in listed],
        }
    )


def rate_limit_entry(kind: str, interval: str, interval_num: int, limit: int) -> dict[str, object]:
    """One ``rateLimits`` entry: ``kind`` ``REQUEST_WEIGHT``, ``ORDERS`` or
    ``RAW_REQUESTS`` per ``interval_num`` ``interval`` (``SECOND``, ``MINUTE``, ``DAY``)."""
    return {
        "rateLimitType": kind,
        "interval": interval,
        "intervalNum": interval_num,
        "limit": limit,
    }


def server_time_body(server_ts: float) -> bytes:
    return _encode({"serverTime": _ms(server_ts)})


EMPTY_BODY = b"{}"
"""The answer to ``GET /api/v3/ping``."""


def depth_body(snapshot: DepthSnapshot) -> bytes:
    return _encode(
        {
            "lastUpdateId": snapshot.version,
            "bids": [[decimal(level.price), decimal(level.qty)] for level in snapshot.bids],
            "asks": [[decimal(level.price), decimal(level.qty)] for level in snapshot.asks],
        }
    )


def _book_ticker(quote: Quote) -> dict[str, object]:
    return {
        "symbol": venue_symbol(quote.symbol),
        "bidPrice": decimal(quote.bid),
        "bidQty": decimal(quote.bid_qty),
        "askPrice": decimal(quote.ask),
        "askQty": decimal(quote.ask_qty),
    }


def book_ticker_body(quotes: Sequence[Quote], one: bool) -> bytes:
    """``GET /api/v3/ticker/bookTicker``: an object for one pair asked by ``symbol``,
    else an array."""
    entries = [_book_ticker(quote) for quote in quotes]
    return _encode(entries[0] if one else entries)


def price_ticker_body(prices: Sequence[tuple[Symbol, float]], one: bool) -> bytes:
    """``GET /api/v3/ticker/price``: an object for one pair asked by ``symbol``, else
    an array."""
    entries = [{"symbol": venue_symbol(s), "price": decimal(p)} for s, p in prices]
    return _encode(entries[0] if one else entries)


class OrderFacts(msgspec.Struct, frozen=True):
    """What an order reply says beyond the venue-neutral ``OrderUpdate``: its Binance
    ``type`` and ``timeInForce``, when it was made, and for a market buy by quote
    amount what it asked to spend."""

    update: OrderUpdate
    order_type: str
    time_in_force: str
    created_ts: float
    quote_qty: float = 0.0


def _order_object(facts: OrderFacts) -> dict[str, object]:
    update = facts.update
    filled = update.filled_qty or 0.0
    return {
        "symbol": venue_symbol(update.symbol),
        "orderId": int(update.venue_order_id),
        "orderListId": -1,
        "clientOrderId": update.client_id,
        "price": decimal(update.price or 0.0),
        "origQty": decimal(update.qty or 0.0),
        "executedQty": decimal(filled),
        "cummulativeQuoteQty": decimal(exact_product(filled, update.avg_price or 0.0)),
        "status": status_name(update.status),
        "timeInForce": facts.time_in_force,
        "type": facts.order_type,
        "side": _side_name(update.side),
        "stopPrice": "0",
        "icebergQty": "0",
        "time": _ms(facts.created_ts),
        "updateTime": _ms(update.ts),
        "isWorking": update.status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED),
        "workingTime": _ms(facts.created_ts),
        "origQuoteOrderQty": decimal(facts.quote_qty),
        "selfTradePreventionMode": "NONE",
    }


def new_order_body(facts: OrderFacts, response_type: str, fills: Sequence[Trade] = ()) -> bytes:
    """The reply to ``POST /api/v3/order`` of ``response_type``: ``ACK`` (ids and time),
    ``RESULT`` (the order's state) or ``FULL`` (and each of its fills)."""
    update = facts.update
    head: dict[str, object] = {
        "symbol": venue_symbol(update.symbol),
        "orderId": int(update.venue_order_id),
        "orderListId": -1,
        "clientOrderId": update.client_id,
        "transactTime": _ms(update.ts),
    }
    if response_type == "ACK":
        return _encode(head)
    body = _order_object(facts)
    for name in ("time", "updateTime", "isWorking", "stopPrice", "icebergQty"):
        body.pop(name)
    reply = {**head, **body}
    if response_type == "FULL":
        reply["fills"] = [
            {
                "price": decimal(fill.price),
                "qty": decimal(fill.qty),
                "commission": decimal(fill.fee),
                "commissionAsset": fill.fee_asset,
                "tradeId": int(fill.trade_id),
            }
            for fill in fills
        ]
    return _encode(reply)


def order_body(facts: OrderFacts) -> bytes:
    """The reply to ``GET /api/v3/order``."""
    return _encode(_order_object(facts))


def cancel_body(facts: OrderFacts, cancel_client_id: str, cancel_ts: float) -> bytes:
    """The reply to ``DELETE /api/v3/order``: the order's client id as
    ``origClientOrderId``, the cancel's own as ``clientOrderId``."""
    body = _order_object(facts)
    for name in ("time", "updateTime", "isWorking", "stopPrice", "icebergQty", "workingTime"):
        body.pop(name)
    body["origClientOrderId"] = facts.update.client_id
    body["clientOrderId"] = cancel_client_id
    body["transactTime"] = _ms(cancel_ts)
    return _encode(body)


def orders_body(orders: Sequence[OrderFacts]) -> bytes:
    """The reply to ``GET /api/v3/openOrders`` or ``allOrders``."""
    return _encode([_order_object(facts) for facts in orders])


def account_body(
    balances: Sequence[Balance], maker_fee: float, taker_fee: float, update_ts: float
) -> bytes:
    """``GET /api/v3/account``: a spot account that may trade, deposit and withdraw."""
    return _encode(
        {
            "makerCommission": round(maker_fee * 10_000),
            "takerCommission": round(taker_fee * 10_000),
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": decimal(maker_fee),
                "taker": decimal(taker_fee),
                "buyer": "0",
                "seller": "0",
            },
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": _ms(update_ts),
            "accountType": "SPOT",
            "balances": [
                {"asset": b.asset, "free": decimal(b.free), "locked": decimal(b.locked)}
                for b in balances
            ],
            "permissions": ["SPOT"],
            "uid": 1,
        }
    )


def my_trades_body(trades: Sequence[Trade]) -> bytes:
    return _encode(
        [
            {
                "symbol": venue_symbol(trade.symbol),
                "id": int(trade.trade_id),
                "orderId": int(trade.venue_order_id),
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
            }
            for trade in trades
        ]
    )


# ------------------------------------------------------------------ usage headers


def usage_headers(
    used_weight_1m: int, order_counts: Sequence[tuple[str, int]] = ()
) -> tuple[tuple[str, str], ...]:
    """The headers every reply carries: the IP's weight used this minute, and on an
    order placement the account's orders counted per interval (``10S``, ``1D``)."""
    headers = [(f"{USED_WEIGHT_HEADER}1M", str(used_weight_1m))]
    headers += [(f"{ORDER_COUNT_HEADER}{interval}", str(count)) for interval, count in order_counts]
    return tuple(headers)


# ------------------------------------------------------------------------ errors

_REFUSALS: dict[type[VenueError], tuple[int, str]] = {
    InsufficientBalance: (-2010, "Account has insufficient balance for requested action."),
    DuplicateClientId: (-2010, "Duplicate order sent."),
    TradingDisabled: (-2010, "Market is closed."),
    PriceRejected: (-2010, "Order would immediately match and take."),
    InvalidPrecision: (-1111, "Parameter 'quantity' has too much precision."),
    InvalidSymbol: (-1121, "Invalid symbol."),
    UnknownOrder: (-2013, "Order does not exist."),
    OrderAlreadyFinal: (-2011, "Unknown order sent."),
    InvalidParameter: (-1102, "A mandatory parameter was not sent, was empty/null, or malformed."),
    RateLimited: (-1003, "Too many requests; please use the websocket for live updates."),
    Banned: (-1003, "Way too much request weight used; IP banned."),
    VenueUnavailable: (-1001, "Internal error; unable to process your request. Please try again."),
}
"""The code and message of each refusal that names none: the documented ones. A
cancel of an order that has ended is refused as of an unknown order."""


def _refusal(error: VenueError) -> tuple[int, str]:
    if isinstance(error, BelowMinimum):
        # The engine's message says which minimum: the order's value or its quantity.
        filter_name = "NOTIONAL" if "value" in error.message else "LOT_SIZE"
        return -1013, f"Filter failure: {filter_name}"
    for ancestor in type(error).__mro__:
        if ancestor in _REFUSALS:
            return _REFUSALS[ancestor]
    return -1000, "An unknown error occurred while processing the request."


_WAITS = (RateLimited, Banned, VenueUnavailable)
"""The refusals that may name how long to wait."""


def _status_and_refusal(error: VenueError) -> tuple[int, int, str]:
    """The HTTP status, code and message Binance answers ``error`` with: 429 when rate
    limited, 418 when banned, 503 when unavailable, else 400 (or the error's own 4xx)
    with the code and message (the error's own when it carries a Binance code, the
    documented ones otherwise)."""
    code, message = _refusal(error)
    if isinstance(error.code, int) and error.code < 0:
        code, message = error.code, error.message
    if isinstance(error, RateLimited):
        return 429, code, message
    if isinstance(error, Banned):
        return 418, code, message
    if isinstance(error, VenueUnavailable):
        return 503, code, message
    status = error.http_status if error.http_status and error.http_status < 500 else 400
    return status, code, message


def error_response(error: VenueError) -> RestResponse:
    """The HTTP reply Binance gives for ``error`` (``Retry-After`` the seconds to wait
    when it names them)."""
    status, code, message = _status_and_refusal(error)
    headers: tuple[tuple[str, str], ...] = ()
    retry_after_s = error.retry_after_s if isinstance(error, _WAITS) else None
    if retry_after_s is not None:
        headers = ((RETRY_AFTER_HEADER, str(math.ceil(retry_after_s))),)
    return RestResponse(status, _encode({"code": code, "msg": message}), headers)


# ------------------------------------------------------------- WebSocket API


def api_rate_limit(kind: str, interval: str, interval_num: int, limit: int, count: int) -> dict:
    """One ``rateLimits`` entry of a WebSocket API answer: a limit and what is used."""
    return {**rate_limit_entry(kind, interval, interval_num, limit), "count": count}


def api_result(
    request_id: int | str | None, result: object, rate_limits: Sequence[dict[str, object]]
) -> str:
    """A WebSocket API request answered: status 200 and its ``result``."""
    return _text(
        {"id": request_id, "status": 200, "result": result, "rateLimits": list(rate_limits)}
    )


def api_error(
    request_id: int | str | None,
    error: VenueError,
    rate_limits: Sequence[dict[str, object]],
    server_ts: float,
) -> str:
    """A WebSocket API request refused with ``error``'s status, code and message; rate
    limited or banned, with the server's time and when to retry (ms)."""
    status, code, message = _status_and_refusal(error)
    body: dict[str, object] = {"code": code, "msg": message}
    if isinstance(error, RateLimited | Banned) and error.retry_after_s is not None:
        body["data"] = {
            "serverTime": _ms(server_ts),
            "retryAfter": _ms(server_ts + error.retry_after_s),
        }
    return _text(
        {"id": request_id, "status": status, "error": body, "rateLimits": list(rate_limits)}
    )


def user_data_frame(subscription_id: int, event: dict[str, Any]) -> str:
    """An account event as a subscribed WebSocket API connection receives it."""
    return _text({"subscriptionId": subscription_id, "event": event})


def event_stream_terminated_event(event_ts: float) -> dict[str, Any]:
    """The last event of a subscription that ended."""
    return {"e": "eventStreamTerminated", "E": _ms(event_ts)}
