"""Binance spot for the feed, the router and the private stream: JSON book-ticker (or
diff depth) streams on one connection, signed REST orders, and the account's events on
a WebSocket API connection subscribed by signature."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

import attrs
import msgspec

from actors.venues.rest import RestClient
from protocols import binance, binance_rest, binance_ws_api
from protocols._wire import WireFormatError
from protocols.binance_signing import (
    DEFAULT_RECV_WINDOW_MS,
    ORDER_COUNT_HEADER,
    USED_WEIGHT_HEADER,
    counters,
)
from protocols.binance_ws_api import ApiResponse
from protocols.model import Leg, Order, Symbol, VenueRules
from protocols.venue import (
    ApiCredentials,
    DepthSnapshot,
    FundingRate,
    MalformedMessage,
    OrderUpdate,
    Pong,
    RestRequest,
    RestResponse,
    SubscriptionResult,
    Trade,
    UpgradeNotice,
    VenueError,
)

PING_INTERVAL_S = 20.0
"""How often a connection with nothing to say asks for its subscriptions: Binance pings
at the websocket level itself, so this only shows the connection still answers."""
CONNECTION_LIFETIME_S = 24 * 3600.0
"""A WebSocket API connection is valid for 24 hours, Binance documents; then it closes."""


@attrs.define
class BinanceFeedCodec:
    rest: RestClient
    exchange: str = binance.EXCHANGE
    leg: Leg = Leg.SPOT
    ping_interval_s: float = PING_INTERVAL_S
    handshake_headers: Sequence[tuple[bytes, bytes]] = ()
    snapshots_per_s: float = 10.0
    """Depth snapshots a second, the venue's feeds together: a snapshot of 100 levels
    weighs 5 of the IP's 6,000 a minute, and orders and queries need the rest."""

    async def prepare(self, symbols: Sequence[Symbol]) -> None:
        """Nothing to load: Binance streams carry prices and quantities in base units."""

    def funding_rates(self, now: float) -> list[FundingRate]:
        """Spot has no funding."""
        return []

    def subscriptions(self, symbols: Sequence[Symbol], depth: bool, now: float) -> list[str]:
        """One request for every stream: a connection may send Binance only five
        messages a second."""
        if len(symbols) > binance.MAX_STREAMS_PER_CONNECTION:
            raise ValueError(
                f"Binance allows {binance.MAX_STREAMS_PER_CONNECTION} streams per "
                f"connection; split {len(symbols)} symbols over several feeds"
            )
        stream = binance.depth_stream if depth else binance.book_ticker_stream
        return [binance.subscribe_message([stream(symbol) for symbol in symbols])]

    def ping(self, now: float) -> str:
        return binance.list_subscriptions_message()

    def decode(self, frame: str | bytes, recv_ts: float) -> tuple:
        return binance.decode_frame(frame, recv_ts)

    async def fetch_snapshot(self, symbol: Symbol) -> DepthSnapshot:
        response = await self.rest.send(binance_rest.depth_request(symbol))
        if response.status != 200:
            raise binance_rest.error_from_response(response)
        return binance_rest.parse_depth(response.body, symbol)


CLOCK_AHEAD_S = 1.0
"""A signed request is taken while ``timestamp < serverTime + 1000``."""
READ_AFTER_WRITE_S = 5.0
"""How long after an order reached Binance a query may still answer "Order does not
exist." (-2013): queries read from memory, then the database, and the API is
asynchronous. Binance documents no bound; this one is generous, since waiting longer
than needed only delays the resend of an order that truly never arrived."""
WEIGHT_LIMIT_1M = 6000
"""The IP's request weight a minute (``REQUEST_WEIGHT`` in ``exchangeInfo``)."""
ORDER_LIMIT_10S = 100
"""The account's orders per 10 seconds (``ORDERS`` in ``exchangeInfo``)."""


