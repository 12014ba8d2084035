"""Binance USDⓈ-M perpetual futures, the venue's side: the replies, errors, usage headers
and websocket pushes a simulated venue writes, in Binance's formats, so that the
client's side (``protocols.binance_futures``, ``protocols.binance_futures_rest``) and
any other client read them as they read the venue's. Pure: no I/O, no clock.

Numbers are written as Binance writes them: prices and quantities as decimal strings,
times in milliseconds, ids as numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from protocols import binance_signing
from protocols._wire import decimal
from protocols.binance_futures import (
    BOTH,
    SETTLE_ASSET,
    SIDE_NAMES,
    StreamRequest,
    venue_symbol,
)
from protocols.model import Quote, Side, Symbol, VenueRules
from protocols.venue import (
    AboveMaximum,
    BadCredentials,
    BadSignature,
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
    PriceRejected,
    RateLimited,
    ReduceOnlyViolated,
    RestResponse,
    TimestampRejected,
    TradingDisabled,
    UnknownOrder,
    VenueError,
    VenueUnavailable,
)

_encode = msgspec.json.Encoder().encode


def _ms(ts: float) -> int:
    return round(ts * 1000)


def _text(value: float) -> str:
    return decimal(float(value))


# --------------------------------------------------------------------- REST bodies


def server_time_body(now: float) -> bytes:
    return _encode({"serverTime": _ms(now)})


def exchange_info_body(
    listed: Sequence[tuple[Symbol, VenueRules]],
    now: float,
    weight_limit_1m: int,
    orders_10s: int,
    orders_1m: int,
) -> bytes:
    """Every perpetual ``listed`` with its filters: ``PRICE_FILTER`` (tick),
    ``LOT_SIZE`` and ``MARKET_LOT_SIZE`` (step, minimum), ``MIN_NOTIONAL``; and the
    rate limits the venue counts."""
    symbols = []
    for symbol, rules in listed:
        step = rules.qty_step or rules.contract_size
        min_qty = rules.min_qty or step
        filters = [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": _text(rules.price_tick),
                "maxPrice": "4529764",
                "tickSize": _text(rules.price_tick),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": _text(min_qty),
                "maxQty": "1000000",
                "stepSize": _text(step),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": _text(min_qty),
                "maxQty": "1000000",
                "stepSize": _text(step),
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MIN_NOTIONAL", "notional": _text(rules.min_notional)},
        ]
        symbols.append(
            {
                "symbol": venue_symbol(symbol),
                "pair": venue_symbol(symbol),
                "contractType": "PERPETUAL",
                "status": "TRADING",
                "baseAsset": symbol.base,
                "quoteAsset": symbol.quote,
                "marginAsset": symbol.quote,
                "pricePrecision": _decimals(rules.price_tick),
                "quantityPrecision": _decimals(step),
                "baseAssetPrecision": 8,
                "quotePrecision": 8,
                "underlyingType": "COIN",
                "triggerProtect": "0.0500",
                "orderTypes": ["LIMIT", "MARKET"],
                "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
                "filters": filters,
            }
        )
    return _encode(
        {
            "timezone": "UTC",
            "serverTime": _ms(now),
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": weight_limit_1m,
                },
                {
                    "rateLimitType": "ORDERS",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": orders_1m,
                },
                {
                    "rateLimitType": "ORDERS",
                    "interval": "SECOND",
                    "intervalNum": 10,
                    "limit": orders_10s,
                },
            ],
            "exchangeFilters": [],
            "assets": [{"asset": SETTLE_ASSET, "marginAvailable": True}],
            "symbols": symbols,
        }
    )


def _decimals(value: float) -> int:
    text = decimal(value)
    return len(text.split(".")[1]) if "." in text else 0


def depth_body(snapshot: DepthSnapshot, now: float) -> bytes:
    """``GET /fapi/v1/depth``: the book at ``lastUpdateId``."""
    return _encode(
        {
            "lastUpdateId": snapshot.version,
            "E": _ms(now),
            "T": _ms(now),
            "bids": [[_text(level.price), _text(level.qty)] for level in snapshot.bids],
            "asks": [[_text(level.price), _text(level.qty)] for level in snapshot.asks],
        }
    )


class OrderFigures(msgspec.Struct, frozen=True):
    """An order as the venue shows it: ``status`` in Binance's words (``NEW``,
    ``PARTIALLY_FILLED``, ``FILLED``, ``CANCELED``, ``EXPIRED``), quantities in base
    units, ``price`` 0 for a market order, times in Unix seconds."""

    symbol: Symbol
    order_id: int
    client_id: str
    side: Side
    status: str
    type: str
    tif: str
    qty: float
    price: float
    filled_qty: float
    avg_price: float
    reduce_only: bool
    created_ts: float
    updated_ts: float


def _order(order: OrderFigures) -> dict[str, object]:
    return {
        "orderId": order.order_id,
        "symbol": venue_symbol(order.symbol),
        "status": order.status,
        "clientOrderId": order.client_id,
        "price": _text(order.price),
        "avgPrice": _text(order.avg_price),
        "origQty": _text(order.qty),
        "executedQty": _text(order.filled_qty),
        "cumQty": _text(order.filled_qty),
        "cumQuote": _text(round(order.filled_qty * order.avg_price, 8)),
        "timeInForce": order.tif,
        "type": order.type,
        "reduceOnly": order.reduce_only,
        "closePosition": False,
        "side": SIDE_NAMES[order.side],
        "positionSide": BOTH,
        "stopPrice": "0",
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": order.type,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "NONE",
        "goodTillDate": 0,
        "time": _ms(order.created_ts),
        "updateTime": _ms(order.updated_ts),
    }


def order_body(order: OrderFigures) -> bytes:
    """A placement (``RESULT``), query, cancel or amendment reply."""
    return _encode(_order(order))


def orders_body(orders: Sequence[OrderFigures]) -> bytes:
    return _encode([_order(order) for order in orders])


class TradeFigures(msgspec.Struct, frozen=True):
    """One of the account's trades: ``commission`` in ``commission_asset``,
    ``realized_pnl`` what it closed of a position made or lost."""

    symbol: Symbol
    trade_id: int
    order_id: int
    side: Side
    qty: float
    price: float
    commission: float
    commission_asset: str
    is_maker: bool
    realized_pnl: float
    ts: float


def user_trades_body(trades: Sequence[TradeFigures]) -> bytes:
    return _encode(
        [
            {
                "buyer": trade.side is Side.BUY,
                "commission": _text(trade.commission),
                "commissionAsset": trade.commission_asset,
                "id": trade.trade_id,
                "maker": trade.is_maker,
                "orderId": trade.order_id,
                "price": _text(trade.price),
                "qty": _text(trade.qty),
                "quoteQty": _text(round(trade.qty * trade.price, 8)),
                "realizedPnl": _text(trade.realized_pnl),
                "side": SIDE_NAMES[trade.side],
                "positionSide": BOTH,
                "symbol": venue_symbol(trade.symbol),
                "time": _ms(trade.ts),
            }
            for trade in trades
        ]
    )


class PositionFigures(msgspec.Struct, frozen=True):
    """A one-way position: ``qty`` in base units, negative when short."""

    symbol: Symbol
    qty: float
    entry_price: float
    mark_price: float
    unrealised_pnl: float
    liq_price: float
    leverage: float
    margin_type: str
    """``isolated`` or ``cross``."""
    isolated_margin: float
    max_notional: float
    updated_ts: float


def position_risk_body(positions: Sequence[PositionFigures]) -> bytes:
    return _encode(
        [
            {
                "symbol": venue_symbol(p.symbol),
                "positionAmt": _text(p.qty),
                "entryPrice": _text(p.entry_price),
                "breakEvenPrice": _text(p.entry_price),
                "markPrice": _text(p.mark_price),
                "unRealizedProfit": _text(round(p.unrealised_pnl, 8)),
                "liquidationPrice": _text(p.liq_price),
                "leverage": str(int(p.leverage)),
                "maxNotionalValue": _text(p.max_notional),
                "marginType": p.margin_type,
                "isolatedMargin": _text(round(p.isolated_margin, 8)),
                "isAutoAddMargin": "false",
                "positionSide": BOTH,
                "notional": _text(round(p.qty * p.mark_price, 8)),
                "isolatedWallet": _text(round(p.isolated_margin, 8)),
                "updateTime": _ms(p.updated_ts),
            }
            for p in positions
        ]
    )


def account_body(
    wallet: float,
    available: float,
    unrealised_pnl: float,
    position_margin: float,
    order_margin: float,
    positions: Sequence[PositionFigures],
    now: float,
) -> bytes:
    """``GET /fapi/v2/account`` (and ``v3``): the USDT wallet and each position; the
    asset's ``updateTime`` is ``now`` (clients skip an asset never updated, time 0)."""
    margin_balance = wallet + unrealised_pnl
    usdt = {
        "asset": SETTLE_ASSET,
        "walletBalance": _text(round(wallet, 8)),
        "unrealizedProfit": _text(round(unrealised_pnl, 8)),
        "marginBalance": _text(round(margin_balance, 8)),
        "maintMargin": "0",
        "initialMargin": _text(round(position_margin + order_margin, 8)),
        "positionInitialMargin": _text(round(position_margin, 8)),
        "openOrderInitialMargin": _text(round(order_margin, 8)),
        "crossWalletBalance": _text(round(wallet, 8)),
        "crossUnPnl": "0",
        "availableBalance": _text(round(available, 8)),
        "maxWithdrawAmount": _text(round(max(0.0, available), 8)),
        "marginAvailable": True,
        "updateTime": _ms(now),
    }
    return _encode(
        {
            "feeTier": 0,
            "canTrade": True,
            "canDeposit": True,
            "canWithdraw": True,
            "updateTime": 0,
            "multiAssetsMargin": False,
            "totalInitialMargin": usdt["initialMargin"],
            "totalMaintMargin": "0",
            "totalWalletBalance": usdt["walletBalance"],
            "totalUnrealizedProfit": usdt["unrealizedProfit"],
            "totalMarginBalance": usdt["marginBalance"],
            "totalPositionInitialMargin": usdt["positionInitialMargin"],
            "totalOpenOrderInitialMargin": usdt["openOrderInitialMargin"],
            "totalCrossWalletBalance": usdt["crossWalletBalance"],
            "totalCrossUnPnl": "0",
            "availableBalance": usdt["availableBalance"],
            "maxWithdrawAmount": usdt["maxWithdrawAmount"],
            "assets": [usdt],
            "positions": [
                {
                    "symbol": venue_symbol(p.symbol),
                    "initialMargin": _text(round(p.isolated_margin, 8)),
                    "maintMargin": "0",
                    "unrealizedProfit": _text(round(p.unrealised_pnl, 8)),
                    "positionInitialMargin": _text(round(p.isolated_margin, 8)),
                    "openOrderInitialMargin": "0",
                    "leverage": str(int(p.leverage)),
                    "isolated": p.margin_type == "isolated",
                    "entryPrice": _text(p.entry_price),
                    "maxNotional": _text(p.max_notional),
                    "positionSide": BOTH,
                    "positionAmt": _text(p.qty),
                    "updateTime": _ms(p.updated_ts),
                }
                for p in positions
            ],
        }
    )


