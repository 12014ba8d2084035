"""Binance USDⓈ-M perpetual futures (``/fapi``) websocket, the client's side, plus what
both sides of the venue share: symbol names, client order ids, order statuses and the
order and position objects. Pure: no I/O, no clock (times are passed in), no secrets kept.

Frames are JSON: a market stream's payload as it is on a raw stream (``/ws``), or inside
``{"stream": ..., "data": ...}`` on a combined one (``/stream``); the answers to
requests (``SUBSCRIBE``, ``LIST_SUBSCRIPTIONS``) carry the request's ``id``; the user data
stream (``/ws/<listenKey>``) pushes the account's events. ``decode_frame`` returns
everything one frame says and never raises: what it cannot read comes back as a
``MalformedMessage`` naming the field.

Quantities are base units on the wire (no contracts): decoding needs no contract size.
A depth update ``U..u`` names ``pu``, the ``u`` of the update before it on the stream;
it is decoded as a ``DepthDiff`` covering ``pu + 1 .. u``, so that a diff whose ``pu``
is not the last one applied is a gap by the order book's own rule, and the first diff
after a snapshot at ``lastUpdateId`` is the one with ``pu <= lastUpdateId < u``.

Funding: ``markPriceUpdate`` carries the rate of the next settlement (``r``) and its
time (``T``); the interval between settlements is the symbol's own (``fundingInfo``,
8 hours for a symbol it does not list), which decoding is given.

REST is ``protocols.binance_futures_rest``; the simulated venue's side of both is
``protocols.binance_futures_encode``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

import msgspec

from protocols._wire import WireFormatError, number
from protocols.binance import stream_symbol, symbol_quoted_in
from protocols.binance import venue_symbol as venue_symbol
from protocols.model import OrderStatus, Quote, Side, Symbol, TimeInForce
from protocols.venue import (
    BookLevel,
    DepthDiff,
    FundingRate,
    FuturesPosition,
    MalformedMessage,
    OrderUpdate,
    Pong,
    PositionReducedByVenue,
    SubscriptionResult,
    Trade,
    UpgradeNotice,
)

EXCHANGE = "binance_futures"
"""The exchange whose API this module speaks (venue errors name it)."""
SETTLE_ASSET = "USDT"
QUOTE_ASSETS = ("USDT", "USDC")
DEFAULT_FUNDING_INTERVAL_S = 8 * 3600.0
"""A symbol that ``fundingInfo`` does not list settles every 8 hours."""

# ------------------------------------------------------------------------ symbols


# Spelt as on the spot API: ``BTCUSDT``, lower case in stream names.


def parse_symbol(text: str) -> Symbol:
    """``BTCUSDT`` (any case) → ``BTC/USDT``; the quote asset must be one of
    ``QUOTE_ASSETS``."""
    return symbol_quoted_in(text, QUOTE_ASSETS)


# ------------------------------------------------------------------ client order ids

_CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")


def check_client_id(client_id: str) -> str:
    """``client_id`` if Binance takes it as ``newClientOrderId``: 1-36 characters of
    ``[.A-Z:/a-z0-9_-]``."""
    if _CLIENT_ID.match(client_id) is None:
        raise ValueError(
            f"client order id {client_id!r} is not 1-36 characters of [.A-Z:/a-z0-9_-], "
            "which is all Binance takes as newClientOrderId"
        )
    return client_id


LIQUIDATION_CLIENT_PREFIX = "autoclose-"
"""The client id of the order by which the venue liquidates a position."""
ADL_CLIENT_ID = "adl_autoclose"
"""The client id of the order by which the venue auto-deleverages a position."""

# ----------------------------------------------------------------- order vocabulary

ORDER_STATUSES: dict[str, OrderStatus] = {
    "NEW": OrderStatus.NEW,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELLED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
    "REJECTED": OrderStatus.REJECTED,
    "NEW_INSURANCE": OrderStatus.NEW,
    "NEW_ADL": OrderStatus.NEW,
}
"""Binance's order statuses. An IOC order's unfilled rest, and a reduce-only order with
nothing left to reduce, end ``EXPIRED``; ``EXPIRED_IN_MATCH`` is self-trade prevention;
``NEW_INSURANCE`` and ``NEW_ADL`` are the venue's own liquidation orders."""
SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}
SIDE_NAMES = {Side.BUY: "BUY", Side.SELL: "SELL"}
TIF_NAMES = {
    TimeInForce.GTC: "GTC",
    TimeInForce.IOC: "IOC",
    TimeInForce.FOK: "FOK",
    TimeInForce.POST_ONLY: "GTX",
}
"""``timeInForce`` by Basis's; ``GTX`` (good till crossing) is post-only."""
TIFS = {name: tif for tif, name in TIF_NAMES.items()}
BOTH = "BOTH"
"""The ``positionSide`` of one-way mode, the only mode Basis trades."""


