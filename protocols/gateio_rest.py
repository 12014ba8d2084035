"""Gate.io USDT perpetual futures (API v4) REST, the client's side: build and sign
requests, read replies and errors. Pure: no I/O, no clock (timestamps are passed in),
no secrets kept.

Quantities in requests and replies are contracts on the wire and base units here; each
call that converts takes the contract's size. Parsers raise ``MalformedResponse`` for a
body they cannot read, naming the field. The simulated venue's side is
``protocols.gateio_encode``.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TypeVar
from urllib.parse import quote, unquote_plus, urlencode

import msgspec

from protocols._wire import WireFormatError, decimal, number
from protocols.gateio import (
    EXCHANGE,
    SIZE_DECIMAL_HEADER,
    Numeric,
    WireOrder,
    WirePosition,
    WireTrade,
    client_text,
    contracts_of,
    futures_position,
    order_update,
    parse_symbol,
    user_trade,
    venue_symbol,
)
from protocols.model import Order, OrderType, Side, Symbol, TimeInForce, VenueRules
from protocols.venue import (
    AboveMaximum,
    ApiCredentials,
    BadCredentials,
    BadSignature,
    BelowMinimum,
    BookLevel,
    DepthSnapshot,
    FundingBookEntry,
    FundingRate,
    FuturesAccountSettings,
    FuturesPosition,
    InsufficientBalance,
    InvalidParameter,
    InvalidPrecision,
    InvalidSymbol,
    MalformedResponse,
    OrderAlreadyFinal,
    OrderUpdate,
    PositionSettings,
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

API_PREFIX = "/api/v4"
FUTURES = "/futures/usdt"
_JSON_HEADERS = (("Accept", "application/json"), ("Content-Type", "application/json"))

# ------------------------------------------------------------------------ signing


def sign(
    secret: str, method: str, path: str, query: str, body: bytes, timestamp_s: int | str
) -> str:
    """Gate.io's ``SIGN``: hex HMAC-SHA512 over ``METHOD\\nPATH\\nQUERY\\n
    hex(SHA512(body))\\nTimestamp``; ``path`` includes ``/api/v4``, ``query`` is the query
    string without URL encoding (``signing_query``) and ``timestamp_s`` as in the
    ``Timestamp`` header."""
    body_hash = hashlib.sha512(body).hexdigest()
    message = f"{method}\n{path}\n{query}\n{body_hash}\n{timestamp_s}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha512).hexdigest()


def signing_query(query: str) -> str:
    """The query string as Gate.io signs it: ``query`` as sent, with its URL encoding
    undone (``currency_pairs=BTC_USDT%2CETH_USDT`` is signed as
    ``currency_pairs=BTC_USDT,ETH_USDT``), its parameters in the order sent. A ``+`` is
    read as a space, as form encoding writes one."""
    return unquote_plus(query)


def public_request(method: str, endpoint: str, query: str = "") -> RestRequest:
    """An unsigned request to ``/api/v4<endpoint>``."""
    headers = (*_JSON_HEADERS, SIZE_DECIMAL_HEADER)
    return RestRequest(method, f"{API_PREFIX}{endpoint}", query, b"", headers)


def signed_request(
    method: str,
    endpoint: str,
    query: str,
    body: bytes,
    credentials: ApiCredentials,
    timestamp_s: int,
) -> RestRequest:
    """A signed request to ``/api/v4<endpoint>`` (headers ``KEY``, ``Timestamp`` in Unix
    seconds, ``SIGN``; size fields may come back as decimal strings). ``query`` is sent
    as given, URL-encoded; the signature covers it decoded (``signing_query``)."""
    path = f"{API_PREFIX}{endpoint}"
    signature = sign(credentials.secret, method, path, signing_query(query), body, timestamp_s)
    headers = (
        *_JSON_HEADERS,
        SIZE_DECIMAL_HEADER,
        ("KEY", credentials.key),
        ("Timestamp", str(timestamp_s)),
        ("SIGN", signature),
    )
    return RestRequest(method, path, query, body, headers)


# ----------------------------------------------------------------------- requests


class _NewOrder(msgspec.Struct):
    contract: str
    size: int
    price: str
    tif: str
    text: str
    reduce_only: bool


_encode_json = msgspec.json.Encoder().encode
TIF_NAMES = {
    TimeInForce.GTC: "gtc",
    TimeInForce.IOC: "ioc",
    TimeInForce.FOK: "fok",
    TimeInForce.POST_ONLY: "poc",
}


def place_order_request(
    order: Order, contract_size: float, credentials: ApiCredentials, timestamp_s: int
) -> RestRequest:
    """``POST /futures/usdt/orders`` for ``order``: size in whole contracts, positive to
    buy and negative to sell; a market order is price ``"0"`` with tif ``ioc``."""
    contracts = contracts_of(order.qty, contract_size)
    if contracts == 0:
        raise ValueError(f"quantity {order.qty} is less than one contract of {contract_size}")
    market = order.type is OrderType.MARKET
    body = _NewOrder(
        contract=venue_symbol(order.symbol),
        size=contracts if order.side is Side.BUY else -contracts,
        price="0" if market else decimal(order.price),
        tif="ioc" if market else TIF_NAMES[order.tif],
        text=client_text(order.client_id),
        reduce_only=order.reduce_only,
    )
    return signed_request(
        "POST", f"{FUTURES}/orders", "", _encode_json(body), credentials, timestamp_s
    )


def _order_path(client_id: str | None, venue_order_id: str | None) -> str:
    # Gate.io looks an order up by its text while it is open and up to 60 s after it
    # finished; the venue's id works always, so it wins when both are known.
    if venue_order_id is not None:
        return f"{FUTURES}/orders/{quote(venue_order_id, safe='')}"
    if client_id is not None:
        return f"{FUTURES}/orders/{client_text(client_id)}"
    raise ValueError("name the order by its client id or its venue order id")


def cancel_order_request(
    credentials: ApiCredentials,
    timestamp_s: int,
    *,
    client_id: str | None = None,
    venue_order_id: str | None = None,
) -> RestRequest:
    """``DELETE /futures/usdt/orders/{id}``."""
    path = _order_path(client_id, venue_order_id)
    return signed_request("DELETE", path, "", b"", credentials, timestamp_s)


class _Amendment(msgspec.Struct):
    size: int


def amend_order_request(
    side: Side,
    qty: float,
    contract_size: float,
    credentials: ApiCredentials,
    timestamp_s: int,
    *,
    client_id: str | None = None,
    venue_order_id: str | None = None,
) -> RestRequest:
    """``PUT /futures/usdt/orders/{id}`` with body ``{"size": n}``: the order's new size,
    what it filled included, in whole contracts signed as the order was placed (negative
    for a sell: the side must stay the same). Gate.io cancels an order whose new size is
    at or below what it filled. The price is left as it is."""
    contracts = contracts_of(qty, contract_size)
    body = _Amendment(size=contracts if side is Side.BUY else -contracts)
    path = _order_path(client_id, venue_order_id)
    return signed_request("PUT", path, "", _encode_json(body), credentials, timestamp_s)


def query_order_request(
    credentials: ApiCredentials,
    timestamp_s: int,
    *,
    client_id: str | None = None,
    venue_order_id: str | None = None,
) -> RestRequest:
    """``GET /futures/usdt/orders/{id}``."""
    path = _order_path(client_id, venue_order_id)
    return signed_request("GET", path, "", b"", credentials, timestamp_s)


LIST_LIMIT = 1000
"""The most records one page of an order or trade list may hold."""


def orders_request(
    symbol: Symbol,
    status: str,
    credentials: ApiCredentials,
    timestamp_s: int,
    *,
    limit: int = LIST_LIMIT,
    offset: int = 0,
) -> RestRequest:
    """``GET /futures/usdt/orders?status=open|finished&contract=X``, a page of ``limit``
    orders from ``offset``."""
    if status not in ("open", "finished"):
        raise ValueError(f"status {status!r} is neither open nor finished")
    query = urlencode(
        [
            ("status", status),
            ("contract", venue_symbol(symbol)),
            ("limit", limit),
            ("offset", offset),
        ]
    )
    return signed_request("GET", f"{FUTURES}/orders", query, b"", credentials, timestamp_s)


def order_trades_request(
    symbol: Symbol,
    venue_order_id: str,
    credentials: ApiCredentials,
    timestamp_s: int,
    *,
    limit: int = LIST_LIMIT,
) -> RestRequest:
    """``GET /futures/usdt/my_trades?contract=X&order=ID``: one order's trades."""
    query = urlencode(
        [("contract", venue_symbol(symbol)), ("order", venue_order_id), ("limit", limit)]
    )
    return signed_request("GET", f"{FUTURES}/my_trades", query, b"", credentials, timestamp_s)