def ticker_24h_body(
    symbol: Symbol,
    open_price: float,
    high: float,
    low: float,
    last: float,
    volume: float,
    quote_volume: float,
    now: float,
) -> dict[str, object]:
    """One symbol of ``GET /fapi/v1/ticker/24hr`` (a list of these without a symbol)."""
    change = last - open_price
    return {
        "symbol": venue_symbol(symbol),
        "priceChange": _text(round(change, 8)),
        "priceChangePercent": _text(round(100.0 * change / open_price, 3) if open_price else 0.0),
        "weightedAvgPrice": _text(round(quote_volume / volume, 8) if volume else last),
        "lastPrice": _text(last),
        "lastQty": "0",
        "openPrice": _text(open_price),
        "highPrice": _text(high),
        "lowPrice": _text(low),
        "volume": _text(round(volume, 8)),
        "quoteVolume": _text(round(quote_volume, 8)),
        "openTime": _ms(now - 86400.0),
        "closeTime": _ms(now),
        "firstId": 0,
        "lastId": 0,
        "count": 0,
    }


class BracketFigures(msgspec.Struct, frozen=True):
    """One notional bracket: positions worth up to ``notional_cap`` USDT (above the
    bracket before's) need ``maintenance_rate`` of their value as maintenance margin, and
    may be opened at up to ``leverage_max``."""

    notional_cap: float
    maintenance_rate: float
    leverage_max: float


