"""Gate.io USDT perpetuals for the feed: JSON book-ticker (or order-book update) pushes,
sizes in contracts converted with each contract's size, loaded before connecting; and
each contract's funding, from its contract data at every connection and then from the
``futures.tickers`` pushes."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

import attrs
import msgspec

from actors.venues.rest import VENUE_FAILURES, RestClient
from protocols import gateio, gateio_rest
from protocols.gateio_client_requests import REQUEST_WINDOW_S
from protocols.model import Leg, Order, Symbol, VenueRules
from protocols.venue import (
    ApiCredentials,
    DepthSnapshot,
    FundingBookEntry,
    FundingRate,
    FundingTick,
    FuturesAccountSettings,
    FuturesPosition,
    MalformedResponse,
    OrderUpdate,
    PositionSettings,
    RateLimited,
    RestRequest,
    RestResponse,
    Trade,
    VenueError,
    VenueUnavailable,
    WrongAccount,
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
    snapshots_per_s: float = 16.0
    """Order book snapshots a second, the venue's feeds together: Gate.io gives each
    public endpoint 200 requests per 10 s per IP."""
    rules: dict[Symbol, VenueRules] = attrs.field(factory=dict)
    contract_sizes: dict[Symbol, float] = attrs.field(factory=dict)
    funding: dict[Symbol, FundingRate] = attrs.field(factory=dict)
    """Each contract's funding as last heard: the contract data gives the interval and
    the next settlement, ticker pushes move the rate."""

    async def prepare(self, symbols: Sequence[Symbol]) -> None:
        """Load each contract's data: pushes give sizes in contracts, and the funding
        interval is the contract's own. Asked again at every connection, so the funding
        known is never older than the connection: the contract list in one request, and
        a contract it lacks by itself. A contract the venue will not give keeps the size
        last loaded and has its funding unknown; the others are not held back by it. Raises
        only when the venue cannot give the list and a contract's size was never loaded."""
        try:
            contracts = await self._contract_list()
        except VENUE_FAILURES as error:
            unknown = [symbol for symbol in symbols if symbol not in self.contract_sizes]
            if unknown:
                raise
            log.warning("the contract list failed (%s); the contracts stay as last loaded", error)
            return
        for symbol in symbols:
            try:
                body = contracts.get(symbol) or await self._contract(symbol)
                rules = gateio_rest.parse_contract(body)
            except VENUE_FAILURES as error:
                # Quotes still decode with the size last loaded (if any); a strategy that
                # requires the funding refuses entries, and the other contracts trade.
                self.funding.pop(symbol, None)
                log.warning("%s: the contract could not be loaded: %s", symbol, error)
                continue
            self.rules[symbol] = rules
            self.contract_sizes[symbol] = rules.contract_size
            try:
                self.funding[symbol] = gateio_rest.parse_funding(body)
            except MalformedResponse as error:
                self.funding.pop(symbol, None)
                log.warning("%s: no funding in the contract data: %s", symbol, error)

    async def _contract_list(self) -> dict[Symbol, bytes]:
        response = await self.rest.send(gateio_rest.contracts_request())
        if response.status != 200:
            raise gateio_rest.error_from_response(response)
        return gateio_rest.contract_entries(response.body)

    async def _contract(self, symbol: Symbol) -> bytes:
        response = await self.rest.send(gateio_rest.contract_request(symbol))
        if response.status != 200:
            raise gateio_rest.error_from_response(response)
        return response.body

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
        # A loop, not any() over a generator: this runs for every frame of the feed.
        for event in events:
            if type(event) is FundingTick:
                return tuple(self._funding(event, recv_ts) for event in events)
        return events

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


DUAL_MODE_FIX = (
    "the Gate.io futures account is in dual (hedge) position mode; Basis trades single "
    "mode: switch the account to single position mode"
)
READ_AFTER_WRITE_S = 1.0
"""How long after an order reached Gate.io a query may still not find it. Gate.io
documents no such lag; a second covers an order still on its way inside the venue."""

LISTED_SLACK_S = 90.0
"""How much earlier than this clock says an order was sent Gate.io may date its end: the
venue's clock may be up to 60 s from this one (it refuses signatures further off), and
the order may have reached it while the placement request was still on its way."""