@attrs.define
class BinanceRouterCodec:
    credentials: ApiCredentials
    exchange: str = binance.EXCHANGE
    leg: Leg = Leg.SPOT
    read_after_write_s: float = READ_AFTER_WRITE_S
    forgets_unfilled: bool = False
    clock_ahead_s: float = CLOCK_AHEAD_S
    clock_behind_s: float = DEFAULT_RECV_WINDOW_MS / 1000.0
    """A signed request is taken while ``serverTime - timestamp <= recvWindow`` (Basis
    sends the default ``recvWindow``)."""
    weight_limit_1m: int = WEIGHT_LIMIT_1M
    order_limit_10s: int = ORDER_LIMIT_10S
    usage_reserve: float = 0.05
    """The share of each limit kept back: once a reply says the rest is used, requests
    wait for the window to turn (``pause_s``)."""
    wall_clock: Callable[[], float] = time.time

    async def load_rules(
        self, rest: RestClient, symbols: Sequence[Symbol]
    ) -> dict[Symbol, VenueRules]:
        # The account's fee rate (exchange information gives none): what a fill costs
        # while its trade is not known yet.
        request = binance_rest.account_request(self.credentials, _ms(self.wall_clock()))
        response = await rest.send(request)
        if response.status != 200:
            raise binance_rest.error_from_response(response)
        taker_fee = binance_rest.parse_taker_fee(response.body)
        rules = {}
        for symbol in symbols:
            response = await rest.send(binance_rest.exchange_info_request(symbol))
            if response.status != 200:
                raise binance_rest.error_from_response(response)
            listed = binance_rest.parse_exchange_info(response.body, symbol)
            rules[symbol] = msgspec.structs.replace(listed, taker_fee=taker_fee)
        return rules

    def place(self, order: Order, rules: VenueRules, now: float) -> RestRequest:
        return binance_rest.place_order_request(order, self.credentials, _ms(now))

    def query(
        self, symbol: Symbol, client_id: str, venue_order_id: str | None, now: float
    ) -> RestRequest:
        return binance_rest.query_order_request(
            symbol, self.credentials, _ms(now), client_id=client_id, venue_order_id=venue_order_id
        )

    def amend(
        self, order: Order, venue_order_id: str | None, rules: VenueRules, now: float
    ) -> RestRequest | None:
        """None: Binance's amend only lowers the quantity of symbols that allow it
        (``amendAllowed``), so an order is cancelled instead."""
        return None

    def cancel(
        self, symbol: Symbol, client_id: str, venue_order_id: str | None, now: float
    ) -> RestRequest:
        return binance_rest.cancel_order_request(
            symbol, self.credentials, _ms(now), client_id=client_id, venue_order_id=venue_order_id
        )

    def parse_placed(self, response: RestResponse, order: Order, rules: VenueRules) -> OrderUpdate:
        return binance_rest.parse_new_order(response.body, order.client_id)

    def parse_order(self, response: RestResponse, symbol: Symbol, rules: VenueRules) -> OrderUpdate:
        return binance_rest.parse_order(response.body)

    async def order_trades(
        self, rest: RestClient, symbol: Symbol, venue_order_id: str, now: float
    ) -> Sequence[Trade]:
        """The order's trades (``myTrades`` by order id), each with its commission and the
        asset it was charged in."""
        response = await rest.send(
            binance_rest.my_trades_request(symbol, venue_order_id, self.credentials, _ms(now))
        )
        if response.status != 200:
            raise binance_rest.error_from_response(response)
        return binance_rest.parse_my_trades(response.body)

    async def listed_order(
        self,
        rest: RestClient,
        symbol: Symbol,
        client_id: str,
        since: float | None,
        acquire: Callable[[], Awaitable[None]],
    ) -> OrderUpdate | None:
        """None: a query by client id finds an order for 90 days after it ended (then
        -2026, archived), so the lists know nothing such a query does not."""
        return None

    async def price(self, rest: RestClient, symbol: Symbol) -> float | None:
        """The latest price of ``symbol`` (``ticker/price``): how a fee paid in another
        asset (the base coin, BNB) is valued in USDT."""
        response = await rest.send(binance_rest.ticker_price_request(symbol))
        if response.status != 200:
            raise binance_rest.error_from_response(response)
        return binance_rest.parse_ticker_price(response.body)

    def error(self, response: RestResponse, now: float) -> VenueError:
        return binance_rest.error_from_response(response)

    def clock_request(self) -> RestRequest:
        return binance_rest.server_time_request()

    def parse_clock(self, response: RestResponse) -> float:
        return binance_rest.parse_server_time(response.body)

    def pause_s(self, response: RestResponse, now: float) -> float:
        """How long to hold off before the next request: until the minute turns once
        ``X-MBX-USED-WEIGHT-1M`` says the IP's weight is used but the reserve, until
        the 10 s window turns once ``X-MBX-ORDER-COUNT-10S`` says the same of the
        account's orders (Binance's windows start on the clock's minutes and tens of
        seconds); 0.0 otherwise."""
        pause = 0.0
        used = counters(response, USED_WEIGHT_HEADER).get("1M")
        if used is not None and used >= self.weight_limit_1m * (1.0 - self.usage_reserve):
            pause = 60.0 - now % 60.0
        placed = counters(response, ORDER_COUNT_HEADER).get("10S")
        if placed is not None and placed >= self.order_limit_10s * (1.0 - self.usage_reserve):
            pause = max(pause, 10.0 - now % 10.0)
        return pause


def _ms(now: float) -> int:
    return int(now * 1000)


