"""MEXC spot (API v3) websocket, the client's side, plus MEXC's symbol spelling: channel
names, subscribe/ping frames, and decoding of every frame. Pure: no I/O, no clock.

Market data and private pushes arrive as binary protobuf frames (``mexc_push.proto``);
control answers (subscription acks, PONG) as JSON text frames. ``decode_frame`` takes
either and never raises: what it cannot read comes back as a ``MalformedMessage`` naming
the field. REST is ``protocols.mexc_rest``; the simulated venue's side of both is
``protocols.mexc_encode``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from urllib.parse import urlencode

import msgspec
from google.protobuf.message import DecodeError

from protocols import mexc_push_pb2 as pb
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
)

EXCHANGE = "mexc"
"""The exchange whose API this module speaks (venue errors name it)."""

# ------------------------------------------------------------------------- symbols

# MEXC writes BTCUSDT with no separator, so the quote asset is found by its suffix.
# Longer names first would matter if one were a suffix of another; none of these is.
QUOTE_ASSETS = ("USDT", "USDC", "USDE", "BTC", "ETH")


def venue_symbol(symbol: Symbol) -> str:
    """``BTC/USDT`` as MEXC writes it: ``BTCUSDT``."""
    return f"{symbol.base}{symbol.quote}"


@functools.lru_cache(maxsize=4096)
def parse_symbol(text: str) -> Symbol:
    """``BTCUSDT`` → ``BTC/USDT``; the quote asset must be one of ``QUOTE_ASSETS``."""
    for quote in QUOTE_ASSETS:
        if text.endswith(quote) and len(text) > len(quote):
            return Symbol(text[: -len(quote)], quote)
    raise WireFormatError(
        f"symbol {text!r} does not end in a known quote asset ({', '.join(QUOTE_ASSETS)})"
    )


_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def check_client_id(client_id: str) -> str:
    """``client_id`` if MEXC can carry it; MEXC leaves the format undocumented, so Basis
    keeps to ``[A-Za-z0-9_-]{1,32}``."""
    if _CLIENT_ID.match(client_id) is None:
        raise ValueError(
            f"client order id {client_id!r} is not 1-32 characters of [A-Za-z0-9_-]; "
            "MEXC may refuse or rewrite anything else"
        )
    return client_id


# ------------------------------------------------------------------------ channels

PRIVATE_ORDERS_CHANNEL = "spot@private.orders.v3.api.pb"
PRIVATE_DEALS_CHANNEL = "spot@private.deals.v3.api.pb"
PRIVATE_ACCOUNT_CHANNEL = "spot@private.account.v3.api.pb"
MAX_SUBSCRIPTIONS_PER_CONNECTION = 30
_PUSH_INTERVALS = ("100ms", "10ms")


def book_ticker_channel(symbol: Symbol, interval: str = "100ms") -> str:
    """Best bid/ask pushes every ``interval`` (``100ms`` or ``10ms``)."""
    _check_interval(interval)
    return f"spot@public.aggre.bookTicker.v3.api.pb@{interval}@{venue_symbol(symbol)}"


def depth_channel(symbol: Symbol, interval: str = "100ms") -> str:
    """Diff-depth pushes every ``interval``; sync them to a REST snapshot."""
    _check_interval(interval)
    return f"spot@public.aggre.depth.v3.api.pb@{interval}@{venue_symbol(symbol)}"


def limit_depth_channel(symbol: Symbol, levels: int) -> str:
    """The top ``levels`` (5, 10 or 20) of the book; MEXC puts the symbol before them."""
    if levels not in (5, 10, 20):
        raise ValueError(f"partial depth has 5, 10 or 20 levels, not {levels}")
    return f"spot@public.limit.depth.v3.api.pb@{venue_symbol(symbol)}@{levels}"


def _check_interval(interval: str) -> None:
    if interval not in _PUSH_INTERVALS:
        raise ValueError(f"push interval {interval!r} is not one of {', '.join(_PUSH_INTERVALS)}")


def private_stream_url(ws_url: str, listen_key: str) -> str:
    """The websocket URL of the private streams for ``listen_key``."""
    return f"{ws_url}?{urlencode({'listenKey': listen_key})}"


# ---------------------------------------------------------------- websocket requests


class _SubscriptionRequest(msgspec.Struct):
    method: str
    params: list[str]
    id: int


_encode_json = msgspec.json.Encoder().encode


def subscribe_message(channels: Sequence[str], request_id: int = 1) -> str:
    """The text frame subscribing to ``channels``."""
    return _encode_json(_SubscriptionRequest("SUBSCRIPTION", list(channels), request_id)).decode()


PING_MESSAGE = '{"method":"PING"}'
"""The keepalive text frame; send it about every 20 s. MEXC answers with a PONG ack."""


# ------------------------------------------------------------------ frame decoding

MexcEvent = (
    Quote
    | DepthDiff
    | DepthSnapshot
    | OrderUpdate
    | Trade
    | Balance
    | Pong
    | SubscriptionResult
    | MalformedMessage
)


def decode_frame(frame: bytes | str, recv_ts: float) -> tuple[MexcEvent, ...]:
    """Everything one websocket frame says, in order (a MEXC frame says one thing).

    A text frame is a JSON control answer; a binary frame a protobuf push, unless it
    starts with ``{`` (a client library that hands text frames over as bytes).
    ``recv_ts`` is when the frame arrived (Unix seconds). Never raises.
    """
    if isinstance(frame, str):
        return (_decode_control(frame),)
    if frame[:1] == b"{":
        return (_decode_control(frame),)
    return (_decode_push(frame, recv_ts),)


class _Control(msgspec.Struct):
    msg: str
    code: int = 0
    id: int | str | None = None


_control_decoder = msgspec.json.Decoder(_Control)
_BRACKETED = re.compile(r"\[([^\]]*)\]")


def _decode_control(frame: bytes | str) -> Pong | SubscriptionResult | MalformedMessage:
    try:
        control = _control_decoder.decode(frame)
    except msgspec.DecodeError as error:
        return MalformedMessage.about(f"control frame: {error}", frame)
    if control.msg == "PONG":
        return Pong()
    # The ack's code is 0 even when the subscription was refused: success is told by the
    # msg echoing the channel names, a refusal by prose naming them in brackets.
    channels = [part.strip() for part in control.msg.split(",")]
    if control.code == 0 and all(channel.startswith("spot@") for channel in channels):
        return SubscriptionResult(True, control.msg, control.msg)
    named = _BRACKETED.search(control.msg)
    return SubscriptionResult(False, named.group(1) if named else "", control.msg.strip())


def _decode_push(frame: bytes, recv_ts: float) -> MexcEvent:
    push = pb.PushDataV3ApiWrapper()
    try:
        push.ParseFromString(frame)
    except DecodeError as error:
        return MalformedMessage.about(f"binary frame is not a PushDataV3ApiWrapper: {error}", frame)
    body = push.WhichOneof("body")
    if body is None:
        return MalformedMessage.about(
            f"push on channel {push.channel!r} carries no body this codec reads "
            "(fields 303, 304, 306, 307, 313, 315)",
            frame,
        )
    if push.HasField("createTime"):
        venue_ts = push.createTime / 1000.0
    elif push.HasField("sendTime"):
        venue_ts = push.sendTime / 1000.0
    else:
        venue_ts = recv_ts
    try:
        return _BODY_READERS[body](push, venue_ts, recv_ts)
    except WireFormatError as error:
        return MalformedMessage.about(str(error), frame)


_SYMBOLS: dict[str, Symbol] = {}
"""Venue spellings already parsed: a feed sees the same few on every push."""


def _push_symbol(push: pb.PushDataV3ApiWrapper) -> Symbol:
    if push.HasField("symbol"):
        text = push.symbol
        symbol = _SYMBOLS.get(text)
        if symbol is None:
            symbol = parse_symbol(text)
            if len(_SYMBOLS) < 10_000:  # bounded, whatever a venue sends
                _SYMBOLS[text] = symbol
        return symbol
    # Older pushes leave the symbol field out; the public channels end in it (or in it
    # and a level count), so take the last part that reads as a symbol.
    for part in reversed(push.channel.split("@")):
        try:
            return parse_symbol(part)
        except WireFormatError:
            continue
    raise WireFormatError(f"push on channel {push.channel!r} names no symbol")


_numbers_decoder = msgspec.json.Decoder(list[float])


def _levels(levels: Sequence[pb.PublicDepthLevelV3Api], where: str) -> tuple[BookLevel, ...]:
    """Every level of every diff passes here, and float() on each text costs more than
    parsing the push: plain decimals are JSON numbers, so the texts are read as the JSON
    array they make, price and quantity of each level in turn, in one decoding. Texts
    that are no JSON number (an empty price, ``.5``, ``1_000``) fail it, or, holding a
    comma, make another count of numbers; those levels are read by field."""
    if not levels:
        return ()
    texts = ",".join([level.price + "," + level.quantity for level in levels])
    try:
        numbers = _numbers_decoder.decode("[" + texts + "]")
    except msgspec.DecodeError:
        pass
    else:
        if len(numbers) == 2 * len(levels):
            return tuple(map(BookLevel, numbers[::2], numbers[1::2]))
    try:
        return tuple(BookLevel(float(level.price), float(level.quantity)) for level in levels)
    except ValueError:
        pass
    return tuple(
        BookLevel(
            number(level.price, f"{where}.price"), number(level.quantity, f"{where}.quantity")
        )
        for level in levels
    )


def _read_book_ticker(push: pb.PushDataV3ApiWrapper, venue_ts: float, recv_ts: float) -> Quote:
    ticker = push.publicAggreBookTicker
    try:  # the usual case, on the hot path: four plain decimals
        bid = float(ticker.bidPrice)
        bid_qty = float(ticker.bidQuantity)
        ask = float(ticker.askPrice)
        ask_qty = float(ticker.askQuantity)
    except ValueError:
        bid = number(ticker.bidPrice, "publicAggreBookTicker.bidPrice")
        ask = number(ticker.askPrice, "publicAggreBookTicker.askPrice")
        # An empty price means that side of the book is empty, whatever the quantity says.
        bid_qty = number(ticker.bidQuantity, "publicAggreBookTicker.bidQuantity") if bid else 0.0
        ask_qty = number(ticker.askQuantity, "publicAggreBookTicker.askQuantity") if ask else 0.0
    return Quote(_push_symbol(push), bid, bid_qty, ask, ask_qty, venue_ts, recv_ts)


def _read_depth_diff(push: pb.PushDataV3ApiWrapper, venue_ts: float, _: float) -> DepthDiff:
    depths = push.publicAggreDepths
    return DepthDiff(
        symbol=_push_symbol(push),
        first_version=integer(depths.fromVersion, "publicAggreDepths.fromVersion"),
        last_version=integer(depths.toVersion, "publicAggreDepths.toVersion"),
        bids=_levels(depths.bids, "publicAggreDepths.bids"),
        asks=_levels(depths.asks, "publicAggreDepths.asks"),
        venue_ts=venue_ts,
    )


def _read_limit_depth(push: pb.PushDataV3ApiWrapper, _: float, __: float) -> DepthSnapshot:
    depths = push.publicLimitDepths
    return DepthSnapshot(
        symbol=_push_symbol(push),
        version=integer(depths.version, "publicLimitDepths.version"),
        bids=_levels(depths.bids, "publicLimitDepths.bids"),
        asks=_levels(depths.asks, "publicLimitDepths.asks"),
    )


PUSH_ORDER_STATUS = {
    1: OrderStatus.NEW,
    2: OrderStatus.FILLED,
    3: OrderStatus.PARTIALLY_FILLED,
    4: OrderStatus.CANCELLED,
    5: OrderStatus.CANCELLED,  # partially canceled: filled_qty says how much was filled
}
TRADE_TYPE_SIDE = {1: Side.BUY, 2: Side.SELL}


def _side(trade_type: int, where: str) -> Side:
    side = TRADE_TYPE_SIDE.get(trade_type)
    if side is None:
        raise WireFormatError(f"{where}.tradeType {trade_type} is neither 1 (buy) nor 2 (sell)")
    return side


def _read_order(push: pb.PushDataV3ApiWrapper, venue_ts: float, _: float) -> OrderUpdate:
    order = push.privateOrders
    status = PUSH_ORDER_STATUS.get(order.status)
    if status is None:
        raise WireFormatError(f"privateOrders.status {order.status} is not one of 1-5")
    return OrderUpdate(
        symbol=_push_symbol(push),
        client_id=order.clientId,
        venue_order_id=order.id,
        status=status,
        side=_side(order.tradeType, "privateOrders"),
        qty=number(order.quantity, "privateOrders.quantity"),
        price=number(order.price, "privateOrders.price"),
        filled_qty=number(order.cumulativeQuantity, "privateOrders.cumulativeQuantity"),
        avg_price=number(order.avgPrice, "privateOrders.avgPrice"),
        ts=venue_ts,
    )


def _read_deal(push: pb.PushDataV3ApiWrapper, venue_ts: float, _: float) -> Trade:
    deal = push.privateDeals
    return Trade(
        symbol=_push_symbol(push),
        trade_id=deal.tradeId,
        client_id=deal.clientOrderId,
        venue_order_id=deal.orderId,
        side=_side(deal.tradeType, "privateDeals"),
        qty=number(deal.quantity, "privateDeals.quantity"),
        price=number(deal.price, "privateDeals.price"),
        fee=number(deal.feeAmount, "privateDeals.feeAmount"),
        fee_asset=deal.feeCurrency,
        is_maker=deal.isMaker,
        ts=deal.time / 1000.0 if deal.time else venue_ts,
    )


def _read_account(push: pb.PushDataV3ApiWrapper, _: float, __: float) -> Balance:
    account = push.privateAccount
    return Balance(
        asset=account.vcoinName,
        free=number(account.balanceAmount, "privateAccount.balanceAmount"),
        locked=number(account.frozenAmount, "privateAccount.frozenAmount"),
    )


_BODY_READERS: dict[str, Callable[[pb.PushDataV3ApiWrapper, float, float], MexcEvent]] = {
    "publicAggreBookTicker": _read_book_ticker,
    "publicAggreDepths": _read_depth_diff,
    "publicLimitDepths": _read_limit_depth,
    "privateOrders": _read_order,
    "privateDeals": _read_deal,
    "privateAccount": _read_account,
}
