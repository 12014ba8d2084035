"""Binance USDⓈ-M perpetual futures REST (``/fapi``), the client's side: build and sign
requests, read replies and errors. Pure: no I/O, no clock (timestamps are passed in),
no secrets kept.

Signed requests carry every parameter in the query, signed by ``protocols.binance_signing``;
bodies are empty. Quantities are base units on the wire. Binance has no contracts: Basis
trades whole quantity steps, so the rules name the step (``LOT_SIZE`` ``stepSize``) as
the contract size, and every quantity Basis sends is a whole number of them.

Parsers raise ``MalformedResponse`` for a body they cannot read, naming the field. The
simulated venue's side is ``protocols.binance_futures_encode``.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

from protocols import binance_signing
from protocols._wire import WireFormatError, number
from protocols.binance_futures import (
    BOTH,
    EXCHANGE,
    SIDE_NAMES,
    TIF_NAMES,
    Numeric,
    check_client_id,
    order_status,
    parse_symbol,
    side_of,
    venue_symbol,
)
from protocols.binance_signing import Params
from protocols.model import Order, OrderType, Symbol, VenueRules
from protocols.venue import (
    AboveMaximum,
    ApiCredentials,
    BadCredentials,
    BadSignature,
    Banned,
    BelowMinimum,
    BookLevel,
    DepthSnapshot,
    DuplicateClientId,
    FundingBookEntry,
    FundingRate,
    FuturesPosition,
    InsufficientBalance,
    InvalidParameter,
    InvalidPrecision,
    InvalidSymbol,
    MalformedResponse,
    OrderUpdate,
    PriceRejected,
    RateLimited,
    ReduceOnlyViolated,
    RestRequest,
    RestResponse,
    TimestampRejected,
    Trade,
    TradingDisabled,
    UnknownOrder,
    VenueError,
    VenueUnavailable,
)

API_PREFIX = "/fapi"
DEFAULT_FUNDING_INTERVAL_HOURS = 8.0

# ----------------------------------------------------------------------- requests


def public_request(method: str, path: str, params: Params = ()) -> RestRequest:
    """An unsigned request to ``/fapi<path>`` (``/v1/depth``)."""
    return RestRequest(method, f"{API_PREFIX}{path}", binance_signing.query(params))


def keyed_request(
    method: str, path: str, credentials: ApiCredentials, params: Params = ()
) -> RestRequest:
    """A request that carries the API key but no signature (``USER_STREAM``: the listen
    key endpoints)."""
    return RestRequest(
        method,
        f"{API_PREFIX}{path}",
        binance_signing.query(params),
        b"",
        ((binance_signing.API_KEY_HEADER, credentials.key),),
    )


def signed_request(
    method: str,
    path: str,
    params: Params,
    credentials: ApiCredentials,
    timestamp_ms: int,
    recv_window_ms: int = binance_signing.DEFAULT_RECV_WINDOW_MS,
) -> RestRequest:
    """A ``SIGNED`` request to ``/fapi<path>``: every parameter, ``recvWindow``,
    ``timestamp`` and ``signature`` in the query; the body empty."""
    query, headers = binance_signing.signed_query(params, credentials, timestamp_ms, recv_window_ms)
    return RestRequest(method, f"{API_PREFIX}{path}", query, b"", headers)


def _lots(qty: float, step: float) -> float:
    """``qty`` checked to be whole steps: a quantity between them is a rounding bug
    upstream, and is refused."""
    steps = qty / step
    whole = round(steps)
    if whole <= 0 or abs(steps - whole) > 1e-6 * max(1.0, abs(steps)):
        raise ValueError(f"quantity {qty} is not a whole number of steps of {step}")
    return qty


def place_order_request(
    order: Order,
    rules: VenueRules,
    credentials: ApiCredentials,
    timestamp_ms: int,
) -> RestRequest:
    """``POST /fapi/v1/order`` for ``order``: one-way mode, quantity in base units (whole
    steps of the rules), ``reduceOnly`` when it only reduces, and ``newOrderRespType``
    ``RESULT`` so that an IOC order's reply is its final state."""
    market = order.type is OrderType.MARKET
    step = rules.qty_step or rules.contract_size
    params: Params = [
        ("symbol", venue_symbol(order.symbol)),
        ("side", SIDE_NAMES[order.side]),
        ("type", "MARKET" if market else "LIMIT"),
        ("timeInForce", None if market else TIF_NAMES[order.tif]),
        ("quantity", float(_lots(order.qty, step) if step else order.qty)),
        ("price", None if market else float(order.price)),
        ("reduceOnly", "true" if order.reduce_only else None),
        ("newClientOrderId", check_client_id(order.client_id)),
        ("newOrderRespType", "RESULT"),
    ]
    return signed_request("POST", "/v1/order", params, credentials, timestamp_ms)