def leverage_brackets_body(listed: Sequence[tuple[Symbol, Sequence[BracketFigures]]]) -> bytes:
    """``GET /fapi/v1/leverageBracket``: each symbol's notional brackets. ``cum`` is
    the maintenance amount carried over from the brackets below, as Binance computes it:
    the floor of each bracket times the rise in rate there, summed."""
    return _encode(
        [
            {"symbol": venue_symbol(symbol), "brackets": _brackets(brackets)}
            for symbol, brackets in listed
        ]
    )


def _brackets(brackets: Sequence[BracketFigures]) -> list[dict[str, object]]:
    written = []
    floor = cum = previous_rate = 0.0
    for n, bracket in enumerate(brackets, start=1):
        cum += floor * (bracket.maintenance_rate - previous_rate)
        written.append(
            {
                "bracket": n,
                "initialLeverage": int(bracket.leverage_max),
                "notionalCap": bracket.notional_cap,
                "notionalFloor": floor,
                "maintMarginRatio": bracket.maintenance_rate,
                "cum": round(cum, 8),
            }
        )
        floor, previous_rate = bracket.notional_cap, bracket.maintenance_rate
    return written


def position_mode_body(dual: bool) -> bytes:
    return _encode({"dualSidePosition": dual})


def success_body() -> bytes:
    """What a settings change that took answers (margin type, position mode)."""
    return _encode({"code": 200, "msg": "success"})


