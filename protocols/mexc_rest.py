"""MEXC spot (API v3) REST, the client's side: build and sign requests, read replies
and errors. Pure: no I/O, no clock (timestamps are passed in), no secrets kept.

Parsers raise ``MalformedResponse`` for a body they cannot read, naming the field,
because a router must act on such a reply (look the order up) rather than skip it.
The simulated venue's side is ``protocols.mexc_encode``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import TypeVar
from urllib.parse import urlencode

import msgspec

from protocols._wire import WireFormatError, decimal, integer, number
from protocols.mexc import EXCHANGE, check_client_id, parse_symbol, venue_symbol
from protocols.model import (
    Order,
    OrderStatus,
    OrderType,
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
    DepthSnapshot,
    InsufficientBalance,
    InvalidParameter,
    InvalidPrecision,
    InvalidSymbol,
    MalformedResponse,
    OrderUpdate,
    RateLimited,
    RestRequest,
    RestResponse,
    TimestampRejected,
    Trade,
    TradingDisabled,
    UnknownOrder,
    VenueError,
    VenueUnavailable,
)

API_PREFIX = "/api/v3"
API_KEY_HEADER = "X-MEXC-APIKEY"
DEFAULT_RECV_WINDOW_MS = 5000
MAX_RECV_WINDOW_MS = 60000


# ------------------------------------------------------------------- REST requests


def sign(secret: str, total_params: str) -> str:
    """MEXC's signature: lowercase hex HMAC-SHA256 of ``total_params`` (the query string
    immediately followed by the body) under ``secret``."""
    return hmac.new(secret.encode(), total_params.encode(), hashlib.sha256).hexdigest()


Params = Sequence[tuple[str, str | int | float | None]]


def _query(params: Params) -> str:
    # Floats go out as plain decimals (never 1e-05); a None is a parameter left out.
    return urlencode(
        [
            (name, decimal(value) if isinstance(value, float) else str(value))
            for name, value in params
            if value is not None
        ]
    )


def public_request(method: str, endpoint: str, params: Params = ()) -> RestRequest:
    """An unsigned request to ``/api/v3/<endpoint>``."""
    return RestRequest(method, f"{API_PREFIX}/{endpoint}", _query(params))


def signed_request(
    method: str,
    endpoint: str,
    params: Params,
    credentials: ApiCredentials,
    timestamp_ms: int,
    recv_window_ms: int = DEFAULT_RECV_WINDOW_MS,
) -> RestRequest:
    """A signed request to ``/api/v3/<endpoint>``: every parameter in the query, then
    ``recvWindow``, ``timestamp`` and last ``signature``; the body is empty."""
    if not 0 < recv_window_ms <= MAX_RECV_WINDOW_MS:
        raise ValueError(f"recvWindow {recv_window_ms} ms is not within 1..{MAX_RECV_WINDOW_MS}")
    query = _query([*params, ("recvWindow", recv_window_ms), ("timestamp", timestamp_ms)])
    return RestRequest(
        method,
        f"{API_PREFIX}/{endpoint}",
        f"{query}&signature={sign(credentials.secret, query)}",
        b"",
        ((API_KEY_HEADER, credentials.key),),
    )


def order_type(order: Order) -> str:
    """MEXC's order ``type`` for ``order``: immediate-or-cancel and friends are types on
    MEXC, not a time in force."""
    return order_type_name(order.type, order.tif)


def order_type_name(kind: OrderType, tif: TimeInForce) -> str:
    """MEXC's order ``type`` for an order of ``kind`` and ``tif`` (a market order's
    ``tif`` does not matter)."""
    if kind is OrderType.MARKET:
        return "MARKET"
    return LIMIT_ORDER_TYPES[tif]


LIMIT_ORDER_TYPES = {
    TimeInForce.GTC: "LIMIT",
    TimeInForce.IOC: "IMMEDIATE_OR_CANCEL",
    TimeInForce.FOK: "FILL_OR_KILL",
    TimeInForce.POST_ONLY: "LIMIT_MAKER",
}
_SIDES = {Side.BUY: "BUY", Side.SELL: "SELL"}


def place_order_request(
    order: Order,
    credentials: ApiCredentials,
    timestamp_ms: int,
    recv_window_ms: int = DEFAULT_RECV_WINDOW_MS,
) -> RestRequest:
    """``POST /api/v3/order`` for ``order`` (quantity in base units, already rounded to
    the venue's step; a market order carries no price)."""
    kind = order_type(order)
    params: Params = [
        ("symbol", venue_symbol(order.symbol)),
        ("side", _SIDES[order.side]),
        ("type", kind),
        ("quantity", float(order.qty)),
        ("price", None if kind == "MARKET" else float(order.price)),
        ("newClientOrderId", check_client_id(order.client_id)),
    ]
    return signed_request("POST", "order", params, credentials, timestamp_ms, recv_window_ms)


def _one_order(symbol: Symbol, client_id: str | None, venue_order_id: str | None) -> Params:
    """The parameters naming one order: its symbol and either id."""
    if client_id is None and venue_order_id is None:
        raise ValueError("name the order by its client id or its venue order id")
    return [
        ("symbol", venue_symbol(symbol)),
        ("orderId", venue_order_id),
        ("origClientOrderId", client_id),
    ]


def cancel_order_request(
    symbol: Symbol,
    credentials: ApiCredentials,
    timestamp_ms: int,
    *,
    client_id: str | None = None,
    venue_order_id: str | None = None,
    recv_window_ms: int = DEFAULT_RECV_WINDOW_MS,
) -> RestRequest:
    """``DELETE /api/v3/order`` for the order named by either id."""
    params = _one_order(symbol, client_id, venue_order_id)
    return signed_request("DELETE", "order", params, credentials, timestamp_ms, recv_window_ms)


def query_order_request(
    symbol: Symbol,
    credentials: ApiCredentials,
    timestamp_ms: int,
    *,
    client_id: str | None = None,
    venue_order_id: str | None = None,
    recv_window_ms: int = DEFAULT_RECV_WINDOW_MS,
) -> RestRequest:
    """``GET /api/v3/order`` for the order named by either id."""
    params = _one_order(symbol, client_id, venue_order_id)
    return signed_request("GET", "order", params, credentials, timestamp_ms, recv_window_ms)


ALL_ORDERS_LIMIT = 1000
"""The most orders one ``allOrders`` reply holds."""


def open_orders_request(
    symbol: Symbol, credentials: ApiCredentials, timestamp_ms: int
) -> RestRequest:
    """``GET /api/v3/openOrders?symbol=X``: the account's open orders in ``symbol``."""
    params: Params = [("symbol", venue_symbol(symbol))]
    return signed_request("GET", "openOrders", params, credentials, timestamp_ms)


def all_orders_request(
    symbol: Symbol, credentials: ApiCredentials, timestamp_ms: int
) -> RestRequest:
    """``GET /api/v3/allOrders?symbol=X``: the account's orders in ``symbol``, open or
    finished, of the venue's default window (the last 24 hours), at most
    :data:`ALL_ORDERS_LIMIT`."""
    params: Params = [("symbol", venue_symbol(symbol)), ("limit", ALL_ORDERS_LIMIT)]
    return signed_request("GET", "allOrders", params, credentials, timestamp_ms)


def account_request(
    credentials: ApiCredentials, timestamp_ms: int, recv_window_ms: int = DEFAULT_RECV_WINDOW_MS
) -> RestRequest:
    """``GET /api/v3/account``: the balances."""
    return signed_request("GET", "account", [], credentials, timestamp_ms, recv_window_ms)


def listen_key_request(
    method: str,
    credentials: ApiCredentials,
    timestamp_ms: int,
    listen_key: str | None = None,
    recv_window_ms: int = DEFAULT_RECV_WINDOW_MS,
) -> RestRequest:
    """``POST`` creates a listen key (valid 60 min), ``PUT`` extends ``listen_key`` (every
    30 min), ``DELETE`` closes it."""
    if method not in ("POST", "PUT", "DELETE"):
        raise ValueError(f"a listen key is created, extended or closed, not {method!r}")
    if (listen_key is None) != (method == "POST"):
        raise ValueError(f"{method} userDataStream takes a listen key exactly when not POST")
    params = [("listenKey", listen_key)]
    return signed_request(
        method, "userDataStream", params, credentials, timestamp_ms, recv_window_ms
    )


def server_time_request() -> RestRequest:
    """``GET /api/v3/time``: the venue's clock, against which signed requests are judged."""
    return public_request("GET", "time")


def my_trades_request(
    symbol: Symbol,
    venue_order_id: str,
    credentials: ApiCredentials,
    timestamp_ms: int,
    recv_window_ms: int = DEFAULT_RECV_WINDOW_MS,
) -> RestRequest:
    """``GET /api/v3/myTrades`` for one order's trades: each with its commission and the
    asset it was charged in."""
    params = [("symbol", venue_symbol(symbol)), ("orderId", venue_order_id)]
    return signed_request("GET", "myTrades", params, credentials, timestamp_ms, recv_window_ms)


def ticker_price_request(symbol: Symbol) -> RestRequest:
    """``GET /api/v3/ticker/price`` for one symbol: its latest price."""
    return public_request("GET", "ticker/price", [("symbol", venue_symbol(symbol))])


def exchange_info_request(symbol: Symbol) -> RestRequest:
    return public_request("GET", "exchangeInfo", [("symbol", venue_symbol(symbol))])


def depth_request(symbol: Symbol, limit: int = 100) -> RestRequest:
    return public_request("GET", "depth", [("symbol", venue_symbol(symbol)), ("limit", limit)])


# ------------------------------------------------------------------ REST responses

Numeric = float | str  # MEXC writes most numbers as strings, a few as numbers


class _ExchangeSymbol(msgspec.Struct):
    symbol: str
    status: str | int
    baseAsset: str
    quoteAsset: str
    baseAssetPrecision: int | str
    quotePrecision: int | str
    baseSizePrecision: Numeric = "0"
    quoteAmountPrecision: Numeric = "0"
    takerCommission: Numeric | None = None


class _ExchangeInfo(msgspec.Struct):
    symbols: list[_ExchangeSymbol]


class _Depth(msgspec.Struct):
    lastUpdateId: int
    bids: list[tuple[Numeric, Numeric]]
    asks: list[tuple[Numeric, Numeric]]


class _RestOrder(msgspec.Struct):
    """The order shape of placement, query, cancel and openOrders replies; placement
    leaves out the client id and status, cancel names the order's client id
    ``origClientOrderId``."""

    symbol: str
    orderId: str | int
    side: str
    price: Numeric = "0"
    origQty: Numeric = "0"
    executedQty: Numeric = "0"
    cummulativeQuoteQty: Numeric = "0"
    status: str | None = None
    clientOrderId: str | None = None
    origClientOrderId: str | None = None
    time: int | None = None
    updateTime: int | None = None
    transactTime: int | None = None


class _Asset(msgspec.Struct):
    asset: str
    free: Numeric
    locked: Numeric


class _Account(msgspec.Struct):
    balances: list[_Asset]


class AccountPermissions(msgspec.Struct, frozen=True):
    """What ``GET /api/v3/account`` says the key may do: ``canTrade`` (orders accepted),
    ``permissions`` (the account types it trades, ``SPOT`` among them for spot orders)."""

    canTrade: bool
    permissions: list[str] = msgspec.field(default_factory=list)


class _ServerTime(msgspec.Struct):
    serverTime: int


class _ListenKey(msgspec.Struct):
    listenKey: str


class _MyTrade(msgspec.Struct):
    symbol: str
    id: str | int
    orderId: str | int
    price: Numeric
    qty: Numeric
    commission: Numeric
    commissionAsset: str
    time: int
    isBuyer: bool
    isMaker: bool
    clientOrderId: str | None = None


class _TickerPrice(msgspec.Struct):
    symbol: str
    price: Numeric


class _ErrorBody(msgspec.Struct):
    code: int | str
    msg: str = ""


_exchange_info_decoder = msgspec.json.Decoder(_ExchangeInfo)
_depth_decoder = msgspec.json.Decoder(_Depth)
_order_decoder = msgspec.json.Decoder(_RestOrder)
_orders_decoder = msgspec.json.Decoder(list[_RestOrder])
_account_decoder = msgspec.json.Decoder(_Account)
_permissions_decoder = msgspec.json.Decoder(AccountPermissions)
_server_time_decoder = msgspec.json.Decoder(_ServerTime)
_listen_key_decoder = msgspec.json.Decoder(_ListenKey)
_error_decoder = msgspec.json.Decoder(_ErrorBody)
_my_trades_decoder = msgspec.json.Decoder(list[_MyTrade])
_ticker_price_decoder = msgspec.json.Decoder(_TickerPrice)


T = TypeVar("T")


def _read(decoder: msgspec.json.Decoder[T], body: bytes, what: str) -> T:
    try:
        return decoder.decode(body)
    except msgspec.DecodeError as error:
        raise MalformedResponse(EXCHANGE, None, f"{what} reply: {error}") from None


def _malformed(what: str, error: WireFormatError) -> MalformedResponse:
    return MalformedResponse(EXCHANGE, None, f"{what} reply: {error}")


ONLINE_STATUSES = frozenset({"1", "ENABLED"})


def parse_exchange_info(body: bytes, symbol: Symbol) -> VenueRules:
    """The rules of ``symbol`` from ``GET /api/v3/exchangeInfo``. Raises ``InvalidSymbol``
    when the reply does not list it and ``TradingDisabled`` when it is not online."""
    info = _read(_exchange_info_decoder, body, "exchangeInfo")
    wanted = venue_symbol(symbol)
    entry = next((entry for entry in info.symbols if entry.symbol == wanted), None)
    if entry is None:
        raise InvalidSymbol(EXCHANGE, None, f"exchangeInfo does not list {wanted}")
    if str(entry.status) not in ONLINE_STATUSES:
        raise TradingDisabled(EXCHANGE, None, f"{wanted} is not online (status {entry.status!r})")
    try:
        qty_decimals = integer(entry.baseAssetPrecision, "baseAssetPrecision")
        price_decimals = integer(entry.quotePrecision, "quotePrecision")
        return VenueRules(
            qty_step=10.0**-qty_decimals,
            # Documented as the minimum order quantity and minimum order amount, despite
            # the names.
            min_qty=number(entry.baseSizePrecision, "baseSizePrecision"),
            min_notional=number(entry.quoteAmountPrecision, "quoteAmountPrecision"),
            price_tick=10.0**-price_decimals,
            taker_fee=(
                None
                if entry.takerCommission is None
                else number(entry.takerCommission, "takerCommission")
            ),
        )
    except WireFormatError as error:
        raise _malformed("exchangeInfo", error) from None


def parse_depth(body: bytes, symbol: Symbol) -> DepthSnapshot:
    """``GET /api/v3/depth``; ``lastUpdateId`` is the version the diff pushes continue."""
    depth = _read(_depth_decoder, body, "depth")
    try:
        return DepthSnapshot(
            symbol,
            depth.lastUpdateId,
            tuple(BookLevel(number(p, "bids.price"), number(q, "bids.qty")) for p, q in depth.bids),
            tuple(BookLevel(number(p, "asks.price"), number(q, "asks.qty")) for p, q in depth.asks),
        )
    except WireFormatError as error:
        raise _malformed("depth", error) from None


REST_ORDER_STATUS = {
    "NEW": OrderStatus.NEW,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELLED,
    "PARTIALLY_CANCELED": OrderStatus.CANCELLED,
}
_REST_SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}


