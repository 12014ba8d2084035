"""Gate.io USDT perpetual futures requests, replies and pushes Basis does not use: open
orders, the futures account, unsubscribing,
and the full order book push. Requests are built and signed by ``protocols.gateio_rest``
and ``protocols.gateio`` as Basis's own are; replies are read into the domain model, in
base units, raising ``msgspec.DecodeError`` or ``WireFormatError`` for a body they cannot
read."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

import msgspec

from protocols import gateio_rest
from protocols._wire import decimal, number
from protocols.gateio import (
    ORDER_BOOK,
    Numeric,
    _channel_request,
    contracts_of,
    venue_symbol,
)
from protocols.gateio_rest import FUTURES, signed_request
from protocols.model import Symbol
from protocols.venue import (
    ApiCredentials,
    Balance,
    BookLevel,
    DepthSnapshot,
    OrderUpdate,
    RestRequest,
)

# ----------------------------------------------------------------------- requests


def open_orders_request(
    symbol: Symbol | None, credentials: ApiCredentials, timestamp_s: int
) -> RestRequest:
    """``GET /futures/usdt/orders?status=open&contract=X``, without ``contract`` for
    every contract's."""
    params = [("status", "open")]
    if symbol is not None:
        params.append(("contract", venue_symbol(symbol)))
    return signed_request(
        "GET", f"{FUTURES}/orders", urlencode(params), b"", credentials, timestamp_s
    )


def my_trades_timerange_request(
    params: Sequence[tuple[str, str]], credentials: ApiCredentials, timestamp_s: int
) -> RestRequest:
    """``GET /futures/usdt/my_trades_timerange`` with ``params`` (``contract``, ``from``,
    ``to``, ``limit``, ``offset``, ``role``)."""
    query = urlencode(list(params))
    return signed_request(
        "GET", f"{FUTURES}/my_trades_timerange", query, b"", credentials, timestamp_s
    )


def unsubscribe_message(
    channel: str,
    payload: Sequence[str],
    time_s: int,
    request_id: int = 1,
    credentials: ApiCredentials | None = None,
) -> str:
    """The text frame ending a subscription; a private channel's is signed with
    ``credentials`` like its subscription (the same request as a subscription, the
    product's builder of it)."""
    return _channel_request("unsubscribe", channel, payload, time_s, request_id, credentials)


# ------------------------------------------------------------------------ replies


class _Account(msgspec.Struct):
    currency: str
    available: Numeric
    total: Numeric = 0
    position_margin: Numeric = 0
    order_margin: Numeric = 0
    unrealised_pnl: Numeric = 0


def parse_orders(body: bytes, contract_size: float) -> tuple[OrderUpdate, ...]:
    """The reply to ``GET /futures/usdt/orders`` (one contract, so one contract size): a
    list of orders each shaped as an order reply, so each is read by Basis's own
    ``parse_order``."""
    orders = msgspec.json.decode(body, type=list[msgspec.Raw])
    return tuple(gateio_rest.parse_order(bytes(order), contract_size) for order in orders)


def parse_accounts(body: bytes) -> Balance:
    """The futures account: ``free`` is what is available, ``locked`` the margin held by
    positions and orders."""
    account = msgspec.json.decode(body, type=_Account)
    return Balance(
        account.currency,
        number(account.available, "available"),
        number(account.position_margin, "position_margin")
        + number(account.order_margin, "order_margin"),
    )


# ------------------------------------------------------------------------- pushes


def order_book_push(snapshot: DepthSnapshot, contract_size: float, time_s: float) -> str:
    """``futures.order_book`` full snapshot (event ``all``), sizes in contracts."""

    def levels(side: Sequence[BookLevel]) -> list[dict[str, object]]:
        return [
            {"p": decimal(level.price), "s": contracts_of(level.qty, contract_size)}
            for level in side
        ]

    time_ms = round(time_s * 1000.0)
    push = {
        "time": int(time_s),
        "time_ms": time_ms,
        "channel": ORDER_BOOK,
        "event": "all",
        "result": {
            "t": time_ms,
            "id": snapshot.version,
            "contract": venue_symbol(snapshot.symbol),
            "asks": levels(snapshot.asks),
            "bids": levels(snapshot.bids),
        },
    }
    return msgspec.json.encode(push).decode()
