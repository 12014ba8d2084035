"""Gate.io USDT perpetual futures (API v4) websocket, the client's side, plus what both
sides of Gate.io share: contract names, client order ids (``text``), contract sizes and
the order object. Pure: no I/O, no clock (times are passed in), no secrets kept.

Frames are JSON. ``decode_frame`` returns everything one frame says (order, trade and
position pushes carry lists) and never raises: what it cannot read comes back as a
``MalformedMessage`` naming the field. Sizes on the wire are contracts, signed for
orders, trades and positions (negative = sell / short); decoded values are in base units,
which is why decoding needs each contract's size (``quanto_multiplier``).

REST is ``protocols.gateio_rest``; the simulated venue's side of both is
``protocols.gateio_encode``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping, Sequence

import msgspec

from protocols._wire import WireFormatError, number
from protocols.model import OrderStatus, Quote, Side, Symbol
from protocols.venue import (
    ApiCredentials,
    BookLevel,
    DepthDiff,
    DepthSnapshot,
    FundingTick,
    FuturesPosition,
    MalformedMessage,
    OrderUpdate,
    Pong,
    PositionReducedByVenue,
    SubscriptionResult,
    Trade,
    UpgradeNotice,
)

EXCHANGE = "gateio"
"""The exchange whose API this module speaks (venue errors name it)."""
SETTLE_ASSET = "USDT"

# ------------------------------------------------------------------ contract names


def venue_symbol(symbol: Symbol) -> str:
    """``BTC/USDT`` as Gate.io names the contract: ``BTC_USDT``."""
    return f"{symbol.base}_{symbol.quote}"


_CONTRACT = re.compile(r"^([A-Z0-9]+)_([A-Z0-9]+)$")


@functools.lru_cache(maxsize=4096)
def parse_symbol(contract: str) -> Symbol:
    """``BTC_USDT`` → ``BTC/USDT``."""
    match = _CONTRACT.match(contract)
    if match is None:
        raise WireFormatError(f"contract {contract!r} is not of the form BASE_QUOTE")
    return Symbol(match.group(1), match.group(2))


# ------------------------------------------------------------------ client order ids

CLIENT_TEXT_PREFIX = "t-"
_CLIENT_ID = re.compile(r"^[0-9A-Za-z_.-]{1,28}$")


def client_text(client_id: str) -> str:
    """The order ``text`` carrying ``client_id``: Gate.io requires the ``t-`` prefix and
    at most 28 more characters of ``[0-9A-Za-z_.-]``."""
    if _CLIENT_ID.match(client_id) is None:
        raise ValueError(
            f"client order id {client_id!r} is not 1-28 characters of [0-9A-Za-z_.-], "
            "which is all Gate.io allows after the t- prefix"
        )
    return CLIENT_TEXT_PREFIX + client_id


def client_id_from_text(text: str) -> str:
    """The client id in an order's ``text``. Orders placed elsewhere carry texts such as
    ``web`` or ``-``; those come back unchanged and match no client id of Basis."""
    return text.removeprefix(CLIENT_TEXT_PREFIX)


# ------------------------------------------------------------------------ sizes

Numeric = float | str  # with X-Gate-Size-Decimal sizes may be decimal strings

SIZE_DECIMAL_HEADER = ("X-Gate-Size-Decimal", "1")
"""Send on every REST request and on the websocket handshake: sizes may then carry
decimals, and every size reader here accepts an int or a decimal string."""


def contract_size_of(contract_sizes: Mapping[Symbol, float], symbol: Symbol) -> float:
    """Base units per contract of ``symbol``; a contract with no known size cannot be
    read, so this names it."""
    size = contract_sizes.get(symbol)
    if size is None:
        raise WireFormatError(f"no contract size is known for {venue_symbol(symbol)}")
    return size


def contracts_of(qty: float, contract_size: float) -> int:
    """``qty`` base units as a whole number of contracts, which is what Basis trades;
    a quantity between whole contracts is a rounding bug upstream, so it is refused."""
    contracts = qty / contract_size
    whole = round(contracts)
    if abs(contracts - whole) > 1e-6 * max(1.0, abs(contracts)):
        raise ValueError(
            f"quantity {qty} is {contracts} contracts of {contract_size}; "
            "round it to whole contracts first"
        )
    return whole


# ------------------------------------------------------------------ order object


class WireOrder(msgspec.Struct):
    """Gate.io's futures order object, as REST returns it and the orders channel pushes
    it: REST writes prices as strings, the websocket as numbers; sizes are ints or
    decimal strings. ``update_time`` is milliseconds in pushes."""

    id: int | str
    contract: str
    size: Numeric
    status: str
    left: Numeric = 0
    price: Numeric = "0"
    fill_price: Numeric = "0"
    text: str = ""
    finish_as: str | None = None
    is_reduce_only: bool = False
    tif: str = "gtc"
    create_time: float = 0.0
    finish_time: float | None = None
    update_time: float | None = None


def _seconds(value: float) -> float:
    # Gate.io writes some times in seconds and others in milliseconds.
    return value / 1000.0 if value > 1e11 else value


def order_update(order: WireOrder, contract_size: float) -> OrderUpdate:
    """``order`` in base units. Open orders are new or partially filled by what is
    left; a finished order is filled when nothing is left, else cancelled (however it
    finished: ioc, reduce_only, stp, ...)."""
    size = number(order.size, "size")
    size_abs = abs(size)
    left = abs(number(order.left, "left"))
    if order.status == "open":
        status = OrderStatus.PARTIALLY_FILLED if left < size_abs else OrderStatus.NEW
    elif order.status == "finished":
        status = OrderStatus.FILLED if left == 0.0 else OrderStatus.CANCELLED
    else:
        raise WireFormatError(f"status {order.status!r} is neither open nor finished")
    if order.update_time:
        ts = _seconds(order.update_time)
    else:
        ts = order.finish_time or order.create_time
    return OrderUpdate(
        symbol=parse_symbol(order.contract),
        client_id=client_id_from_text(order.text),
        venue_order_id=str(order.id),
        status=status,
        side=Side.BUY if size > 0 else Side.SELL,
        qty=size_abs * contract_size,
        price=number(order.price, "price"),
        filled_qty=(size_abs - left) * contract_size,
        avg_price=number(order.fill_price, "fill_price"),
        reduce_only=order.is_reduce_only,
        ts=ts,
    )


# ------------------------------------------------------------------------ channels

BOOK_TICKER = "futures.book_ticker"
TICKERS = "futures.tickers"
ORDER_BOOK_UPDATE = "futures.order_book_update"
ORDER_BOOK = "futures.order_book"
ORDERS = "futures.orders"
USER_TRADES = "futures.usertrades"
POSITIONS = "futures.positions"
LIQUIDATES = "futures.liquidates"
AUTO_DELEVERAGES = "futures.auto_deleverages"
PING = "futures.ping"
PONG = "futures.pong"
SYSTEM = "futures.system"
PRIVATE_CHANNELS = frozenset({ORDERS, USER_TRADES, POSITIONS, LIQUIDATES, AUTO_DELEVERAGES})
ALL_CONTRACTS = "!all"


def book_ticker_payload(symbols: Sequence[Symbol]) -> list[str]:
    return [venue_symbol(symbol) for symbol in symbols]


def order_book_update_payload(
    symbol: Symbol, interval: str = "100ms", levels: int = 20
) -> list[str]:
    """``[contract, interval, levels]``: ``100ms`` or ``20ms``; 20, 50 or 100 levels."""
    if interval not in ("100ms", "20ms"):
        raise ValueError(f"order book update interval {interval!r} is not 100ms or 20ms")
    if levels not in (20, 50, 100):
        raise ValueError(f"order book update depth {levels} is not 20, 50 or 100")
    return [venue_symbol(symbol), interval, str(levels)]


def private_payload(user_id: str, symbol: Symbol | None = None) -> list[str]:
    """``[user id, contract]`` for one contract, ``[user id, "!all"]`` for every one."""
    return [user_id, ALL_CONTRACTS if symbol is None else venue_symbol(symbol)]


# ---------------------------------------------------------------- websocket requests


def sign_channel(secret: str, channel: str, event: str, time_s: int) -> str:
    """The ``auth.SIGN`` of a private-channel request: hex HMAC-SHA512 of
    ``channel=<channel>&event=<event>&time=<time>``."""
    message = f"channel={channel}&event={event}&time={time_s}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha512).hexdigest()


class ChannelAuth(msgspec.Struct, frozen=True):
    method: str
    KEY: str
    SIGN: str


class ChannelRequest(msgspec.Struct, frozen=True, omit_defaults=True):
    """A client's websocket request, as sent and as the venue reads it."""

    time: int
    channel: str
    event: str | None = None
    id: int | None = None
    payload: list[str] | None = None
    auth: ChannelAuth | None = None