@attrs.define
class GateioRouterCodec:
    """Gate.io's orders, and the account's settings Basis trades under: at each load of
    the rules the account must be in single position mode, and each contract's leverage
    is set to ``leverage`` (isolated margin) and read back. A contract whose settings
    cannot be had gets rules that refuse entries, saying why."""

    credentials: ApiCredentials
    leverage: Mapping[Symbol, float] = attrs.field(factory=dict)
    """Each contract's leverage, as configured; a contract not named is left as it is."""
    exchange: str = gateio.EXCHANGE
    leg: Leg = Leg.FUTURES
    wall_clock: Callable[[], float] = time.time
    positions: dict[Symbol, PositionSettings] = attrs.field(factory=dict)
    """Each contract's position as last read back (its liquidation price included)."""
    contract_sizes: dict[Symbol, float] = attrs.field(factory=dict)
    """Each contract's size as the rules last loaded it: order and trade lists count
    contracts."""
    read_after_write_s: float = READ_AFTER_WRITE_S
    forgets_unfilled: bool = True
    clock_ahead_s: float = float(REQUEST_WINDOW_S)
    clock_behind_s: float = float(REQUEST_WINDOW_S)
    """A signed request's ``Timestamp`` is taken within 60 s of the venue's clock."""
    """Gate.io forgets an order cancelled with nothing filled 10 minutes later (404)."""
    listed_slack_s: float = LISTED_SLACK_S
    _listing: dict[str, tuple[str, int]] = attrs.field(factory=dict, init=False)
    """Each unfinished walk of the order lists, by client id: the list and offset of the
    page it is at."""

    async def load_rules(
        self, rest: RestClient, symbols: Sequence[Symbol]
    ) -> dict[Symbol, VenueRules]:
        rules = {}
        for symbol in symbols:
            response = await rest.send(gateio_rest.contract_request(symbol))
            if response.status != 200:
                raise gateio_rest.error_from_response(response)
            rules[symbol] = gateio_rest.parse_contract(response.body)
            self.contract_sizes[symbol] = rules[symbol].contract_size
        account = await futures_account(rest, self.credentials, self.wall_clock())
        if account.in_dual_mode:
            log.error("%s", DUAL_MODE_FIX)
            return {symbol: _refusing(r, DUAL_MODE_FIX) for symbol, r in rules.items()}
        for symbol, contract in rules.items():
            refusal = await self._set_leverage(rest, symbol, contract)
            if refusal is not None:
                log.error("%s: %s", symbol, refusal)
                rules[symbol] = _refusing(contract, refusal)
        return rules

    async def _set_leverage(
        self, rest: RestClient, symbol: Symbol, rules: VenueRules
    ) -> str | None:
        """Set ``symbol``'s leverage and check the position the venue holds it at; why
        entries are refused, or ``None``. A venue that cannot answer now raises (the
        whole load is tried again); a refusal is the contract's."""
        wanted = self.leverage.get(symbol)
        if wanted is None:
            return None
        now = self.wall_clock()
        request = gateio_rest.set_leverage_request(symbol, wanted, self.credentials, int(now))
        response = await rest.send(request)
        if response.status != 200:
            error = gateio_rest.error_from_response(response, now)
            if isinstance(error, (VenueUnavailable, RateLimited)):
                raise error
            return f"leverage {wanted:g} could not be set: {error}"
        position = gateio_rest.parse_position_settings(response.body, rules.contract_size)
        self.positions[symbol] = position
        return held_otherwise(position, wanted)

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

    def amend(
        self, order: Order, venue_order_id: str | None, rules: VenueRules, now: float
    ) -> RestRequest:
        """Bring the open ``order`` to ``order.qty`` in all."""
        return gateio_rest.amend_order_request(
            order.side,
            order.qty,
            rules.contract_size,
            self.credentials,
            int(now),
            client_id=order.client_id,
            venue_order_id=venue_order_id,
        )

    def parse_placed(self, response: RestResponse, order: Order, rules: VenueRules) -> OrderUpdate:
        return gateio_rest.parse_order(response.body, rules.contract_size)

    def parse_order(self, response: RestResponse, symbol: Symbol, rules: VenueRules) -> OrderUpdate:
        return gateio_rest.parse_order(response.body, rules.contract_size)

    async def order_trades(
        self, rest: RestClient, symbol: Symbol, venue_order_id: str, now: float
    ) -> Sequence[Trade]:
        """The order's trades (``my_trades`` by order id), each with the fee the venue
        charged, in USDT: order reports say none (a maker fill is charged less than the
        taker rate an estimate would assume)."""
        contract_size = self.contract_sizes[symbol]
        request = gateio_rest.order_trades_request(
            symbol, venue_order_id, self.credentials, int(now)
        )
        response = await rest.send(request)
        if response.status != 200:
            raise gateio_rest.error_from_response(response, now)
        return gateio_rest.parse_trades(response.body, contract_size)

    async def listed_order(
        self,
        rest: RestClient,
        symbol: Symbol,
        client_id: str,
        since: float | None,
        acquire: Callable[[], Awaitable[None]],
    ) -> OrderUpdate | None:
        """The order whose ``text`` is ``client_id``'s, found in the account's lists of
        open and finished orders of ``symbol``, or ``None``. Gate.io finds an order by its
        client id only until 60 s after it finished; its finished list keeps every order
        that filled anything (and one that did not until 10 minutes after its cancel), so
        after that window this is what tells an order that came from one that never did.

        The finished list runs newest first for 6 months: it is read only down to the
        first page whose every order ended before ``since`` (when the order was sent, by
        this clock; ``None``, not known, reads it all). Each page waits for ``acquire`` (a
        query's rate-limit token) and is signed as it is sent; a walk that fails resumes
        at the page that failed when it is asked for again."""
        contract_size = self.contract_sizes[symbol]
        status, offset = self._listing.get(client_id, ("open", 0))
        oldest = float("-inf") if since is None else since - self.listed_slack_s
        while True:
            self._listing[client_id] = (status, offset)
            await acquire()
            now = self.wall_clock()
            request = gateio_rest.orders_request(
                symbol, status, self.credentials, int(now), offset=offset
            )
            response = await rest.send(request)
            if response.status != 200:
                raise gateio_rest.error_from_response(response, now)
            page = gateio_rest.parse_orders(response.body, contract_size)
            found = next((order for order in page if order.client_id == client_id), None)
            more = len(page) == gateio_rest.LIST_LIMIT
            if status == "finished":
                more = more and any(order.ts >= oldest for order in page)
            if found is not None or (status == "finished" and not more):
                del self._listing[client_id]
                return found
            if more:
                offset += len(page)
            else:
                status, offset = "finished", 0

    async def price(self, rest: RestClient, symbol: Symbol) -> float | None:
        """None: Gate.io charges every fee in USDT, which needs no price."""
        return None

    def error(self, response: RestResponse, now: float) -> VenueError:
        return gateio_rest.error_from_response(response, now)

    def pause_s(self, response: RestResponse, now: float) -> float:
        """Until the endpoint's window resets once Gate.io says no request is left in it
        (``X-Gate-RateLimit-Requests-Remain`` 0, the reset time in
        ``X-Gate-RateLimit-Reset-Timestamp``); 0.0 otherwise."""
        return gateio_rest.exhausted_for_s(response, now)

    def clock_request(self) -> RestRequest:
        return gateio_rest.server_time_request()

    def parse_clock(self, response: RestResponse) -> float:
        return gateio_rest.parse_server_time(response.body)