def _order_update(order: _RestOrder, client_id: str | None) -> OrderUpdate:
    if order.status is None:
        status = OrderStatus.NEW  # a placement reply: accepted, fills not reported
    else:
        found = REST_ORDER_STATUS.get(order.status)
        if found is None:
            raise WireFormatError(
                f"status {order.status!r} is not one of {', '.join(REST_ORDER_STATUS)}"
            )
        status = found
    side = _REST_SIDES.get(order.side)
    if side is None:
        raise WireFormatError(f"side {order.side!r} is neither BUY nor SELL")
    filled = number(order.executedQty, "executedQty")
    quote_filled = number(order.cummulativeQuoteQty, "cummulativeQuoteQty")
    ts_ms = order.updateTime or order.transactTime or order.time or 0
    return OrderUpdate(
        symbol=parse_symbol(order.symbol),
        client_id=client_id or order.origClientOrderId or order.clientOrderId or "",
        venue_order_id=str(order.orderId),
        status=status,
        side=side,
        qty=number(order.origQty, "origQty"),
        price=number(order.price, "price"),
        filled_qty=filled,
        avg_price=quote_filled / filled if filled else 0.0,
        ts=ts_ms / 1000.0,
    )


def parse_new_order(body: bytes, client_id: str) -> OrderUpdate:
    """The reply to ``POST /api/v3/order``. It carries neither the client id (so it is
    passed in) nor fills: the order is ``NEW``, its fills come by push or query."""
    order = _read(_order_decoder, body, "new order")
    try:
        return _order_update(order, client_id)
    except WireFormatError as error:
        raise _malformed("new order", error) from None