def leverage_body(symbol: Symbol, leverage: float, max_notional: float) -> bytes:
    return _encode(
        {
            "leverage": int(leverage),
            "maxNotionalValue": _text(max_notional),
            "symbol": venue_symbol(symbol),
        }
    )


def commission_rate_body(symbol: Symbol, maker: float, taker: float) -> bytes:
    return _encode(
        {
            "symbol": venue_symbol(symbol),
            "makerCommissionRate": _text(maker),
            "takerCommissionRate": _text(taker),
        }
    )


def premium_index_body(
    symbol: Symbol,
    mark_price: float,
    index_price: float,
    funding_rate: float,
    next_funding_ts: float,
    now: float,
) -> dict[str, object]:
    """One symbol of ``GET /fapi/v1/premiumIndex`` (a list of these without a symbol)."""
    return {
        "symbol": venue_symbol(symbol),
        "markPrice": _text(mark_price),
        "indexPrice": _text(index_price),
        "estimatedSettlePrice": _text(index_price),
        "lastFundingRate": _text(funding_rate),
        "interestRate": "0.00010000",
        "nextFundingTime": _ms(next_funding_ts),
        "time": _ms(now),
    }


def json_body(value: object) -> bytes:
    return _encode(value)


def funding_info_body(intervals: Sequence[tuple[Symbol, float, float]]) -> bytes:
    """``GET /fapi/v1/fundingInfo``: ``(symbol, interval in seconds, rate cap)`` of each
    symbol listed."""
    return _encode(
        [
            {
                "symbol": venue_symbol(symbol),
                "adjustedFundingRateCap": _text(cap),
                "adjustedFundingRateFloor": _text(-cap),
                "fundingIntervalHours": round(interval_s / 3600.0),
                "disclaimer": False,
            }
            for symbol, interval_s, cap in intervals
        ]
    )


def funding_rate_history_body(history: Sequence[tuple[Symbol, float, float, float]]) -> bytes:
    """``GET /fapi/v1/fundingRate``: ``(symbol, settlement time, rate, mark price)``."""
    return _encode(
        [
            {
                "symbol": venue_symbol(symbol),
                "fundingTime": _ms(ts),
                "fundingRate": _text(rate),
                "markPrice": _text(mark),
            }
            for symbol, ts, rate, mark in history
        ]
    )


class IncomeFigures(msgspec.Struct, frozen=True):
    """One income record: ``amount`` of ``asset`` (positive received) at ``ts``."""

    symbol: Symbol
    income_type: str
    amount: float
    ts: float
    tran_id: int
    info: str = ""


def income_body(records: Sequence[IncomeFigures]) -> bytes:
    return _encode(
        [
            {
                "symbol": venue_symbol(r.symbol),
                "incomeType": r.income_type,
                "income": _text(round(r.amount, 8)),
                "asset": SETTLE_ASSET,
                "info": r.info,
                "time": _ms(r.ts),
                "tranId": r.tran_id,
                "tradeId": "",
            }
            for r in records
        ]
    )


def listen_key_body(listen_key: str) -> bytes:
    return _encode({"listenKey": listen_key})


def empty_body() -> bytes:
    return b"{}"


# ------------------------------------------------------------------------- errors

