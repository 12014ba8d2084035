"""Binance USDⓈ-M perpetuals for the feed, the router and the private stream: JSON book
ticker (or depth update) and mark price pushes, quantities in base units; each symbol's
funding from its premium index at every connection and then from the mark price pushes,
its interval from ``fundingInfo``; orders signed with ``protocols.binance_signing``; the
user data stream on a listen key kept alive, and opened again when the venue says it
expired."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

import attrs
import msgspec

from actors.venues.rest import VENUE_FAILURES, RestClient
from protocols import binance_futures, binance_futures_rest
from protocols.binance_signing import DEFAULT_RECV_WINDOW_MS
from protocols.model import Leg, Order, Symbol, VenueRules
from protocols.venue import (
    ApiCredentials,
    DepthSnapshot,
    FundingBookEntry,
    FundingRate,
    FuturesPosition,
    OrderUpdate,
    Pong,
    RateLimited,
    RestRequest,
    RestResponse,
    SubscriptionResult,
    Trade,
    VenueError,
    VenueUnavailable,
)

log = logging.getLogger("basis.binance_futures")

PING_INTERVAL_S = 20.0
"""How often a connection asks the venue something (``LIST_SUBSCRIPTIONS``): Binance
pings at the protocol level every few minutes and drops a client silent for ten, so this
is to hear the venue, not to keep the connection."""
PING_REQUEST_ID = 0
FUNDING_BOOK_LIMIT = 1000
"""The most records one income reply may list."""


def _ms(now: float) -> int:
    return int(now * 1000)


@attrs.define
class BinanceFuturesFeedCodec:
    rest: RestClient
    exchange: str = binance_futures.EXCHANGE
    leg: Leg = Leg.FUTURES
    ping_interval_s: float = PING_INTERVAL_S
    handshake_headers: Sequence[tuple[bytes, bytes]] = ()
    snapshots_per_s: float = 2.0
    """Depth snapshots a second, the venue's feeds together: a snapshot of 100 levels
    weighs 5 of the IP's 2400 a minute, which orders and queries share; at this pace
    resyncs take at most a quarter of it."""
    funding: dict[Symbol, FundingRate] = attrs.field(factory=dict)
    """Each symbol's funding as last heard: the premium index at each connection, then
    the mark price pushes."""
    funding_intervals: dict[Symbol, float] = attrs.field(factory=dict)
    """The intervals ``fundingInfo`` lists; a symbol it does not list settles every 8 h."""

    async def prepare(self, symbols: Sequence[Symbol]) -> None:
        """Load the funding intervals and each symbol's funding, so the funding known is
        never older than the connection. A symbol whose funding the venue will not give
        has it unknown; the others are not held back by it. The quotes need nothing
        loaded (quantities are base units), so nothing here stops the feed: when the
        interval list fails, the intervals stay as last loaded."""
        try:
            response = await self.rest.send(binance_futures_rest.funding_info_request())
            if response.status != 200:
                raise binance_futures_rest.error_from_response(response)
            self.funding_intervals = binance_futures_rest.parse_funding_intervals(response.body)
        except VENUE_FAILURES as error:
            log.warning("fundingInfo failed (%s); the intervals stay as last loaded", error)
        for symbol in symbols:
            try:
                response = await self.rest.send(binance_futures_rest.premium_index_request(symbol))
                if response.status != 200:
                    raise binance_futures_rest.error_from_response(response)
                self.funding[symbol] = binance_futures_rest.parse_funding(
                    response.body, self.interval_s(symbol)
                )
            except VENUE_FAILURES as error:
                self.funding.pop(symbol, None)
                log.warning("%s: the funding could not be loaded: %s", symbol, error)

    def interval_s(self, symbol: Symbol) -> float:
        return self.funding_intervals.get(symbol, binance_futures.DEFAULT_FUNDING_INTERVAL_S)

    def funding_rates(self, now: float) -> list[FundingRate]:
        return [funding.at(now) for funding in self.funding.values()]

    def subscriptions(self, symbols: Sequence[Symbol], depth: bool, now: float) -> list[str]:
        names = binance_futures.stream_names(symbols, depth)
        if len(names) > binance_futures.MAX_STREAMS_PER_CONNECTION:
            raise ValueError(
                f"Binance takes {binance_futures.MAX_STREAMS_PER_CONNECTION} streams a "
                f"connection; split {len(symbols)} symbols over several feeds"
            )
        step = binance_futures.MAX_STREAMS_PER_REQUEST
        return [
            binance_futures.subscribe_message(names[start : start + step], n)
            for n, start in enumerate(range(0, len(names), step), start=1)
        ]

    def ping(self, now: float) -> str:
        return binance_futures.list_subscriptions_message(PING_REQUEST_ID)

    def decode(self, frame: str | bytes, recv_ts: float) -> tuple:
        events = binance_futures.decode_frame(frame, recv_ts, self.funding_intervals)
        for event in events:
            if type(event) is FundingRate:
                self.funding[event.symbol] = event
        return events

    async def fetch_snapshot(self, symbol: Symbol) -> DepthSnapshot:
        response = await self.rest.send(binance_futures_rest.depth_request(symbol))
        if response.status != 200:
            raise binance_futures_rest.error_from_response(response)
        return binance_futures_rest.parse_depth(response.body, symbol)


DUAL_MODE_FIX = (
    "the Binance futures account is in hedge (dual side) position mode and could not be "
    "switched to one-way mode (it cannot be while it holds positions or open orders): "
    "close them, or switch the account to one-way mode"
)
READ_AFTER_WRITE_S = 1.0
"""How long after an order reached Binance a query may still not find it. Binance
documents no such lag; a second covers an order still on its way inside the venue."""
FORGET_UNFILLED_S = 3 * 86400.0
"""Binance forgets an order cancelled or expired with nothing filled 3 days after it
was created (``-2013``)."""
CLOCK_AHEAD_S = 1.0
"""A signed request is taken while ``timestamp < serverTime + 1000``."""
USAGE_HEADROOM = 0.9
"""The share of a window's limit past which requests wait for the next window."""