def parse_order(body: bytes) -> OrderUpdate:
    """The reply to ``GET`` or ``DELETE /api/v3/order``."""
    order = _read(_order_decoder, body, "order")
    try:
        return _order_update(order, None)
    except WireFormatError as error:
        raise _malformed("order", error) from None


def parse_orders(body: bytes) -> list[OrderUpdate]:
    """The reply to ``GET /api/v3/openOrders`` or ``allOrders``: orders shaped as a query's
    reply, each with its client id."""
    orders = _read(_orders_decoder, body, "orders")
    try:
        return [_order_update(order, None) for order in orders]
    except WireFormatError as error:
        raise _malformed("orders", error) from None


def parse_account(body: bytes) -> tuple[Balance, ...]:
    """The balances from ``GET /api/v3/account``."""
    account = _read(_account_decoder, body, "account")
    try:
        return tuple(
            Balance(
                asset.asset,
                number(asset.free, f"{asset.asset}.free"),
                number(asset.locked, f"{asset.asset}.locked"),
            )
            for asset in account.balances
        )
    except WireFormatError as error:
        raise _malformed("account", error) from None


def parse_account_permissions(body: bytes) -> AccountPermissions:
    """``canTrade`` and ``permissions`` from ``GET /api/v3/account``."""
    return _read(_permissions_decoder, body, "account")


