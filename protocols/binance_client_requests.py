r"""Binance spot (API v3), the venue's side: reading and checking what a client sends, as
the simulated venue does. The client's stream requests become ``ClientRequest``\ s, its
WebSocket API requests ``ApiRequest``\ s; a SIGNED request, REST or WebSocket API, is
verified (key, signature, time window), and a REST one's parameters read into an order
or an order reference. Refusals are ``VenueError``\ s carrying Binance's codes and
messages, ready for ``binance_encode.error_response`` or ``binance_encode.api_error``.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from protocols._wire import WireFormatError
from protocols.binance import CLIENT_ID, EXCHANGE, parse_symbol
from protocols.binance_rest import TIME_IN_FORCE
from protocols.binance_signing import (
    API_KEY_HEADER,
    DEFAULT_RECV_WINDOW_MS,
    MAX_RECV_WINDOW_MS,
    sign,
)
from protocols.binance_ws_api import signature_payload
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

WS_METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")


class ClientRequest(msgspec.Struct, frozen=True):
    """A client's websocket request: ``method`` one of ``WS_METHODS``, its ``params``
    (stream names, or a property and its value) and its ``id``, echoed in the answer."""

    method: str
    params: tuple[str | bool, ...]
    request_id: int | str | None


class _Request(msgspec.Struct):
    method: str
    params: list[str | bool] = []
    id: int | str | None = None


_request_decoder = msgspec.json.Decoder(_Request)


def decode_client_message(frame: bytes | str) -> ClientRequest | MalformedMessage:
    """What a client's text frame asks for. Never raises."""
    try:
        request = _request_decoder.decode(frame)
    except msgspec.DecodeError as error:
        return MalformedMessage.about(f"client request: {error}", frame)
    if request.method not in WS_METHODS:
        return MalformedMessage.about(
            f"method {request.method!r} is not one of {', '.join(WS_METHODS)}", frame
        )
    return ClientRequest(request.method, tuple(request.params), request.id)


# ------------------------------------------------------------------ verification

INVALID_KEY_CODE = -2015
INVALID_SIGNATURE_CODE = -1022
INVALID_TIMESTAMP_CODE = -1021
ILLEGAL_CHARS_CODE = -1100
MANDATORY_PARAMETER_CODE = -1102
INVALID_SIDE_CODE = -1117
INVALID_ORDER_TYPE_CODE = -1116
INVALID_TIF_CODE = -1115
UNSUPPORTED_COMBINATION_CODE = -1014
INVALID_SYMBOL_CODE = -1121
UNSUPPORTED_OPERATION_CODE = -1020
INVALID_JSON_CODE = -1135
SUBSCRIPTION_ACTIVE_CODE = -2035
INVALID_PARAMETER_CODE = -1130


def verify_api_key(request: RestRequest, credentials: ApiCredentials) -> None:
    """A SIGNED REST request's first check: its API key header names the account."""
    _check_key(request.header(API_KEY_HEADER), credentials)


def _check_key(key: object, credentials: ApiCredentials) -> None:
    if key != credentials.key:
        raise BadCredentials(
            EXCHANGE, INVALID_KEY_CODE, "Invalid API-key, IP, or permissions for action.", 401
        )


def request_params(request: RestRequest) -> dict[str, str]:
    """The parameters of a request, from its query and its form-encoded body; one sent
    in both is taken from the query."""
    params = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
    params.update(parse_qsl(request.query, keep_blank_values=True))
    return params


def verify_signed_request(
    request: RestRequest, credentials: ApiCredentials, server_time_ms: int
) -> dict[str, str]:
    """The parameters of a SIGNED request, after checking it as Binance does: the API
    key header, the signature over the query string followed by the body
    (``signature`` being the last parameter of whichever carries it), and the time
    window (``timestamp < serverTime + 1000`` and ``serverTime - timestamp <=
    recvWindow``)."""
    verify_api_key(request, credentials)
    query, body = request.query, request.body.decode()
    if "signature=" in body:
        body, signature = _split_signature(body)
    else:
        query, signature = _split_signature(query)
    if not hmac.compare_digest(sign(credentials.secret, query + body), signature):
        raise _bad_signature()
    params = request_params(RestRequest(request.method, request.path, query, body.encode()))
    _check_timing(params, server_time_ms)
    return params