@attrs.define
class BinanceFuturesRouterCodec:
    """Binance's orders, and the account's settings Basis trades under: at each load of
    the rules the account is put in one-way position mode, and each symbol named in
    ``leverage`` at that leverage on ``margin_type`` margin, then read back. A symbol
    whose settings cannot be had gets rules that refuse entries, saying why."""

    credentials: ApiCredentials
    leverage: Mapping[Symbol, float] = attrs.field(factory=dict)
    """Each symbol's leverage, as configured (Binance takes whole numbers); a symbol not
    named is left as it is."""
    margin_type: str = "ISOLATED"
    exchange: str = binance_futures.EXCHANGE
    leg: Leg = Leg.FUTURES
    wall_clock: Callable[[], float] = time.time
    positions: dict[Symbol, binance_futures_rest.PositionSettings] = attrs.field(factory=dict)
    """Each symbol's position as last read back (its liquidation price included)."""
    read_after_write_s: float = READ_AFTER_WRITE_S
    forgets_unfilled: bool = True
    clock_ahead_s: float = CLOCK_AHEAD_S
    clock_behind_s: float = DEFAULT_RECV_WINDOW_MS / 1000.0
    """A signed request is taken while ``serverTime - timestamp <= recvWindow`` (Basis
    sends the default ``recvWindow``)."""
    weight_limit_1m: int = binance_futures_rest.WEIGHT_LIMIT_1M
    orders_limit_10s: int = binance_futures_rest.ORDER_LIMIT_10S
    orders_limit_1m: int = binance_futures_rest.ORDER_LIMIT_1M
    _client_ids: dict[str, str] = attrs.field(factory=dict, init=False)
    """Each order's client id by its venue id: trade lists do not name it."""

    async def load_rules(
        self, rest: RestClient, symbols: Sequence[Symbol]
    ) -> dict[Symbol, VenueRules]:
        response = await rest.send(binance_futures_rest.exchange_info_request())
        if response.status != 200:
            raise binance_futures_rest.error_from_response(response)
        rules = {
            symbol: binance_futures_rest.parse_exchange_info(response.body, symbol)
            for symbol in symbols
        }
        for symbol in symbols:
            rules[symbol] = await self._with_fee(rest, symbol, rules[symbol])
        refusal = await self._one_way(rest)
        if refusal is not None:
            log.error("%s", refusal)
            return {symbol: _refusing(r, refusal) for symbol, r in rules.items()}
        for symbol, symbol_rules in rules.items():
            refusal = await self._set_up(rest, symbol)
            if refusal is not None:
                log.error("%s: %s", symbol, refusal)
                rules[symbol] = _refusing(symbol_rules, refusal)
        return rules

    async def _with_fee(self, rest: RestClient, symbol: Symbol, rules: VenueRules) -> VenueRules:
        now = self.wall_clock()
        request = binance_futures_rest.commission_rate_request(symbol, self.credentials, _ms(now))
        response = await rest.send(request)
        if response.status != 200:
            raise binance_futures_rest.error_from_response(response, now)
        _, taker = binance_futures_rest.parse_commission_rate(response.body)
        return msgspec.structs.replace(rules, taker_fee=taker)

    async def _one_way(self, rest: RestClient) -> str | None:
        """Put the account in one-way position mode if it is not; why entries are
        refused when it cannot be, else ``None``."""
        now = self.wall_clock()
        request = binance_futures_rest.position_mode_request(self.credentials, _ms(now))
        response = await rest.send(request)
        if response.status != 200:
            raise binance_futures_rest.error_from_response(response, now)
        if not binance_futures_rest.parse_position_mode(response.body):
            return None
        request = binance_futures_rest.set_position_mode_request(False, self.credentials, _ms(now))
        response = await rest.send(request)
        if response.status == 200 or binance_futures_rest.is_no_change(response):
            log.warning("the account was in hedge position mode; it is now one-way")
            return None
        error = binance_futures_rest.error_from_response(response, now)
        if isinstance(error, (VenueUnavailable, RateLimited)):
            raise error
        return f"{DUAL_MODE_FIX} ({error})"

    async def _set_up(self, rest: RestClient, symbol: Symbol) -> str | None:
        """Set ``symbol``'s margin type and leverage and check the position the venue
        holds it at; why entries are refused, or ``None``. A venue that cannot answer
        now raises (the whole load is tried again); a refusal is the symbol's."""
        wanted = self.leverage.get(symbol)
        if wanted is None:
            return None
        whole = round(wanted)
        if whole < 1 or not math.isclose(whole, wanted):
            return f"leverage {wanted:g} is not a whole number >= 1, which Binance requires"
        now = self.wall_clock()
        for request in (
            binance_futures_rest.set_margin_type_request(
                symbol, self.margin_type, self.credentials, _ms(now)
            ),
            binance_futures_rest.set_leverage_request(symbol, whole, self.credentials, _ms(now)),
        ):
            response = await rest.send(request)
            if response.status == 200 or binance_futures_rest.is_no_change(response):
                continue
            error = binance_futures_rest.error_from_response(response, now)
            if isinstance(error, (VenueUnavailable, RateLimited)):
                raise error
            return (
                f"{self.margin_type.lower()} margin at leverage {whole} could not be set: {error}"
            )
        request = binance_futures_rest.position_risk_request(symbol, self.credentials, _ms(now))
        response = await rest.send(request)
        if response.status != 200:
            raise binance_futures_rest.error_from_response(response, now)
        position = binance_futures_rest.parse_position_settings(response.body, symbol)
        self.positions[symbol] = position
        return held_otherwise(position, wanted, self.margin_type)

    def place(self, order: Order, rules: VenueRules, now: float) -> RestRequest:
        return binance_futures_rest.place_order_request(order, rules, self.credentials, _ms(now))

    def query(
        self, symbol: Symbol, client_id: str, venue_order_id: str | None, now: float
    ) -> RestRequest:
        return binance_futures_rest.query_order_request(
            symbol, self.credentials, _ms(now), client_id=client_id, venue_order_id=venue_order_id
        )

    def cancel(
        self, symbol: Symbol, client_id: str, venue_order_id: str | None, now: float
    ) -> RestRequest:
        return binance_futures_rest.cancel_order_request(
            symbol, self.credentials, _ms(now), client_id=client_id, venue_order_id=venue_order_id
        )

    def amend(
        self, order: Order, venue_order_id: str | None, rules: VenueRules, now: float
    ) -> RestRequest:
        """Bring the open ``order`` to ``order.qty`` in all, at its price."""
        return binance_futures_rest.amend_order_request(
            order, rules, self.credentials, _ms(now), venue_order_id=venue_order_id
        )

    def parse_placed(self, response: RestResponse, order: Order, rules: VenueRules) -> OrderUpdate:
        return self._remember(binance_futures_rest.parse_order(response.body))

    def parse_order(self, response: RestResponse, symbol: Symbol, rules: VenueRules) -> OrderUpdate:
        return self._remember(binance_futures_rest.parse_order(response.body))

    def _remember(self, update: OrderUpdate) -> OrderUpdate:
        self._client_ids[update.venue_order_id] = update.client_id
        return update

    async def order_trades(
        self, rest: RestClient, symbol: Symbol, venue_order_id: str, now: float
    ) -> Sequence[Trade]:
        """The order's trades (``userTrades`` by order id), each with its commission
        and the asset it was charged in."""
        request = binance_futures_rest.user_trades_request(
            symbol, self.credentials, _ms(now), venue_order_id=venue_order_id
        )
        response = await rest.send(request)
        if response.status != 200:
            raise binance_futures_rest.error_from_response(response, now)
        client_id = self._client_ids.get(venue_order_id, "")
        return binance_futures_rest.parse_user_trades(response.body, client_id)

    async def listed_order(
        self,
        rest: RestClient,
        symbol: Symbol,
        client_id: str,
        since: float | None,
        acquire: Callable[[], Awaitable[None]],
    ) -> OrderUpdate | None:
        """None: a query by client id finds an order as long as Binance keeps it (an
        order that filled anything, always; one that did not, 3 days), and its lists keep
        no order longer."""
        return None

    async def price(self, rest: RestClient, symbol: Symbol) -> float | None:
        """The mark price of ``symbol`` (``premiumIndex``): how a fee charged in another
        asset than USDT (BNB) is valued."""
        response = await rest.send(binance_futures_rest.premium_index_request(symbol))
        if response.status != 200:
            raise binance_futures_rest.error_from_response(response)
        return binance_futures_rest.parse_mark_price(response.body)

    def error(self, response: RestResponse, now: float) -> VenueError:
        return binance_futures_rest.error_from_response(response, now)

    def clock_request(self) -> RestRequest:
        return binance_futures_rest.server_time_request()

    def parse_clock(self, response: RestResponse) -> float:
        return binance_futures_rest.parse_server_time(response.body)

    def pause_s(self, response: RestResponse, now: float) -> float:
        """How long to hold off before the next request: until the next minute when this
        minute's weight or orders are nearly used up, until the next 10 s when those
        orders are (Binance counts in windows aligned to the clock); 0.0 otherwise."""
        weight, orders_10s, orders_1m = binance_futures_rest.usage(response)
        to_minute = 60.0 - now % 60.0
        if weight is not None and weight >= USAGE_HEADROOM * self.weight_limit_1m:
            return to_minute
        if orders_1m is not None and orders_1m >= USAGE_HEADROOM * self.orders_limit_1m:
            return to_minute
        if orders_10s is not None and orders_10s >= USAGE_HEADROOM * self.orders_limit_10s:
            return 10.0 - now % 10.0
        return 0.0