def _one_order(symbol: Symbol, client_id: str | None, venue_order_id: str | None) -> Params:
    """The parameters naming one order: its symbol and either id (the venue's wins)."""
    if venue_order_id is not None:
        return [("symbol", venue_symbol(symbol)), ("orderId", venue_order_id)]
    if client_id is not None:
        return [("symbol", venue_symbol(symbol)), ("origClientOrderId", client_id)]
    raise ValueError("name the order by its client id or its venue order id")


def query_order_request(
    symbol: Symbol,
    credentials: ApiCredentials,
    timestamp_ms: int,
    *,
    client_id: str | None = None,
    venue_order_id: str | None = None,
) -> RestRequest:
    """``GET /fapi/v1/order`` by either id."""
    params = _one_order(symbol, client_id, venue_order_id)
    return signed_request("GET", "/v1/order", params, credentials, timestamp_ms)


def cancel_order_request(
    symbol: Symbol,
    credentials: ApiCredentials,
    timestamp_ms: int,
    *,
    client_id: str | None = None,
    venue_order_id: str | None = None,
) -> RestRequest:
    """``DELETE /fapi/v1/order`` by either id."""
    params = _one_order(symbol, client_id, venue_order_id)
    return signed_request("DELETE", "/v1/order", params, credentials, timestamp_ms)


def amend_order_request(
    order: Order,
    rules: VenueRules,
    credentials: ApiCredentials,
    timestamp_ms: int,
    *,
    venue_order_id: str | None = None,
) -> RestRequest:
    """``PUT /fapi/v1/order``: the open limit ``order`` brought to ``order.qty`` in all
    (what it filled included) at its price; Binance cancels an order whose new quantity
    is at or below what it filled."""
    step = rules.qty_step or rules.contract_size
    params: Params = [
        *_one_order(order.symbol, order.client_id, venue_order_id),
        ("side", SIDE_NAMES[order.side]),
        ("quantity", float(_lots(order.qty, step) if step else order.qty)),
        ("price", float(order.price)),
    ]
    return signed_request("PUT", "/v1/order", params, credentials, timestamp_ms)


LIST_LIMIT = 1000
"""The most orders one ``allOrders`` reply, or trades one ``userTrades`` reply, holds."""


def open_orders_request(
    symbol: Symbol, credentials: ApiCredentials, timestamp_ms: int
) -> RestRequest:
    """``GET /fapi/v1/openOrders?symbol=X``."""
    params: Params = [("symbol", venue_symbol(symbol))]
    return signed_request("GET", "/v1/openOrders", params, credentials, timestamp_ms)


def all_orders_request(
    symbol: Symbol,
    credentials: ApiCredentials,
    timestamp_ms: int,
    *,
    start_ms: int | None = None,
    limit: int = LIST_LIMIT,
) -> RestRequest:
    """``GET /fapi/v1/allOrders?symbol=X``: the account's orders, open or finished,
    oldest first: the newest ``limit`` of the last 7 days, or ``limit`` from ``start_ms``
    (Binance keeps a cancelled or expired order that filled nothing 3 days only)."""
    params: Params = [
        ("symbol", venue_symbol(symbol)),
        ("startTime", start_ms),
        ("limit", limit),
    ]
    return signed_request("GET", "/v1/allOrders", params, credentials, timestamp_ms)


def user_trades_request(
    symbol: Symbol,
    credentials: ApiCredentials,
    timestamp_ms: int,
    *,
    venue_order_id: str | None = None,
    limit: int = LIST_LIMIT,
) -> RestRequest:
    """``GET /fapi/v1/userTrades``: the account's trades in ``symbol`` (of one order when
    ``venue_order_id`` is given), each with its commission and the asset it was in."""
    params: Params = [
        ("symbol", venue_symbol(symbol)),
        ("orderId", venue_order_id),
        ("limit", None if venue_order_id is not None else limit),
    ]
    return signed_request("GET", "/v1/userTrades", params, credentials, timestamp_ms)


def account_request(credentials: ApiCredentials, timestamp_ms: int) -> RestRequest:
    """``GET /fapi/v2/account``: the futures wallet (its USDT) and positions."""
    return signed_request("GET", "/v2/account", [], credentials, timestamp_ms)


def position_risk_request(
    symbol: Symbol, credentials: ApiCredentials, timestamp_ms: int
) -> RestRequest:
    """``GET /fapi/v2/positionRisk?symbol=X``: the position with its mark price,
    leverage, margin type and liquidation price."""
    params: Params = [("symbol", venue_symbol(symbol))]
    return signed_request("GET", "/v2/positionRisk", params, credentials, timestamp_ms)


def position_mode_request(credentials: ApiCredentials, timestamp_ms: int) -> RestRequest:
    """``GET /fapi/v1/positionSide/dual``: whether the account holds a long and a short
    per symbol (hedge mode)."""
    return signed_request("GET", "/v1/positionSide/dual", [], credentials, timestamp_ms)