def order_status(text: str) -> OrderStatus:
    status = ORDER_STATUSES.get(text)
    if status is None:
        raise WireFormatError(f"order status {text!r} is not one of Binance's")
    return status


def side_of(text: str) -> Side:
    side = SIDES.get(text)
    if side is None:
        raise WireFormatError(f"side {text!r} is neither BUY nor SELL")
    return side


# ------------------------------------------------------------------------ streams

DEPTH_SPEEDS = ("100ms", "250ms", "500ms")
MARK_PRICE_SPEEDS = ("1s", "3s")


def book_ticker_stream(symbol: Symbol) -> str:
    """``<symbol>@bookTicker``: every change of the best bid or ask."""
    return f"{stream_symbol(symbol)}@bookTicker"


def depth_stream(symbol: Symbol, speed: str = "100ms") -> str:
    """``<symbol>@depth@<speed>``: the book's changed levels every 100, 250 or 500 ms
    (250 ms is written ``<symbol>@depth``)."""
    if speed not in DEPTH_SPEEDS:
        raise ValueError(f"depth update speed {speed!r} is not one of {DEPTH_SPEEDS}")
    base = f"{stream_symbol(symbol)}@depth"
    return base if speed == "250ms" else f"{base}@{speed}"


def mark_price_stream(symbol: Symbol, speed: str = "1s") -> str:
    """``<symbol>@markPrice@1s`` (every second) or ``<symbol>@markPrice`` (every 3 s):
    the mark price with the funding rate and the next settlement."""
    if speed not in MARK_PRICE_SPEEDS:
        raise ValueError(f"mark price speed {speed!r} is not one of {MARK_PRICE_SPEEDS}")
    base = f"{stream_symbol(symbol)}@markPrice"
    return f"{base}@1s" if speed == "1s" else base


def stream_names(symbols: Sequence[Symbol], depth: bool) -> list[str]:
    """What a feed follows: each symbol's book ticker (or depth updates) and mark price."""
    names = [depth_stream(s) if depth else book_ticker_stream(s) for s in symbols]
    return [*names, *(mark_price_stream(s) for s in symbols)]


MAX_STREAMS_PER_CONNECTION = 1024
MAX_STREAMS_PER_REQUEST = 200
"""Binance takes at most 1024 streams on one connection; a request naming fewer keeps
its frame short (the venue reads at most 10 incoming messages a second)."""


class StreamRequest(msgspec.Struct, frozen=True, omit_defaults=True):
    """A client's websocket request, as sent and as the venue reads it: ``SUBSCRIBE``,
    ``UNSUBSCRIBE`` (``params``: stream names) or ``LIST_SUBSCRIPTIONS``."""

    method: str
    id: int | str | None = None
    params: list[str] | None = None


_encode_json = msgspec.json.Encoder().encode


def subscribe_message(streams: Sequence[str], request_id: int = 1) -> str:
    """The text frame subscribing to ``streams``; answered ``{"result": null, "id": n}``."""
    return _encode_json(StreamRequest("SUBSCRIBE", request_id, list(streams))).decode()


def list_subscriptions_message(request_id: int) -> str:
    """``LIST_SUBSCRIPTIONS``, answered with the streams followed: Binance has no
    application-level ping (its server pings at the protocol level), and this is the
    cheapest request a client can make to hear that the venue still answers."""
    return _encode_json(StreamRequest("LIST_SUBSCRIPTIONS", request_id)).decode()


# ------------------------------------------------------------------ order objects

Numeric = float | str


class WireOrderPush(msgspec.Struct):
    """The ``o`` of an ``ORDER_TRADE_UPDATE``: the order as it stands after the event
    ``x`` (``NEW``, ``TRADE``, ``CANCELED``, ``EXPIRED``, ``CALCULATED``, ``AMENDMENT``),
    and the trade it made when ``x`` is ``TRADE``."""

    s: str
    c: str
    S: str
    X: str
    i: int
    x: str = ""
    o: str = "LIMIT"
    f: str = "GTC"
    q: Numeric = "0"
    p: Numeric = "0"
    ap: Numeric = "0"
    l: Numeric = "0"  # noqa: E741 - Binance's name for the last filled quantity
    z: Numeric = "0"
    L: Numeric = "0"
    N: str | None = None
    n: Numeric = "0"
    T: int = 0
    t: int = 0
    m: bool = False
    R: bool = False
    ps: str = BOTH
    rp: Numeric = "0"