def position_request(symbol: Symbol, credentials: ApiCredentials, timestamp_s: int) -> RestRequest:
    """``GET /futures/usdt/positions/{contract}``."""
    path = f"{FUTURES}/positions/{venue_symbol(symbol)}"
    return signed_request("GET", path, "", b"", credentials, timestamp_s)


def set_leverage_request(
    symbol: Symbol, leverage: float, credentials: ApiCredentials, timestamp_s: int
) -> RestRequest:
    """``POST /futures/usdt/positions/{contract}/leverage?leverage=N``: isolated margin at
    ``leverage`` (Gate.io's cross margin is ``leverage=0`` with ``cross_leverage_limit``,
    which Basis does not use). The reply is the position (:func:`parse_position_settings`)."""
    if not leverage > 0:
        raise ValueError(f"leverage {leverage} must be > 0")
    path = f"{FUTURES}/positions/{venue_symbol(symbol)}/leverage"
    query = urlencode([("leverage", decimal(leverage))])
    return signed_request("POST", path, query, b"", credentials, timestamp_s)


def futures_account_request(credentials: ApiCredentials, timestamp_s: int) -> RestRequest:
    """``GET /futures/usdt/accounts``: the USDT futures account, its position mode included."""
    return signed_request("GET", f"{FUTURES}/accounts", "", b"", credentials, timestamp_s)