ERROR_CODES: dict[type[VenueError], tuple[int, int, str]] = {
    RateLimited: (
        429,
        -1003,
        "Too many requests; current limit is 2400 requests per minute. Please use the "
        "websocket for live updates to avoid polling the API.",
    ),
    Banned: (418, -1003, "Way too many requests; IP banned."),
    VenueUnavailable: (
        503,
        -1008,
        "Server is currently overloaded with other requests. Please try again in a few minutes.",
    ),
    TimestampRejected: (400, -1021, "Timestamp for this request is outside of the recvWindow."),
    BadSignature: (400, -1022, "Signature for this request is not valid."),
    BadCredentials: (401, -2015, "Invalid API-key, IP, or permissions for action."),
    InvalidSymbol: (400, -1121, "Invalid symbol."),
    InvalidPrecision: (400, -1111, "Precision is over the maximum defined for this asset."),
    UnknownOrder: (400, -2013, "Order does not exist."),
    OrderAlreadyFinal: (400, -2011, "Unknown order sent."),
    InsufficientBalance: (400, -2019, "Margin is insufficient."),
    ReduceOnlyViolated: (400, -2022, "ReduceOnly Order is rejected."),
    BelowMinimum: (
        400,
        -4164,
        "Order's notional must be no smaller than 5.0 (unless you choose reduce only)",
    ),
    AboveMaximum: (400, -4005, "Quantity greater than max quantity."),
    PriceRejected: (400, -4016, "Price is higher than mark price multiplier cap."),
    TradingDisabled: (400, -4141, "Symbol is closed."),
    DuplicateClientId: (400, -4116, "clientOrderId is duplicated"),
    InvalidParameter: (400, -1130, "Data sent for parameter is not valid."),
}
"""Each error as Binance answers it: HTTP status, code and the venue's own text."""


def error_response(error: VenueError) -> RestResponse:
    """``error`` in Binance's words: its HTTP status and ``{"code", "msg"}``; a code the
    error already carries as a number is Binance's own, kept. A 429 or 418 names the
    wait in ``Retry-After``."""
    status, code, text = 400, -1000, "An unknown error occurred while processing the request."
    for kind in type(error).__mro__:
        if kind in ERROR_CODES:
            status, code, text = ERROR_CODES[kind]
            break
    if isinstance(error.code, int):
        # Already in Binance's words: its code and its text.
        code, message = error.code, error.message or text
    else:
        message = f"{text} ({error.message})" if error.message and error.message != text else text
    headers: tuple[tuple[str, str], ...] = ()
    if error.retry_after_s is not None and status in (418, 429):
        headers = ((binance_signing.RETRY_AFTER_HEADER, str(max(1, round(error.retry_after_s)))),)
    return RestResponse(status, _encode({"code": code, "msg": message}), headers)


def usage_headers(weight_1m: int, orders_10s: int | None, orders_1m: int | None):
    """The usage headers of a reply: the IP's weight used this minute, and after an
    order request, the account's orders in the last 10 s and minute."""
    headers = [(f"{binance_signing.USED_WEIGHT_HEADER}1M", str(weight_1m))]
    if orders_10s is not None:
        headers.append((f"{binance_signing.ORDER_COUNT_HEADER}10S", str(orders_10s)))
    if orders_1m is not None:
        headers.append((f"{binance_signing.ORDER_COUNT_HEADER}1M", str(orders_1m)))
    return tuple(headers)


# ----------------------------------------------------------------------- websocket


def request_answer(request: StreamRequest, result: Sequence[str] | None = None) -> str:
    """The answer to a request: ``result`` null for (un)subscribing, the streams
    followed for ``LIST_SUBSCRIPTIONS``."""
    return _encode({"result": None if result is None else list(result), "id": request.id}).decode()


def request_error(request_id: int | str | None, code: int, message: str) -> str:
    return _encode({"error": {"code": code, "msg": message}, "id": request_id}).decode()


def combined(stream: str, payload: str) -> str:
    """A payload as a combined stream (``/stream``) carries it."""
    return f'{{"stream":{_encode(stream).decode()},"data":{payload}}}'


def book_ticker_push(quote: Quote, update_id: int, now: float) -> str:
    return _encode(
        {
            "e": "bookTicker",
            "u": update_id,
            "s": venue_symbol(quote.symbol),
            "b": _text(quote.bid),
            "B": _text(quote.bid_qty),
            "a": _text(quote.ask),
            "A": _text(quote.ask_qty),
            "T": _ms(now),
            "E": _ms(now),
        }
    ).decode()