def parse_server_time(body: bytes) -> float:
    """The venue's clock from ``GET /api/v3/time`` (``serverTime``, ms), in seconds."""
    return _read(_server_time_decoder, body, "time").serverTime / 1000.0


def parse_my_trades(body: bytes) -> tuple[Trade, ...]:
    """The account's trades from ``GET /api/v3/myTrades``, each fee (``commission``) in
    the asset it was charged in (``commissionAsset``): the quote asset, the base coin,
    or MX."""
    trades = _read(_my_trades_decoder, body, "myTrades")
    try:
        return tuple(
            Trade(
                symbol=parse_symbol(trade.symbol),
                trade_id=str(trade.id),
                client_id=trade.clientOrderId or "",
                venue_order_id=str(trade.orderId),
                side=Side.BUY if trade.isBuyer else Side.SELL,
                qty=number(trade.qty, "qty"),
                price=number(trade.price, "price"),
                fee=number(trade.commission, "commission"),
                fee_asset=trade.commissionAsset,
                is_maker=trade.isMaker,
                ts=trade.time / 1000.0,
            )
            for trade in trades
        )
    except WireFormatError as error:
        raise _malformed("myTrades", error) from None


def parse_ticker_price(body: bytes) -> float:
    """The price from ``GET /api/v3/ticker/price?symbol=``."""
    ticker = _read(_ticker_price_decoder, body, "ticker/price")
    try:
        return number(ticker.price, "price")
    except WireFormatError as error:
        raise _malformed("ticker/price", error) from None


