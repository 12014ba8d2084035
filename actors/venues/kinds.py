"""The venues Basis trades on, by the ``kind`` a configuration names.

A venue is a plug: the codecs its feed, its router and its user data stream speak, and
the few account readings the rest of Basis asks of it (the orders recovery lists, the
free USDT the caps count, what a position check compares with the records, what
preflight checks before going live). The system, recovery, the risk actor and the tools
build from these and name no venue themselves, so a new venue is a new entry here and
the codecs behind it.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
import msgspec

from actors.venues import binance, binance_futures, gateio, mexc
from actors.venues.rest import RestClient
from protocols import binance as binance_wire
from protocols import binance_futures as binance_futures_wire
from protocols import binance_futures_rest, binance_rest, gateio_rest, mexc_rest
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
RulesReader = Callable[[RestClient, ApiCredentials, Symbol, float], Awaitable[VenueRules]]
"""A symbol's rules with the account's taker fee, read without changing the account."""


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
    rules: RulesReader
    permissions: Callable[[RestClient, ApiCredentials, float], Awaitable[Any]]
    """What the key may do: ``canTrade``, and the account's ``permissions`` (``SPOT``
    among them when it names any)."""
    close_private: Callable[[RestClient, Any, float], Awaitable[None]] | None
    """How a private stream opened only to be looked at is let go (its listen key
    deleted), or ``None`` when nothing is left open."""
    account_name: str
    """The account Basis trades from, as its owner knows it."""
    trade_permission: str
    """What to do for an API key that may not trade here."""


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
    available: Callable[[RestClient, ApiCredentials, float], Awaitable[float]]
    """The account's available USDT alone, as the caps read it again and again: at the
    least cost in the venue's rate limit."""
    dual_mode_fix: str
    """What to do about an account in dual (hedge) position mode, which Basis refuses."""
    rules: RulesReader
    hold: Callable[
        [RestClient, ApiCredentials, Symbol, VenueRules, float, float], Awaitable[str | None]
    ]
    """Set a contract to isolated margin at a leverage, as the router does at start, and
    read back how the venue holds it: how otherwise than Basis trades, or ``None``.
    Raises the venue's refusal."""
    one_way_mode: str
    """The venue's name for its position mode of one position per contract."""
    account_name: str
    trade_permission: str
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


def _ms(now: float) -> int:
    return int(now * 1000)


async def _mexc_rules(
    rest: RestClient, credentials: ApiCredentials, symbol: Symbol, now: float
) -> VenueRules:
    # exchangeInfo carries the taker fee.
    return (await mexc.MexcRouterCodec(credentials).load_rules(rest, [symbol]))[symbol]


async def _mexc_permissions(rest: RestClient, credentials: ApiCredentials, now: float) -> Any:
    response = await rest.send(mexc_rest.account_request(credentials, _ms(now)))
    if response.status != 200:
        raise mexc_rest.error_from_response(response)
    return mexc_rest.parse_account_permissions(response.body)


async def _mexc_close_private(rest: RestClient, codec: Any, now: float) -> None:
    request = mexc_rest.listen_key_request("DELETE", codec.credentials, _ms(now), codec.listen_key)
    await rest.send(request)


async def _binance_account(rest: RestClient, credentials: ApiCredentials, now: float) -> bytes:
    response = await rest.send(binance_rest.account_request(credentials, _ms(now)))
    if response.status != 200:
        raise binance_rest.error_from_response(response)
    return response.body


async def _binance_rules(
    rest: RestClient, credentials: ApiCredentials, symbol: Symbol, now: float
) -> VenueRules:
    # exchangeInfo names no fee: the account's commission rates do.
    rules = (await binance.BinanceRouterCodec(credentials).load_rules(rest, [symbol]))[symbol]
    taker = binance_rest.parse_taker_fee(await _binance_account(rest, credentials, now))
    return msgspec.structs.replace(rules, taker_fee=taker)


async def _binance_permissions(rest: RestClient, credentials: ApiCredentials, now: float) -> Any:
    return binance_rest.parse_account_permissions(await _binance_account(rest, credentials, now))


