"""The venues Basis trades on, by the ``kind`` a configuration names.

A venue is a plug: the codecs its feed, its router and its user data stream speak, and
the few account readings the rest of Basis asks of it (the orders recovery lists, the
free USDT the caps count, what a position check compares with the records). The system,
recovery, the risk actor and the tools build from these and name no venue themselves, so
a new venue is a new entry here and the codecs behind it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs

from actors.venues import binance, binance_futures, gateio, mexc
from actors.venues.rest import RestClient
from protocols import binance as binance_wire
from protocols import binance_futures as binance_futures_wire
from protocols import gateio as gateio_wire
from protocols import mexc as mexc_wire
from protocols.model import Symbol, VenueRules
from protocols.venue import (
    ApiCredentials,
    FuturesAccountSettings,
    FuturesPosition,
    OrderUpdate,
    PositionSettings,
)

OrderLister = Callable[
    [RestClient, ApiCredentials, Symbol, VenueRules, float], Awaitable[list[OrderUpdate]]
]
"""The account's open orders in a symbol and its recent finished ones, in base units."""


@attrs.frozen
class SpotVenue:
    """A spot venue: ``kind`` as configured, ``exchange`` as its codecs name it, ``title``
    as people do; its real ``endpoints`` (REST origin, websocket URL)."""

    kind: str
    exchange: str
    title: str
    endpoints: tuple[str, str]
    read_after_write_s: float
    """How long after an order reached the venue a query may still not find it."""
    feed_codec: Callable[[RestClient], Any]
    router_codec: Callable[[ApiCredentials], Any]
    private_codec: Callable[[ApiCredentials], Any]
    orders: OrderLister
    free_usdt: Callable[[RestClient, ApiCredentials, float], Awaitable[float]]
    """The USDT the account may spend now."""
    base_holdings: Callable[[RestClient, ApiCredentials, Symbol, float], Awaitable[float]]
    """How much of a symbol's base asset the account holds, free and locked."""


@attrs.frozen
class FuturesVenue:
    """A USDT-settled perpetual venue; fields as :class:`SpotVenue`'s, and what only a
    futures venue has: positions, funding, leverage and the account's position mode."""

    kind: str
    exchange: str
    title: str
    endpoints: tuple[str, str]
    read_after_write_s: float
    feed_codec: Callable[[RestClient], Any]
    router_codec: Callable[[ApiCredentials, Mapping[Symbol, float]], Any]
    """Built with each contract's leverage, which it sets as the rules load."""
    private_codec: Callable[
        [ApiCredentials, str, Mapping[Symbol, VenueRules], dict[Symbol, PositionSettings]], Any
    ]
    """Built with the configured user id (``""``: none), the router's rules and its
    codec's positions, which the pushes keep current."""
    funding_book_codec: Callable[[ApiCredentials], Any]
    orders: OrderLister
    read_position: Callable[
        [RestClient, ApiCredentials, Symbol, VenueRules, float], Awaitable[FuturesPosition]
    ]
    account: Callable[[RestClient, ApiCredentials, float], Awaitable[FuturesAccountSettings]]
    dual_mode_fix: str
    """What to do about an account in dual (hedge) position mode, which Basis refuses."""
    switches_to_one_way: bool = False
    """Its router switches an account in dual mode to one-way as the rules load (so the
    start need not refuse it); otherwise the start refuses it with ``dual_mode_fix``."""


async def _mexc_orders(
    rest: RestClient, credentials: ApiCredentials, symbol: Symbol, _: VenueRules, now: float
) -> list[OrderUpdate]:
    return await mexc.open_and_recent_orders(rest, credentials, symbol, now)


async def _binance_orders(
    rest: RestClient, credentials: ApiCredentials, symbol: Symbol, _: VenueRules, now: float
) -> list[OrderUpdate]:
    return await binance.open_and_recent_orders(rest, credentials, symbol, now)


SPOT_VENUES: dict[str, SpotVenue] = {
    "mexc": SpotVenue(
        "mexc",
        mexc_wire.EXCHANGE,
        "MEXC",
        ("https://api.mexc.com", "wss://wbs-api.mexc.com/ws"),
        mexc.READ_AFTER_WRITE_S,
        mexc.MexcFeedCodec,
        mexc.MexcRouterCodec,
        mexc.MexcPrivateCodec,
        _mexc_orders,
        mexc.free_usdt,
        mexc.base_holdings,
    ),
    "binance": SpotVenue(
        "binance",
        binance_wire.EXCHANGE,
        "Binance",
        ("https://api.binance.com", "wss://stream.binance.com:9443/ws"),
        binance.READ_AFTER_WRITE_S,
        binance.BinanceFeedCodec,
        binance.BinanceRouterCodec,
        # Its user data comes over the WebSocket API beside the market streams.
        binance.BinancePrivateCodec,
        _binance_orders,
        binance.free_usdt,
        binance.base_holdings,
    ),
}

FUTURES_VENUES: dict[str, FuturesVenue] = {
    "gateio_futures": FuturesVenue(
        "gateio_futures",
        gateio_wire.EXCHANGE,
        "Gate.io",
        ("https://api.gateio.ws", "wss://fx-ws.gateio.ws/v4/ws/usdt"),
        gateio.READ_AFTER_WRITE_S,
        gateio.GateioFeedCodec,
        lambda keys, leverage: gateio.GateioRouterCodec(keys, dict(leverage)),
        lambda keys, user_id, rules, positions: gateio.GateioPrivateCodec(
            keys, user_id, rules, positions
        ),
        gateio.GateioFundingBookCodec,
        gateio.open_and_recent_orders,
        gateio.read_position,
        gateio.futures_account,
        gateio.DUAL_MODE_FIX,
    ),
    "binance_futures": FuturesVenue(
        "binance_futures",
        binance_futures_wire.EXCHANGE,
        "Binance USDⓈ-M futures",
        ("https://fapi.binance.com", "wss://fstream.binance.com/ws"),
        binance_futures.READ_AFTER_WRITE_S,
        binance_futures.BinanceFuturesFeedCodec,
        lambda keys, leverage: binance_futures.BinanceFuturesRouterCodec(keys, dict(leverage)),
        # Its listen key names the account: no user id to check.
        lambda keys, _, __, positions: binance_futures.BinanceFuturesPrivateCodec(keys, positions),
        binance_futures.BinanceFuturesFundingBookCodec,
        binance_futures.open_and_recent_orders,
        binance_futures.read_position,
        binance_futures.futures_account,
        binance_futures.DUAL_MODE_FIX,
        switches_to_one_way=True,
    ),
}


def spot_venue(kind: str) -> SpotVenue:
    return SPOT_VENUES[kind]


def futures_venue(kind: str) -> FuturesVenue:
    return FUTURES_VENUES[kind]


def venue_of_kind(kind: str) -> SpotVenue | FuturesVenue:
    """The spot or futures venue ``kind`` names."""
    return SPOT_VENUES.get(kind) or FUTURES_VENUES[kind]
