r"""Gate.io USDT perpetual futures (API v4), the venue's side: reading and checking what a
client sends, as the simulated venue does. Websocket requests are decoded and private
ones' ``auth`` verified; a signed REST request is verified (key, time window, SIGN) and
an order body or an order's path segment read. Refusals are ``VenueError``\ s carrying
Gate.io's labels, ready for ``gateio_encode.error_response``.
"""

from __future__ import annotations

import hmac

import msgspec

from protocols._wire import WireFormatError, number
from protocols.gateio import (
    CLIENT_TEXT_PREFIX,
    EXCHANGE,
    PRIVATE_CHANNELS,
    ChannelRequest,
    Numeric,
    parse_symbol,
    sign_channel,
)
from protocols.gateio_rest import TIF_NAMES, sign, signing_query
from protocols.model import OrderType, Side, Symbol, TimeInForce
from protocols.venue import (
    ApiCredentials,
    BadCredentials,
    BadSignature,
    InvalidParameter,
    InvalidSymbol,
    MalformedMessage,
    RestRequest,
    TimestampRejected,
)

REQUEST_WINDOW_S = 60


# ------------------------------------------------------------- client websocket frames

_client_request_decoder = msgspec.json.Decoder(ChannelRequest)


def decode_client_message(frame: bytes | str) -> ChannelRequest | MalformedMessage:
    """A client's websocket request (subscribe, unsubscribe, futures.ping). Never raises."""
    try:
        request = _client_request_decoder.decode(frame)
    except msgspec.DecodeError as error:
        return MalformedMessage.about(f"client request: {error}", frame)
    if request.event not in (None, "subscribe", "unsubscribe"):
        return MalformedMessage.about(
            f"event {request.event!r} is neither subscribe nor unsubscribe", frame
        )
    return request


def verify_channel_auth(request: ChannelRequest, credentials: ApiCredentials) -> None:
    """Check the ``auth`` of a private-channel request as Gate.io does; raises
    ``BadCredentials`` (missing or unknown key) or ``BadSignature``."""
    if request.channel not in PRIVATE_CHANNELS:
        return
    auth = request.auth
    if auth is None or auth.method != "api_key" or credentials.key != auth.KEY:
        raise BadCredentials(
            EXCHANGE, "INVALID_KEY", f"{request.channel} needs a valid api_key auth"
        )
    expected = sign_channel(credentials.secret, request.channel, request.event or "", request.time)
    if not hmac.compare_digest(expected, auth.SIGN):
        raise BadSignature(EXCHANGE, "INVALID_SIGNATURE", f"{request.channel} auth SIGN mismatch")


# ------------------------------------------------------------------ verification


def verify_signed_request(
    request: RestRequest, credentials: ApiCredentials, server_time_s: float
) -> None:
    """Check a signed request as Gate.io does, each refusal HTTP 401 with its documented
    label: the headers ``KEY``, ``Timestamp`` and ``SIGN`` are all there
    (``MISSING_REQUIRED_HEADER``, ``BadCredentials``), the key is known (``INVALID_KEY``,
    ``BadCredentials``), the timestamp is within 60 s of the server's clock
    (``REQUEST_EXPIRED``, ``TimestampRejected``), and ``SIGN`` is the signature over
    method, path, query without its URL encoding, body hash and timestamp
    (``INVALID_SIGNATURE``, ``BadSignature``)."""
    missing = [name for name in ("KEY", "Timestamp", "SIGN") if not request.header(name)]
    if missing:
        raise BadCredentials(
            EXCHANGE,
            "MISSING_REQUIRED_HEADER",
            f"Missing required authentication header: {', '.join(missing)}",
            401,
        )
    if request.header("KEY") != credentials.key:
        raise BadCredentials(EXCHANGE, "INVALID_KEY", "Invalid key provided", 401)
    timestamp = request.header("Timestamp") or ""
    try:
        timestamp_s = float(timestamp)
    except ValueError:
        raise TimestampRejected(
            EXCHANGE, "REQUEST_EXPIRED", f"Timestamp {timestamp!r} is not Unix seconds", 401
        ) from None
    if abs(server_time_s - timestamp_s) > REQUEST_WINDOW_S:
        raise TimestampRejected(
            EXCHANGE,
            "REQUEST_EXPIRED",
            "gap between request Timestamp and server time exceeds 60",
            401,
        )
    query = signing_query(request.query)
    expected = sign(
        credentials.secret, request.method, request.path, query, request.body, timestamp
    )
    if not hmac.compare_digest(expected, request.header("SIGN") or ""):
        raise BadSignature(EXCHANGE, "INVALID_SIGNATURE", "Signature mismatch", 401)


# --------------------------------------------------------------------- REST input


