"""Binance spot (API v3) websocket streams, the client's side, plus Binance's symbol
spelling: stream names, the JSON requests a connection takes (subscribe, unsubscribe,
list), and decoding of every frame. Pure: no I/O, no clock.

Every frame is JSON text. Market data comes raw (``/ws``: the event itself) or combined
(``/stream``: ``{"stream": name, "data": event}``); ``decode_frame`` reads both and
never raises: what it cannot read comes back as a ``MalformedMessage`` naming the field.
Binance pings at the websocket level (the client's library answers); it has no
application-level ping, so Basis's keepalive is a ``LIST_SUBSCRIPTIONS`` request, whose
answer decodes as a ``Pong``. The account's events (``executionReport``,
``outboundAccountPosition``) come on the WebSocket API instead
(``protocols.binance_ws_api``), read by ``read_event`` here as the market's are. REST is
``protocols.binance_rest``; the simulated venue's side of all is
``protocols.binance_encode``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

import msgspec

from protocols._wire import WireFormatError, integer, number
from protocols.model import OrderStatus, Quote, Side, Symbol
from protocols.venue import (
    Balance,
    BookLevel,
    DepthDiff,
    DepthSnapshot,
    MalformedMessage,
    OrderUpdate,
    Pong,
    SubscriptionResult,
    Trade,
    UpgradeNotice,
)

EXCHANGE = "binance"
"""The exchange whose API this module speaks (venue errors name it)."""

# ------------------------------------------------------------------------- symbols

# Binance writes BTCUSDT with no separator, so the quote asset is found by its suffix.
QUOTE_ASSETS = ("USDT", "USDC", "FDUSD", "BTC", "ETH", "BNB")


def venue_symbol(symbol: Symbol) -> str:
    """``BTC/USDT`` as Binance's REST API writes it: ``BTCUSDT``."""
    return f"{symbol.base}{symbol.quote}"


def stream_symbol(symbol: Symbol) -> str:
    """``BTC/USDT`` as stream names write it: ``btcusdt`` (streams are lower case)."""
    return venue_symbol(symbol).lower()


def parse_symbol(text: str) -> Symbol:
    """``BTCUSDT`` (or ``btcusdt``) → ``BTC/USDT``; the quote asset must be one of
    ``QUOTE_ASSETS``."""
    return symbol_quoted_in(text, QUOTE_ASSETS)


@functools.lru_cache(maxsize=4096)
def symbol_quoted_in(text: str, quote_assets: tuple[str, ...]) -> Symbol:
    """``text`` as Binance writes symbols on either API (no separator, any case), its
    quote asset found by its suffix among ``quote_assets``."""
    upper = text.upper()
    for quote in quote_assets:
        if upper.endswith(quote) and len(upper) > len(quote):
            return Symbol(upper[: -len(quote)], quote)
    raise WireFormatError(
        f"symbol {text!r} does not end in a known quote asset ({', '.join(quote_assets)})"
    )


CLIENT_ID = re.compile(r"[a-zA-Z0-9_-]{1,36}")
"""What ``newClientOrderId`` may be: Binance refuses anything else with -1100, naming
``^[a-zA-Z0-9-_]{1,36}$`` as the legal range."""


def check_client_id(client_id: str) -> str:
    """``client_id`` if Binance takes it as a ``newClientOrderId``."""
    if CLIENT_ID.fullmatch(client_id) is None:
        raise ValueError(
            f"client order id {client_id!r} is not 1-36 characters of [a-zA-Z0-9_-]; "
            "Binance refuses anything else"
        )
    return client_id


# ------------------------------------------------------------------------- streams

MAX_STREAMS_PER_CONNECTION = 1024
MAX_MESSAGES_PER_S = 5
"""Requests (and pings, pongs) a connection may send a second before Binance drops it."""
_DEPTH_SPEEDS = ("100ms", "1000ms")