def set_position_mode_request(
    dual: bool, credentials: ApiCredentials, timestamp_ms: int
) -> RestRequest:
    """``POST /fapi/v1/positionSide/dual``: ``dualSidePosition=false`` is one-way mode."""
    params: Params = [("dualSidePosition", "true" if dual else "false")]
    return signed_request("POST", "/v1/positionSide/dual", params, credentials, timestamp_ms)


def set_leverage_request(
    symbol: Symbol, leverage: int, credentials: ApiCredentials, timestamp_ms: int
) -> RestRequest:
    """``POST /fapi/v1/leverage``: the symbol's initial leverage, a whole number 1..125."""
    if not 1 <= leverage <= 125:
        raise ValueError(f"leverage {leverage} is not a whole number within 1..125")
    params: Params = [("symbol", venue_symbol(symbol)), ("leverage", int(leverage))]
    return signed_request("POST", "/v1/leverage", params, credentials, timestamp_ms)


MARGIN_TYPES = ("ISOLATED", "CROSSED")


def set_margin_type_request(
    symbol: Symbol, margin_type: str, credentials: ApiCredentials, timestamp_ms: int
) -> RestRequest:
    """``POST /fapi/v1/marginType``: ``ISOLATED`` or ``CROSSED``."""
    if margin_type not in MARGIN_TYPES:
        raise ValueError(f"margin type {margin_type!r} is not one of {MARGIN_TYPES}")
    params: Params = [("symbol", venue_symbol(symbol)), ("marginType", margin_type)]
    return signed_request("POST", "/v1/marginType", params, credentials, timestamp_ms)


def commission_rate_request(
    symbol: Symbol, credentials: ApiCredentials, timestamp_ms: int
) -> RestRequest:
    """``GET /fapi/v1/commissionRate?symbol=X``: the account's maker and taker rates."""
    params: Params = [("symbol", venue_symbol(symbol))]
    return signed_request("GET", "/v1/commissionRate", params, credentials, timestamp_ms)


FUNDING_FEE = "FUNDING_FEE"
"""The income type of a funding settlement."""


def income_request(
    credentials: ApiCredentials,
    timestamp_ms: int,
    *,
    since_ms: int,
    limit: int = LIST_LIMIT,
    page: int = 1,
    income_type: str = FUNDING_FEE,
) -> RestRequest:
    """``GET /fapi/v1/income?incomeType=FUNDING_FEE``: the account's funding settlements
    from ``since_ms`` on, ``limit`` a page, page ``page`` (from 1)."""
    if page < 1:
        raise ValueError(f"page {page} is not >= 1")
    params: Params = [
        ("incomeType", income_type),
        ("startTime", since_ms),
        ("page", page if page > 1 else None),
        ("limit", limit),
    ]
    return signed_request("GET", "/v1/income", params, credentials, timestamp_ms)


def listen_key_request(method: str, credentials: ApiCredentials) -> RestRequest:
    """``/fapi/v1/listenKey``: ``POST`` opens the user data stream (or gives the key
    still valid), ``PUT`` keeps it alive 60 more minutes, ``DELETE`` closes it. The key
    travels in the API key header alone: the endpoint is not signed."""
    if method not in ("POST", "PUT", "DELETE"):
        raise ValueError(f"a listen key is opened, kept alive or closed, not {method!r}")
    return keyed_request(method, "/v1/listenKey", credentials)


def server_time_request() -> RestRequest:
    """``GET /fapi/v1/time``: the venue's clock, which judges signed requests."""
    return public_request("GET", "/v1/time")


def exchange_info_request() -> RestRequest:
    """``GET /fapi/v1/exchangeInfo``: every symbol's rules in one reply."""
    return public_request("GET", "/v1/exchangeInfo")


DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)


def depth_request(symbol: Symbol, limit: int = 100) -> RestRequest:
    """``GET /fapi/v1/depth``: the book at ``lastUpdateId``."""
    if limit not in DEPTH_LIMITS:
        raise ValueError(f"depth limit {limit} is not one of {DEPTH_LIMITS}")
    return public_request("GET", "/v1/depth", [("symbol", venue_symbol(symbol)), ("limit", limit)])


def premium_index_request(symbol: Symbol) -> RestRequest:
    """``GET /fapi/v1/premiumIndex?symbol=X``: mark price, last funding rate, next
    funding time."""
    return public_request("GET", "/v1/premiumIndex", [("symbol", venue_symbol(symbol))])


def funding_info_request() -> RestRequest:
    """``GET /fapi/v1/fundingInfo``: the symbols whose funding was adjusted (their cap,
    floor and interval); a symbol it does not list settles every 8 hours."""
    return public_request("GET", "/v1/fundingInfo")


