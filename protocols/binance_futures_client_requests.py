"""Binance USDⓈ-M perpetual futures, the venue's side of a client's requests: reading
their parameters, checking the API key, signature and timestamp of a ``SIGNED`` request
as Binance does, and reading websocket requests. Pure: no I/O, no clock (the venue's
time is passed in). Refusals are the typed errors of ``protocols.venue`` carrying
Binance's codes, which ``protocols.binance_futures_encode.error_response`` writes.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qsl

import msgspec

from protocols import binance_signing
from protocols._wire import WireFormatError
from protocols.binance_futures import (
    EXCHANGE,
    SIDES,
    TIFS,
    StreamRequest,
    parse_symbol,
)
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

CLOCK_AHEAD_MS = 1000
"""A request is taken while ``timestamp < serverTime + 1000`` and
``serverTime - timestamp <= recvWindow``."""


def _missing(name: str) -> InvalidParameter:
    return InvalidParameter(
        EXCHANGE, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def _invalid(name: str, value: str) -> InvalidParameter:
    return InvalidParameter(
        EXCHANGE, -1130, f"Data sent for parameter '{name}' is not valid: {value!r}."
    )


def params_of(request: RestRequest) -> dict[str, str]:
    """The request's parameters, from the query and a form body (Binance takes either,
    or both); one sent in both is the query's."""
    params = dict(parse_qsl(request.body.decode(errors="replace"), keep_blank_values=True))
    params.update(parse_qsl(request.query, keep_blank_values=True))
    return params


def verify_api_key(request: RestRequest, credentials: ApiCredentials) -> None:
    """The API key header names the account's key (``USER_STREAM`` endpoints need no more)."""
    key = request.header(binance_signing.API_KEY_HEADER)
    if key is None or not hmac.compare_digest(key, credentials.key):
        raise BadCredentials(
            EXCHANGE, -2015, "Invalid API-key, IP, or permissions for action.", 401
        )


def verify_signed_request(
    request: RestRequest, credentials: ApiCredentials, venue_now: float
) -> None:
    """Check a ``SIGNED`` request as Binance does: the API key, the ``signature`` (last
    in the query, or in the body) over the query followed by the body without it, and
    the ``timestamp`` within ``recvWindow`` (5000 ms unless sent, at most 60000) of the
    venue's clock ``venue_now``."""
    verify_api_key(request, credentials)
    query, body = request.query, request.body.decode(errors="replace")
    signature = None
    for source in ("query", "body"):
        text = query if source == "query" else body
        head, separator, tail = text.rpartition("&signature=")
        if not separator and text.startswith("signature="):
            head, tail = "", text[len("signature=") :]
            separator = "signature="
        if separator and "&" not in tail:
            signature = tail
            if source == "query":
                query = head
            else:
                body = head
            break
    if signature is None:
        raise _missing("signature")
    expected = binance_signing.sign(credentials.secret, query + body)
    if not hmac.compare_digest(signature.lower(), expected):
        raise BadSignature(EXCHANGE, -1022, "Signature for this request is not valid.")
    params = params_of(request)
    timestamp_text = params.get("timestamp")
    if not timestamp_text:
        raise _missing("timestamp")
    window_text = params.get("recvWindow") or str(binance_signing.DEFAULT_RECV_WINDOW_MS)
    try:
        timestamp = int(timestamp_text)
        window = int(window_text)
    except ValueError:
        raise _invalid("timestamp", timestamp_text) from None
    if not 0 < window <= binance_signing.MAX_RECV_WINDOW_MS:
        raise InvalidParameter(
            EXCHANGE, -1131, f"recvWindow must be less than {binance_signing.MAX_RECV_WINDOW_MS}."
        )
    server_ms = int(venue_now * 1000)
    if not (timestamp < server_ms + CLOCK_AHEAD_MS and server_ms - timestamp <= window):
        raise TimestampRejected(
            EXCHANGE, -1021, "Timestamp for this request is outside of the recvWindow."
        )


def read_symbol(params: dict[str, str]) -> Symbol:
    text = params.get("symbol")
    if not text:
        raise _missing("symbol")
    try:
        return parse_symbol(text)
    except WireFormatError:
        raise InvalidSymbol(EXCHANGE, -1121, "Invalid symbol.") from None