def depth_update_push(diff: DepthDiff, previous_u: int, now: float) -> str:
    """A diff as ``depthUpdate``: ``U..u`` its versions, ``pu`` the ``u`` of the update
    the stream carried before it."""
    return _encode(
        {
            "e": "depthUpdate",
            "E": _ms(now),
            "T": _ms(now),
            "s": venue_symbol(diff.symbol),
            "U": diff.first_version,
            "u": diff.last_version,
            "pu": previous_u,
            "b": [[_text(level.price), _text(level.qty)] for level in diff.bids],
            "a": [[_text(level.price), _text(level.qty)] for level in diff.asks],
        }
    ).decode()


def mark_price_push(
    symbol: Symbol,
    mark_price: float,
    index_price: float,
    funding_rate: float,
    next_funding_ts: float,
    now: float,
) -> str:
    return _encode(
        {
            "e": "markPriceUpdate",
            "E": _ms(now),
            "s": venue_symbol(symbol),
            "p": _text(mark_price),
            "i": _text(index_price),
            "P": _text(index_price),
            "r": _text(funding_rate),
            "T": _ms(next_funding_ts),
        }
    ).decode()


class FillFigures(msgspec.Struct, frozen=True):
    """The trade an order update reports: ``qty`` at ``price``, its commission."""

    trade_id: int
    qty: float
    price: float
    commission: float
    commission_asset: str
    is_maker: bool
    realized_pnl: float


def order_trade_update_push(
    order: OrderFigures, execution: str, fill: FillFigures | None, now: float
) -> str:
    """``ORDER_TRADE_UPDATE``: ``order`` as it stands after ``execution`` (``NEW``,
    ``TRADE``, ``CANCELED``, ``EXPIRED``, ``AMENDMENT``), with ``fill`` when it traded."""
    body: dict[str, object] = {
        "s": venue_symbol(order.symbol),
        "c": order.client_id,
        "S": SIDE_NAMES[order.side],
        "o": order.type,
        "f": order.tif,
        "q": _text(order.qty),
        "p": _text(order.price),
        "ap": _text(order.avg_price),
        "sp": "0",
        "x": execution,
        "X": order.status,
        "i": order.order_id,
        "l": _text(fill.qty) if fill else "0",
        "z": _text(order.filled_qty),
        "L": _text(fill.price) if fill else "0",
        "T": _ms(now),
        "t": fill.trade_id if fill else 0,
        "b": "0",
        "a": "0",
        "m": fill.is_maker if fill else False,
        "R": order.reduce_only,
        "wt": "CONTRACT_PRICE",
        "ot": order.type,
        "ps": BOTH,
        "cp": False,
        "rp": _text(fill.realized_pnl) if fill else "0",
        "pP": False,
        "si": 0,
        "ss": 0,
        "V": "NONE",
        "pm": "NONE",
        "gtd": 0,
    }
    if fill is not None:
        body["N"] = fill.commission_asset
        body["n"] = _text(fill.commission)
    return _encode({"e": "ORDER_TRADE_UPDATE", "E": _ms(now), "T": _ms(now), "o": body}).decode()


def account_update_push(
    reason: str,
    wallet: float,
    positions: Sequence[PositionFigures],
    now: float,
    balance_change: float = 0.0,
) -> str:
    """``ACCOUNT_UPDATE`` for ``reason`` (``ORDER``, ``FUNDING_FEE``, ...): the USDT
    wallet and the positions that changed."""
    return _encode(
        {
            "e": "ACCOUNT_UPDATE",
            "E": _ms(now),
            "T": _ms(now),
            "a": {
                "m": reason,
                "B": [
                    {
                        "a": SETTLE_ASSET,
                        "wb": _text(round(wallet, 8)),
                        "cw": _text(round(wallet, 8)),
                        "bc": _text(round(balance_change, 8)),
                    }
                ],
                "P": [
                    {
                        "s": venue_symbol(p.symbol),
                        "pa": _text(p.qty),
                        "ep": _text(p.entry_price),
                        "bep": _text(p.entry_price),
                        "cr": "0",
                        "up": _text(round(p.unrealised_pnl, 8)),
                        "mt": p.margin_type,
                        "iw": _text(round(p.isolated_margin, 8)),
                        "ps": BOTH,
                    }
                    for p in positions
                ],
            },
        }
    ).decode()


def listen_key_expired_push(listen_key: str, now: float) -> str:
    return _encode({"e": "listenKeyExpired", "E": _ms(now), "listenKey": listen_key}).decode()