# ------------------------------------------------------------------------ replies


class _Filter(msgspec.Struct):
    filterType: str
    tickSize: Numeric = "0"
    stepSize: Numeric = "0"
    minQty: Numeric = "0"
    maxQty: Numeric = "0"
    notional: Numeric = "0"


class _ExchangeSymbol(msgspec.Struct):
    symbol: str
    status: str
    contractType: str = "PERPETUAL"
    quoteAsset: str = "USDT"
    marginAsset: str = "USDT"
    filters: list[_Filter] = []


class _ExchangeInfo(msgspec.Struct):
    symbols: list[_ExchangeSymbol]
    serverTime: int = 0


class _Depth(msgspec.Struct):
    lastUpdateId: int
    bids: list[tuple[Numeric, Numeric]]
    asks: list[tuple[Numeric, Numeric]]
    E: int = 0
    T: int = 0


class WireOrder(msgspec.Struct):
    """The order of a placement, query, cancel, amendment or order list reply."""

    symbol: str
    orderId: int
    side: str
    status: str
    clientOrderId: str = ""
    price: Numeric = "0"
    avgPrice: Numeric = "0"
    origQty: Numeric = "0"
    executedQty: Numeric = "0"
    cumQuote: Numeric = "0"
    timeInForce: str = "GTC"
    type: str = "LIMIT"
    reduceOnly: bool = False
    positionSide: str = BOTH
    time: int = 0
    updateTime: int = 0


class WireUserTrade(msgspec.Struct):
    symbol: str
    id: int
    orderId: int
    side: str
    price: Numeric
    qty: Numeric
    commission: Numeric = "0"
    commissionAsset: str = "USDT"
    maker: bool = False
    realizedPnl: Numeric = "0"
    positionSide: str = BOTH
    time: int = 0


class _AccountAsset(msgspec.Struct):
    asset: str
    walletBalance: Numeric = "0"
    availableBalance: Numeric = "0"
    marginBalance: Numeric = "0"
    unrealizedProfit: Numeric = "0"


class _Account(msgspec.Struct):
    assets: list[_AccountAsset] = []
    totalWalletBalance: Numeric = "0"
    availableBalance: Numeric = "0"


class _PositionMode(msgspec.Struct):
    dualSidePosition: bool


class WirePositionRisk(msgspec.Struct):
    symbol: str
    positionAmt: Numeric
    entryPrice: Numeric = "0"
    markPrice: Numeric = "0"
    unRealizedProfit: Numeric = "0"
    liquidationPrice: Numeric = "0"
    leverage: Numeric = "0"
    maxNotionalValue: Numeric = "0"
    marginType: str = "cross"
    isolatedMargin: Numeric = "0"
    positionSide: str = BOTH
    updateTime: int = 0


class _PremiumIndex(msgspec.Struct):
    symbol: str
    markPrice: Numeric
    lastFundingRate: Numeric = ""
    nextFundingTime: int = 0
    indexPrice: Numeric = "0"
    time: int = 0


class _FundingInfo(msgspec.Struct):
    symbol: str
    fundingIntervalHours: float = DEFAULT_FUNDING_INTERVAL_HOURS


class _Income(msgspec.Struct):
    symbol: str
    incomeType: str
    income: Numeric
    asset: str = "USDT"
    time: int = 0
    tranId: int | str = 0
    info: str = ""


class _Leverage(msgspec.Struct):
    symbol: str
    leverage: int
    maxNotionalValue: Numeric = "0"


class _CommissionRate(msgspec.Struct):
    symbol: str
    makerCommissionRate: Numeric
    takerCommissionRate: Numeric


class _ListenKey(msgspec.Struct):
    listenKey: str


class _ServerTime(msgspec.Struct):
    serverTime: int


class _ErrorBody(msgspec.Struct):
    code: int
    msg: str = ""


T = TypeVar("T")


def _read(decoder: msgspec.json.Decoder[T], body: bytes, what: str) -> T:
    try:
        return decoder.decode(body)
    except msgspec.DecodeError as error:
        raise MalformedResponse(EXCHANGE, None, f"{what} reply: {error}") from None


def _malformed(what: str, error: WireFormatError) -> MalformedResponse:
    return MalformedResponse(EXCHANGE, None, f"{what} reply: {error}")