def parse_listen_key(body: bytes) -> str:
    """The key from ``POST /api/v3/userDataStream``."""
    return _read(_listen_key_decoder, body, "userDataStream").listenKey


# ------------------------------------------------------------------------- errors

PRECISION_ERROR_CODE = -1111
"""MEXC does not document a code for an order price or quantity with too many decimals;
Basis assumes Binance's ``-1111`` (MEXC mirrors Binance's codes elsewhere, e.g.
-2011/-2013), and the simulated venue sends it. MEXC's list does have 10096 "amount
decimal places is too long", among its transfer codes; it is read as the same error."""

ERRORS_BY_CODE: dict[int, type[VenueError]] = {
    10101: InsufficientBalance,
    30002: BelowMinimum,
    30003: AboveMaximum,
    30004: InsufficientBalance,  # selling more than the account holds
    30014: InvalidSymbol,
    30021: InvalidSymbol,
    30016: TradingDisabled,
    30018: TradingDisabled,  # market orders disabled for the symbol
    30019: TradingDisabled,
    -2011: UnknownOrder,  # cancel of an order MEXC does not know (or no longer cancels)
    -2013: UnknownOrder,  # query of an order that does not exist
    700002: BadSignature,
    602: BadSignature,
    700003: TimestampRejected,
    PRECISION_ERROR_CODE: InvalidPrecision,
    # From MEXC's published error list; the codes above are in docs/venues.md.
    401: BadCredentials,  # "No authority": unknown or disabled key
    33333: InvalidParameter,  # "param is error"
    44444: InvalidParameter,  # "param cannot be null": a mandatory parameter missing
    700004: InvalidParameter,  # neither orderId nor origClientOrderId sent
    700005: InvalidParameter,  # recvWindow above 60000
    10007: InvalidSymbol,  # "bad symbol"
    10072: BadCredentials,  # "invalid access key"
    700001: BadCredentials,  # "API-key format invalid"
    10096: InvalidPrecision,  # "amount decimal places is too long"
}


def _retry_after_s(response: RestResponse) -> float | None:
    # Retry-After may also be an HTTP date; reading that would need a clock, so a date
    # is treated as "not said".
    value = response.header("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def error_from_response(response: RestResponse) -> VenueError:
    """The typed error for a non-2xx reply: by the body's ``code`` when there is one,
    else by HTTP status (429 rate limited, 418 banned, 5xx unavailable)."""
    try:
        error = _error_decoder.decode(response.body)
        code: int | str | None = error.code
        message = error.msg or f"HTTP {response.status}"
    except msgspec.DecodeError:
        code = None
        message = f"HTTP {response.status}: {response.body[:200].decode(errors='replace')}"
    if response.status == 429:
        return RateLimited(EXCHANGE, code, message, response.status, _retry_after_s(response))
    if response.status == 418:
        return Banned(EXCHANGE, code, message, response.status, _retry_after_s(response))
    kind = ERRORS_BY_CODE.get(code) if isinstance(code, int) else None
    if kind is None and response.status >= 500:
        kind = VenueUnavailable
    return (kind or VenueError)(EXCHANGE, code, message, response.status)