class NewOrderParams(msgspec.Struct, frozen=True):
    """A client's ``POST /futures/usdt/orders`` as the venue reads it: ``contracts`` is
    the size without its sign (``side`` carries it); a market order (price ``0``, tif
    ``ioc``) has ``price`` ``None``; ``text`` is the client order id, ``t-`` included."""

    symbol: Symbol
    side: Side
    type: OrderType
    tif: TimeInForce
    contracts: float
    price: float | None
    text: str | None
    reduce_only: bool


class OrderReference(msgspec.Struct, frozen=True):
    """The order a ``/futures/usdt/orders/{id}`` path names: the venue's id, or the
    client's ``text`` (it starts with ``t-``)."""

    venue_order_id: str | None
    text: str | None


class _OrderBody(msgspec.Struct):
    contract: str
    size: Numeric
    price: Numeric = "0"
    tif: str | None = None
    # The documented signing example still writes the older name.
    time_in_force: str | None = None
    text: str | None = None
    reduce_only: bool = False
    close: bool = False


_order_body_decoder = msgspec.json.Decoder(_OrderBody)
_TIFS_BY_NAME = {name: tif for tif, name in TIF_NAMES.items()}


def _invalid(message: str) -> InvalidParameter:
    return InvalidParameter(EXCHANGE, "INVALID_PARAM_VALUE", message, 400)


def read_contract(contract: str) -> Symbol:
    """``contract`` as a symbol; ``InvalidSymbol`` (CONTRACT_NOT_FOUND) when it is not a
    contract name."""
    try:
        return parse_symbol(contract)
    except WireFormatError:
        raise InvalidSymbol(
            EXCHANGE, "CONTRACT_NOT_FOUND", f"contract {contract!r} not found", 400
        ) from None


def read_new_order(body: bytes) -> NewOrderParams:
    """The order a ``POST /futures/usdt/orders`` body asks for. Raises
    ``InvalidParameter`` (INVALID_PARAM_VALUE) or ``InvalidSymbol`` naming the field."""
    try:
        order = _order_body_decoder.decode(body)
    except msgspec.DecodeError as error:
        raise _invalid(f"order body: {error}") from None
    symbol = read_contract(order.contract)
    try:
        size = number(order.size, "size")
        price = number(order.price, "price")
    except WireFormatError as error:
        raise _invalid(str(error)) from None
    if order.close or size == 0:
        raise _invalid("size must be a non-zero number of contracts; close orders are not taken")
    tif_name = order.tif or order.time_in_force or "gtc"
    tif = _TIFS_BY_NAME.get(tif_name)
    if tif is None:
        raise _invalid(f"tif {tif_name!r} is not one of {', '.join(_TIFS_BY_NAME)}")
    if price < 0:
        raise _invalid(f"price {price:g} must not be negative")
    market = price == 0
    if market and tif is not TimeInForce.IOC:
        raise _invalid("a market order (price 0) must be tif ioc")
    if order.text is not None and not order.text.startswith(CLIENT_TEXT_PREFIX):
        raise _invalid(f"text {order.text!r} must start with {CLIENT_TEXT_PREFIX}")
    return NewOrderParams(
        symbol,
        Side.BUY if size > 0 else Side.SELL,
        OrderType.MARKET if market else OrderType.LIMIT,
        tif,
        abs(size),
        None if market else price,
        order.text,
        order.reduce_only,
    )


class _AmendBody(msgspec.Struct):
    size: Numeric | None = None
    price: Numeric | None = None
    amend_text: str | None = None


_amend_body_decoder = msgspec.json.Decoder(_AmendBody)


def read_amendment(body: bytes) -> int:
    """The new size a ``PUT /futures/usdt/orders/{id}`` body asks for: signed whole
    contracts, what was filled included. Raises ``InvalidParameter``
    (INVALID_PARAM_VALUE) naming the field; an amendment of the price alone is not
    taken by the simulated venue."""
    try:
        amendment = _amend_body_decoder.decode(body)
    except msgspec.DecodeError as error:
        raise _invalid(f"amendment body: {error}") from None
    if amendment.price is not None:
        raise _invalid("price: the simulated venue amends an order's size only")
    if amendment.size is None:
        raise _invalid("size: give the order's new size in contracts")
    try:
        size = number(amendment.size, "size")
    except WireFormatError as error:
        raise _invalid(str(error)) from None
    if size == 0 or size != int(size):
        raise _invalid(f"size {size:g} must be a non-zero whole number of contracts")
    return int(size)


def read_order_reference(segment: str) -> OrderReference:
    """The order named by the last segment of an order path: a ``t-`` text or an id."""
    if segment.startswith(CLIENT_TEXT_PREFIX):
        return OrderReference(None, segment)
    return OrderReference(segment, None)
