"""MEXC spot for the feed: protobuf book-ticker (or depth) pushes on one connection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import attrs

from actors.venues.rest import RestClient
from protocols import mexc, mexc_rest
from protocols.model import Leg, Order, Symbol, VenueRules
from protocols.venue import (
    ApiCredentials,
    DepthSnapshot,
    FundingRate,
    OrderUpdate,
    RestRequest,
    RestResponse,
    Trade,
    VenueError,
)

PING_INTERVAL_S = 20.0
"""MEXC drops a connection after a minute without traffic; it asks for a ping every ~20 s."""


@attrs.define
class MexcFeedCodec:
    rest: RestClient
    exchange: str = mexc.EXCHANGE
    leg: Leg = Leg.SPOT
    ping_interval_s: float = PING_INTERVAL_S
    handshake_headers: Sequence[tuple[bytes, bytes]] = ()
    snapshots_per_s: float = 40.0
    """Depth snapshots a second, the venue's feeds together: MEXC gives each IP-limited
    endpoint (``GET /api/v3/depth`` among them) 500 requests per 10 s."""

    async def prepare(self, symbols: Sequence[Symbol]) -> None:
        """Nothing to load: MEXC pushes carry prices and quantities in base units."""

    def funding_rates(self, now: float) -> list[FundingRate]:
        """Spot has no funding."""
        return []

    def subscriptions(self, symbols: Sequence[Symbol], depth: bool, now: float) -> list[str]:
        if len(symbols) > mexc.MAX_SUBSCRIPTIONS_PER_CONNECTION:
            raise ValueError(
                f"MEXC allows {mexc.MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per "
                f"connection; split {len(symbols)} symbols over several feeds"
            )
        channel = mexc.depth_channel if depth else mexc.book_ticker_channel
        return [
            mexc.subscribe_message([channel(symbol)], request_id=n)
            for n, symbol in enumerate(symbols, start=1)
        ]

    def ping(self, now: float) -> str:
        return mexc.PING_MESSAGE

    def decode(self, frame: str | bytes, recv_ts: float) -> tuple:
        return mexc.decode_frame(frame, recv_ts)

    async def fetch_snapshot(self, symbol: Symbol) -> DepthSnapshot:
        response = await self.rest.send(mexc_rest.depth_request(symbol))
        if response.status != 200:
            raise mexc_rest.error_from_response(response)
        return mexc_rest.parse_depth(response.body, symbol)


CLOCK_AHEAD_S = 1.0
"""A signed request is taken while ``timestamp < serverTime + 1000``."""
READ_AFTER_WRITE_S = 5.0
"""How long after an order reached MEXC a query may still answer "order does not exist"
(-2013). MEXC documents neither the lag nor a bound; this one is generous, since waiting
longer than needed only delays the resend of an order that truly never arrived."""


@attrs.define
class MexcRouterCodec:
    credentials: ApiCredentials
    exchange: str = mexc.EXCHANGE
    leg: Leg = Leg.SPOT
    read_after_write_s: float = READ_AFTER_WRITE_S
    forgets_unfilled: bool = False
    clock_ahead_s: float = CLOCK_AHEAD_S
    clock_behind_s: float = mexc_rest.DEFAULT_RECV_WINDOW_MS / 1000.0
    """A signed request is taken while ``serverTime - timestamp <= recvWindow`` (Basis
    sends the default ``recvWindow``)."""

    async def load_rules(
        self, rest: RestClient, symbols: Sequence[Symbol]
    ) -> dict[Symbol, VenueRules]:
        rules = {}
        for symbol in symbols:
            response = await rest.send(mexc_rest.exchange_info_request(symbol))
            if response.status != 200:
                raise mexc_rest.error_from_response(response)
            rules[symbol] = mexc_rest.parse_exchange_info(response.body, symbol)
        return rules

    def place(self, order: Order, rules: VenueRules, now: float) -> RestRequest:
        return mexc_rest.place_order_request(order, self.credentials, _ms(now))

    def query(
        self, symbol: Symbol, client_id: str, venue_order_id: str | None, now: float
    ) -> RestRequest:
        return mexc_rest.query_order_request(
            symbol, self.credentials, _ms(now), client_id=client_id, venue_order_id=venue_order_id
        )

    def amend(
        self, order: Order, venue_order_id: str | None, rules: VenueRules, now: float
    ) -> RestRequest | None:
        """MEXC spot has no endpoint changing an open order: it can only be cancelled."""
        return None

    def cancel(
        self, symbol: Symbol, client_id: str, venue_order_id: str | None, now: float
    ) -> RestRequest:
        return mexc_rest.cancel_order_request(
            symbol, self.credentials, _ms(now), client_id=client_id, venue_order_id=venue_order_id
        )

    def parse_placed(self, response: RestResponse, order: Order, rules: VenueRules) -> OrderUpdate:
        return mexc_rest.parse_new_order(response.body, order.client_id)

    def parse_order(self, response: RestResponse, symbol: Symbol, rules: VenueRules) -> OrderUpdate:
        return mexc_rest.parse_order(response.body)

    async def order_trades(
        self, rest: RestClient, symbol: Symbol, venue_order_id: str, now: float
    ) -> Sequence[Trade]:
        """The order's trades (``myTrades`` by order id), each with its commission and the
        asset it was charged in."""
        response = await rest.send(
            mexc_rest.my_trades_request(symbol, venue_order_id, self.credentials, _ms(now))
        )
        if response.status != 200:
            raise mexc_rest.error_from_response(response)
        return mexc_rest.parse_my_trades(response.body)

    async def listed_order(
        self,
        rest: RestClient,
        symbol: Symbol,
        client_id: str,
        since: float | None,
        acquire: Callable[[], Awaitable[None]],
    ) -> OrderUpdate | None:
        """None: MEXC documents no window after which a query by client id stops finding
        an order it still keeps, so its lists know nothing such a query does not."""
        return None

    async def price(self, rest: RestClient, symbol: Symbol) -> float | None:
        """The latest price of ``symbol`` (``ticker/price``): how a fee paid in MX is
        valued in USDT."""
        response = await rest.send(mexc_rest.ticker_price_request(symbol))
        if response.status != 200:
            raise mexc_rest.error_from_response(response)
        return mexc_rest.parse_ticker_price(response.body)

    def error(self, response: RestResponse, now: float) -> VenueError:
        return mexc_rest.error_from_response(response)

    def pause_s(self, response: RestResponse, now: float) -> float:
        """MEXC's replies tell nothing of its request budget: the router learns of its
        limit by its 429s."""
        return 0.0

    def clock_request(self) -> RestRequest:
        return mexc_rest.server_time_request()

    def parse_clock(self, response: RestResponse) -> float:
        return mexc_rest.parse_server_time(response.body)


def _ms(now: float) -> int:
    return int(now * 1000)


LISTEN_KEY_RENEW_S = 30 * 60.0
"""A listen key lives 60 minutes; MEXC asks for an extension every 30."""
CONNECTION_LIFETIME_S = 24 * 3600.0


@attrs.define
class MexcPrivateCodec:
    """MEXC's private stream: a listen key from REST, then private order and deal pushes."""

    credentials: ApiCredentials
    exchange: str = mexc.EXCHANGE
    ping_interval_s: float = PING_INTERVAL_S
    renew_interval_s: float | None = LISTEN_KEY_RENEW_S
    max_lifetime_s: float | None = CONNECTION_LIFETIME_S
    """A user data stream's connection is valid for 24 hours, MEXC documents."""
    handshake_headers: Sequence[tuple[bytes, bytes]] = ()
    listen_key: str | None = None

    async def open_url(self, rest: RestClient, ws_url: str, now: float) -> str:
        request = mexc_rest.listen_key_request("POST", self.credentials, _ms(now))
        response = await rest.send(request)
        if response.status != 200:
            raise mexc_rest.error_from_response(response)
        self.listen_key = mexc_rest.parse_listen_key(response.body)
        return mexc.private_stream_url(ws_url, self.listen_key)

    async def renew(self, rest: RestClient, now: float) -> None:
        request = mexc_rest.listen_key_request("PUT", self.credentials, _ms(now), self.listen_key)
        response = await rest.send(request)
        if response.status != 200:
            raise mexc_rest.error_from_response(response)

    def subscriptions(self, now: float) -> list[str]:
        channels = [mexc.PRIVATE_ORDERS_CHANNEL, mexc.PRIVATE_DEALS_CHANNEL]
        return [mexc.subscribe_message(channels)]

    def ping(self, now: float) -> str:
        return mexc.PING_MESSAGE

    def decode(self, frame: str | bytes, recv_ts: float) -> tuple:
        return mexc.decode_frame(frame, recv_ts)


