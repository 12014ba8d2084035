"""What Binance's spot API (``/api/v3``) and its USDⓈ-M futures API (``/fapi``) share:
the signature of a SIGNED request and the headers in which each reply says how much of
the IP's request weight and of the account's order count are used.

Pure: no I/O, no clock (timestamps are passed in), no secrets kept.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from urllib.parse import urlencode

from protocols._wire import decimal
from protocols.venue import ApiCredentials, Headers, RestResponse

API_KEY_HEADER = "X-MBX-APIKEY"
DEFAULT_RECV_WINDOW_MS = 5000
MAX_RECV_WINDOW_MS = 60000
"""``recvWindow``: how long after its ``timestamp`` the venue still takes a request;
Binance refuses more than 60 s."""

USED_WEIGHT_HEADER = "X-MBX-USED-WEIGHT-"
"""Followed by an interval (``1M``: the minute's window): the IP's request weight used
in that window, this request included."""
ORDER_COUNT_HEADER = "X-MBX-ORDER-COUNT-"
"""Followed by an interval (``10S``, ``1D`` on spot; ``1M`` on futures): the account's
orders placed in that window."""
RETRY_AFTER_HEADER = "Retry-After"
"""Seconds to wait, on a 429 (too many requests) or 418 (the IP banned for it)."""

Params = Sequence[tuple[str, str | int | float | None]]


def sign(secret: str, total_params: str) -> str:
    """Binance's HMAC signature: lowercase hex HMAC-SHA256 of ``total_params`` (the
    query string immediately followed by the request body) under ``secret``."""
    return hmac.new(secret.encode(), total_params.encode(), hashlib.sha256).hexdigest()


def query(params: Params) -> str:
    """``params`` url-encoded in their order; floats as plain decimals (never ``1e-05``),
    a ``None`` left out."""
    return urlencode(
        [
            (name, decimal(value) if isinstance(value, float) else str(value))
            for name, value in params
            if value is not None
        ]
    )


def signed_query(
    params: Params,
    credentials: ApiCredentials,
    timestamp_ms: int,
    recv_window_ms: int = DEFAULT_RECV_WINDOW_MS,
) -> tuple[str, Headers]:
    """The query of a SIGNED request with an empty body: every parameter, then
    ``recvWindow``, ``timestamp`` and last ``signature``; and the header carrying the
    API key."""
    if not 0 < recv_window_ms <= MAX_RECV_WINDOW_MS:
        raise ValueError(f"recvWindow {recv_window_ms} ms is not within 1..{MAX_RECV_WINDOW_MS}")
    text = query([*params, ("recvWindow", recv_window_ms), ("timestamp", timestamp_ms)])
    return (
        f"{text}&signature={sign(credentials.secret, text)}",
        ((API_KEY_HEADER, credentials.key),),
    )


def counters(response: RestResponse, prefix: str) -> dict[str, int]:
    """The counters a reply carries under the headers starting with ``prefix``
    (:data:`USED_WEIGHT_HEADER`, :data:`ORDER_COUNT_HEADER`), by interval (``1M``,
    ``10S``, ``1D``); a value that is not an integer is left out."""
    wanted = prefix.lower()
    found: dict[str, int] = {}
    for name, value in response.headers:
        if name.lower().startswith(wanted):
            try:
                found[name[len(prefix) :].upper()] = int(value)
            except ValueError:
                continue
    return found


def retry_after_s(response: RestResponse) -> float | None:
    """The wait a 429 or 418 names in ``Retry-After`` (seconds), or ``None``."""
    value = response.header(RETRY_AFTER_HEADER)
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