def account_detail_request(credentials: ApiCredentials, timestamp_s: int) -> RestRequest:
    """``GET /account/detail``: the key's account, its user id included."""
    return signed_request("GET", "/account/detail", "", b"", credentials, timestamp_s)


def server_time_request() -> RestRequest:
    """``GET /spot/time`` (public): the venue's clock, against which the ``Timestamp`` of
    signed requests is judged."""
    return public_request("GET", "/spot/time")


def contract_request(symbol: Symbol) -> RestRequest:
    """``GET /futures/usdt/contracts/{contract}`` (public)."""
    return public_request("GET", f"{FUTURES}/contracts/{venue_symbol(symbol)}")


def contracts_request() -> RestRequest:
    """``GET /futures/usdt/contracts`` (public): every USDT contract in one reply."""
    return public_request("GET", f"{FUTURES}/contracts")


FUNDING_BOOK_TYPE = "fund"
"""The account book's change type of a funding settlement."""


def funding_book_request(
    credentials: ApiCredentials,
    timestamp_s: int,
    *,
    since_s: int,
    limit: int = 100,
    offset: int = 0,
) -> RestRequest:
    """``GET /futures/usdt/account_book?type=fund``: the account's funding settlements
    from ``since_s`` (Unix seconds) on, newest first, at most ``limit`` of them after
    skipping the ``offset`` newest."""
    fields: list[tuple[str, object]] = [
        ("type", FUNDING_BOOK_TYPE),
        ("from", since_s),
        ("limit", limit),
    ]
    if offset:
        fields.append(("offset", offset))
    query = urlencode(fields)
    return signed_request("GET", f"{FUTURES}/account_book", query, b"", credentials, timestamp_s)


def order_book_request(symbol: Symbol, limit: int = 20) -> RestRequest:
    """``GET /futures/usdt/order_book`` with the snapshot ``id`` the updates continue."""
    query = urlencode([("contract", venue_symbol(symbol)), ("limit", limit), ("with_id", "true")])
    return public_request("GET", f"{FUTURES}/order_book", query)


# ------------------------------------------------------------------------ replies


class _Contract(msgspec.Struct):
    name: str
    quanto_multiplier: Numeric
    order_price_round: Numeric
    order_size_min: Numeric
    order_size_max: Numeric = 0
    taker_fee_rate: Numeric | None = None
    maker_fee_rate: Numeric | None = None
    funding_rate: Numeric = 0
    funding_interval: float = 0.0
    funding_next_apply: float = 0.0
    status: str = "trading"
    in_delisting: bool = False


class _Level(msgspec.Struct):
    p: Numeric
    s: Numeric


class _BookEntry(msgspec.Struct):
    """One change of ``GET /futures/usdt/account_book``."""

    id: int | str
    time: float
    change: Numeric
    type: str
    contract: str = ""
    balance: Numeric = 0
    text: str = ""


class _OrderBook(msgspec.Struct):
    id: int
    asks: list[_Level]
    bids: list[_Level]
    current: float = 0.0
    update: float = 0.0


class _FuturesAccount(msgspec.Struct):
    total: Numeric
    available: Numeric
    in_dual_mode: bool
    currency: str = "USDT"