@attrs.define
class BinancePrivateCodec:
    r"""Binance's user data stream, on the WebSocket API: a connection of its own,
    subscribed by one signed ``userDataStream.subscribe.signature`` request (no listen
    key, nothing to renew), then ``executionReport`` and ``outboundAccountPosition``
    events, each wrapped with the subscription's id.

    Where it connects: ``ws_api_url`` when set, else the WebSocket API beside the market
    streams' URL the stream is given (``binance_ws_api.ws_api_url``: the host's
    ``stream.`` become ``ws-api.``, the path ``/ws-api/v3``; a simulated venue's host is
    kept). A refused subscription (a bad key or signature, a clock outside the
    ``recvWindow``, a rate limit) is a refused ``SubscriptionResult``;
    ``eventStreamTerminated`` and ``serverShutdown`` are ``UpgradeNotice``\ s: each a
    reconnect, subscribed anew. The venue closes a connection after 24 hours
    (``max_lifetime_s``); the stream replaces it with a new one before then. The
    keepalive, ``session.subscriptions``, also shows the subscription still stands:
    answered without it, the stream reconnects."""

    credentials: ApiCredentials
    ws_api_url: str | None = None
    exchange: str = binance.EXCHANGE
    ping_interval_s: float = PING_INTERVAL_S
    renew_interval_s: float | None = None
    max_lifetime_s: float | None = CONNECTION_LIFETIME_S
    handshake_headers: Sequence[tuple[bytes, bytes]] = ()
    subscription_id: int | None = None
    """The connection's subscription, once the venue has taken it."""

    async def open_url(self, rest: RestClient, ws_url: str, now: float) -> str:
        """The WebSocket API's URL; nothing is asked of REST."""
        self.subscription_id = None
        return self.ws_api_url or binance_ws_api.ws_api_url(ws_url)

    async def renew(self, rest: RestClient, now: float) -> None:
        """A subscription by signature needs no renewal."""

    def subscriptions(self, now: float) -> list[str]:
        return [binance_ws_api.subscribe_message(self.credentials, _ms(now))]

    def ping(self, now: float) -> str:
        return binance_ws_api.subscriptions_message()

    def decode(self, frame: str | bytes, recv_ts: float) -> tuple:
        return tuple(
            self._answered(event, frame) if isinstance(event, ApiResponse) else event
            for event in binance_ws_api.decode_frame(frame, recv_ts)
        )

    def _answered(
        self, response: ApiResponse, frame: str | bytes
    ) -> SubscriptionResult | Pong | UpgradeNotice | MalformedMessage:
        try:
            if response.request_id == binance_ws_api.SUBSCRIBE_REQUEST_ID:
                result, taken = binance_ws_api.subscription_outcome(response)
                if taken is not None:
                    self.subscription_id = taken
                return result
            if response.request_id == binance_ws_api.KEEPALIVE_REQUEST_ID:
                return self._kept_alive(response)
        except WireFormatError as error:
            return MalformedMessage.about(str(error), frame)
        return MalformedMessage.about(f"an answer to no request of ours: {response}", frame)

    def _kept_alive(self, response: ApiResponse) -> Pong | UpgradeNotice:
        # A refused keepalive (rate limited) still shows the connection answers.
        if (
            response.ok
            and self.subscription_id is not None
            and self.subscription_id not in binance_ws_api.active_subscriptions(response)
        ):
            return UpgradeNotice(f"subscription {self.subscription_id} no longer active")
        return Pong()


async def _balances(rest: RestClient, credentials: ApiCredentials, now: float) -> tuple:
    response = await rest.send(binance_rest.account_request(credentials, _ms(now)))
    if response.status != 200:
        raise binance_rest.error_from_response(response)
    return binance_rest.parse_account(response.body)


async def base_holdings(
    rest: RestClient, credentials: ApiCredentials, symbol: Symbol, now: float
) -> float:
    """How much of ``symbol``'s base asset the spot account holds, free and locked."""
    for balance in await _balances(rest, credentials, now):
        if balance.asset == symbol.base:
            return balance.free + balance.locked
    return 0.0


async def free_usdt(rest: RestClient, credentials: ApiCredentials, now: float) -> float:
    """The spot account's free USDT, as the caps count it."""
    for balance in await _balances(rest, credentials, now):
        if balance.asset == "USDT":
            return balance.free
    return 0.0


async def open_and_recent_orders(
    rest: RestClient, credentials: ApiCredentials, symbol: Symbol, now: float
) -> list[OrderUpdate]:
    """The account's open orders in ``symbol`` and its most recent orders there
    (``allOrders``, at most 1,000), each once."""
    found: dict[str, OrderUpdate] = {}
    for request in (
        binance_rest.open_orders_request(symbol, credentials, _ms(now)),
        binance_rest.all_orders_request(symbol, credentials, _ms(now)),
    ):
        response = await rest.send(request)
        if response.status != 200:
            raise binance_rest.error_from_response(response)
        for order in binance_rest.parse_orders(response.body):
            found.setdefault(order.venue_order_id, order)
    return list(found.values())