def _check_timing(params: Mapping[str, object], server_time_ms: int) -> None:
    """Refuse a signed request outside its time window, as Binance does:
    ``timestamp < serverTime + 1000`` and ``serverTime - timestamp <= recvWindow``."""
    try:
        timestamp = int(str(params["timestamp"]))
    except (KeyError, ValueError):
        raise missing_parameter("timestamp") from None
    try:
        recv_window = float(str(params.get("recvWindow", DEFAULT_RECV_WINDOW_MS)))
    except ValueError:
        raise _invalid("recvWindow") from None
    if not 0 < recv_window <= MAX_RECV_WINDOW_MS:
        raise InvalidParameter(
            EXCHANGE,
            INVALID_PARAMETER_CODE,
            f"recvWindow must be less than {MAX_RECV_WINDOW_MS}.",
            400,
        )
    if timestamp >= server_time_ms + 1000:
        raise TimestampRejected(
            EXCHANGE,
            INVALID_TIMESTAMP_CODE,
            "Timestamp for this request was 1000ms ahead of the server's time.",
            400,
        )
    if server_time_ms - timestamp > recv_window:
        raise TimestampRejected(
            EXCHANGE,
            INVALID_TIMESTAMP_CODE,
            "Timestamp for this request is outside of the recvWindow.",
            400,
        )


def _bad_signature() -> BadSignature:
    return BadSignature(
        EXCHANGE, INVALID_SIGNATURE_CODE, "Signature for this request is not valid.", 400
    )


def _split_signature(text: str) -> tuple[str, str]:
    """``text`` without its trailing ``signature=...`` parameter, and the signature."""
    head, marker, signature = text.rpartition("signature=")
    if not marker or (head and not head.endswith("&")) or "&" in signature:
        raise _bad_signature()
    return head.removesuffix("&"), signature


# ---------------------------------------------------------- WebSocket API requests


class ApiRequest(msgspec.Struct, frozen=True):
    """A client's WebSocket API request: its ``method``, its ``params`` as sent (JSON
    values) and its ``id``, echoed in the answer."""

    method: str
    params: dict[str, Any]
    request_id: int | str | None


class _ApiRequest(msgspec.Struct):
    id: int | str | None
    method: str
    params: dict[str, Any] = {}


_api_request_decoder = msgspec.json.Decoder(_ApiRequest)


def decode_api_request(frame: bytes | str) -> ApiRequest | MalformedMessage:
    """What a client's text frame asks of the WebSocket API. Never raises."""
    try:
        request = _api_request_decoder.decode(frame)
    except msgspec.DecodeError as error:
        return MalformedMessage.about(f"client request: {error}", frame)
    return ApiRequest(request.method, request.params, request.id)


def invalid_json() -> InvalidParameter:
    """Binance's refusal of a WebSocket API frame it cannot read as a request."""
    return InvalidParameter(EXCHANGE, INVALID_JSON_CODE, "Invalid JSON Request", 400)


def verify_signed_params(
    params: Mapping[str, Any], credentials: ApiCredentials, server_time_ms: int
) -> None:
    """Check a SIGNED WebSocket API request as Binance does: ``apiKey`` names the
    account, ``signature`` (hex, in either case) signs the other parameters sorted by
    name, and the time window holds."""
    for name in ("apiKey", "signature"):
        if not params.get(name):
            raise missing_parameter(name)
    _check_key(params["apiKey"], credentials)
    expected = sign(credentials.secret, signature_payload(params))
    if not hmac.compare_digest(expected, str(params["signature"]).lower()):
        raise _bad_signature()
    _check_timing(params, server_time_ms)


# --------------------------------------------------------------- request parameters


class NewOrderParams(msgspec.Struct, frozen=True):
    """A client's ``POST /api/v3/order`` as the venue reads it; ``type_name`` and
    ``tif_name`` as sent, which replies echo, and the reply it asked for."""

    symbol: Symbol
    side: Side
    type: OrderType
    tif: TimeInForce | None
    type_name: str
    tif_name: str
    qty: float | None
    quote_qty: float | None
    price: float | None
    client_id: str | None
    response_type: str


class OrderReference(msgspec.Struct, frozen=True):
    """The order a query or cancel names: by ``orderId`` or ``origClientOrderId`` (or
    both, which must agree), in ``symbol``."""

    symbol: Symbol
    venue_order_id: str | None
    client_id: str | None


_TIFS_BY_NAME = {name: tif for tif, name in TIME_IN_FORCE.items()}
_SIDES_BY_NAME = {"BUY": Side.BUY, "SELL": Side.SELL}
ORDER_TYPES = ("LIMIT", "MARKET", "LIMIT_MAKER")
RESPONSE_TYPES = ("ACK", "RESULT", "FULL")


def missing_parameter(name: str) -> InvalidParameter:
    """Binance's refusal of a request without the mandatory parameter ``name``."""
    return InvalidParameter(
        EXCHANGE,
        MANDATORY_PARAMETER_CODE,
        f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
        400,
    )


def _invalid(name: str) -> InvalidParameter:
    return InvalidParameter(
        EXCHANGE, INVALID_PARAMETER_CODE, f"Data sent for parameter '{name}' is not valid.", 400
    )


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise missing_parameter(name)
    return value


