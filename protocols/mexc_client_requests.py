r"""MEXC spot (API v3), the venue's side: reading and checking what a client sends, as
the simulated venue does. The client's websocket frames become ``ClientSubscription`` or
``ClientPing``; a signed REST request is verified (key, signature, time window) and its
parameters read into an order or an order reference. Refusals are ``VenueError``\ s
carrying MEXC's codes, ready for ``mexc_encode.error_response``.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Mapping
from urllib.parse import parse_qsl

import msgspec

from protocols._wire import WireFormatError
from protocols.mexc import EXCHANGE, MAX_SUBSCRIPTIONS_PER_CONNECTION, parse_symbol
from protocols.mexc_rest import (
    API_KEY_HEADER,
    DEFAULT_RECV_WINDOW_MS,
    LIMIT_ORDER_TYPES,
    MAX_RECV_WINDOW_MS,
    sign,
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

# ------------------------------------------------------------- client websocket frames


class ClientSubscription(msgspec.Struct, frozen=True):
    """A client's SUBSCRIPTION (``subscribe`` true) or UNSUBSCRIPTION request."""

    subscribe: bool
    channels: tuple[str, ...]
    request_id: int


class ClientPing(msgspec.Struct, frozen=True):
    """A client's ``{"method":"PING"}`` (or ``ping``: widely used clients send it lower
    case, and MEXC answers both)."""

    request_id: int = 0


class _ClientRequest(msgspec.Struct):
    method: str
    params: list[str] = []
    id: int = 0


_client_request_decoder = msgspec.json.Decoder(_ClientRequest)


def decode_client_message(
    frame: bytes | str,
) -> ClientSubscription | ClientPing | MalformedMessage:
    """What a client's text frame asks for. Never raises."""
    try:
        request = _client_request_decoder.decode(frame)
    except msgspec.DecodeError as error:
        return MalformedMessage.about(f"client request: {error}", frame)
    if request.method in ("PING", "ping"):
        return ClientPing(request.id)
    if request.method in ("SUBSCRIPTION", "UNSUBSCRIPTION"):
        if not request.params:
            return MalformedMessage.about(f"{request.method} names no channel in params", frame)
        if len(request.params) > MAX_SUBSCRIPTIONS_PER_CONNECTION:
            return MalformedMessage.about(
                f"{request.method} names {len(request.params)} channels; "
                f"a connection holds at most {MAX_SUBSCRIPTIONS_PER_CONNECTION}",
                frame,
            )
        return ClientSubscription(
            request.method == "SUBSCRIPTION", tuple(request.params), request.id
        )
    return MalformedMessage.about(
        f"method {request.method!r} is not SUBSCRIPTION, UNSUBSCRIPTION or PING", frame
    )


# ------------------------------------------------------------------ verification


def verify_signed_request(
    request: RestRequest, credentials: ApiCredentials, server_time_ms: int
) -> dict[str, str]:
    """The parameters of a signed request, after checking it as MEXC does: the API key
    header, the signature over the query string followed by the body (``signature`` is
    the last parameter of whichever carries it), and the timestamp window
    (``timestamp < serverTime + 1000`` and ``serverTime - timestamp <= recvWindow``).
    A parameter sent in both the query and the body is taken from the query. Raises
    ``BadCredentials``, ``BadSignature``, ``InvalidParameter`` or ``TimestampRejected``
    with MEXC's codes."""
    if request.header(API_KEY_HEADER) != credentials.key:
        raise BadCredentials(EXCHANGE, 401, "api key missing or unknown", 401)
    query, body = request.query, request.body.decode()
    if "signature=" in body:
        body, signature = _split_signature(body)
    else:
        query, signature = _split_signature(query)
    if not hmac.compare_digest(sign(credentials.secret, query + body), signature):
        raise BadSignature(EXCHANGE, 700002, "Signature for this request is not valid.", 400)
    params = dict(parse_qsl(body, keep_blank_values=True))
    params.update(parse_qsl(query, keep_blank_values=True))
    try:
        timestamp = int(params["timestamp"])
        recv_window = int(params.get("recvWindow", DEFAULT_RECV_WINDOW_MS))
    except (KeyError, ValueError):
        raise _parameter_error("timestamp missing or not an integer") from None
    if not 0 < recv_window <= MAX_RECV_WINDOW_MS:
        raise InvalidParameter(
            EXCHANGE, RECV_WINDOW_CODE, f"recvWindow must less than {MAX_RECV_WINDOW_MS}", 400
        )
    if not (timestamp < server_time_ms + 1000 and server_time_ms - timestamp <= recv_window):
        raise TimestampRejected(
            EXCHANGE, 700003, "Timestamp for this request is outside of the recvWindow.", 400
        )
    return params


def _split_signature(text: str) -> tuple[str, str]:
    """``text`` without its trailing ``signature=...`` parameter, and the signature."""
    head, marker, signature = text.rpartition("signature=")
    if not marker or (head and not head.endswith("&")) or "&" in signature:
        raise BadSignature(EXCHANGE, 700002, "signature must be the last parameter", 400)
    return head.removesuffix("&"), signature