class WireBalance(msgspec.Struct):
    a: str
    wb: Numeric = "0"
    cw: Numeric = "0"
    bc: Numeric = "0"


class WirePositionPush(msgspec.Struct):
    """A position of an ``ACCOUNT_UPDATE``."""

    s: str
    pa: Numeric
    ep: Numeric = "0"
    cr: Numeric = "0"
    up: Numeric = "0"
    mt: str = "cross"
    iw: Numeric = "0"
    ps: str = BOTH


class _AccountChanges(msgspec.Struct):
    m: str = ""
    B: list[WireBalance] = []
    P: list[WirePositionPush] = []


def order_push_update(order: WireOrderPush, venue_ts: float) -> OrderUpdate:
    """The order of an ``ORDER_TRADE_UPDATE``, in base units."""
    return OrderUpdate(
        symbol=parse_symbol(order.s),
        client_id=order.c,
        venue_order_id=str(order.i),
        status=order_status(order.X),
        side=side_of(order.S),
        qty=number(order.q, "q"),
        price=number(order.p, "p"),
        filled_qty=number(order.z, "z"),
        avg_price=number(order.ap, "ap"),
        reduce_only=order.R,
        ts=order.T / 1000.0 if order.T else venue_ts,
    )


def order_push_trade(order: WireOrderPush, venue_ts: float) -> Trade:
    """The trade of an ``ORDER_TRADE_UPDATE`` whose ``x`` is ``TRADE``: ``l`` at ``L``,
    its commission ``n`` in ``N`` (a negative commission is a rebate)."""
    return Trade(
        symbol=parse_symbol(order.s),
        trade_id=str(order.t),
        client_id=order.c,
        venue_order_id=str(order.i),
        side=side_of(order.S),
        qty=number(order.l, "l"),
        price=number(order.L, "L"),
        fee=number(order.n, "n"),
        fee_asset=order.N or SETTLE_ASSET,
        is_maker=order.m,
        ts=order.T / 1000.0 if order.T else venue_ts,
    )


def venue_reduction(order: WireOrderPush, venue_ts: float) -> PositionReducedByVenue | None:
    """A trade of the venue's own liquidation or auto-deleveraging order as the
    venue-neutral reduction (positive ``qty``: a short bought back), else ``None``."""
    if order.c.startswith(LIQUIDATION_CLIENT_PREFIX):
        cause = "liquidation"
    elif order.c == ADL_CLIENT_ID:
        cause = "auto_deleveraging"
    else:
        return None
    qty = number(order.l, "l")
    return PositionReducedByVenue(
        symbol=parse_symbol(order.s),
        qty=qty if side_of(order.S) is Side.BUY else -qty,
        price=number(order.L, "L"),
        cause=cause,
        ts=order.T / 1000.0 if order.T else venue_ts,
    )


def position_push(position: WirePositionPush) -> FuturesPosition:
    """A position of an ``ACCOUNT_UPDATE`` in base units, negative when short; the
    margin is the isolated wallet (0 at cross margin)."""
    return FuturesPosition(
        symbol=parse_symbol(position.s),
        qty=number(position.pa, "pa"),
        entry_price=number(position.ep, "ep"),
        realised_pnl=number(position.cr, "cr"),
        unrealised_pnl=number(position.up, "up"),
        margin=number(position.iw, "iw"),
    )


# ------------------------------------------------------------------ frame decoding

BinanceFuturesEvent = (
    Quote
    | DepthDiff
    | FundingRate
    | OrderUpdate
    | Trade
    | FuturesPosition
    | PositionReducedByVenue
    | Pong
    | SubscriptionResult
    | UpgradeNotice
    | MalformedMessage
)


class _RequestError(msgspec.Struct):
    code: int = 0
    msg: str = ""