_encode_json = msgspec.json.Encoder().encode


def _channel_request(
    event: str,
    channel: str,
    payload: Sequence[str],
    time_s: int,
    request_id: int,
    credentials: ApiCredentials | None,
) -> str:
    auth = None
    if channel in PRIVATE_CHANNELS:
        if credentials is None:
            raise ValueError(f"{channel} is a private channel: pass the API credentials")
        auth = ChannelAuth(
            "api_key", credentials.key, sign_channel(credentials.secret, channel, event, time_s)
        )
    request = ChannelRequest(time_s, channel, event, request_id, list(payload), auth)
    return _encode_json(request).decode()


def subscribe_message(
    channel: str,
    payload: Sequence[str],
    time_s: int,
    request_id: int = 1,
    credentials: ApiCredentials | None = None,
) -> str:
    """The text frame subscribing to ``channel``; private channels are signed with
    ``credentials`` at ``time_s`` (Unix seconds)."""
    return _channel_request("subscribe", channel, payload, time_s, request_id, credentials)


def ping_message(time_s: int) -> str:
    """The application-level ping; Gate.io answers on ``futures.pong``."""
    return _encode_json(ChannelRequest(time_s, PING)).decode()


# ------------------------------------------------------------------ frame decoding

GateioEvent = (
    Quote
    | DepthDiff
    | DepthSnapshot
    | OrderUpdate
    | Trade
    | FuturesPosition
    | PositionReducedByVenue
    | FundingTick
    | Pong
    | SubscriptionResult
    | UpgradeNotice
    | MalformedMessage
)