def held_otherwise(
    position: binance_futures_rest.PositionSettings, leverage: float, margin_type: str
) -> str | None:
    """How the venue holds ``position`` otherwise than Basis trades it (one-way mode,
    ``margin_type`` margin at ``leverage``), or ``None`` when it holds it so."""
    if position.mode != "single":
        return f"the position is held in {position.mode} mode; {DUAL_MODE_FIX}"
    wanted = "isolated" if margin_type == "ISOLATED" else "cross"
    held = position.leverage or position.cross_leverage_limit
    if position.margin_mode != wanted or not math.isclose(held, leverage):
        return (
            f"the venue holds it at {position.margin_mode} margin, leverage {held:g}, "
            f"not {wanted} at {leverage:g}"
        )
    return None


def _refusing(rules: VenueRules, reason: str) -> VenueRules:
    return msgspec.structs.replace(rules, entries_refused=reason)


LISTEN_KEY_RENEW_S = 30 * 60.0
"""A listen key lives 60 minutes unless kept alive; Binance asks for a keepalive
every 30 (``PUT /fapi/v1/listenKey``)."""
CONNECTION_LIFETIME_S = 24 * 3600.0
STREAM_CONFIRMED = "user data stream"


@attrs.define
class BinanceFuturesPrivateCodec:
    """Binance's user data stream: a listen key from REST, then the account's order
    updates, trades and position changes on ``<ws_url>/<listenKey>``. When the venue
    says the key expired, the stream reconnects and ``open_url`` asks for a key again.

    Nothing is subscribed on a user data stream: the first request it answers (a
    ``LIST_SUBSCRIPTIONS``) is what shows the venue serves it."""

    credentials: ApiCredentials
    positions: dict[Symbol, binance_futures_rest.PositionSettings] = attrs.field(factory=dict)
    """The router codec's positions, shared: position pushes keep each one's size
    current between rules loads."""
    exchange: str = binance_futures.EXCHANGE
    ping_interval_s: float = PING_INTERVAL_S
    renew_interval_s: float | None = LISTEN_KEY_RENEW_S
    max_lifetime_s: float | None = CONNECTION_LIFETIME_S
    """A user data stream's connection is valid for 24 hours, Binance documents."""
    handshake_headers: Sequence[tuple[bytes, bytes]] = ()
    listen_key: str | None = None
    _confirmed: bool = attrs.field(default=False, init=False)

    async def identify(self, rest: RestClient, now: float) -> str:
        """The listen key names the account: there is no user id to check; ``""``."""
        return ""

    async def open_url(self, rest: RestClient, ws_url: str, now: float) -> str:
        request = binance_futures_rest.listen_key_request("POST", self.credentials)
        response = await rest.send(request)
        if response.status != 200:
            raise binance_futures_rest.error_from_response(response, now)
        self.listen_key = binance_futures_rest.parse_listen_key(response.body)
        self._confirmed = False
        return f"{ws_url.rstrip('/')}/{self.listen_key}"

    async def renew(self, rest: RestClient, now: float) -> None:
        request = binance_futures_rest.listen_key_request("PUT", self.credentials)
        response = await rest.send(request)
        if response.status != 200:
            raise binance_futures_rest.error_from_response(response, now)

    def subscriptions(self, now: float) -> list[str]:
        return [binance_futures.list_subscriptions_message(1)]

    def ping(self, now: float) -> str:
        return binance_futures.list_subscriptions_message(PING_REQUEST_ID)

    def decode(self, frame: str | bytes, recv_ts: float) -> tuple:
        events = binance_futures.decode_frame(frame, recv_ts)
        if not self._confirmed and any(type(event) is Pong for event in events):
            self._confirmed = True
            return tuple(
                SubscriptionResult(True, STREAM_CONFIRMED, "") if type(event) is Pong else event
                for event in events
            )
        for event in events:
            if isinstance(event, FuturesPosition):
                known = self.positions.get(event.symbol)
                if known is not None:
                    self.positions[event.symbol] = msgspec.structs.replace(known, qty=event.qty)
        return events