_exchange_info_decoder = msgspec.json.Decoder(_ExchangeInfo)
_depth_decoder = msgspec.json.Decoder(_Depth)
_order_decoder = msgspec.json.Decoder(WireOrder)
_orders_decoder = msgspec.json.Decoder(list[WireOrder])
_user_trades_decoder = msgspec.json.Decoder(list[WireUserTrade])
_account_decoder = msgspec.json.Decoder(_Account)
_position_mode_decoder = msgspec.json.Decoder(_PositionMode)
_position_risk_decoder = msgspec.json.Decoder(list[WirePositionRisk])
_premium_index_decoder = msgspec.json.Decoder(_PremiumIndex)
_funding_info_decoder = msgspec.json.Decoder(list[_FundingInfo])
_income_decoder = msgspec.json.Decoder(list[_Income])
_leverage_decoder = msgspec.json.Decoder(_Leverage)
_commission_rate_decoder = msgspec.json.Decoder(_CommissionRate)
_listen_key_decoder = msgspec.json.Decoder(_ListenKey)
_server_time_decoder = msgspec.json.Decoder(_ServerTime)
_error_decoder = msgspec.json.Decoder(_ErrorBody)


def parse_exchange_info(body: bytes, symbol: Symbol) -> VenueRules:
    """``symbol``'s rules from ``GET /fapi/v1/exchangeInfo``, in base units. The quantity
    step (``LOT_SIZE``) stands as the contract size: Basis's futures leg trades whole
    contracts, and on Binance a whole step is the smallest it can trade. Raises
    ``InvalidSymbol`` when the reply does not list it, and ``TradingDisabled`` when it is
    not a perpetual that is trading."""
    info = _read(_exchange_info_decoder, body, "exchangeInfo")
    wanted = venue_symbol(symbol)
    entry = next((s for s in info.symbols if s.symbol == wanted), None)
    if entry is None:
        raise InvalidSymbol(EXCHANGE, -1121, f"{wanted} is not listed")
    if entry.status != "TRADING" or entry.contractType != "PERPETUAL":
        raise TradingDisabled(
            EXCHANGE,
            None,
            f"{wanted} is not a perpetual that is trading (status {entry.status!r}, "
            f"contractType {entry.contractType!r})",
        )
    filters = {f.filterType: f for f in entry.filters}
    try:
        lot = filters.get("LOT_SIZE")
        price = filters.get("PRICE_FILTER")
        notional = filters.get("MIN_NOTIONAL")
        if lot is None or price is None:
            raise WireFormatError(f"{wanted} has no LOT_SIZE or PRICE_FILTER filter")
        step = number(lot.stepSize, "LOT_SIZE.stepSize")
        min_qty = number(lot.minQty, "LOT_SIZE.minQty")
        if step <= 0:
            raise WireFormatError(f"{wanted}'s LOT_SIZE.stepSize is not above 0")
        return VenueRules(
            qty_step=step,
            min_qty=min_qty,
            min_notional=0.0 if notional is None else number(notional.notional, "notional"),
            price_tick=number(price.tickSize, "PRICE_FILTER.tickSize"),
            contract_size=step,
            min_contracts=max(1.0, round(min_qty / step)),
        )
    except WireFormatError as error:
        raise _malformed("exchangeInfo", error) from None


def parse_depth(body: bytes, symbol: Symbol) -> DepthSnapshot:
    """``GET /fapi/v1/depth``; ``lastUpdateId`` is the version the updates continue."""
    depth = _read(_depth_decoder, body, "depth")
    try:
        return DepthSnapshot(
            symbol,
            depth.lastUpdateId,
            tuple(BookLevel(number(p, "bids"), number(q, "bids")) for p, q in depth.bids),
            tuple(BookLevel(number(p, "asks"), number(q, "asks")) for p, q in depth.asks),
        )
    except WireFormatError as error:
        raise _malformed("depth", error) from None


def order_update(order: WireOrder) -> OrderUpdate:
    """An order object in base units."""
    return OrderUpdate(
        symbol=parse_symbol(order.symbol),
        client_id=order.clientOrderId,
        venue_order_id=str(order.orderId),
        status=order_status(order.status),
        side=side_of(order.side),
        qty=number(order.origQty, "origQty"),
        price=number(order.price, "price"),
        filled_qty=number(order.executedQty, "executedQty"),
        avg_price=number(order.avgPrice, "avgPrice"),
        reduce_only=order.reduceOnly,
        ts=(order.updateTime or order.time) / 1000.0,
    )


def parse_order(body: bytes) -> OrderUpdate:
    """A placement (``RESULT``), query, cancel or amendment reply."""
    order = _read(_order_decoder, body, "order")
    try:
        return order_update(order)
    except WireFormatError as error:
        raise _malformed("order", error) from None


def parse_orders(body: bytes) -> list[OrderUpdate]:
    """An ``openOrders`` or ``allOrders`` reply."""
    orders = _read(_orders_decoder, body, "orders")
    try:
        return [order_update(order) for order in orders]
    except WireFormatError as error:
        raise _malformed("orders", error) from None