async def _gateio_rules(
    rest: RestClient, credentials: ApiCredentials, symbol: Symbol, now: float
) -> VenueRules:
    # The contract carries the taker fee; the router's load also reads the account.
    response = await rest.send(gateio_rest.contract_request(symbol))
    if response.status != 200:
        raise gateio_rest.error_from_response(response, now)
    return gateio_rest.parse_contract(response.body)


async def _gateio_available(rest: RestClient, credentials: ApiCredentials, now: float) -> float:
    # One request has both the balance and the position mode.
    return (await gateio.futures_account(rest, credentials, now)).available


async def _gateio_hold(
    rest: RestClient,
    credentials: ApiCredentials,
    symbol: Symbol,
    rules: VenueRules,
    leverage: float,
    now: float,
) -> str | None:
    request = gateio_rest.set_leverage_request(symbol, leverage, credentials, int(now))
    response = await rest.send(request)
    if response.status != 200:
        raise gateio_rest.error_from_response(response, now)
    position = gateio_rest.parse_position_settings(response.body, rules.contract_size)
    return gateio.held_otherwise(position, leverage)


async def _binance_futures_rules(
    rest: RestClient, credentials: ApiCredentials, symbol: Symbol, now: float
) -> VenueRules:
    # The router's load also switches the account to one-way mode.
    response = await rest.send(binance_futures_rest.exchange_info_request())
    if response.status != 200:
        raise binance_futures_rest.error_from_response(response, now)
    rules = binance_futures_rest.parse_exchange_info(response.body, symbol)
    request = binance_futures_rest.commission_rate_request(symbol, credentials, _ms(now))
    response = await rest.send(request)
    if response.status != 200:
        raise binance_futures_rest.error_from_response(response, now)
    _, taker = binance_futures_rest.parse_commission_rate(response.body)
    return msgspec.structs.replace(rules, taker_fee=taker)


async def _binance_futures_hold(
    rest: RestClient,
    credentials: ApiCredentials,
    symbol: Symbol,
    rules: VenueRules,
    leverage: float,
    now: float,
) -> str | None:
    whole = round(leverage)
    try:
        if not math.isclose(whole, leverage):
            raise ValueError(f"leverage {leverage:g} is not a whole number")
        set_leverage = binance_futures_rest.set_leverage_request(
            symbol, whole, credentials, _ms(now)
        )
    except ValueError as error:
        return f"{error}, which Binance requires"
    margin = binance_futures_rest.set_margin_type_request(symbol, "ISOLATED", credentials, _ms(now))
    for request in (margin, set_leverage):
        response = await rest.send(request)
        if response.status != 200 and not binance_futures_rest.is_no_change(response):
            raise binance_futures_rest.error_from_response(response, now)
    request = binance_futures_rest.position_risk_request(symbol, credentials, _ms(now))
    response = await rest.send(request)
    if response.status != 200:
        raise binance_futures_rest.error_from_response(response, now)
    position = binance_futures_rest.parse_position_settings(response.body, symbol)
    return binance_futures.held_otherwise(position, leverage, "ISOLATED")


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
        _mexc_rules,
        _mexc_permissions,
        _mexc_close_private,
        "MEXC spot account",
        "give the key spot trading permission on MEXC's API management page",
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
        _binance_rules,
        _binance_permissions,
        None,
        "Binance spot account",
        'enable "Spot & Margin Trading" for the key on Binance\'s API Management page',
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
        _gateio_available,
        gateio.DUAL_MODE_FIX,
        _gateio_rules,
        _gateio_hold,
        "single",
        "Gate.io USDT futures account",
        "give the key futures trading permission on Gate.io's API management page",
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
        binance_futures.available_usdt,
        binance_futures.DUAL_MODE_FIX,
        _binance_futures_rules,
        _binance_futures_hold,
        "one-way",
        "Binance USDⓈ-M futures account",
        'enable "Futures" for the key on Binance\'s API Management page',
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