async def _account_body(rest: RestClient, credentials: ApiCredentials, now: float) -> bytes:
    """``GET /fapi/v2/account``'s answer (weight 5)."""
    response = await rest.send(binance_futures_rest.account_request(credentials, _ms(now)))
    if response.status != 200:
        raise binance_futures_rest.error_from_response(response, now)
    return response.body


async def available_usdt(rest: RestClient, credentials: ApiCredentials, now: float) -> float:
    """The futures account's available USDT: its account alone, without the position
    mode (weight 30 more), which a balance read again and again need not pay."""
    body = await _account_body(rest, credentials, now)
    return binance_futures_rest.parse_account(body, dual=False).available


async def futures_account(
    rest: RestClient, credentials: ApiCredentials, now: float
) -> binance_futures_rest.FuturesAccountSettings:
    """The futures account's USDT and position mode."""
    response = await rest.send(binance_futures_rest.position_mode_request(credentials, _ms(now)))
    if response.status != 200:
        raise binance_futures_rest.error_from_response(response, now)
    dual = binance_futures_rest.parse_position_mode(response.body)
    return binance_futures_rest.parse_account(await _account_body(rest, credentials, now), dual)


@attrs.define
class BinanceFuturesFundingBookCodec:
    """The futures account's funding settlements: ``income?incomeType=FUNDING_FEE``."""

    credentials: ApiCredentials
    page_size: int = FUNDING_BOOK_LIMIT

    def request(self, since_s: int, now: float, offset: int = 0) -> RestRequest:
        """The page after the ``offset`` records already read (a whole number of pages:
        a short page is the last)."""
        return binance_futures_rest.income_request(
            self.credentials,
            _ms(now),
            since_ms=since_s * 1000,
            limit=self.page_size,
            page=offset // self.page_size + 1,
        )

    def parse(self, response: RestResponse) -> list[FundingBookEntry]:
        return binance_futures_rest.parse_funding_book(response.body)

    def listed(self, response: RestResponse) -> int:
        return binance_futures_rest.income_length(response.body)

    def error(self, response: RestResponse, now: float) -> VenueError:
        return binance_futures_rest.error_from_response(response, now)