def optional_number(params: Mapping[str, str], name: str) -> float | None:
    value = params.get(name, "")
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise InvalidParameter(
            EXCHANGE,
            ILLEGAL_CHARS_CODE,
            f"Illegal characters found in parameter '{name}'; legal range is "
            "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
            400,
        ) from None
    if not math.isfinite(number):
        raise _invalid(name)
    return number


def read_symbol(params: Mapping[str, str]) -> Symbol:
    """The ``symbol`` parameter; ``InvalidSymbol`` (-1121) when it is not a pair."""
    return symbol_named(_required(params, "symbol"))


def symbol_named(text: str) -> Symbol:
    try:
        return parse_symbol(text)
    except WireFormatError:
        raise InvalidSymbol(EXCHANGE, INVALID_SYMBOL_CODE, "Invalid symbol.", 400) from None


def read_symbols(params: Mapping[str, str]) -> list[Symbol] | None:
    """The pairs a market data request names: ``symbol=A``, or ``symbols=["A","B"]``
    (a JSON array); ``None`` when it names none (all pairs)."""
    if params.get("symbol"):
        return [read_symbol(params)]
    if params.get("symbols"):
        try:
            names = msgspec.json.decode(params["symbols"], type=list[str])
        except msgspec.DecodeError:
            raise _invalid("symbols") from None
        return [symbol_named(name) for name in names]
    return None


def read_new_order(params: Mapping[str, str]) -> NewOrderParams:
    """The order a ``POST /api/v3/order`` asks for (its verified parameters). A
    ``LIMIT`` order needs ``timeInForce``, ``quantity`` and ``price``; a ``MARKET`` one
    ``quantity`` or ``quoteOrderQty``; a ``LIMIT_MAKER`` ``quantity`` and ``price``."""
    symbol = read_symbol(params)
    side_name = _required(params, "side")
    side = _SIDES_BY_NAME.get(side_name)
    if side is None:
        raise InvalidParameter(EXCHANGE, INVALID_SIDE_CODE, "Invalid side.", 400)
    type_name = _required(params, "type")
    if type_name not in ORDER_TYPES:
        raise InvalidParameter(EXCHANGE, INVALID_ORDER_TYPE_CODE, "Invalid orderType.", 400)
    tif_name = params.get("timeInForce", "")
    tif: TimeInForce | None
    if type_name == "LIMIT":
        tif = _TIFS_BY_NAME.get(_required(params, "timeInForce"))
        if tif is None:
            raise InvalidParameter(EXCHANGE, INVALID_TIF_CODE, "Invalid timeInForce.", 400)
    elif tif_name:
        raise InvalidParameter(
            EXCHANGE, -1106, "Parameter 'timeInForce' sent when not required.", 400
        )
    else:
        tif = TimeInForce.POST_ONLY if type_name == "LIMIT_MAKER" else None
    price = optional_number(params, "price")
    if type_name != "MARKET" and price is None:
        raise missing_parameter("price")
    client_id = params.get("newClientOrderId") or None
    if client_id is not None and CLIENT_ID.fullmatch(client_id) is None:
        raise InvalidParameter(
            EXCHANGE,
            ILLEGAL_CHARS_CODE,
            "Illegal characters found in parameter 'newClientOrderId'; legal range is "
            "'^[a-zA-Z0-9-_]{1,36}$'.",
            400,
        )
    default_response = "FULL" if type_name in ("LIMIT", "MARKET") else "ACK"
    response_type = params.get("newOrderRespType") or default_response
    if response_type not in RESPONSE_TYPES:
        raise _invalid("newOrderRespType")
    return NewOrderParams(
        symbol,
        side,
        OrderType.MARKET if type_name == "MARKET" else OrderType.LIMIT,
        tif,
        type_name,
        tif_name or "GTC",
        optional_number(params, "quantity"),
        optional_number(params, "quoteOrderQty"),
        price,
        client_id,
        response_type,
    )


def read_order_reference(params: Mapping[str, str]) -> OrderReference:
    """The order a ``GET`` or ``DELETE /api/v3/order`` names."""
    symbol = read_symbol(params)
    venue_order_id = params.get("orderId") or None
    client_id = params.get("origClientOrderId") or None
    if venue_order_id is None and client_id is None:
        raise InvalidParameter(
            EXCHANGE,
            MANDATORY_PARAMETER_CODE,
            "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            400,
        )
    if venue_order_id is not None and not venue_order_id.isdigit():
        raise InvalidParameter(
            EXCHANGE,
            ILLEGAL_CHARS_CODE,
            "Illegal characters found in parameter 'orderId'; legal range is '^[0-9]{1,20}$'.",
            400,
        )
    return OrderReference(symbol, venue_order_id, client_id)