class _Error(msgspec.Struct):
    code: int
    message: str = ""


class _Envelope(msgspec.Struct):
    channel: str = ""
    event: str = ""
    time: float = 0.0
    time_ms: int | None = None
    error: _Error | None = None
    result: msgspec.Raw = msgspec.Raw()


class _AckResult(msgspec.Struct):
    status: str = ""


class _SystemResult(msgspec.Struct):
    type: str = ""
    msg: str = ""


class _BookTicker(msgspec.Struct):
    s: str
    t: int = 0
    u: int = 0
    b: Numeric = ""
    B: Numeric = 0
    a: Numeric = ""
    A: Numeric = 0


class _Level(msgspec.Struct):
    p: Numeric
    s: Numeric


class _NumericLevel(msgspec.Struct, gc=False):
    """A level as it usually comes: both fields numbers or decimal strings, which the
    decoder reads as floats (``_numeric_levels_decoder`` is lax for that)."""

    p: float
    s: float


_NO_LEVELS = msgspec.Raw(b"[]")


class _Ticker(msgspec.Struct):
    """One contract of a ``futures.tickers`` push: only what Basis reads of it."""

    contract: str
    funding_rate: Numeric


class _BookUpdate(msgspec.Struct):
    s: str
    U: int
    u: int
    t: int = 0
    b: msgspec.Raw = _NO_LEVELS
    """The levels, read by ``_levels``."""
    a: msgspec.Raw = _NO_LEVELS
    full: bool = False


class _Book(msgspec.Struct):
    contract: str
    id: int
    t: int = 0
    asks: msgspec.Raw = _NO_LEVELS
    bids: msgspec.Raw = _NO_LEVELS


class WireTrade(msgspec.Struct):
    """One of the account's trades, as the user-trades channel pushes it and
    ``GET /futures/usdt/my_trades`` lists it (ids and prices as numbers or strings)."""

    id: int | str
    contract: str
    order_id: int | str
    size: Numeric
    price: Numeric
    role: str = "taker"
    text: str = ""
    fee: Numeric = 0
    create_time: float = 0.0
    create_time_ms: float | None = None


class WirePosition(msgspec.Struct):
    """Gate.io's position object: numbers in pushes, strings in REST replies."""

    contract: str
    size: Numeric
    entry_price: Numeric = 0
    mark_price: Numeric = 0
    leverage: Numeric = 0
    realised_pnl: Numeric = 0
    pnl_fund: Numeric = 0
    cross_leverage_limit: Numeric = 0
    liq_price: Numeric = 0
    margin: Numeric = 0
    unrealised_pnl: Numeric = 0
    maintenance_rate: Numeric = 0
    risk_limit: Numeric = 0
    mode: str = "single"