class _Head(msgspec.Struct):
    """What tells a frame apart: its event type, a combined stream's envelope, or the
    answer to a request."""

    e: str = ""
    E: int | str = 0
    """The event time, ms: a number, or a string on ``listenKeyExpired``."""
    stream: str | None = None
    data: msgspec.Raw = msgspec.Raw()
    id: int | str | None = None
    result: msgspec.Raw = msgspec.Raw()
    """Empty when the frame has none; ``null`` acknowledges a request."""
    error: _RequestError | None = None
    code: int | None = None
    msg: str = ""


class _BookTicker(msgspec.Struct):
    s: str
    b: Numeric
    B: Numeric
    a: Numeric
    A: Numeric
    u: int = 0
    E: int = 0
    T: int = 0


class _DepthUpdate(msgspec.Struct):
    s: str
    U: int
    u: int
    pu: int
    b: list[tuple[Numeric, Numeric]] = []
    a: list[tuple[Numeric, Numeric]] = []
    E: int = 0
    T: int = 0


class _MarkPrice(msgspec.Struct):
    s: str
    p: Numeric = "0"
    r: Numeric = ""
    T: int = 0
    E: int = 0


class _OrderTradeUpdate(msgspec.Struct):
    o: WireOrderPush
    E: int = 0
    T: int = 0


class _AccountUpdate(msgspec.Struct):
    a: _AccountChanges
    E: int = 0
    T: int = 0


_head_decoder = msgspec.json.Decoder(_Head)
_book_ticker_decoder = msgspec.json.Decoder(_BookTicker)
_depth_update_decoder = msgspec.json.Decoder(_DepthUpdate)
_mark_price_decoder = msgspec.json.Decoder(_MarkPrice)
_order_trade_update_decoder = msgspec.json.Decoder(_OrderTradeUpdate)
_account_update_decoder = msgspec.json.Decoder(_AccountUpdate)
_result_list_decoder = msgspec.json.Decoder(list[str] | None)

Intervals = Mapping[Symbol, float]
"""Each symbol's funding interval in seconds; a symbol not named settles every 8 h."""

IGNORED_EVENTS = frozenset(
    {
        "ACCOUNT_CONFIG_UPDATE",
        "MARGIN_CALL",
        "TRADE_LITE",
        "STRATEGY_UPDATE",
        "GRID_UPDATE",
        "CONDITIONAL_ORDER_TRIGGER_REJECT",
    }
)
"""User data events that say nothing Basis reads: leverage changes it made itself, a
margin call (the position pushes carry what it reads), the short form of a trade the
order update also carries, and algorithmic orders it does not place."""
LISTEN_KEY_EXPIRED = "listenKeyExpired"


def decode_frame(
    frame: bytes | str, recv_ts: float, funding_intervals: Intervals | None = None
) -> tuple[BinanceFuturesEvent, ...]:
    """Everything one websocket frame says, in order. ``recv_ts`` is when it arrived
    (Unix seconds); ``funding_intervals`` gives each symbol's interval between funding
    settlements (8 h for one not named). Never raises."""
    try:
        head = _head_decoder.decode(frame)
        if head.data:
            payload: bytes | str | msgspec.Raw = head.data
            head = _head_decoder.decode(head.data)
        else:
            payload = frame
        return _dispatch(head, payload, recv_ts, funding_intervals or {})
    except msgspec.DecodeError as error:
        return (MalformedMessage.about(f"frame: {error}", frame),)
    except WireFormatError as error:
        return (MalformedMessage.about(f"{_what(frame)}: {error}", frame),)


def _what(frame: bytes | str) -> str:
    try:
        head = _head_decoder.decode(frame)
    except msgspec.DecodeError:
        return "frame"
    return head.e or head.stream or "frame"


def _dispatch(
    head: _Head, payload: bytes | str | msgspec.Raw, recv_ts: float, intervals: Intervals
) -> tuple[BinanceFuturesEvent, ...]:
    if not head.e:
        return _answer(head)
    reader = _EVENT_READERS.get(head.e)
    if reader is not None:
        venue_ts = int(head.E) / 1000.0 if head.E else recv_ts
        return reader(payload, venue_ts, recv_ts, intervals)
    if head.e == LISTEN_KEY_EXPIRED:
        return (UpgradeNotice("the listen key expired: open a new one and reconnect"),)
    if head.e in IGNORED_EVENTS:
        return ()
    raise WireFormatError(f"event {head.e!r} is not one Basis reads")