def user_trade(trade: WireUserTrade, client_id: str = "") -> Trade:
    """One trade; ``commission`` is charged in ``commissionAsset`` (negative: a rebate).
    The list does not name the order's client id: the caller knows it, or ``""``."""
    return Trade(
        symbol=parse_symbol(trade.symbol),
        trade_id=str(trade.id),
        client_id=client_id,
        venue_order_id=str(trade.orderId),
        side=side_of(trade.side),
        qty=number(trade.qty, "qty"),
        price=number(trade.price, "price"),
        fee=number(trade.commission, "commission"),
        fee_asset=trade.commissionAsset,
        is_maker=trade.maker,
        ts=trade.time / 1000.0,
    )


def parse_user_trades(body: bytes, client_id: str = "") -> list[Trade]:
    """A ``userTrades`` reply, each trade with its commission."""
    trades = _read(_user_trades_decoder, body, "userTrades")
    try:
        return [user_trade(trade, client_id) for trade in trades]
    except WireFormatError as error:
        raise _malformed("userTrades", error) from None


class FuturesAccountSettings(msgspec.Struct, frozen=True):
    """What Basis reads of the futures account: its USDT and its position mode."""

    currency: str
    total: float
    available: float
    in_dual_mode: bool
    """Hedge mode holds a long and a short per symbol; Basis trades one-way mode."""


def parse_account(body: bytes, dual: bool, currency: str = "USDT") -> FuturesAccountSettings:
    """The ``currency`` of ``GET /fapi/v2/account``: its wallet balance and what is
    available; ``dual`` is the position mode, read apart (:func:`parse_position_mode`)."""
    account = _read(_account_decoder, body, "account")
    asset = next((a for a in account.assets if a.asset == currency), None)
    if asset is None:
        return FuturesAccountSettings(currency, 0.0, 0.0, dual)
    try:
        return FuturesAccountSettings(
            currency,
            number(asset.walletBalance, "walletBalance"),
            number(asset.availableBalance, "availableBalance"),
            dual,
        )
    except WireFormatError as error:
        raise _malformed("account", error) from None


def parse_position_mode(body: bytes) -> bool:
    """``GET /fapi/v1/positionSide/dual``: ``True`` in hedge mode."""
    return _read(_position_mode_decoder, body, "positionSide/dual").dualSidePosition


POSITION_MODES = {BOTH: "single", "LONG": "dual_long", "SHORT": "dual_short"}
"""Each ``positionSide`` as the position's mode: one-way is ``single``."""


class PositionSettings(msgspec.Struct, frozen=True):
    """How the venue holds one symbol's position, in the shape the system reads of
    every futures venue's: ``leverage`` the position's at isolated margin and 0 at cross
    margin, where ``cross_leverage_limit`` is its leverage; ``mode`` ``single`` in one-way
    mode, ``dual_long`` or ``dual_short`` for a side of hedge mode; ``qty`` in base units,
    negative when short; ``liq_price`` 0 when nothing is held."""

    symbol: Symbol
    qty: float
    leverage: float
    cross_leverage_limit: float
    mode: str
    liq_price: float

    @property
    def margin_mode(self) -> str:
        return "cross" if self.leverage == 0 else "isolated"


def _one_way(body: bytes, symbol: Symbol) -> WirePositionRisk:
    positions = _read(_position_risk_decoder, body, "positionRisk")
    wanted = venue_symbol(symbol)
    found = [p for p in positions if p.symbol == wanted]
    one_way = next((p for p in found if p.positionSide == BOTH), None)
    if one_way is not None:
        return one_way
    if found:
        return found[0]
    raise MalformedResponse(EXCHANGE, None, f"positionRisk reply: no position of {wanted}")


def parse_position(body: bytes, symbol: Symbol) -> FuturesPosition:
    """``symbol``'s one-way position from ``GET /fapi/v2/positionRisk``."""
    position = _one_way(body, symbol)
    try:
        return FuturesPosition(
            symbol=symbol,
            qty=number(position.positionAmt, "positionAmt"),
            entry_price=number(position.entryPrice, "entryPrice"),
            mark_price=number(position.markPrice, "markPrice"),
            leverage=number(position.leverage, "leverage"),
            margin=number(position.isolatedMargin, "isolatedMargin"),
            unrealised_pnl=number(position.unRealizedProfit, "unRealizedProfit"),
            liq_price=number(position.liquidationPrice, "liquidationPrice"),
            risk_limit=number(position.maxNotionalValue, "maxNotionalValue"),
        )
    except WireFormatError as error:
        raise _malformed("positionRisk", error) from None


def parse_position_settings(body: bytes, symbol: Symbol) -> PositionSettings:
    """How ``GET /fapi/v2/positionRisk`` says the venue holds ``symbol``'s position."""
    position = _one_way(body, symbol)
    try:
        leverage = number(position.leverage, "leverage")
        isolated = position.marginType.lower() == "isolated"
        return PositionSettings(
            symbol,
            number(position.positionAmt, "positionAmt"),
            leverage if isolated else 0.0,
            0.0 if isolated else leverage,
            POSITION_MODES.get(position.positionSide, position.positionSide.lower()),
            number(position.liquidationPrice, "liquidationPrice"),
        )
    except WireFormatError as error:
        raise _malformed("positionRisk", error) from None