class WireLiquidate(msgspec.Struct):
    """A ``futures.liquidates`` item: the position (``size``, signed contracts) the venue
    liquidated, the average price its liquidation order took (``fill_price``) and what
    of the order was left (``left``, contracts)."""

    contract: str
    size: Numeric
    fill_price: Numeric
    left: Numeric = 0
    time: float = 0.0
    time_ms: int | None = None


class WireAutoDeleverage(msgspec.Struct):
    """A ``futures.auto_deleverages`` item: ``trade_size`` contracts taken off at
    ``fill_price``, ``position_size`` (signed) what is left."""

    contract: str
    trade_size: Numeric
    position_size: Numeric
    fill_price: Numeric
    time: float = 0.0
    time_ms: int | None = None


_envelope_decoder = msgspec.json.Decoder(_Envelope)
_ack_decoder = msgspec.json.Decoder(_AckResult)
_system_decoder = msgspec.json.Decoder(_SystemResult)
_book_ticker_decoder = msgspec.json.Decoder(_BookTicker)
_book_update_decoder = msgspec.json.Decoder(_BookUpdate)
_tickers_decoder = msgspec.json.Decoder(list[_Ticker])
_book_decoder = msgspec.json.Decoder(_Book)
_levels_decoder = msgspec.json.Decoder(list[_Level])
# Lax only here: decimal strings become floats in the decoder, where float() on each
# would cost more than the rest of the update together.
_numeric_levels_decoder = msgspec.json.Decoder(list[_NumericLevel], strict=False)
_orders_decoder = msgspec.json.Decoder(list[WireOrder])
_user_trades_decoder = msgspec.json.Decoder(list[WireTrade])
_positions_decoder = msgspec.json.Decoder(list[WirePosition])
_liquidates_decoder = msgspec.json.Decoder(list[WireLiquidate])
_auto_deleverages_decoder = msgspec.json.Decoder(list[WireAutoDeleverage])

Sizes = Mapping[Symbol, float]


def decode_frame(
    frame: bytes | str, recv_ts: float, contract_sizes: Sizes
) -> tuple[GateioEvent, ...]:
    """Everything one websocket frame says, in order. ``recv_ts`` is when it arrived
    (Unix seconds); ``contract_sizes`` gives base units per contract of each contract
    that may appear. Never raises."""
    try:
        envelope = _envelope_decoder.decode(frame)
    except msgspec.DecodeError as error:
        return (MalformedMessage.about(f"frame: {error}", frame),)
    try:
        return _dispatch(envelope, recv_ts, contract_sizes)
    except msgspec.DecodeError as error:
        where = envelope.channel or "frame"
        return (MalformedMessage.about(f"{where} {envelope.event} result: {error}", frame),)
    except WireFormatError as error:
        where = envelope.channel or "frame"
        return (MalformedMessage.about(f"{where} {envelope.event}: {error}", frame),)


def _dispatch(
    envelope: _Envelope, recv_ts: float, contract_sizes: Sizes
) -> tuple[GateioEvent, ...]:
    channel, event = envelope.channel, envelope.event
    if event == "upgrade":
        return (UpgradeNotice(f"{channel or 'server'} announced an upgrade"),)
    if channel == SYSTEM and envelope.result:
        system = _system_decoder.decode(envelope.result)
        if system.type == "upgrade":
            return (UpgradeNotice(system.msg or "futures.system announced an upgrade"),)
    if event in ("subscribe", "unsubscribe"):
        # A failure carries "error"; check it rather than "result".
        if envelope.error is not None:
            message = f"error {envelope.error.code}: {envelope.error.message}"
            return (SubscriptionResult(False, channel, message),)
        status = _ack_decoder.decode(envelope.result).status if envelope.result else ""
        return (SubscriptionResult(status == "success", channel, status),)
    if envelope.error is not None:
        raise WireFormatError(
            f"venue reported error {envelope.error.code}: {envelope.error.message}"
        )
    if channel == PONG:
        return (Pong(),)
    reader = _PUSH_READERS.get((channel, event))
    if reader is None:
        raise WireFormatError(f"no {event!r} event is read on channel {channel!r}")
    venue_ts = envelope.time_ms / 1000.0 if envelope.time_ms else envelope.time or recv_ts
    return reader(envelope.result, venue_ts, recv_ts, contract_sizes)