def read_float(params: dict[str, str], name: str, required: bool = True) -> float | None:
    text = params.get(name)
    if not text:
        if required:
            raise _missing(name)
        return None
    try:
        value = float(text)
    except ValueError:
        raise _invalid(name, text) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise _invalid(name, text)
    return value


def read_int(params: dict[str, str], name: str, default: int | None = None) -> int | None:
    text = params.get(name)
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise _invalid(name, text) from None


def read_bool(params: dict[str, str], name: str) -> bool:
    text = (params.get(name) or "false").lower()
    if text not in ("true", "false"):
        raise _invalid(name, text)
    return text == "true"


class NewOrder(msgspec.Struct, frozen=True):
    """A ``POST /fapi/v1/order`` as the venue reads it: ``qty`` in base units, ``price``
    ``None`` for a market order."""

    symbol: Symbol
    side: Side
    type: OrderType
    tif: TimeInForce | None
    qty: float
    price: float | None
    reduce_only: bool
    client_id: str | None
    response_type: str


def read_side(params: dict[str, str]) -> Side:
    text = params.get("side")
    if not text:
        raise _missing("side")
    side = SIDES.get(text)
    if side is None:
        raise _invalid("side", text)
    return side


def read_new_order(params: dict[str, str]) -> NewOrder:
    """The order a placement asks for; ``InvalidParameter`` (``-1102``, ``-1130``,
    ``-1116`` order type, ``-1115`` time in force) when it cannot be read."""
    symbol = read_symbol(params)
    side = read_side(params)
    kind = params.get("type")
    if not kind:
        raise _missing("type")
    if kind not in ("LIMIT", "MARKET"):
        raise InvalidParameter(EXCHANGE, -1116, "Invalid orderType.")
    position_side = params.get("positionSide") or "BOTH"
    if position_side != "BOTH":
        raise InvalidParameter(
            EXCHANGE, -4061, "Order's position side does not match user's setting."
        )
    qty = read_float(params, "quantity")
    assert qty is not None
    if qty <= 0:
        raise InvalidParameter(EXCHANGE, -4003, "Quantity less than or equal to zero.")
    tif: TimeInForce | None = None
    price: float | None = None
    if kind == "LIMIT":
        tif_text = params.get("timeInForce")
        if not tif_text:
            raise _missing("timeInForce")
        tif = TIFS.get(tif_text)
        if tif is None:
            raise InvalidParameter(EXCHANGE, -1115, "Invalid timeInForce.")
        price = read_float(params, "price")
    response_type = params.get("newOrderRespType") or "ACK"
    if response_type not in ("ACK", "RESULT"):
        raise _invalid("newOrderRespType", response_type)
    return NewOrder(
        symbol,
        side,
        OrderType.LIMIT if kind == "LIMIT" else OrderType.MARKET,
        tif,
        qty,
        price,
        read_bool(params, "reduceOnly"),
        params.get("newClientOrderId") or None,
        response_type,
    )


class OrderReference(msgspec.Struct, frozen=True):
    """Which order a query, cancel or amendment names: by the venue's id (which wins)
    or by the client's."""

    symbol: Symbol
    venue_order_id: str | None
    client_id: str | None


def read_order_reference(params: dict[str, str]) -> OrderReference:
    symbol = read_symbol(params)
    order_id = params.get("orderId") or None
    client_id = params.get("origClientOrderId") or None
    if order_id is None and client_id is None:
        raise InvalidParameter(
            EXCHANGE,
            -1102,
            "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
        )
    if order_id is not None and not order_id.isdigit():
        raise _invalid("orderId", order_id)
    return OrderReference(symbol, order_id, None if order_id is not None else client_id)


_request_decoder = msgspec.json.Decoder(StreamRequest)


def decode_client_message(frame: bytes | str) -> StreamRequest | MalformedMessage:
    """A client's websocket request, or why it could not be read."""
    try:
        return _request_decoder.decode(frame)
    except msgspec.DecodeError as error:
        return MalformedMessage.about(f"request: {error}", frame)