def book_ticker_stream(symbol: Symbol) -> str:
    """Every change of the best bid or ask, in real time."""
    return f"{stream_symbol(symbol)}@bookTicker"


def depth_stream(symbol: Symbol, speed: str = "100ms") -> str:
    """Diff depth every ``speed`` (``100ms`` or ``1000ms``, the latter named without
    it); sync it to a REST snapshot."""
    if speed not in _DEPTH_SPEEDS:
        raise ValueError(f"depth speed {speed!r} is not one of {', '.join(_DEPTH_SPEEDS)}")
    name = f"{stream_symbol(symbol)}@depth"
    return name if speed == "1000ms" else f"{name}@{speed}"


def partial_depth_stream(symbol: Symbol, levels: int, speed: str = "100ms") -> str:
    """The top ``levels`` (5, 10 or 20) of the book every ``speed``."""
    if levels not in (5, 10, 20):
        raise ValueError(f"partial depth has 5, 10 or 20 levels, not {levels}")
    if speed not in _DEPTH_SPEEDS:
        raise ValueError(f"depth speed {speed!r} is not one of {', '.join(_DEPTH_SPEEDS)}")
    name = f"{stream_symbol(symbol)}@depth{levels}"
    return name if speed == "1000ms" else f"{name}@{speed}"


# ---------------------------------------------------------------- websocket requests


class _Request(msgspec.Struct):
    method: str
    params: list[str]
    id: int


class _ParamlessRequest(msgspec.Struct):
    method: str
    id: int


_encode_json = msgspec.json.Encoder().encode


def subscribe_message(streams: Sequence[str], request_id: int = 1) -> str:
    """The text frame subscribing to ``streams``; answered ``{"result":null,"id":...}``."""
    return _encode_json(_Request("SUBSCRIBE", list(streams), request_id)).decode()


def unsubscribe_message(streams: Sequence[str], request_id: int = 1) -> str:
    return _encode_json(_Request("UNSUBSCRIBE", list(streams), request_id)).decode()


PING_REQUEST_ID = 0
"""The id of Basis's keepalive request; subscriptions number from 1."""


def list_subscriptions_message(request_id: int = PING_REQUEST_ID) -> str:
    """The text frame asking which streams the connection follows: Basis's keepalive."""
    return _encode_json(_ParamlessRequest("LIST_SUBSCRIPTIONS", request_id)).decode()


# ------------------------------------------------------------------ frame decoding

BinanceEvent = (
    Quote
    | DepthDiff
    | DepthSnapshot
    | OrderUpdate
    | Trade
    | Balance
    | Pong
    | SubscriptionResult
    | UpgradeNotice
    | MalformedMessage
)

_decode_json = msgspec.json.Decoder().decode


def decode_frame(frame: bytes | str, recv_ts: float) -> tuple[BinanceEvent, ...]:
    """Everything one websocket frame says, in order: an ``executionReport`` of a fill
    is the trade and then the order's new state (so that an order it fills is seen
    whole by its trades when its end is read), an ``outboundAccountPosition`` one
    balance per asset. ``recv_ts`` is when the frame arrived (Unix seconds). Never raises."""
    try:
        message = _decode_json(frame)
    except msgspec.DecodeError as error:
        return (MalformedMessage.about(f"frame is not JSON: {error}", frame),)
    if not isinstance(message, dict):
        return (MalformedMessage.about("frame is not a JSON object", frame),)
    stream = None
    if "stream" in message and "data" in message:
        stream, message = message["stream"], message["data"]
        if not isinstance(message, dict) or not isinstance(stream, str):
            return (MalformedMessage.about("combined frame's data is not an object", frame),)
    try:
        return _read(message, stream, recv_ts)
    except WireFormatError as error:
        return (MalformedMessage.about(str(error), frame),)
    except (KeyError, TypeError, ValueError) as error:
        return (MalformedMessage.about(f"unexpected field or value: {error!r}", frame),)