def _levels(raw: msgspec.Raw, contract_size: float, where: str) -> tuple[BookLevel, ...]:
    """Every level of every update passes here: read as numbers in one decoding, and by
    field only when that fails (an empty price, a value that is no number)."""
    try:
        numeric = _numeric_levels_decoder.decode(raw)
    except msgspec.ValidationError:
        pass
    else:
        return tuple([BookLevel(level.p, level.s * contract_size) for level in numeric])
    try:
        levels = _levels_decoder.decode(raw)
    except msgspec.ValidationError as error:
        raise WireFormatError(f"{where}: {error}") from None
    return tuple(
        BookLevel(number(level.p, f"{where}.p"), number(level.s, f"{where}.s") * contract_size)
        for level in levels
    )


def _read_book_ticker(
    result: msgspec.Raw, venue_ts: float, recv_ts: float, contract_sizes: Sizes
) -> tuple[GateioEvent, ...]:
    ticker = _book_ticker_decoder.decode(result)
    symbol = parse_symbol(ticker.s)
    contract_size = contract_size_of(contract_sizes, symbol)
    bid, ask = number(ticker.b, "b"), number(ticker.a, "a")
    # "" as a price means that side is empty, whatever the size says.
    bid_qty = number(ticker.B, "B") * contract_size if bid else 0.0
    ask_qty = number(ticker.A, "A") * contract_size if ask else 0.0
    ts = ticker.t / 1000.0 if ticker.t else venue_ts
    return (Quote(symbol, bid, bid_qty, ask, ask_qty, ts, recv_ts),)


def _read_tickers(result: msgspec.Raw, _: float, __: float, ___: Sizes) -> tuple[GateioEvent, ...]:
    return tuple(
        FundingTick(parse_symbol(ticker.contract), number(ticker.funding_rate, "funding_rate"))
        for ticker in _tickers_decoder.decode(result)
    )


def _read_book_update(
    result: msgspec.Raw, venue_ts: float, _: float, contract_sizes: Sizes
) -> tuple[GateioEvent, ...]:
    """An order book update: a diff of ``U..u``, or with ``full: true`` the whole book
    at version ``u``, which replaces the local one (Gate.io sends one after subscribing
    and may send more whenever it likes)."""
    update = _book_update_decoder.decode(result)
    symbol = parse_symbol(update.s)
    contract_size = contract_size_of(contract_sizes, symbol)
    if update.full:
        bids, asks = _levels(update.b, contract_size, "b"), _levels(update.a, contract_size, "a")
        return (DepthSnapshot(symbol, update.u, bids, asks),)
    return (
        DepthDiff(
            symbol,
            update.U,
            update.u,
            _levels(update.b, contract_size, "b"),
            _levels(update.a, contract_size, "a"),
            update.t / 1000.0 if update.t else venue_ts,
        ),
    )


def _read_book(
    result: msgspec.Raw, _: float, __: float, contract_sizes: Sizes
) -> tuple[GateioEvent, ...]:
    book = _book_decoder.decode(result)
    symbol = parse_symbol(book.contract)
    contract_size = contract_size_of(contract_sizes, symbol)
    return (
        DepthSnapshot(
            symbol,
            book.id,
            _levels(book.bids, contract_size, "bids"),
            _levels(book.asks, contract_size, "asks"),
        ),
    )


def _read_orders(
    result: msgspec.Raw, _: float, __: float, contract_sizes: Sizes
) -> tuple[GateioEvent, ...]:
    updates: list[GateioEvent] = []
    for order in _orders_decoder.decode(result):
        symbol = parse_symbol(order.contract)
        updates.append(order_update(order, contract_size_of(contract_sizes, symbol)))
    return tuple(updates)


def user_trade(trade: WireTrade, contract_size: float) -> Trade:
    """One user trade in base units; ``fee`` is in the settle asset (USDT)."""
    size = number(trade.size, "size")
    return Trade(
        symbol=parse_symbol(trade.contract),
        trade_id=str(trade.id),
        client_id=client_id_from_text(trade.text),
        venue_order_id=str(trade.order_id),
        side=Side.BUY if size > 0 else Side.SELL,
        qty=abs(size) * contract_size,
        price=number(trade.price, "price"),
        fee=number(trade.fee, "fee"),
        fee_asset=SETTLE_ASSET,
        is_maker=trade.role == "maker",
        ts=trade.create_time_ms / 1000.0 if trade.create_time_ms else trade.create_time,
    )


def _read_user_trades(
    result: msgspec.Raw, _: float, __: float, contract_sizes: Sizes
) -> tuple[GateioEvent, ...]:
    return tuple(
        user_trade(trade, contract_size_of(contract_sizes, parse_symbol(trade.contract)))
        for trade in _user_trades_decoder.decode(result)
    )