def parse_leverage(body: bytes) -> float:
    """The leverage the reply to ``POST /fapi/v1/leverage`` says is set."""
    return float(_read(_leverage_decoder, body, "leverage").leverage)


def parse_commission_rate(body: bytes) -> tuple[float, float]:
    """``(maker, taker)`` rates of ``GET /fapi/v1/commissionRate``."""
    rates = _read(_commission_rate_decoder, body, "commissionRate")
    try:
        return (
            number(rates.makerCommissionRate, "makerCommissionRate"),
            number(rates.takerCommissionRate, "takerCommissionRate"),
        )
    except WireFormatError as error:
        raise _malformed("commissionRate", error) from None


def parse_funding_intervals(body: bytes) -> dict[Symbol, float]:
    """Each symbol ``GET /fapi/v1/fundingInfo`` lists, with its interval between
    settlements in seconds; a symbol whose name is no symbol of Basis is left out."""
    intervals = {}
    for info in _read(_funding_info_decoder, body, "fundingInfo"):
        try:
            symbol = parse_symbol(info.symbol)
        except WireFormatError:
            continue
        if info.fundingIntervalHours <= 0:
            raise MalformedResponse(
                EXCHANGE, None, f"fundingInfo reply: {info.symbol}'s interval is not above 0"
            )
        intervals[symbol] = info.fundingIntervalHours * 3600.0
    return intervals


def parse_funding(body: bytes, interval_s: float) -> FundingRate:
    """A perpetual's funding from ``GET /fapi/v1/premiumIndex?symbol=X``: the rate of
    the next settlement and its time; ``interval_s`` is the symbol's own."""
    index = _read(_premium_index_decoder, body, "premiumIndex")
    try:
        symbol = parse_symbol(index.symbol)
        rate = number(index.lastFundingRate, "lastFundingRate")
    except WireFormatError as error:
        raise _malformed("premiumIndex", error) from None
    if index.lastFundingRate == "" or index.nextFundingTime <= 0:
        raise MalformedResponse(
            EXCHANGE, None, f"premiumIndex reply: {index.symbol} gives no funding"
        )
    return FundingRate(symbol, rate, interval_s, index.nextFundingTime / 1000.0)


def parse_mark_price(body: bytes) -> float:
    """The mark price of ``GET /fapi/v1/premiumIndex?symbol=X``."""
    index = _read(_premium_index_decoder, body, "premiumIndex")
    try:
        return number(index.markPrice, "markPrice")
    except WireFormatError as error:
        raise _malformed("premiumIndex", error) from None


def income_length(body: bytes) -> int:
    """How many records an income reply lists: a page shorter than the limit is the last."""
    return len(_read(_income_decoder, body, "income"))


def parse_funding_book(body: bytes) -> list[FundingBookEntry]:
    """The funding settlements of an income reply, oldest first, each under its
    ``tranId``; records of other types are left out."""
    settled = []
    try:
        for income in _read(_income_decoder, body, "income"):
            if income.incomeType != FUNDING_FEE or not income.symbol:
                continue
            settled.append(
                FundingBookEntry(
                    str(income.tranId),
                    parse_symbol(income.symbol),
                    income.time / 1000.0,
                    number(income.income, "income"),
                )
            )
    except WireFormatError as error:
        raise _malformed("income", error) from None
    return sorted(settled, key=lambda entry: (entry.ts, entry.ledger_id))


def parse_listen_key(body: bytes) -> str:
    return _read(_listen_key_decoder, body, "listenKey").listenKey


def parse_server_time(body: bytes) -> float:
    """``GET /fapi/v1/time`` (``serverTime``, ms), in seconds."""
    return _read(_server_time_decoder, body, "time").serverTime / 1000.0


# ------------------------------------------------------------------------- errors

