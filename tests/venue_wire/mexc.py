"""MEXC spot requests and replies Basis does not use: open and all orders, the account's
own trades by time (Basis asks for one order's, ``protocols.mexc_rest``), ping, the
symbol list, the tickers over REST, market buys by what they spend, requests signed in
the body, and unsubscribing. Requests are built and signed by ``protocols.mexc_rest`` as
Basis's own are; replies are read into the domain model, raising ``msgspec.DecodeError``
or ``WireFormatError`` for a body they cannot read."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

import msgspec

from protocols import mexc_rest
from protocols._wire import number
from protocols.mexc import parse_symbol, venue_symbol
from protocols.mexc_rest import (
    API_KEY_HEADER,
    API_PREFIX,
    DEFAULT_RECV_WINDOW_MS,
    Numeric,
    Params,
    public_request,
    sign,
    signed_request,
)
from protocols.model import Quote, Symbol
from protocols.venue import ApiCredentials, OrderUpdate, RestRequest

# ----------------------------------------------------------------------- requests


def open_orders_request(
    symbol: Symbol | None,
    credentials: ApiCredentials,
    timestamp_ms: int,
    recv_window_ms: int = DEFAULT_RECV_WINDOW_MS,
) -> RestRequest:
    """``GET /api/v3/openOrders`` (MEXC requires the symbol; ``None`` leaves it out)."""
    params = [("symbol", None if symbol is None else venue_symbol(symbol))]
    return signed_request("GET", "openOrders", params, credentials, timestamp_ms, recv_window_ms)


def all_orders_request(
    symbol: Symbol,
    credentials: ApiCredentials,
    timestamp_ms: int,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    limit: int | None = None,
) -> RestRequest:
    """``GET /api/v3/allOrders``: the account's orders in ``symbol``, open or finished."""
    params = [
        ("symbol", venue_symbol(symbol)),
        ("startTime", start_ms),
        ("endTime", end_ms),
        ("limit", limit),
    ]
    return signed_request("GET", "allOrders", params, credentials, timestamp_ms)


def my_trades_request(
    symbol: Symbol,
    credentials: ApiCredentials,
    timestamp_ms: int,
    *,
    order_id: str | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    limit: int | None = None,
    recv_window_ms: int = DEFAULT_RECV_WINDOW_MS,
) -> RestRequest:
    """``GET /api/v3/myTrades``: the account's own trades in ``symbol``."""
    params = [
        ("symbol", venue_symbol(symbol)),
        ("orderId", order_id),
        ("startTime", start_ms),
        ("endTime", end_ms),
        ("limit", limit),
    ]
    return signed_request("GET", "myTrades", params, credentials, timestamp_ms, recv_window_ms)


def market_buy_for_quote_request(
    symbol: Symbol,
    quote_qty: float,
    client_id: str,
    credentials: ApiCredentials,
    timestamp_ms: int,
) -> RestRequest:
    """``POST /api/v3/order``: a market buy spending ``quote_qty`` of the quote asset."""
    params: Params = [
        ("symbol", venue_symbol(symbol)),
        ("side", "BUY"),
        ("type", "MARKET"),
        ("quoteOrderQty", quote_qty),
        ("newClientOrderId", client_id),
    ]
    return signed_request("POST", "order", params, credentials, timestamp_ms)


def body_signed_request(
    method: str,
    endpoint: str,
    params: Sequence[tuple[str, str]],
    credentials: ApiCredentials,
    timestamp_ms: int,
    query: Sequence[tuple[str, str]] = (),
) -> RestRequest:
    """A signed request carrying ``params`` form-encoded in its body (after any
    ``query``), ``signature`` last in the body: signed over the query followed by the
    body, as MEXC documents."""
    query_text = urlencode(list(query))
    body = urlencode(
        [*params, ("recvWindow", str(DEFAULT_RECV_WINDOW_MS)), ("timestamp", str(timestamp_ms))]
    )
    signature = sign(credentials.secret, query_text + body)
    return RestRequest(
        method,
        f"{API_PREFIX}/{endpoint}",
        query_text,
        f"{body}&signature={signature}".encode(),
        (
            (API_KEY_HEADER, credentials.key),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ),
    )


def ping_request() -> RestRequest:
    """``GET /api/v3/ping``."""
    return public_request("GET", "ping")


def exchange_info_request(symbols: Sequence[Symbol] | None = None) -> RestRequest:
    """``GET /api/v3/exchangeInfo`` for every pair (``None``), or ``symbols=A,B``."""
    if symbols is None:
        return public_request("GET", "exchangeInfo")
    return public_request(
        "GET", "exchangeInfo", [("symbols", ",".join(venue_symbol(s) for s in symbols))]
    )


def ticker_request(kind: str, symbol: Symbol | None = None) -> RestRequest:
    """``GET /api/v3/ticker/<kind>`` (``24hr``, ``price`` or ``bookTicker``) for ``symbol``,
    or for every pair when ``None``."""
    params = [] if symbol is None else [("symbol", venue_symbol(symbol))]
    return public_request("GET", f"ticker/{kind}", params)


def book_ticker_request(symbol: Symbol) -> RestRequest:
    """``GET /api/v3/ticker/bookTicker`` for ``symbol``."""
    return ticker_request("bookTicker", symbol)


def unsubscribe_message(channels: Sequence[str], request_id: int = 1) -> str:
    """The text frame ending the subscriptions to ``channels``."""
    request = {"method": "UNSUBSCRIPTION", "params": list(channels), "id": request_id}
    return msgspec.json.encode(request).decode()


# ------------------------------------------------------------------------ replies


class _BookTicker(msgspec.Struct):
    symbol: str
    bidPrice: Numeric | None = None
    bidQty: Numeric | None = None
    askPrice: Numeric | None = None
    askQty: Numeric | None = None


def parse_book_ticker(body: bytes, recv_ts: float) -> Quote:
    """``GET /api/v3/ticker/bookTicker``; the reply has no time, so both times are
    ``recv_ts``. A missing or empty price means that side is empty."""
    ticker = msgspec.json.decode(body, type=_BookTicker)
    bid = number(ticker.bidPrice or "", "bidPrice")
    ask = number(ticker.askPrice or "", "askPrice")
    return Quote(
        parse_symbol(ticker.symbol),
        bid,
        number(ticker.bidQty or "", "bidQty") if bid else 0.0,
        ask,
        number(ticker.askQty or "", "askQty") if ask else 0.0,
        recv_ts,
        recv_ts,
    )


def parse_open_orders(body: bytes) -> tuple[OrderUpdate, ...]:
    """The reply to ``GET /api/v3/openOrders``: a list of orders each shaped as the reply
    to ``GET /api/v3/order``, so each is read by Basis's own ``parse_order``."""
    orders = msgspec.json.decode(body, type=list[msgspec.Raw])
    return tuple(mexc_rest.parse_order(bytes(order)) for order in orders)