def _read(message: dict[str, Any], stream: str | None, recv_ts: float) -> tuple[BinanceEvent, ...]:
    event = message.get("e")
    if event is None:
        if "result" in message and "id" in message:
            return (_read_answer(message),)
        if "code" in message and "msg" in message:
            return (SubscriptionResult(False, str(message.get("id", "")), str(message["msg"])),)
        if "lastUpdateId" in message:
            return (_read_partial_depth(message, stream),)
        if "u" in message and "b" in message and "a" in message:
            return (_read_book_ticker(message, recv_ts),)
        raise WireFormatError("frame is neither an event, an answer nor a book ticker")
    return read_event(message, recv_ts)


def read_event(message: dict[str, Any], recv_ts: float) -> tuple[BinanceEvent, ...]:
    """What one event (a JSON object with its type in ``e``) says: the market's on the
    streams, the account's on the WebSocket API's user data stream
    (``protocols.binance_ws_api``). Raises ``WireFormatError`` (or ``KeyError``,
    ``TypeError``, ``ValueError`` for a missing or mistyped field)."""
    event = message.get("e")
    reader = _EVENT_READERS.get(event) if isinstance(event, str) else None
    if reader is None:
        if event in _IGNORED_EVENTS:
            return ()
        raise WireFormatError(f"event type {event!r} is not one this codec reads")
    return reader(message, recv_ts)


def _read_answer(message: dict[str, Any]) -> Pong | SubscriptionResult:
    # SUBSCRIBE and UNSUBSCRIBE are answered with a null result; LIST_SUBSCRIPTIONS, the
    # keepalive, with the list of streams.
    if message["result"] is None:
        return SubscriptionResult(True, str(message["id"]), "")
    return Pong()


def _symbol(text: object, where: str) -> Symbol:
    if not isinstance(text, str):
        raise WireFormatError(f"{where} {text!r} is not a symbol")
    return parse_symbol(text)


def _levels(levels: object, where: str) -> tuple[BookLevel, ...]:
    if not isinstance(levels, list):
        raise WireFormatError(f"{where} is not a list of [price, quantity]")
    try:
        return tuple(BookLevel(float(price), float(qty)) for price, qty, *_ in levels)
    except (ValueError, TypeError):
        return tuple(
            BookLevel(number(level[0], f"{where}.price"), number(level[1], f"{where}.qty"))
            for level in levels
        )


def _read_book_ticker(message: dict[str, Any], recv_ts: float) -> Quote:
    try:  # the usual case, on the hot path: four plain decimals
        bid, bid_qty = float(message["b"]), float(message["B"])
        ask, ask_qty = float(message["a"]), float(message["A"])
    except (ValueError, TypeError):
        bid, bid_qty = number(message["b"], "b"), number(message["B"], "B")
        ask, ask_qty = number(message["a"], "a"), number(message["A"], "A")
    # The spot book ticker carries no event time: the venue's time is when it arrived.
    return Quote(_symbol(message["s"], "s"), bid, bid_qty, ask, ask_qty, recv_ts, recv_ts)


def _read_depth_update(message: dict[str, Any], recv_ts: float) -> tuple[DepthDiff]:
    return (
        DepthDiff(
            symbol=_symbol(message["s"], "s"),
            first_version=integer(message["U"], "U"),
            last_version=integer(message["u"], "u"),
            bids=_levels(message["b"], "b"),
            asks=_levels(message["a"], "a"),
            venue_ts=integer(message["E"], "E") / 1000.0,
        ),
    )


def _read_partial_depth(message: dict[str, Any], stream: str | None) -> DepthSnapshot:
    # The partial depth event names no symbol: only a combined stream's name tells it.
    if stream is None:
        raise WireFormatError("a partial depth event outside a combined stream names no symbol")
    return DepthSnapshot(
        symbol=_symbol(stream.partition("@")[0], "stream"),
        version=integer(message["lastUpdateId"], "lastUpdateId"),
        bids=_levels(message["bids"], "bids"),
        asks=_levels(message["asks"], "asks"),
    )