class _AccountDetail(msgspec.Struct):
    user_id: int | str


class _ErrorBody(msgspec.Struct):
    label: str
    message: str = ""


class _ServerTime(msgspec.Struct):
    server_time: int


_contract_decoder = msgspec.json.Decoder(_Contract)
_server_time_decoder = msgspec.json.Decoder(_ServerTime)
_order_book_decoder = msgspec.json.Decoder(_OrderBook)
_account_book_decoder = msgspec.json.Decoder(list[_BookEntry])
_order_decoder = msgspec.json.Decoder(WireOrder)
_orders_decoder = msgspec.json.Decoder(list[WireOrder])
_trades_decoder = msgspec.json.Decoder(list[WireTrade])
_position_decoder = msgspec.json.Decoder(WirePosition)
_error_decoder = msgspec.json.Decoder(_ErrorBody)
_futures_account_decoder = msgspec.json.Decoder(_FuturesAccount)
_account_detail_decoder = msgspec.json.Decoder(_AccountDetail)

T = TypeVar("T")


def _read(decoder: msgspec.json.Decoder[T], body: bytes, what: str) -> T:
    try:
        return decoder.decode(body)
    except msgspec.DecodeError as error:
        raise MalformedResponse(EXCHANGE, None, f"{what} reply: {error}") from None


def _malformed(what: str, error: WireFormatError) -> MalformedResponse:
    return MalformedResponse(EXCHANGE, None, f"{what} reply: {error}")


def _tradable_contract(body: bytes) -> _Contract:
    contract = _read(_contract_decoder, body, "contract")
    if contract.status != "trading" or contract.in_delisting:
        raise TradingDisabled(
            EXCHANGE,
            None,
            f"{contract.name} is not trading (status {contract.status!r}, "
            f"in_delisting {contract.in_delisting})",
        )
    return contract


def parse_contract(body: bytes) -> VenueRules:
    """The rules of a contract from ``GET /futures/usdt/contracts/{contract}``, in base
    units (Basis trades whole contracts, so the quantity step is one contract). Gate.io
    has no minimum notional: it is ``min_qty * price``, so ``min_notional`` stays 0.
    Raises ``TradingDisabled`` for a contract that is not trading."""
    contract = _tradable_contract(body)
    try:
        contract_size = number(contract.quanto_multiplier, "quanto_multiplier")
        min_contracts = number(contract.order_size_min, "order_size_min")
        return VenueRules(
            qty_step=contract_size,
            min_qty=min_contracts * contract_size,
            price_tick=number(contract.order_price_round, "order_price_round"),
            contract_size=contract_size,
            min_contracts=min_contracts,
            taker_fee=(
                None
                if contract.taker_fee_rate is None
                else number(contract.taker_fee_rate, "taker_fee_rate")
            ),
        )
    except WireFormatError as error:
        raise _malformed("contract", error) from None


class _ContractName(msgspec.Struct):
    name: str


_contract_list_decoder = msgspec.json.Decoder(list[msgspec.Raw])
_contract_name_decoder = msgspec.json.Decoder(_ContractName)


def contract_entries(body: bytes) -> dict[Symbol, bytes]:
    """Each contract of a ``GET /futures/usdt/contracts`` reply by symbol, as one
    contract's reply, which :func:`parse_contract` and :func:`parse_funding` read. A
    contract whose name is no symbol is none Basis trades, and is left out."""
    entries = {}
    for entry in _read(_contract_list_decoder, body, "contracts"):
        name = _read(_contract_name_decoder, entry, "contracts").name
        try:
            symbol = parse_symbol(name)
        except WireFormatError:
            continue
        entries[symbol] = bytes(entry)
    return entries


def parse_funding(body: bytes) -> FundingRate:
    """A contract's funding from ``GET /futures/usdt/contracts/{contract}``: the rate,
    the interval between settlements (the contract's own, not always 8 h) and the next
    settlement time."""
    contract = _read(_contract_decoder, body, "contract")
    try:
        symbol = parse_symbol(contract.name)
        rate = number(contract.funding_rate, "funding_rate")
    except WireFormatError as error:
        raise _malformed("contract", error) from None
    if contract.funding_interval <= 0 or contract.funding_next_apply <= 0:
        raise MalformedResponse(
            EXCHANGE,
            None,
            f"contract reply: {contract.name} gives no funding_interval or funding_next_apply",
        )
    return FundingRate(symbol, rate, contract.funding_interval, contract.funding_next_apply)