# --------------------------------------------------------------- request parameters

PARAMETER_ERROR_CODE = 33333
"""MEXC's "param is error": a parameter that was sent but cannot be taken."""
MISSING_PARAMETER_CODE = 44444
"""MEXC's "param cannot be null": a mandatory parameter missing or empty."""
MISSING_ORDER_ID_CODE = 700004
"""Neither ``orderId`` nor ``origClientOrderId`` was sent."""
RECV_WINDOW_CODE = 700005
INVALID_SYMBOL_CODE = 30014


class NewOrderParams(msgspec.Struct, frozen=True):
    """A client's ``POST /api/v3/order`` as the venue reads it. ``tif`` is ``None`` for
    a market order (MEXC's order types fold time in force in); ``type_name`` is the type
    as sent, which replies echo."""

    symbol: Symbol
    side: Side
    type: OrderType
    tif: TimeInForce | None
    type_name: str
    qty: float | None
    quote_qty: float | None
    price: float | None
    client_id: str | None


class OrderReference(msgspec.Struct, frozen=True):
    """The order a query or cancel names: by ``orderId`` or ``origClientOrderId``, in
    ``symbol`` (``None`` when a query leaves it out)."""

    symbol: Symbol | None
    venue_order_id: str | None
    client_id: str | None


_TYPES_BY_NAME: dict[str, tuple[OrderType, TimeInForce | None]] = {
    name: (OrderType.LIMIT, tif) for tif, name in LIMIT_ORDER_TYPES.items()
}
_TYPES_BY_NAME["MARKET"] = (OrderType.MARKET, None)
_SIDES_BY_NAME = {"BUY": Side.BUY, "SELL": Side.SELL}


def _parameter_error(message: str) -> InvalidParameter:
    return InvalidParameter(EXCHANGE, PARAMETER_ERROR_CODE, message, 400)


def missing_parameter(name: str) -> InvalidParameter:
    """MEXC's refusal of a request without the mandatory parameter ``name``."""
    return InvalidParameter(
        EXCHANGE,
        MISSING_PARAMETER_CODE,
        f"mandatory parameter '{name}' was not sent or was empty",
        400,
    )


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise missing_parameter(name)
    return value


def _optional_number(params: Mapping[str, str], name: str) -> float | None:
    value = params.get(name, "")
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise _parameter_error(f"parameter '{name}' {value!r} is not a number") from None
    if not math.isfinite(number):
        raise _parameter_error(f"parameter '{name}' {value!r} is not a finite number")
    return number


def read_symbol(params: Mapping[str, str]) -> Symbol:
    """The ``symbol`` parameter; ``InvalidSymbol`` (30014) when it is not a MEXC pair."""
    return _symbol(_required(params, "symbol"))


def read_symbols(params: Mapping[str, str]) -> list[Symbol] | None:
    """The pairs a market data request names: ``symbol=A``, or ``symbols=A,B``; ``None``
    when it names none (all pairs)."""
    if params.get("symbol"):
        return [read_symbol(params)]
    if params.get("symbols"):
        return [_symbol(text) for text in params["symbols"].split(",")]
    return None


def _symbol(text: str) -> Symbol:
    try:
        return parse_symbol(text)
    except WireFormatError:
        raise InvalidSymbol(
            EXCHANGE, INVALID_SYMBOL_CODE, f"Invalid symbol {text!r}.", 400
        ) from None


def read_new_order(params: Mapping[str, str]) -> NewOrderParams:
    """The order a ``POST /api/v3/order`` asks for (its verified parameters). Raises
    ``InvalidSymbol`` or ``InvalidParameter`` (33333) naming the parameter."""
    symbol = read_symbol(params)
    side_name = _required(params, "side")
    side = _SIDES_BY_NAME.get(side_name)
    if side is None:
        raise _parameter_error(f"side {side_name!r} is neither BUY nor SELL")
    type_name = _required(params, "type")
    kind = _TYPES_BY_NAME.get(type_name)
    if kind is None:
        raise _parameter_error(f"type {type_name!r} is not one of {', '.join(_TYPES_BY_NAME)}")
    return NewOrderParams(
        symbol,
        side,
        kind[0],
        kind[1],
        type_name,
        _optional_number(params, "quantity"),
        _optional_number(params, "quoteOrderQty"),
        _optional_number(params, "price"),
        params.get("newClientOrderId") or None,
    )


def read_order_reference(
    params: Mapping[str, str], *, symbol_required: bool = True
) -> OrderReference:
    """The order a ``GET`` or ``DELETE /api/v3/order`` names; ``orderId`` wins when both
    ids are sent. A cancel must name the symbol; MEXC documents it as optional for a
    query (``symbol_required=False``)."""
    symbol = read_symbol(params) if symbol_required or params.get("symbol") else None
    venue_order_id = params.get("orderId") or None
    client_id = params.get("origClientOrderId") or None
    if venue_order_id is None and client_id is None:
        raise InvalidParameter(
            EXCHANGE,
            MISSING_ORDER_ID_CODE,
            "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null",
            400,
        )
    return OrderReference(symbol, venue_order_id, None if venue_order_id else client_id)