ORDER_STATUS = {
    "NEW": OrderStatus.NEW,
    "PENDING_NEW": OrderStatus.NEW,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELLED,
    "PENDING_CANCEL": OrderStatus.CANCELLED,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
}
"""Binance's order statuses (``X`` of an execution report, ``status`` of REST replies).
``EXPIRED``: an IOC, FOK or market order whose remainder found no liquidity;
``EXPIRED_IN_MATCH``: expired by self-trade prevention."""
SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}


def order_status(text: object, where: str) -> OrderStatus:
    status = ORDER_STATUS.get(text) if isinstance(text, str) else None
    if status is None:
        raise WireFormatError(f"{where} {text!r} is not one of {', '.join(ORDER_STATUS)}")
    return status


def side(text: object, where: str) -> Side:
    found = SIDES.get(text) if isinstance(text, str) else None
    if found is None:
        raise WireFormatError(f"{where} {text!r} is neither BUY nor SELL")
    return found


def _read_execution_report(
    message: dict[str, Any], recv_ts: float
) -> tuple[OrderUpdate] | tuple[OrderUpdate, Trade]:
    symbol = _symbol(message["s"], "s")
    order_side = side(message["S"], "S")
    # A cancel is reported under the cancel request's own client id (c); the order's
    # is then the original one (C).
    client_id = message.get("C") or message["c"]
    venue_order_id = str(integer(message["i"], "i"))
    filled = number(message["z"], "z")
    quote_filled = number(message["Z"], "Z")
    ts = integer(message["T"], "T") / 1000.0
    update = OrderUpdate(
        symbol=symbol,
        client_id=client_id,
        venue_order_id=venue_order_id,
        status=order_status(message["X"], "X"),
        side=order_side,
        qty=number(message["q"], "q"),
        price=number(message["p"], "p"),
        filled_qty=filled,
        avg_price=quote_filled / filled if filled else 0.0,
        ts=ts,
    )
    if message["x"] != "TRADE":
        return (update,)
    trade = Trade(
        symbol=symbol,
        trade_id=str(integer(message["t"], "t")),
        client_id=client_id,
        venue_order_id=venue_order_id,
        side=order_side,
        qty=number(message["l"], "l"),
        price=number(message["L"], "L"),
        fee=number(message["n"], "n"),
        fee_asset=message.get("N") or "",
        is_maker=bool(message["m"]),
        ts=ts,
    )
    return (trade, update)


def _read_account_position(message: dict[str, Any], recv_ts: float) -> tuple[Balance, ...]:
    balances = message["B"]
    if not isinstance(balances, list):
        raise WireFormatError("B is not a list of balances")
    return tuple(
        Balance(entry["a"], number(entry["f"], "B.f"), number(entry["l"], "B.l"))
        for entry in balances
    )


def _read_event_stream_terminated(message: dict[str, Any], recv_ts: float) -> tuple[UpgradeNotice]:
    # The subscription has ended (unsubscribed, or its session logged out): nothing
    # more comes on it, so the stream is made anew.
    return (UpgradeNotice("user data stream terminated"),)


def _read_server_shutdown(message: dict[str, Any], recv_ts: float) -> tuple[UpgradeNotice]:
    return (UpgradeNotice("server shutting down"),)


_EVENT_READERS = {
    "depthUpdate": _read_depth_update,
    "executionReport": _read_execution_report,
    "outboundAccountPosition": _read_account_position,
    "eventStreamTerminated": _read_event_stream_terminated,
    "serverShutdown": _read_server_shutdown,
}
_IGNORED_EVENTS = frozenset({"balanceUpdate", "listStatus", "externalLockUpdate"})
"""Account events Basis has no use for: deposits and transfers (the balances follow in
an ``outboundAccountPosition``), order lists, locks by other systems."""