def account_book_length(body: bytes) -> int:
    """How many changes an ``account_book`` reply lists, of every type: a page shorter
    than the limit asked is the last."""
    return len(_read(_account_book_decoder, body, "account_book"))


def parse_funding_book(body: bytes) -> list[FundingBookEntry]:
    """The funding settlements of an ``account_book?type=fund`` reply, oldest first.
    Changes of other types, and those that name no contract (Gate.io records it only
    since 2023-10-30), are left out: they cannot be told apart by symbol."""
    entries = _read(_account_book_decoder, body, "account_book")
    settled = []
    try:
        for entry in entries:
            if entry.type != FUNDING_BOOK_TYPE or not entry.contract:
                continue
            settled.append(
                FundingBookEntry(
                    str(entry.id),
                    parse_symbol(entry.contract),
                    entry.time,
                    number(entry.change, "change"),
                )
            )
    except WireFormatError as error:
        raise _malformed("account_book", error) from None
    return sorted(settled, key=lambda entry: (entry.ts, entry.ledger_id))


def parse_order_book(body: bytes, symbol: Symbol, contract_size: float) -> DepthSnapshot:
    """``GET /futures/usdt/order_book?with_id=true``; ``id`` is the version the updates
    continue (sizes converted to base units)."""
    book = _read(_order_book_decoder, body, "order_book")
    try:
        return DepthSnapshot(
            symbol,
            book.id,
            tuple(
                BookLevel(number(level.p, "bids.p"), number(level.s, "bids.s") * contract_size)
                for level in book.bids
            ),
            tuple(
                BookLevel(number(level.p, "asks.p"), number(level.s, "asks.s") * contract_size)
                for level in book.asks
            ),
        )
    except WireFormatError as error:
        raise _malformed("order_book", error) from None


def parse_order(body: bytes, contract_size: float) -> OrderUpdate:
    """An order reply (place: HTTP 201, cancel, query) in base units."""
    order = _read(_order_decoder, body, "order")
    try:
        return order_update(order, contract_size)
    except WireFormatError as error:
        raise _malformed("order", error) from None


def parse_orders(body: bytes, contract_size: float) -> list[OrderUpdate]:
    """A list of one contract's orders (``GET /futures/usdt/orders``) in base units."""
    orders = _read(_orders_decoder, body, "orders")
    try:
        return [order_update(order, contract_size) for order in orders]
    except WireFormatError as error:
        raise _malformed("orders", error) from None


def parse_trades(body: bytes, contract_size: float) -> list[Trade]:
    """A list of one contract's trades (``GET /futures/usdt/my_trades``) in base units,
    each with the fee it was charged, in USDT."""
    trades = _read(_trades_decoder, body, "my_trades")
    try:
        return [user_trade(trade, contract_size) for trade in trades]
    except WireFormatError as error:
        raise _malformed("my_trades", error) from None


def parse_position(body: bytes, contract_size: float) -> FuturesPosition:
    """``GET /futures/usdt/positions/{contract}``; ``qty`` negative when short."""
    position = _read(_position_decoder, body, "position")
    try:
        return futures_position(position, contract_size)
    except WireFormatError as error:
        raise _malformed("position", error) from None


def parse_position_settings(body: bytes, contract_size: float) -> PositionSettings:
    """The settings of a position object (``GET .../positions/{contract}`` or the reply
    to setting its leverage)."""
    position = _read(_position_decoder, body, "position")
    try:
        return PositionSettings(
            parse_symbol(position.contract),
            number(position.size, "size") * contract_size,
            number(position.leverage, "leverage"),
            number(position.cross_leverage_limit, "cross_leverage_limit"),
            position.mode,
            number(position.liq_price, "liq_price"),
        )
    except WireFormatError as error:
        raise _malformed("position", error) from None


def parse_futures_account(body: bytes) -> FuturesAccountSettings:
    """``GET /futures/usdt/accounts``."""
    account = _read(_futures_account_decoder, body, "futures account")
    try:
        return FuturesAccountSettings(
            account.currency,
            number(account.total, "total"),
            number(account.available, "available"),
            account.in_dual_mode,
        )
    except WireFormatError as error:
        raise _malformed("futures account", error) from None


def parse_account_detail(body: bytes) -> str:
    """The user id in ``GET /account/detail`` (a number on the wire), as the private
    channels' payloads name it."""
    return str(_read(_account_detail_decoder, body, "account detail").user_id)


