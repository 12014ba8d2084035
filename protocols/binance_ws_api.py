"""Binance spot's WebSocket API (``/ws-api/v3``), the client's side, as far as Basis uses
it: the account's user data stream, subscribed by a signed request on a connection of
its own. Pure: no I/O, no clock, no secrets kept.

Every request is a JSON text frame ``{"id", "method", "params"}``; every answer one
``{"id", "status", "result" | "error", "rateLimits"}`` echoing the request's ``id``,
``status`` being HTTP's (200; 4xx the request's fault; 5xx an unknown outcome). A
SIGNED request carries ``apiKey``, ``timestamp`` (ms; ``recvWindow`` optional, 5000 ms
by default) and ``signature``: the HMAC of every other parameter sorted by name and
written ``name=value`` joined by ``&``, values in UTF-8 and not url-encoded. Once
subscribed, the account's events arrive on the same connection wrapped as
``{"subscriptionId": n, "event": {...}}``, and a connection event (``serverShutdown``)
as ``{"event": {...}}``. The venue pings at the websocket level every 20 s and closes a
connection after 24 hours. The events are ``protocols.binance``'s; the venue's side of
all this is ``protocols.binance_encode`` and ``protocols.binance_client_requests``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgspec

from protocols._wire import WireFormatError, decimal, integer
from protocols.binance import BinanceEvent, read_event
from protocols.binance_signing import sign
from protocols.venue import ApiCredentials, MalformedMessage, SubscriptionResult

WS_API_URL = "wss://ws-api.binance.com:443/ws-api/v3"
WS_API_PATH = "/ws-api/v3"
_STREAMS_HOST_PREFIX = "stream."
_WS_API_HOST_PREFIX = "ws-api."

SUBSCRIBE_METHOD = "userDataStream.subscribe.signature"
UNSUBSCRIBE_METHOD = "userDataStream.unsubscribe"
SUBSCRIPTIONS_METHOD = "session.subscriptions"

SUBSCRIBE_REQUEST_ID = "subscribe"
"""The id of Basis's subscription request, echoed by its answer."""
KEEPALIVE_REQUEST_ID = "subscriptions"
"""The id of Basis's keepalive, a ``session.subscriptions`` request."""


def ws_api_url(ws_url: str) -> str:
    """The WebSocket API beside the market streams at ``ws_url``: the same scheme and
    port, the host's ``stream.`` become ``ws-api.`` (``wss://stream.binance.com:9443/ws``
    → ``wss://ws-api.binance.com:9443/ws-api/v3``, the API's other port), the path
    ``/ws-api/v3``. A host without that prefix (a simulated venue on 127.0.0.1) is kept."""
    parts = urlsplit(ws_url)
    host = parts.netloc
    if host.startswith(_STREAMS_HOST_PREFIX):
        host = _WS_API_HOST_PREFIX + host.removeprefix(_STREAMS_HOST_PREFIX)
    return urlunsplit((parts.scheme, host, WS_API_PATH, "", ""))


# ------------------------------------------------------------------------ requests

Params = Mapping[str, str | int | float | bool]


def _text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return decimal(value)
    return str(value)


def signature_payload(params: Params) -> str:
    """What a SIGNED request's ``signature`` signs: every parameter but ``signature``,
    sorted by name, ``name=value`` joined by ``&`` (values as sent, not url-encoded)."""
    return "&".join(
        f"{name}={_text(params[name])}" for name in sorted(params) if name != "signature"
    )


def signed_params(
    params: Params, credentials: ApiCredentials, timestamp_ms: int
) -> dict[str, str | int | float | bool]:
    """``params`` with ``apiKey``, ``timestamp`` and the ``signature`` over them all."""
    signed = {**params, "apiKey": credentials.key, "timestamp": timestamp_ms}
    signed["signature"] = sign(credentials.secret, signature_payload(signed))
    return signed


_encode_json = msgspec.json.Encoder().encode


def request_message(
    method: str, params: Params | None = None, request_id: int | str | None = None
) -> str:
    """The text frame of a request (``params`` left out when there are none)."""
    request: dict[str, Any] = {"id": request_id, "method": method}
    if params:
        request["params"] = dict(params)
    return _encode_json(request).decode()