PRIVATE_SUBSCRIPTIONS = (
    gateio.ORDERS,
    gateio.USER_TRADES,
    gateio.POSITIONS,
    gateio.LIQUIDATES,
    gateio.AUTO_DELEVERAGES,
)
"""The private channels followed. Liquidations and auto-deleveragings decode into
``PositionReducedByVenue``, which the private stream passes over until something reads
it."""


@attrs.define
class GateioPrivateCodec:
    """Gate.io's private channels on the public connection URL, each request signed and
    naming the account's user id, which the venue gives (``GET /account/detail``)."""

    credentials: ApiCredentials
    configured_user_id: str
    """The user id the config names, or ``""``; one that is not the key's account's is
    refused."""
    rules: Mapping[Symbol, VenueRules]
    """The router's rules, shared: pushes give sizes in contracts."""
    positions: dict[Symbol, PositionSettings] = attrs.field(factory=dict)
    """The router codec's positions, shared: position pushes keep each one's leverage and
    liquidation price current between rules loads."""
    exchange: str = gateio.EXCHANGE
    ping_interval_s: float = PING_INTERVAL_S
    renew_interval_s: float | None = None
    max_lifetime_s: float | None = None
    """Gate.io documents no longest connection."""
    handshake_headers: Sequence[tuple[bytes, bytes]] = (SIZE_DECIMAL,)
    user_id: str | None = None
    """The account's user id, once the venue has said it."""

    async def identify(self, rest: RestClient, now: float) -> str:
        """The key's account's user id, asked of the venue once. Raises ``WrongAccount``
        if the config names another, and what the request raises."""
        if self.user_id is None:
            response = await rest.send(
                gateio_rest.account_detail_request(self.credentials, int(now))
            )
            if response.status != 200:
                raise gateio_rest.error_from_response(response, now)
            user_id = gateio_rest.parse_account_detail(response.body)
            if self.configured_user_id and self.configured_user_id != user_id:
                raise WrongAccount(
                    f"the gateio_futures venue's user_id = {self.configured_user_id!r}, but "
                    f"the API key belongs to Gate.io user {user_id}: remove user_id (Basis "
                    "reads it from the venue) or set it to the key's account"
                )
            self.user_id = user_id
        return self.user_id

    async def open_url(self, rest: RestClient, ws_url: str, now: float) -> str:
        try:
            await self.identify(rest, now)
        except WrongAccount as error:
            # The stream stays down, saying why; the start refused this already.
            raise VenueError(self.exchange, None, str(error)) from None
        return ws_url

    async def renew(self, rest: RestClient, now: float) -> None:
        """Gate.io's signed subscriptions need no renewal."""

    def subscriptions(self, now: float) -> list[str]:
        assert self.user_id is not None, "open_url identifies the account first"
        payload = gateio.private_payload(self.user_id)
        return [
            gateio.subscribe_message(channel, payload, int(now), n, self.credentials)
            for n, channel in enumerate(PRIVATE_SUBSCRIPTIONS, start=1)
        ]

    def ping(self, now: float) -> str:
        return gateio.ping_message(int(now))

    def decode(self, frame: str | bytes, recv_ts: float) -> tuple:
        sizes = {symbol: rules.contract_size for symbol, rules in self.rules.items()}
        events = gateio.decode_frame(frame, recv_ts, sizes)
        for event in events:
            if isinstance(event, FuturesPosition):
                known = self.positions.get(event.symbol)
                # A push names no margin mode or position mode: those stay as read back.
                self.positions[event.symbol] = PositionSettings(
                    event.symbol,
                    event.qty,
                    event.leverage,
                    0.0 if known is None else known.cross_leverage_limit,
                    "single" if known is None else known.mode,
                    event.liq_price,
                )
        return events