def parse_server_time(body: bytes) -> float:
    """The venue's clock from ``GET /spot/time`` (``server_time``, ms), in seconds."""
    return _read(_server_time_decoder, body, "spot/time").server_time / 1000.0


# ------------------------------------------------------------------------- errors

ERRORS_BY_LABEL: dict[str, type[VenueError]] = {
    "INSUFFICIENT_AVAILABLE": InsufficientBalance,
    "BALANCE_NOT_ENOUGH": InsufficientBalance,
    "SIZE_TOO_SMALL": BelowMinimum,
    "SIZE_TOO_LARGE": AboveMaximum,
    "PRICE_TOO_DEVIATED": PriceRejected,
    "ORDER_NOT_FOUND": UnknownOrder,
    "ORDER_FINISHED": OrderAlreadyFinal,
    "CONTRACT_NOT_FOUND": InvalidSymbol,
    "INVALID_PARAM_VALUE": InvalidParameter,
    "INVALID_PRECISION": InvalidPrecision,
    "INVALID_SIGNATURE": BadSignature,
    "INVALID_KEY": BadCredentials,
    "INVALID_CREDENTIALS": BadCredentials,
    "MISSING_REQUIRED_HEADER": BadCredentials,
    "IP_FORBIDDEN": BadCredentials,
    "READ_ONLY": BadCredentials,
    "ACCOUNT_LOCKED": BadCredentials,
    "FORBIDDEN": BadCredentials,
    "REQUEST_EXPIRED": TimestampRejected,
    "REDUCE_EXCEEDED": ReduceOnlyViolated,
    "SERVER_ERROR": VenueUnavailable,
    "TOO_BUSY": VenueUnavailable,
    "LEVERAGE_TOO_HIGH": InvalidParameter,
    "LEVERAGE_TOO_LOW": InvalidParameter,
}
"""Labels and the errors they mean. Every documented authentication label is a
credentials, signature or timestamp error, none of which asking again mends (Gate.io
answers them with HTTP 401). ``TOO_MANY_ORDERS`` (the open-order limit) has no typed
error of its own and stays a plain ``VenueError`` carrying its label."""

REMAIN_HEADER = "X-Gate-RateLimit-Requests-Remain"
LIMIT_HEADER = "X-Gate-RateLimit-Limit"
RESET_HEADER = "X-Gate-RateLimit-Reset-Timestamp"
"""Gate.io's rate limit headers, on every reply: the requests left in the endpoint's
window, its limit, and when the window resets once exceeded (else the current time), in
Unix seconds."""


def exhausted_for_s(response: RestResponse, now_s: float) -> float:
    """How long until the endpoint's window resets, when the reply says no request is
    left in it; 0.0 while some are (or the headers do not say)."""
    try:
        remaining = int(response.header(REMAIN_HEADER) or "1")
    except ValueError:
        return 0.0
    if remaining > 0:
        return 0.0
    return _retry_after_s(response, now_s) or 0.0


def _retry_after_s(response: RestResponse, now_s: float | None) -> float | None:
    reset = response.header(RESET_HEADER)
    if reset is None or now_s is None:
        return None
    try:
        reset_s = float(reset)
    except ValueError:
        return None
    # The reset time is documented in seconds; milliseconds are told by size all the same.
    if reset_s > 1e11:
        reset_s /= 1000.0
    return max(0.0, reset_s - now_s)


def error_from_response(response: RestResponse, now_s: float | None = None) -> VenueError:
    """The typed error for a non-2xx reply, by its ``label``; HTTP 429 is rate limiting
    whatever the body says (the wait comes from the reset-timestamp header when ``now_s``
    is given), a 401 with no known label is bad credentials (Gate.io answers every
    authentication failure with 401), and an unlabelled 5xx is the venue being
    unavailable."""
    try:
        error = _error_decoder.decode(response.body)
        label: str | None = error.label
        message = error.message or error.label
    except msgspec.DecodeError:
        label = None
        message = f"HTTP {response.status}: {response.body[:200].decode(errors='replace')}"
    if response.status == 429:
        retry_after = _retry_after_s(response, now_s)
        return RateLimited(EXCHANGE, label, message, response.status, retry_after)
    kind = ERRORS_BY_LABEL.get(label) if label is not None else None
    if kind is None and response.status == 401:
        kind = BadCredentials
    elif kind is None and response.status >= 500:
        kind = VenueUnavailable
    return (kind or VenueError)(EXCHANGE, label, message, response.status)