def futures_position(position: WirePosition, contract_size: float) -> FuturesPosition:
    """A position in base units, negative when short."""
    return FuturesPosition(
        symbol=parse_symbol(position.contract),
        qty=number(position.size, "size") * contract_size,
        entry_price=number(position.entry_price, "entry_price"),
        mark_price=number(position.mark_price, "mark_price"),
        leverage=number(position.leverage, "leverage"),
        realised_pnl=number(position.realised_pnl, "realised_pnl"),
        funding_pnl=number(position.pnl_fund, "pnl_fund"),
        margin=number(position.margin, "margin"),
        unrealised_pnl=number(position.unrealised_pnl, "unrealised_pnl"),
        liq_price=number(position.liq_price, "liq_price"),
        maintenance_rate=number(position.maintenance_rate, "maintenance_rate"),
        risk_limit=number(position.risk_limit, "risk_limit"),
    )


def _read_positions(
    result: msgspec.Raw, _: float, __: float, contract_sizes: Sizes
) -> tuple[GateioEvent, ...]:
    return tuple(
        futures_position(
            position, contract_size_of(contract_sizes, parse_symbol(position.contract))
        )
        for position in _positions_decoder.decode(result)
    )


def _item_ts(time_s: float, time_ms: int | None, venue_ts: float) -> float:
    return time_ms / 1000.0 if time_ms else time_s or venue_ts


def liquidation(
    item: WireLiquidate, contract_size: float, venue_ts: float
) -> PositionReducedByVenue:
    """A liquidation as the venue-neutral reduction: the position's size less what its
    liquidation order left, closed the other way."""
    size = number(item.size, "size")
    closed = abs(size) - abs(number(item.left, "left"))
    return PositionReducedByVenue(
        symbol=parse_symbol(item.contract),
        qty=-_sign(size) * closed * contract_size,
        price=number(item.fill_price, "fill_price"),
        cause="liquidation",
        ts=_item_ts(item.time, item.time_ms, venue_ts),
    )


def auto_deleverage(
    item: WireAutoDeleverage, contract_size: float, venue_ts: float
) -> PositionReducedByVenue:
    """An auto-deleveraging as the venue-neutral reduction. What is left of the position
    (``position_size``) says which side was reduced; when nothing is left, the sign of
    ``trade_size`` does, as the trade's (positive: bought, a short closed)."""
    traded = number(item.trade_size, "trade_size")
    left = number(item.position_size, "position_size")
    direction = -_sign(left) if left else _sign(traded)
    return PositionReducedByVenue(
        symbol=parse_symbol(item.contract),
        qty=direction * abs(traded) * contract_size,
        price=number(item.fill_price, "fill_price"),
        cause="auto_deleveraging",
        ts=_item_ts(item.time, item.time_ms, venue_ts),
    )


def _sign(value: float) -> float:
    return 1.0 if value > 0 else -1.0 if value < 0 else 0.0


def _read_liquidates(
    result: msgspec.Raw, venue_ts: float, _: float, contract_sizes: Sizes
) -> tuple[GateioEvent, ...]:
    return tuple(
        liquidation(item, contract_size_of(contract_sizes, parse_symbol(item.contract)), venue_ts)
        for item in _liquidates_decoder.decode(result)
    )


def _read_auto_deleverages(
    result: msgspec.Raw, venue_ts: float, _: float, contract_sizes: Sizes
) -> tuple[GateioEvent, ...]:
    return tuple(
        auto_deleverage(
            item, contract_size_of(contract_sizes, parse_symbol(item.contract)), venue_ts
        )
        for item in _auto_deleverages_decoder.decode(result)
    )


_PushReader = Callable[[msgspec.Raw, float, float, Sizes], tuple[GateioEvent, ...]]
_PUSH_READERS: dict[tuple[str, str], _PushReader] = {
    (BOOK_TICKER, "update"): _read_book_ticker,
    (ORDER_BOOK_UPDATE, "update"): _read_book_update,
    (TICKERS, "update"): _read_tickers,
    (ORDER_BOOK, "all"): _read_book,
    (ORDERS, "update"): _read_orders,
    (USER_TRADES, "update"): _read_user_trades,
    (POSITIONS, "update"): _read_positions,
    (LIQUIDATES, "update"): _read_liquidates,
    (AUTO_DELEVERAGES, "update"): _read_auto_deleverages,
}