def held_otherwise(position: PositionSettings, leverage: float) -> str | None:
    """How the venue holds ``position`` otherwise than Basis trades it (single position
    mode, isolated margin at ``leverage``), or ``None`` when it holds it so."""
    if position.mode != "single":
        return f"the position is in {position.mode} mode; {DUAL_MODE_FIX}"
    if position.margin_mode != "isolated" or not math.isclose(position.leverage, leverage):
        return (
            f"the venue holds it at {position.margin_mode} margin, leverage "
            f"{position.leverage:g} (cross limit {position.cross_leverage_limit:g}), "
            f"not isolated at {leverage:g}"
        )
    return None


def _refusing(rules: VenueRules, reason: str) -> VenueRules:
    return msgspec.structs.replace(rules, entries_refused=reason)


async def futures_account(
    rest: RestClient, credentials: ApiCredentials, now: float
) -> FuturesAccountSettings:
    """The futures account's USDT and position mode."""
    response = await rest.send(gateio_rest.futures_account_request(credentials, int(now)))
    if response.status != 200:
        raise gateio_rest.error_from_response(response, now)
    return gateio_rest.parse_futures_account(response.body)


@attrs.define
class GateioFundingBookCodec:
    """The futures account's funding settlements: ``account_book?type=fund``."""

    credentials: ApiCredentials
    page_size: int = FUNDING_BOOK_LIMIT

    def request(self, since_s: int, now: float, offset: int = 0) -> RestRequest:
        return gateio_rest.funding_book_request(
            self.credentials, int(now), since_s=since_s, limit=self.page_size, offset=offset
        )

    def parse(self, response: RestResponse) -> list[FundingBookEntry]:
        return gateio_rest.parse_funding_book(response.body)

    def listed(self, response: RestResponse) -> int:
        return gateio_rest.account_book_length(response.body)

    def error(self, response: RestResponse, now: float) -> VenueError:
        return gateio_rest.error_from_response(response, now)


async def read_position(
    rest: RestClient, credentials: ApiCredentials, symbol: Symbol, rules: VenueRules, now: float
) -> FuturesPosition:
    """The futures account's position in ``symbol`` (its mark price included)."""
    request = gateio_rest.position_request(symbol, credentials, int(now))
    response = await rest.send(request)
    if response.status != 200:
        raise gateio_rest.error_from_response(response, now)
    return gateio_rest.parse_position(response.body, rules.contract_size)


async def short_position(
    rest: RestClient, credentials: ApiCredentials, symbol: Symbol, rules: VenueRules, now: float
) -> float:
    """The futures account's short in ``symbol``, in base units (negative if long)."""
    return -(await read_position(rest, credentials, symbol, rules, now)).qty


async def open_and_recent_orders(
    rest: RestClient, credentials: ApiCredentials, symbol: Symbol, rules: VenueRules, now: float
) -> list[OrderUpdate]:
    """The account's open orders in ``symbol`` and the newest page of its finished ones
    (which keeps every order that filled anything), in base units."""
    found: list[OrderUpdate] = []
    for status in ("open", "finished"):
        request = gateio_rest.orders_request(symbol, status, credentials, int(now))
        response = await rest.send(request)
        if response.status != 200:
            raise gateio_rest.error_from_response(response, now)
        found += gateio_rest.parse_orders(response.body, rules.contract_size)
    return found