ERRORS_BY_CODE: dict[int, type[VenueError]] = {
    -1000: VenueUnavailable,
    -1001: VenueUnavailable,
    -1002: BadCredentials,
    -1003: RateLimited,
    -1006: VenueUnavailable,
    -1007: VenueUnavailable,
    -1008: VenueUnavailable,
    -1015: RateLimited,
    -1016: VenueUnavailable,
    -1021: TimestampRejected,
    -1022: BadSignature,
    -1099: BadCredentials,
    -1102: InvalidParameter,
    -1104: InvalidParameter,
    -1106: InvalidParameter,
    -1111: InvalidPrecision,
    -1116: InvalidParameter,
    -1117: InvalidParameter,
    -1121: InvalidSymbol,
    -1122: TradingDisabled,
    -1130: InvalidParameter,
    -1136: InvalidParameter,
    -2010: VenueError,
    -2011: UnknownOrder,
    -2013: UnknownOrder,
    -2014: BadCredentials,
    -2015: BadCredentials,
    -2017: BadCredentials,
    -2018: InsufficientBalance,
    -2019: InsufficientBalance,
    -2022: ReduceOnlyViolated,
    -2027: AboveMaximum,
    -2028: InsufficientBalance,
    -4003: InvalidParameter,
    -4004: BelowMinimum,
    -4005: AboveMaximum,
    -4014: InvalidPrecision,
    -4015: InvalidParameter,
    -4016: PriceRejected,
    -4023: InvalidPrecision,
    -4024: PriceRejected,
    -4028: InvalidParameter,
    -4047: InvalidParameter,
    -4048: InvalidParameter,
    -4061: InvalidParameter,
    -4067: InvalidParameter,
    -4068: InvalidParameter,
    -4116: DuplicateClientId,
    -4131: PriceRejected,
    -4140: TradingDisabled,
    -4141: TradingDisabled,
    -4164: BelowMinimum,
    -4400: TradingDisabled,
    -4401: TradingDisabled,
    -5022: PriceRejected,
}
"""Binance's error codes and what they mean. The ``-1xxx`` server and network codes
(unknown error, timeout, busy, shutting down) leave an order's outcome unknown, so they
are the venue unavailable: the order is looked up, never resent blind. A cancel of an
order the venue does not have, or has finished, answers ``-2011``: unknown, which the
router settles by a query. ``-4116`` is a client order id already used. ``-2027`` is a
position too large for its leverage, ``-4400``/``-4401`` the venue allowing only
reduce-only orders, ``-5022`` a post-only order that would have taken. A code not named
here stays a plain ``VenueError`` carrying it; ``-1100``..``-1130`` (bad parameters)
not named are invalid parameters."""

NO_CHANGE_CODES = frozenset({-4046, -4059})
"""``No need to change margin type`` and ``No need to change position side``: the
account is already as asked, which is success."""


def error_from_response(response: RestResponse, now_s: float | None = None) -> VenueError:
    """The typed error of a non-2xx reply, by its ``code``. HTTP 429 is rate limiting
    and 418 a ban (the IP kept sending past a 429), whatever the body says, with the
    wait of ``Retry-After``; a 408 (the backend timed out), an uncoded 5xx and a 503
    whatever its code (Binance answers one whose outcome it does not know so) are the
    venue unavailable, the outcome of an order unknown; 401 is bad credentials."""
    try:
        error = _error_decoder.decode(response.body)
        code: int | None = error.code
        message = error.msg or f"code {error.code}"
    except msgspec.DecodeError:
        code = None
        message = f"HTTP {response.status}: {response.body[:200].decode(errors='replace')}"
    wait = binance_signing.retry_after_s(response)
    if response.status == 418:
        return Banned(EXCHANGE, code, message, response.status, wait)
    if response.status == 429:
        return RateLimited(EXCHANGE, code, message, response.status, wait)
    if response.status in (408, 503) or (code is None and response.status >= 500):
        return VenueUnavailable(EXCHANGE, code, message, response.status)
    kind = ERRORS_BY_CODE.get(code) if code is not None else None
    if kind is None and code is not None and -1130 <= code <= -1100:
        kind = InvalidParameter
    if kind is None and response.status == 401:
        kind = BadCredentials
    if kind is None and response.status >= 500:
        kind = VenueUnavailable
    if kind is RateLimited:
        return RateLimited(EXCHANGE, code, message, response.status, wait)
    return (kind or VenueError)(EXCHANGE, code, message, response.status)


def is_no_change(response: RestResponse) -> bool:
    """Whether a refused settings change (margin type, position mode) only says the
    account already is as asked."""
    try:
        return _error_decoder.decode(response.body).code in NO_CHANGE_CODES
    except msgspec.DecodeError:
        return False


WEIGHT_LIMIT_1M = 2400
"""The request weight an IP may use in a minute (``exchangeInfo`` ``rateLimits``)."""
ORDER_LIMIT_10S = 300
ORDER_LIMIT_1M = 1200
"""Orders an account may place in 10 s, and in a minute."""


def usage(response: RestResponse) -> tuple[int | None, int | None, int | None]:
    """``(weight used this minute, orders placed in the last 10 s, in the last minute)``
    as the reply's ``X-MBX-USED-WEIGHT-1M`` and ``X-MBX-ORDER-COUNT-*`` headers say;
    ``None`` for a header the reply lacks."""
    weight = binance_signing.counters(response, binance_signing.USED_WEIGHT_HEADER)
    orders = binance_signing.counters(response, binance_signing.ORDER_COUNT_HEADER)
    return weight.get("1M"), orders.get("10S"), orders.get("1M")