def subscribe_message(
    credentials: ApiCredentials, timestamp_ms: int, request_id: int | str = SUBSCRIBE_REQUEST_ID
) -> str:
    """Subscribe this connection to the account's user data stream, by signature (no
    session logon needed); answered with the subscription's id."""
    return request_message(
        SUBSCRIBE_METHOD, signed_params({}, credentials, timestamp_ms), request_id
    )


def unsubscribe_message(subscription_id: int | None, request_id: int | str) -> str:
    """End one subscription, or every subscription of the connection (``None``)."""
    params = {} if subscription_id is None else {"subscriptionId": subscription_id}
    return request_message(UNSUBSCRIBE_METHOD, params, request_id)


def subscriptions_message(request_id: int | str = KEEPALIVE_REQUEST_ID) -> str:
    """Ask which subscriptions the connection holds: Basis's keepalive, which also shows
    its subscription still stands."""
    return request_message(SUBSCRIPTIONS_METHOD, None, request_id)


# ------------------------------------------------------------------------ answers


class ApiResponse(msgspec.Struct, frozen=True):
    """The answer to request ``request_id``: its ``result`` when ``status`` is 200, else
    Binance's ``code`` and ``message`` (and, rate limited or banned, when to retry)."""

    request_id: int | str | None
    status: int
    result: Any = None
    code: int | None = None
    message: str = ""
    retry_after_ms: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    def refusal(self) -> str:
        """The refusal as the log tells it: status, code and Binance's message."""
        return f"{self.status} ({self.code}) {self.message}"


def subscription_outcome(response: ApiResponse) -> tuple[SubscriptionResult, int | None]:
    """What the answer to a subscription request says, and the subscription's id when
    it was taken."""
    channel = str(response.request_id)
    if not response.ok:
        return SubscriptionResult(False, channel, response.refusal()), None
    result = response.result
    return SubscriptionResult(True, channel, ""), _subscription_id(result, "result")


def active_subscriptions(response: ApiResponse) -> frozenset[int]:
    """The subscriptions a ``session.subscriptions`` answer lists."""
    if not isinstance(response.result, list):
        raise WireFormatError("session.subscriptions' result is not a list")
    return frozenset(_subscription_id(entry, "result[]") for entry in response.result)


def _subscription_id(entry: object, where: str) -> int:
    found = entry.get("subscriptionId") if isinstance(entry, dict) else None
    if isinstance(found, bool) or not isinstance(found, int):
        raise WireFormatError(f"{where} names no subscriptionId")
    return found


_decode_json = msgspec.json.Decoder().decode

WsApiFrame = ApiResponse | BinanceEvent


def decode_frame(frame: bytes | str, recv_ts: float) -> tuple[WsApiFrame, ...]:
    """Everything one frame of the WebSocket API says: an answer, or the events of one
    account event (``protocols.binance.read_event``). ``recv_ts`` is when it arrived
    (Unix seconds). Never raises: what cannot be read is a ``MalformedMessage``."""
    try:
        message = _decode_json(frame)
    except msgspec.DecodeError as error:
        return (MalformedMessage.about(f"frame is not JSON: {error}", frame),)
    if not isinstance(message, dict):
        return (MalformedMessage.about("frame is not a JSON object", frame),)
    try:
        if "event" in message:
            event = message["event"]
            if not isinstance(event, dict):
                raise WireFormatError("event is not an object")
            return read_event(event, recv_ts)
        if "status" in message and "id" in message:
            return (_read_response(message),)
        raise WireFormatError("frame is neither an answer nor an event")
    except WireFormatError as error:
        return (MalformedMessage.about(str(error), frame),)
    except (KeyError, TypeError, ValueError) as error:
        return (MalformedMessage.about(f"unexpected field or value: {error!r}", frame),)


def _read_response(message: dict[str, Any]) -> ApiResponse:
    request_id, status = message["id"], integer(message["status"], "status")
    if status == 200:
        return ApiResponse(request_id, status, message.get("result"))
    error = message.get("error")
    if not isinstance(error, dict):
        raise WireFormatError(f"a {status} answer carries no error object")
    data = error.get("data")
    retry_after = data.get("retryAfter") if isinstance(data, dict) else None
    return ApiResponse(
        request_id,
        status,
        code=integer(error["code"], "error.code"),
        message=str(error.get("msg", "")),
        retry_after_ms=None if retry_after is None else integer(retry_after, "retryAfter"),
    )