def _answer(head: _Head) -> tuple[BinanceFuturesEvent, ...]:
    """The answer to a request: ``{"result": null, "id": n}`` acknowledges a
    subscription, a list of streams answers ``LIST_SUBSCRIPTIONS``, an ``error`` (or a
    bare ``code`` and ``msg``) refuses the request."""
    request_id = "" if head.id is None else str(head.id)
    if head.error is not None:
        message = f"error {head.error.code}: {head.error.msg}"
        return (SubscriptionResult(False, request_id, message),)
    if head.code is not None:
        return (SubscriptionResult(False, request_id, f"error {head.code}: {head.msg}"),)
    if not head.result:
        raise WireFormatError("no event type, result or error")
    if _result_list_decoder.decode(head.result) is None:
        return (SubscriptionResult(True, request_id, ""),)
    return (Pong(),)


def _levels(levels: list[tuple[Numeric, Numeric]], where: str) -> tuple[BookLevel, ...]:
    return tuple(
        BookLevel(number(price, f"{where} price"), number(qty, f"{where} quantity"))
        for price, qty in levels
    )


def _read_book_ticker(
    payload: bytes | str | msgspec.Raw, venue_ts: float, recv_ts: float, _: Intervals
) -> tuple[BinanceFuturesEvent, ...]:
    ticker = _book_ticker_decoder.decode(payload)
    bid, ask = number(ticker.b, "b"), number(ticker.a, "a")
    return (
        Quote(
            parse_symbol(ticker.s),
            bid,
            number(ticker.B, "B") if bid else 0.0,
            ask,
            number(ticker.A, "A") if ask else 0.0,
            ticker.T / 1000.0 if ticker.T else venue_ts,
            recv_ts,
        ),
    )


def _read_depth_update(
    payload: bytes | str | msgspec.Raw, venue_ts: float, _: float, __: Intervals
) -> tuple[BinanceFuturesEvent, ...]:
    update = _depth_update_decoder.decode(payload)
    if not update.pu < update.u:
        raise WireFormatError(f"pu {update.pu} is not below u {update.u}")
    return (
        DepthDiff(
            parse_symbol(update.s),
            update.pu + 1,
            update.u,
            _levels(update.b, "b"),
            _levels(update.a, "a"),
            update.T / 1000.0 if update.T else venue_ts,
        ),
    )


def _read_mark_price(
    payload: bytes | str | msgspec.Raw, _: float, __: float, intervals: Intervals
) -> tuple[BinanceFuturesEvent, ...]:
    """The funding of a perpetual; a delivery contract writes ``r`` empty and ``T`` 0,
    and has none."""
    mark = _mark_price_decoder.decode(payload)
    if mark.r == "" or not mark.T:
        return ()
    symbol = parse_symbol(mark.s)
    interval = intervals.get(symbol, DEFAULT_FUNDING_INTERVAL_S)
    return (FundingRate(symbol, number(mark.r, "r"), interval, mark.T / 1000.0),)


def _read_order_trade_update(
    payload: bytes | str | msgspec.Raw, venue_ts: float, _: float, __: Intervals
) -> tuple[BinanceFuturesEvent, ...]:
    """The trade it made (if ``x`` is ``TRADE``), then the order as it stands (so that
    an order it fills is seen whole by its trades when its end is read); a trade of the
    venue's own liquidation or ADL order is a reduction instead."""
    event = _order_trade_update_decoder.decode(payload)
    order = event.o
    ts = event.T / 1000.0 if event.T else venue_ts
    if order.x == "TRADE" or order.x == "CALCULATED":
        reduction = venue_reduction(order, ts)
        if reduction is not None:
            return (reduction,)
    update = order_push_update(order, ts)
    if order.x == "TRADE":
        return (order_push_trade(order, ts), update)
    return (update,)


def _read_account_update(
    payload: bytes | str | msgspec.Raw, _: float, __: float, ___: Intervals
) -> tuple[BinanceFuturesEvent, ...]:
    """Each one-way (``BOTH``) position the update names; balances are read by REST."""
    event = _account_update_decoder.decode(payload)
    return tuple(position_push(p) for p in event.a.P if p.ps == BOTH)


_EventReader = Callable[
    [bytes | str | msgspec.Raw, float, float, Intervals], tuple[BinanceFuturesEvent, ...]
]
_EVENT_READERS: dict[str, _EventReader] = {
    "bookTicker": _read_book_ticker,
    "depthUpdate": _read_depth_update,
    "markPriceUpdate": _read_mark_price,
    "ORDER_TRADE_UPDATE": _read_order_trade_update,
    "ACCOUNT_UPDATE": _read_account_update,
}