async def read_position(
    rest: RestClient, credentials: ApiCredentials, symbol: Symbol, rules: VenueRules, now: float
) -> FuturesPosition:
    """The futures account's position in ``symbol`` (its mark price included)."""
    request = binance_futures_rest.position_risk_request(symbol, credentials, _ms(now))
    response = await rest.send(request)
    if response.status != 200:
        raise binance_futures_rest.error_from_response(response, now)
    return binance_futures_rest.parse_position(response.body, symbol)


async def short_position(
    rest: RestClient, credentials: ApiCredentials, symbol: Symbol, rules: VenueRules, now: float
) -> float:
    """The futures account's short in ``symbol``, in base units (negative if long)."""
    return -(await read_position(rest, credentials, symbol, rules, now)).qty


async def open_and_recent_orders(
    rest: RestClient, credentials: ApiCredentials, symbol: Symbol, rules: VenueRules, now: float
) -> list[OrderUpdate]:
    """The account's open orders in ``symbol`` and its orders there of the last 7 days
    (``allOrders``' default window), each once, in base units."""
    found: dict[str, OrderUpdate] = {}
    for request in (
        binance_futures_rest.open_orders_request(symbol, credentials, _ms(now)),
        binance_futures_rest.all_orders_request(symbol, credentials, _ms(now)),
    ):
        response = await rest.send(request)
        if response.status != 200:
            raise binance_futures_rest.error_from_response(response, now)
        for order in binance_futures_rest.parse_orders(response.body):
            found.setdefault(order.venue_order_id, order)
    return list(found.values())
