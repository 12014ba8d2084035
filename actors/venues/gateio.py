"""Gate.io USDT perpetuals for the feed: JSON book-ticker (or order-book update) pushes,
sizes in contracts converted with each contract's size, loaded before connecting; and
each contract's funding, from its contract data at every connection and then from the
``futures.tickers`` pushes."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import attrs

from actors.venues.rest import RestClient
from protocols import gateio, gateio_rest
from protocols.model import Leg, Order, Symbol, VenueRules
from protocols.venue import (
    ApiCredentials,
    DepthSnapshot,
    FundingBookEntry,
    FundingRate,
    FundingTick,
    MalformedResponse,
    OrderUpdate,
    RestRequest,
    RestResponse,
    VenueError,
)

log = logging.getLogger("basis.gateio")

PING_INTERVAL_S = 10.0
FUNDING_BOOK_LIMIT = 1000
"""The most changes one ``account_book`` reply may list."""
SIZE_DECIMAL = (gateio.SIZE_DECIMAL_HEADER[0].encode(), gateio.SIZE_DECIMAL_HEADER[1].encode())


@attrs.define
class GateioFeedCodec:
    rest: RestClient
    exchange: str = gateio.EXCHANGE
    leg: Leg = Leg.FUTURES
    ping_interval_s: float = PING_INTERVAL_S
    handshake_headers: Sequence[tuple[bytes, bytes]] = (SIZE_DECIMAL,)
    rules: dict[Symbol, VenueRules] = attrs.field(factory=dict)
    contract_sizes: dict[Symbol, float] = attrs.field(factory=dict)
    funding: dict[Symbol, FundingRate] = attrs.field(factory=dict)
    """Each contract's funding as last heard: the contract data gives the interval and
    the next settlement, ticker pushes move the rate."""

    async def prepare(self, symbols: Sequence[Symbol]) -> None:
        """Load each contract's data: pushes give sizes in contracts, and the funding
        interval is the contract's own. Asked again at every connection, so the funding
        known is never older than the connection."""
        for symbol in symbols:
            response = await self.rest.send(gateio_rest.contract_request(symbol))
            if response.status != 200:
                raise gateio_rest.error_from_response(response)
            rules = gateio_rest.parse_contract(response.body)
            self.rules[symbol] = rules
            self.contract_sizes[symbol] = rules.contract_size
            try:
                self.funding[symbol] = gateio_rest.parse_funding(response.body)
            except MalformedResponse as error:
                # Quotes do not need it: the funding stays unknown, so a strategy that
                # requires it keeps refusing entries, and the others trade.
                self.funding.pop(symbol, None)
                log.warning("%s: no funding in the contract data: %s", symbol, error)

    def funding_rates(self, now: float) -> list[FundingRate]:
        return [funding.at(now) for funding in self.funding.values()]

    def subscriptions(self, symbols: Sequence[Symbol], depth: bool, now: float) -> list[str]:
        time_s = int(now)
        contracts = gateio.book_ticker_payload(symbols)
        tickers = gateio.subscribe_message(gateio.TICKERS, contracts, time_s)
        if not depth:
            return [gateio.subscribe_message(gateio.BOOK_TICKER, contracts, time_s), tickers]
        return [
            *(
                gateio.subscribe_message(
                    gateio.ORDER_BOOK_UPDATE, gateio.order_book_update_payload(symbol), time_s, n
                )
                for n, symbol in enumerate(symbols, start=1)
            ),
            tickers,
        ]

    def ping(self, now: float) -> str:
        return gateio.ping_message(int(now))

    def decode(self, frame: str | bytes, recv_ts: float) -> tuple:
        events = gateio.decode_frame(frame, recv_ts, self.contract_sizes)
        if not any(type(event) is FundingTick for event in events):
            return events
        return tuple(self._funding(event, recv_ts) for event in events)

    def _funding(self, event: object, recv_ts: float) -> object:
        """A ticker's rate with its contract's interval and next settlement."""
        if type(event) is not FundingTick:
            return event
        known = self.funding.get(event.symbol)
        if known is None:
            return event  # a contract this feed did not load: nothing to publish
        funding = FundingRate(event.symbol, event.rate, known.interval_s, known.next_ts)
        self.funding[event.symbol] = funding
        return funding.at(recv_ts)

    async def fetch_snapshot(self, symbol: Symbol) -> DepthSnapshot:
        response = await self.rest.send(gateio_rest.order_book_request(symbol))
        if response.status != 200:
            raise gateio_rest.error_from_response(response)
        return gateio_rest.parse_order_book(response.body, symbol, self.contract_sizes[symbol])


@attrs.define
class GateioRouterCodec:
    credentials: ApiCredentials
    exchange: str = gateio.EXCHANGE
    leg: Leg = Leg.FUTURES

    async def load_rules(
        self, rest: RestClient, symbols: Sequence[Symbol]
    ) -> dict[Symbol, VenueRules]:
        rules = {}
        for symbol in symbols:
            response = await rest.send(gateio_rest.contract_request(symbol))
            if response.status != 200:
                raise gateio_rest.error_from_response(response)
            rules[symbol] = gateio_rest.parse_contract(response.body)
        return rules

    def place(self, order: Order, rules: VenueRules, now: float) -> RestRequest:
        return gateio_rest.place_order_request(
            order, rules.contract_size, self.credentials, int(now)
        )

    def query(
        self, symbol: Symbol, client_id: str, venue_order_id: str | None, now: float
    ) -> RestRequest:
        return gateio_rest.query_order_request(
            self.credentials, int(now), client_id=client_id, venue_order_id=venue_order_id
        )

    def cancel(
        self, symbol: Symbol, client_id: str, venue_order_id: str | None, now: float
    ) -> RestRequest:
        return gateio_rest.cancel_order_request(
            self.credentials, int(now), client_id=client_id, venue_order_id=venue_order_id
        )

    def parse_placed(self, response: RestResponse, order: Order, rules: VenueRules) -> OrderUpdate:
        return gateio_rest.parse_order(response.body, rules.contract_size)

    def parse_order(self, response: RestResponse, symbol: Symbol, rules: VenueRules) -> OrderUpdate:
        return gateio_rest.parse_order(response.body, rules.contract_size)

    def error(self, response: RestResponse, now: float) -> VenueError:
        return gateio_rest.error_from_response(response, now)


@attrs.define
class GateioPrivateCodec:
    """Gate.io's private channels on the public connection URL, each request signed."""

    credentials: ApiCredentials
    user_id: str
    rules: Mapping[Symbol, VenueRules]
    """The router's rules, shared: pushes give sizes in contracts."""
    exchange: str = gateio.EXCHANGE
    ping_interval_s: float = PING_INTERVAL_S
    renew_interval_s: float | None = None
    handshake_headers: Sequence[tuple[bytes, bytes]] = (SIZE_DECIMAL,)

    async def open_url(self, rest: RestClient, ws_url: str, now: float) -> str:
        return ws_url

    async def renew(self, rest: RestClient, now: float) -> None:
        """Gate.io's signed subscriptions need no renewal."""

    def subscriptions(self, now: float) -> list[str]:
        payload = gateio.private_payload(self.user_id)
        return [
            gateio.subscribe_message(channel, payload, int(now), n, self.credentials)
            for n, channel in enumerate((gateio.ORDERS, gateio.USER_TRADES), start=1)
        ]

    def ping(self, now: float) -> str:
        return gateio.ping_message(int(now))

    def decode(self, frame: str | bytes, recv_ts: float) -> tuple:
        sizes = {symbol: rules.contract_size for symbol, rules in self.rules.items()}
        return gateio.decode_frame(frame, recv_ts, sizes)


@attrs.define
class GateioFundingBookCodec:
    """The futures account's funding settlements: ``account_book?type=fund``."""

    credentials: ApiCredentials

    def request(self, since_s: int, now: float) -> RestRequest:
        return gateio_rest.funding_book_request(
            self.credentials, int(now), since_s=since_s, limit=FUNDING_BOOK_LIMIT
        )

    def parse(self, response: RestResponse) -> list[FundingBookEntry]:
        return gateio_rest.parse_funding_book(response.body)

    def error(self, response: RestResponse, now: float) -> VenueError:
        return gateio_rest.error_from_response(response, now)


async def short_position(
    rest: RestClient, credentials: ApiCredentials, symbol: Symbol, rules: VenueRules, now: float
) -> float:
    """The futures account's short in ``symbol``, in base units (negative if long)."""
    request = gateio_rest.position_request(symbol, credentials, int(now))
    response = await rest.send(request)
    if response.status != 200:
        raise gateio_rest.error_from_response(response, now)
    return -gateio_rest.parse_position(response.body, rules.contract_size).qty
