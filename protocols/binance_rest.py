"""Binance spot (API v3) REST, the client's side: build and sign requests, read replies
and errors. Pure: no I/O, no clock (timestamps are passed in), no secrets kept.

Parsers raise ``MalformedResponse`` for a body they cannot read, naming the field,
because a router must act on such a reply (look the order up) rather than skip it.
Signing and the usage headers are ``protocols.binance_signing``'s; the simulated venue's
side is ``protocols.binance_encode``.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

from protocols._wire import WireFormatError, number
from protocols.binance import (
    EXCHANGE,
    check_client_id,
    order_status,
    parse_symbol,
    side,
    venue_symbol,
)
from protocols.binance_signing import (
    DEFAULT_RECV_WINDOW_MS,
    Params,
    query,
    retry_after_s,
    signed_query,
)
from protocols.model import Order, OrderStatus, OrderType, Side, Symbol, TimeInForce, VenueRules
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
    DuplicateClientId,
    InsufficientBalance,
    InvalidParameter,
    InvalidPrecision,
    InvalidSymbol,
    MalformedResponse,
    OrderUpdate,
    PriceRejected,
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


# ------------------------------------------------------------------- REST requests


def public_request(method: str, endpoint: str, params: Params = ()) -> RestRequest:
    """An unsigned request to ``/api/v3/<endpoint>``."""
    return RestRequest(method, f"{API_PREFIX}/{endpoint}", query(params))


def signed_request(
    method: str,
    endpoint: str,
    params: Params,
    credentials: ApiCredentials,
    timestamp_ms: int,
    recv_window_ms: int = DEFAULT_RECV_WINDOW_MS,
) -> RestRequest:
    """A SIGNED request to ``/api/v3/<endpoint>``, every parameter in the query."""
    text, headers = signed_query(params, credentials, timestamp_ms, recv_window_ms)
    return RestRequest(method, f"{API_PREFIX}/{endpoint}", text, b"", headers)


ORDER_RESPONSE_TYPE = "RESULT"
"""What placements ask to be answered with: the order's status and what filled at
once (``ACK`` says neither; ``FULL`` adds each fill, which the private stream and
``myTrades`` tell with the fee's asset anyway)."""
TIME_IN_FORCE = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"}
_SIDES = {Side.BUY: "BUY", Side.SELL: "SELL"}


def order_type_name(kind: OrderType, tif: TimeInForce) -> str:
    """Binance's ``type`` for an order of ``kind`` and ``tif``: a post-only limit order
    is a ``LIMIT_MAKER``."""
    if kind is OrderType.MARKET:
        return "MARKET"
    return "LIMIT_MAKER" if tif is TimeInForce.POST_ONLY else "LIMIT"


def place_order_request(
    order: Order,
    credentials: ApiCredentials,
    timestamp_ms: int,
    recv_window_ms: int = DEFAULT_RECV_WINDOW_MS,
) -> RestRequest:
    """``POST /api/v3/order`` for ``order`` (quantity in base units, already rounded to
    the venue's step; a market order carries no price, a ``LIMIT_MAKER`` no time in
    force)."""
    kind = order_type_name(order.type, order.tif)
    params: Params = [
        ("symbol", venue_symbol(order.symbol)),
        ("side", _SIDES[order.side]),
        ("type", kind),
        ("timeInForce", TIME_IN_FORCE[order.tif] if kind == "LIMIT" else None),
        ("quantity", float(order.qty)),
        ("price", None if kind == "MARKET" else float(order.price)),
        ("newClientOrderId", check_client_id(order.client_id)),
        ("newOrderRespType", ORDER_RESPONSE_TYPE),
    ]
    return signed_request("POST", "order", params, credentials, timestamp_ms, recv_window_ms)


def _one_order(symbol: Symbol, client_id: str | None, venue_order_id: str | None) -> Params:
    """The parameters naming one order: its symbol and either id (with both, Binance
    finds it by ``orderId`` and checks the client id matches)."""
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
    return signed_request(
        "GET", "openOrders", [("symbol", venue_symbol(symbol))], credentials, timestamp_ms
    )


def all_orders_request(
    symbol: Symbol, credentials: ApiCredentials, timestamp_ms: int
) -> RestRequest:
    """``GET /api/v3/allOrders?symbol=X``: the account's most recent orders in
    ``symbol``, open or finished, at most :data:`ALL_ORDERS_LIMIT`."""
    params: Params = [("symbol", venue_symbol(symbol)), ("limit", ALL_ORDERS_LIMIT)]
    return signed_request("GET", "allOrders", params, credentials, timestamp_ms)


def account_request(
    credentials: ApiCredentials, timestamp_ms: int, recv_window_ms: int = DEFAULT_RECV_WINDOW_MS
) -> RestRequest:
    """``GET /api/v3/account``: the balances (the zero ones left out)."""
    params: Params = [("omitZeroBalances", "true")]
    return signed_request("GET", "account", params, credentials, timestamp_ms, recv_window_ms)


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


def book_ticker_request(symbol: Symbol) -> RestRequest:
    """``GET /api/v3/ticker/bookTicker`` for one symbol: its best bid and ask."""
    return public_request("GET", "ticker/bookTicker", [("symbol", venue_symbol(symbol))])


def exchange_info_request(symbol: Symbol) -> RestRequest:
    return public_request("GET", "exchangeInfo", [("symbol", venue_symbol(symbol))])


DEPTH_LIMIT = 100
"""Levels a depth snapshot asks for: up to 100 weighs 5, the least there is."""


def depth_request(symbol: Symbol, limit: int = DEPTH_LIMIT) -> RestRequest:
    return public_request("GET", "depth", [("symbol", venue_symbol(symbol)), ("limit", limit)])


# ------------------------------------------------------------------ REST responses


class _Filter(msgspec.Struct):
    filterType: str
    tickSize: str | None = None
    stepSize: str | None = None
    minQty: str | None = None
    maxQty: str | None = None
    minNotional: str | None = None


class _ExchangeSymbol(msgspec.Struct):
    symbol: str
    status: str
    baseAsset: str
    quoteAsset: str
    filters: list[_Filter] = []


class _ExchangeInfo(msgspec.Struct):
    symbols: list[_ExchangeSymbol]


class _Depth(msgspec.Struct):
    lastUpdateId: int
    bids: list[tuple[str, str]]
    asks: list[tuple[str, str]]


class _RestOrder(msgspec.Struct):
    """The order of placement (ACK, RESULT, FULL), query, cancel and list replies; an
    ACK leaves out all but the ids and time, a cancel names the order's client id
    ``origClientOrderId`` (``clientOrderId`` is the cancel's own)."""

    symbol: str
    orderId: int
    clientOrderId: str = ""
    origClientOrderId: str | None = None
    side: str | None = None
    price: str = "0"
    origQty: str = "0"
    executedQty: str = "0"
    cummulativeQuoteQty: str = "0"
    status: str | None = None
    time: int | None = None
    updateTime: int | None = None
    transactTime: int | None = None


class _Asset(msgspec.Struct):
    asset: str
    free: str
    locked: str


class _Account(msgspec.Struct):
    balances: list[_Asset]


class AccountPermissions(msgspec.Struct, frozen=True):
    """What ``GET /api/v3/account`` says the key may do: ``canTrade`` (orders accepted),
    ``permissions`` (the account types it trades, ``SPOT`` among them for spot orders)."""

    canTrade: bool
    permissions: list[str] = msgspec.field(default_factory=list)


class _CommissionRates(msgspec.Struct):
    taker: str


class _Commissions(msgspec.Struct):
    commissionRates: _CommissionRates | None = None


class _ServerTime(msgspec.Struct):
    serverTime: int


class _MyTrade(msgspec.Struct):
    symbol: str
    id: int
    orderId: int
    price: str
    qty: str
    commission: str
    commissionAsset: str
    time: int
    isBuyer: bool
    isMaker: bool


class _TickerPrice(msgspec.Struct):
    symbol: str
    price: str


class _ErrorBody(msgspec.Struct):
    code: int
    msg: str = ""


_exchange_info_decoder = msgspec.json.Decoder(_ExchangeInfo)
_depth_decoder = msgspec.json.Decoder(_Depth)
_order_decoder = msgspec.json.Decoder(_RestOrder)
_orders_decoder = msgspec.json.Decoder(list[_RestOrder])
_account_decoder = msgspec.json.Decoder(_Account)
_permissions_decoder = msgspec.json.Decoder(AccountPermissions)
_commissions_decoder = msgspec.json.Decoder(_Commissions)
_server_time_decoder = msgspec.json.Decoder(_ServerTime)
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


def parse_exchange_info(body: bytes, symbol: Symbol) -> VenueRules:
    """The rules of ``symbol`` from ``GET /api/v3/exchangeInfo``: its ``PRICE_FILTER``
    tick, ``LOT_SIZE`` step and minimum, and the minimum order value of its
    ``NOTIONAL`` (or older ``MIN_NOTIONAL``) filter. Raises ``InvalidSymbol`` when the
    reply does not list it and ``TradingDisabled`` when it is not ``TRADING``."""
    info = _read(_exchange_info_decoder, body, "exchangeInfo")
    wanted = venue_symbol(symbol)
    entry = next((entry for entry in info.symbols if entry.symbol == wanted), None)
    if entry is None:
        raise InvalidSymbol(EXCHANGE, None, f"exchangeInfo does not list {wanted}")
    if entry.status != "TRADING":
        raise TradingDisabled(EXCHANGE, None, f"{wanted} is not trading (status {entry.status})")
    filters = {f.filterType: f for f in entry.filters}
    try:
        price, lot = filters.get("PRICE_FILTER"), filters.get("LOT_SIZE")
        notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL")
        return VenueRules(
            qty_step=_filter_number(lot and lot.stepSize, "LOT_SIZE.stepSize"),
            min_qty=_filter_number(lot and lot.minQty, "LOT_SIZE.minQty"),
            min_notional=_filter_number(notional and notional.minNotional, "minNotional"),
            price_tick=_filter_number(price and price.tickSize, "PRICE_FILTER.tickSize"),
        )
    except WireFormatError as error:
        raise _malformed("exchangeInfo", error) from None


def _filter_number(text: str | None, where: str) -> float:
    """A filter's figure; 0 (no such rule) when the filter or the figure is absent."""
    return 0.0 if not text else number(text, where)


def parse_depth(body: bytes, symbol: Symbol) -> DepthSnapshot:
    """``GET /api/v3/depth``; ``lastUpdateId`` is the version the diff stream continues."""
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


def _order_update(order: _RestOrder, client_id: str | None) -> OrderUpdate:
    # An ACK carries no status: the order is accepted, its fills come by push or query.
    status = OrderStatus.NEW if order.status is None else order_status(order.status, "status")
    filled = number(order.executedQty, "executedQty")
    quote_filled = number(order.cummulativeQuoteQty, "cummulativeQuoteQty")
    ts_ms = order.updateTime or order.transactTime or order.time or 0
    return OrderUpdate(
        symbol=parse_symbol(order.symbol),
        client_id=client_id or order.origClientOrderId or order.clientOrderId,
        venue_order_id=str(order.orderId),
        status=status,
        side=None if order.side is None else side(order.side, "side"),
        qty=number(order.origQty, "origQty"),
        price=number(order.price, "price"),
        filled_qty=filled,
        # Negative for some historical orders: the quote amount is not known then.
        avg_price=quote_filled / filled if filled and quote_filled >= 0.0 else 0.0,
        ts=ts_ms / 1000.0,
    )


def parse_new_order(body: bytes, client_id: str) -> OrderUpdate:
    """The reply to ``POST /api/v3/order`` (any ``newOrderRespType``)."""
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
    """The reply to ``GET /api/v3/openOrders`` or ``allOrders``."""
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


def parse_taker_fee(body: bytes) -> float | None:
    """The account's taker fee rate from ``GET /api/v3/account`` (``commissionRates``'
    ``taker``), or ``None`` when the reply gives no rates."""
    rates = _read(_commissions_decoder, body, "account").commissionRates
    if rates is None:
        return None
    try:
        return number(rates.taker, "commissionRates.taker")
    except WireFormatError as error:
        raise _malformed("account", error) from None


def parse_server_time(body: bytes) -> float:
    """The venue's clock from ``GET /api/v3/time`` (``serverTime``, ms), in seconds."""
    return _read(_server_time_decoder, body, "time").serverTime / 1000.0


def parse_my_trades(body: bytes) -> tuple[Trade, ...]:
    """The account's trades from ``GET /api/v3/myTrades``, each fee (``commission``) in
    the asset it was charged in (``commissionAsset``: by default the asset received,
    or BNB). They name no client id."""
    trades = _read(_my_trades_decoder, body, "myTrades")
    try:
        return tuple(
            Trade(
                symbol=parse_symbol(trade.symbol),
                trade_id=str(trade.id),
                client_id="",
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


# ------------------------------------------------------------------------- errors

ERRORS_BY_CODE: dict[int, type[VenueError]] = {
    -1000: VenueUnavailable,  # UNKNOWN
    -1001: VenueUnavailable,  # DISCONNECTED: internal error, try again
    -1002: BadCredentials,  # UNAUTHORIZED
    -1003: RateLimited,  # TOO_MANY_REQUESTS
    -1006: VenueUnavailable,  # UNEXPECTED_RESP: execution status unknown
    -1007: VenueUnavailable,  # TIMEOUT: send status unknown, execution status unknown
    -1008: VenueUnavailable,  # SERVER_BUSY
    -1013: InvalidParameter,  # INVALID_MESSAGE: refined by its filter failure
    -1014: InvalidParameter,  # UNKNOWN_ORDER_COMPOSITION
    -1015: RateLimited,  # TOO_MANY_ORDERS
    -1016: VenueUnavailable,  # SERVICE_SHUTTING_DOWN
    -1021: TimestampRejected,  # INVALID_TIMESTAMP
    -1022: BadSignature,  # INVALID_SIGNATURE
    -1111: InvalidPrecision,  # BAD_PRECISION
    -1121: InvalidSymbol,  # BAD_SYMBOL
    -2010: VenueError,  # NEW_ORDER_REJECTED: refined by its message
    -2011: UnknownOrder,  # CANCEL_REJECTED: "Unknown order sent." (or ended)
    -2013: UnknownOrder,  # NO_SUCH_ORDER
    -2014: BadCredentials,  # BAD_API_KEY_FMT
    -2015: BadCredentials,  # REJECTED_MBX_KEY: invalid key, IP or permissions
}
"""Binance's codes, each for what it says; -1100 to -1130 (parameters) not listed here
are ``InvalidParameter``."""
PARAMETER_CODES = range(-1130, -1099)

REJECTIONS_BY_MESSAGE: dict[str, type[VenueError]] = {
    "Account has insufficient balance for requested action.": InsufficientBalance,
    "Duplicate order sent.": DuplicateClientId,
    "Market is closed.": TradingDisabled,
    "Market orders are not supported for this symbol.": TradingDisabled,
    "This action is disabled on this account.": TradingDisabled,
    "This account may not place or cancel orders.": TradingDisabled,
    "This symbol is not permitted for this account.": TradingDisabled,
    "This symbol is restricted for this account.": TradingDisabled,
    "Rest API trading is not enabled.": TradingDisabled,
    "Price * QTY is zero or less.": BelowMinimum,
    "Order would immediately match and take.": PriceRejected,
    "Unknown order sent.": UnknownOrder,
    "Filter failure: PRICE_FILTER": InvalidPrecision,
    "Filter failure: PERCENT_PRICE": PriceRejected,
    "Filter failure: PERCENT_PRICE_BY_SIDE": PriceRejected,
    "Filter failure: LOT_SIZE": BelowMinimum,
    "Filter failure: MARKET_LOT_SIZE": BelowMinimum,
    "Filter failure: MIN_NOTIONAL": BelowMinimum,
    "Filter failure: NOTIONAL": BelowMinimum,
    "Filter failure: MAX_POSITION": AboveMaximum,
    "Filter failure: MAX_NUM_ORDERS": AboveMaximum,
    "Filter failure: EXCHANGE_MAX_NUM_ORDERS": AboveMaximum,
}
"""The matching engine's messages under -1010, -2010, -2011 and the filter failures
under -1013: the code alone does not say what went wrong. ``LOT_SIZE`` covers a
quantity too small, too large or off the step; Basis rounds to the step and stays far
below the maximum, so it reads as too small."""


def error_from_response(response: RestResponse) -> VenueError:
    """The typed error for a non-2xx reply. 429 is rate limited and 418 banned (each
    with its ``Retry-After``), 403 a firewall's block; any 5xx is ``VenueUnavailable``
    whatever its body, because Binance's outcome is then unknown (the order may have
    been taken). Otherwise the body's ``code``, refined by its ``msg`` where the code is
    a family of refusals."""
    try:
        error = _error_decoder.decode(response.body)
        code: int | None = error.code
        message = error.msg or f"HTTP {response.status}"
    except msgspec.DecodeError:
        code = None
        message = f"HTTP {response.status}: {response.body[:200].decode(errors='replace')}"
    wait_s = retry_after_s(response)
    if response.status == 429:
        return RateLimited(EXCHANGE, code, message, response.status, wait_s)
    if response.status in (418, 403):
        return Banned(EXCHANGE, code, message, response.status, wait_s)
    if response.status >= 500:
        return VenueUnavailable(EXCHANGE, code, message, response.status, wait_s)
    kind = error_kind(code, message)
    return kind(EXCHANGE, code, message, response.status, wait_s)


def error_kind(code: int | None, message: str) -> type[VenueError]:
    """What an error body with ``code`` and ``message`` means."""
    if code is None:
        return VenueError
    for text, kind in REJECTIONS_BY_MESSAGE.items():
        if message.startswith(text):
            return kind
    found = ERRORS_BY_CODE.get(code)
    if found is not None:
        return found
    if code in PARAMETER_CODES:
        return InvalidParameter
    return VenueError