async def free_usdt(rest: RestClient, credentials: ApiCredentials, now: float) -> float:
    """The USDT the spot account has free."""
    response = await rest.send(mexc_rest.account_request(credentials, _ms(now)))
    if response.status != 200:
        raise mexc_rest.error_from_response(response)
    return next((b.free for b in mexc_rest.parse_account(response.body) if b.asset == "USDT"), 0.0)


async def base_holdings(
    rest: RestClient, credentials: ApiCredentials, symbol: Symbol, now: float
) -> float:
    """How much of ``symbol``'s base asset the spot account holds, free and locked."""
    response = await rest.send(mexc_rest.account_request(credentials, _ms(now)))
    if response.status != 200:
        raise mexc_rest.error_from_response(response)
    for balance in mexc_rest.parse_account(response.body):
        if balance.asset == symbol.base:
            return balance.free + balance.locked
    return 0.0


async def open_and_recent_orders(
    rest: RestClient, credentials: ApiCredentials, symbol: Symbol, now: float
) -> list[OrderUpdate]:
    """The account's open orders in ``symbol`` and its orders there of the last 24 hours
    (``allOrders``' default window), each once."""
    found: dict[str, OrderUpdate] = {}
    for request in (
        mexc_rest.open_orders_request(symbol, credentials, _ms(now)),
        mexc_rest.all_orders_request(symbol, credentials, _ms(now)),
    ):
        response = await rest.send(request)
        if response.status != 200:
            raise mexc_rest.error_from_response(response)
        for order in mexc_rest.parse_orders(response.body):
            found.setdefault(order.venue_order_id, order)
    return list(found.values())
