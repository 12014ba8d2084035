"""The simulated Binance spot venue on the wire: REST under ``/api/v3`` and websocket
streams at ``/ws`` and ``/stream``, in Binance's formats (``protocols.binance_encode``),
in front of the ``SpotExchange``.

REST: ping, server time, symbol rules (one pair, several or all, with the venue's rate
limits), depth, best bid/ask and last price tickers (one pair or all), orders (place,
query, cancel, open orders, all orders), balances and own trades. SIGNED endpoints are
verified as Binance does (key, signature over query + body, ``recvWindow``); parameters
may come in the query or in a form-encoded body. Refusals carry Binance's codes and
messages. A placement is answered as its ``newOrderRespType`` asks (``ACK``,
``RESULT`` or ``FULL``); a market buy may name what it spends (``quoteOrderQty``).

Rate limits: every request weighs what Binance's documentation says, counted against
the IP's weight per minute (the window starting on the venue clock's minute), and every
reply tells the weight used in ``X-MBX-USED-WEIGHT-1M``; past the limit a request is
answered 429 (-1003) with ``Retry-After`` the seconds until the window turns. Order
placements count against the account's orders per 10 s and per day, told in
``X-MBX-ORDER-COUNT-10S`` and ``-1D``, and refused 429 (-1015) past either.

Websockets: raw streams at ``/ws`` (``/ws/<stream>/<stream>`` follows them from the
start), combined ones at ``/stream?streams=<stream>/<stream>`` (each event wrapped with
its stream's name); ``SUBSCRIBE``, ``UNSUBSCRIBE``, ``LIST_SUBSCRIPTIONS`` and the
``combined`` property are answered as documented, a stream the venue does not serve
refused with code 2. The venue pings every ``PING_INTERVAL_S`` at the websocket level
and drops a client that does not pong within a minute. Book tickers, diff depth
(``@depth@100ms``, and ``@depth`` at the tick's pace too) and partial depth are pushed on
every market tick.

The WebSocket API at ``/ws-api/v3`` serves the user data stream: ``ping``, ``time``,
``userDataStream.subscribe.signature`` (verified as a SIGNED REST request is: key,
signature over the parameters sorted by name, ``recvWindow``; one subscription per
connection, a second refused -2035), ``userDataStream.unsubscribe`` (the subscription's
``eventStreamTerminated`` first) and ``session.subscriptions``; each answer tells the
weight used in ``rateLimits``, a refusal its status, code and message. Connecting costs
2 weight (a connection past the limit is dropped) and each request its documented
weight, from the IP's weight REST uses too. Every subscribed connection gets the
account's ``executionReport`` and ``outboundAccountPosition`` events, wrapped with its
subscription's id.

Simplifications: ``LIMIT_MAKER`` and ``FOK`` are refused as an unsupported order
combination (-1014; the engine takes GTC and IOC); the engine never lets a client order
id be used twice (Binance allows it once the earlier order has filled); a websocket at
any other path is accepted and dropped at once rather than refused at the handshake;
the five messages a second are not enforced (every connection is closed at the
24-hour mark, as Binance documents); the
WebSocket API serves only the methods above (any other, ``session.logon`` and what
needs it included, is refused -1020), and the injected request faults (errors, rate
limits) meet REST requests only, the wire faults every connection.
"""

from __future__ import annotations

import math
import secrets
from collections import defaultdict
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

import attrs
import msgspec

from actors.http_server import HttpRequest, HttpResponse
from actors.sim.aimed_faults import AimedFaults
from actors.sim.book import SimBook
from actors.sim.config import ServerConfig, SpotVenueConfig
from actors.sim.events import BalanceChanged, OrderUpdated, TradeExecuted, VenueEvent
from actors.sim.records import VenueFill, VenueOrder
from actors.sim.spot_exchange import SpotExchange
from actors.sim.venue_server import Placement, Route, VenueServer, http_response, json_response
from actors.sim.wire_records import account_trade
from actors.sim.ws_server import LONGEST_CONNECTION_S, WsClient
from protocols import binance, binance_encode, binance_ws_api
from protocols.binance_client_requests import (
    SUBSCRIPTION_ACTIVE_CODE,
    UNSUPPORTED_COMBINATION_CODE,
    UNSUPPORTED_OPERATION_CODE,
    ApiRequest,
    ClientRequest,
    decode_api_request,
    decode_client_message,
    invalid_json,
    missing_parameter,
    read_new_order,
    read_order_reference,
    read_symbol,
    read_symbols,
    verify_signed_params,
    verify_signed_request,
)
from protocols.binance_encode import OrderFacts
from protocols.binance_rest import API_PREFIX
from protocols.model import OrderStatus, OrderType, Quote, Side, Symbol, TimeInForce
from protocols.rules import step_decimals
from protocols.venue import (
    ApiCredentials,
    DepthDiff,
    InvalidParameter,
    InvalidSymbol,
    MalformedMessage,
    OrderUpdate,
    RateLimited,
    RestRequest,
    Trade,
    UnknownOrder,
    VenueError,
)

PING_INTERVAL_S = 20.0
"""Binance pings every connection this often and drops one whose pong is a minute late."""
DEFAULT_DEPTH_LIMIT = 100
MAX_DEPTH_LIMIT = 5000
DEFAULT_ALL_ORDERS_LIMIT = 500
MAX_ALL_ORDERS_LIMIT = 1000
DEFAULT_TRADES_LIMIT = 500
MAX_TRADES_LIMIT = 1000
MINUTE_S = 60.0
ORDER_WINDOWS = (("10S", 10.0), ("1D", 86_400.0))
_DEPTH_SPEEDS = ("100ms", "1000ms")
_PARTIAL_LEVELS = (5, 10, 20)
INVALID_REQUEST_CODE = 2
"""A websocket request Binance cannot take (an unknown stream, a bad property)."""
CONNECT_WEIGHT = 2
"""What opening a WebSocket API connection weighs."""


class BinanceRateLimits(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Binance's published limits: request weight per IP a minute, orders per account
    per 10 seconds and per day."""

    weight_per_minute: int = 6000
    orders_per_10s: int = 100
    orders_per_day: int = 200_000


def _depth_weight(params: dict[str, str]) -> int:
    try:
        limit = int(params.get("limit") or DEFAULT_DEPTH_LIMIT)
    except ValueError:
        limit = DEFAULT_DEPTH_LIMIT
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


def _one_or_all(one: int, every: int) -> Callable[[dict[str, str]], int]:
    """The weight of a request that names one pair (``symbol``) or none (every pair)."""
    return lambda params: one if params.get("symbol") else every


def _my_trades_weight(params: dict[str, str]) -> int:
    return 5 if params.get("orderId") else 20


Weight = int | Callable[[dict[str, str]], int]


def _facts(order: VenueOrder, quote_qty: float = 0.0) -> OrderFacts:
    """``order`` as Binance's order replies tell it: the engine's ``EXPIRED`` (an IOC or
    market order's remainder that found no liquidity) is Binance's own."""
    update = OrderUpdate(
        symbol=order.symbol,
        client_id=order.client_id or "",
        venue_order_id=order.venue_order_id,
        status=order.status,
        side=order.side,
        qty=order.qty,
        price=order.price,
        filled_qty=order.filled_qty,
        avg_price=order.avg_price,
        ts=order.updated_ts,
    )
    market = order.type is OrderType.MARKET
    tif = "GTC" if market or order.tif is not TimeInForce.IOC else "IOC"
    return OrderFacts(update, "MARKET" if market else "LIMIT", tif, order.created_ts, quote_qty)


@attrs.define(eq=False)
class _ApiSession:
    """One WebSocket API connection and its subscription to the account's events."""

    client: WsClient
    subscription: int | None = None
    next_subscription: int = 0
    """The id the connection's next subscription gets: ids count from 0 over its life."""

    def send(self, event: dict) -> None:
        assert self.subscription is not None
        self.client.send(binance_encode.user_data_frame(self.subscription, event))


ApiMethod = Callable[[_ApiSession, ApiRequest], object]


@attrs.define(eq=False)
class _Connection:
    """One websocket client and what it follows."""

    client: WsClient
    combined: bool
    streams: set[str] = attrs.field(factory=set)

    def send(self, stream: str, frames: _Frames) -> None:
        self.client.send(frames.combined(stream) if self.combined else frames.raw())


@attrs.define
class _Frames:
    """One event, encoded once per form it is sent in."""

    event: dict
    _raw: str | None = None
    _combined: str | None = None

    def raw(self) -> str:
        if self._raw is None:
            self._raw = binance_encode.stream_frame("", self.event, False)
        return self._raw

    def combined(self, stream: str) -> str:
        if self._combined is None:
            self._combined = binance_encode.stream_frame(stream, self.event, True)
        return self._combined


class BinanceServer(VenueServer):
    """Binance spot on the wire, for ``exchange``; ``config`` gives the credentials,
    ``limits`` the rate limits (Binance's published ones by default)."""

    websocket_path = "/"
    """Every websocket path is the venue's to tell apart (``/ws``, ``/ws/<stream>``,
    ``/stream``, ``/ws-api/v3``): clients are pointed at the raw streams' ``/ws``."""
    streams_path = "/ws"  # type: ignore[assignment]

    def __init__(
        self,
        exchange: SpotExchange,
        config: SpotVenueConfig,
        servers: ServerConfig,
        now: Callable[[], float],
        aimed: AimedFaults | None = None,
        limits: BinanceRateLimits | None = None,
    ) -> None:
        self.spot = exchange
        self.credentials = ApiCredentials(config.api_key, config.api_secret)
        self.limits = limits or BinanceRateLimits()
        self._subscribed: set[_ApiSession] = set()
        """The WebSocket API connections subscribed to the account's events."""
        self._followers: defaultdict[str, set[_Connection]] = defaultdict(set)
        """The connections following each stream."""
        self._quote_qtys: dict[str, float] = {}
        """What each market buy by ``quoteOrderQty`` asked to spend, by venue order id."""
        self._weight_window = (-1, 0)
        """The minute (of the venue's clock) weights are counted in, and the weight used."""
        self._order_windows: dict[str, tuple[int, int]] = {}
        """Each order count interval's current window and the orders placed in it."""
        self._reported: set[str] = set()
        """Orders whose acceptance the user data stream told."""
        self._fills: defaultdict[str, list[VenueFill]] = defaultdict(list)
        """Each order's fills the user data stream has yet to tell with its update."""
        self._cancel_ids: dict[str, str] = {}
        """The client id of each cancel under way, by the venue id of its order."""
        super().__init__(exchange, servers, now, aimed)
        self.websockets.ping_interval_s = PING_INTERVAL_S
        self.websockets.max_lifetime_s = LONGEST_CONNECTION_S
        self._routes = self._route_table()
        self._market_streams = {symbol: _MarketStreams.of(symbol) for symbol in self.spot.symbols}
        self._public_streams = frozenset(
            stream for streams in self._market_streams.values() for stream in streams.all()
        )
        self._api_methods: dict[str, tuple[ApiMethod, int]] = {
            "ping": (self._api_ping, 1),
            "time": (self._api_time, 1),
            binance_ws_api.SUBSCRIBE_METHOD: (self._subscribe, 2),
            binance_ws_api.UNSUBSCRIBE_METHOD: (self._unsubscribe, 2),
            binance_ws_api.SUBSCRIPTIONS_METHOD: (self._subscriptions, 2),
        }

    # ---------------------------------------------------------------- routing

    def _route_table(self) -> dict[tuple[str, str], tuple[Route, Weight]]:
        public: dict[tuple[str, str], tuple[Callable[[dict[str, str]], HttpResponse], Weight]] = {
            ("GET", "ping"): (self._ping, 1),
            ("GET", "time"): (self._time, 1),
            ("GET", "exchangeInfo"): (self._exchange_info, 20),
            ("GET", "depth"): (self._depth, _depth_weight),
            ("GET", "ticker/bookTicker"): (self._book_ticker, _one_or_all(2, 4)),
            ("GET", "ticker/price"): (self._price_ticker, _one_or_all(2, 4)),
        }
        signed: dict[tuple[str, str], tuple[Callable[[dict[str, str]], HttpResponse], Weight]] = {
            ("GET", "order"): (self._query_order, 4),
            ("DELETE", "order"): (self._cancel_order, 1),
            ("GET", "openOrders"): (self._open_orders, _one_or_all(6, 80)),
            ("GET", "allOrders"): (self._all_orders, 20),
            ("GET", "account"): (self._account, 20),
            ("GET", "myTrades"): (self._my_trades, _my_trades_weight),
        }
        routes: dict[tuple[str, str], tuple[Route, Weight]] = {}
        for (method, endpoint), (handler, weight) in public.items():
            routes[method, f"{API_PREFIX}/{endpoint}"] = (self._public_route(handler), weight)
        for (method, endpoint), (handler, weight) in signed.items():
            routes[method, f"{API_PREFIX}/{endpoint}"] = (self._signed_route(handler), weight)
        routes["POST", f"{API_PREFIX}/order"] = (Route(self._new_order, ()), 1)
        return routes

    @staticmethod
    def _public_route(handler: Callable[[dict[str, str]], HttpResponse]) -> Route:
        async def answer(request: HttpRequest) -> HttpResponse:
            return handler(request.query)

        return Route(answer, ())

    def _signed_route(self, handler: Callable[[dict[str, str]], HttpResponse]) -> Route:
        async def answer(request: HttpRequest) -> HttpResponse:
            return handler(self._verified(request))

        return Route(answer, ())

    def _route(self, request: HttpRequest) -> Route | None:
        found = self._routes.get((request.method, request.path))
        return None if found is None else found[0]

    def _verified(self, request: HttpRequest) -> dict[str, str]:
        return verify_signed_request(
            _rest_request(request), self.credentials, round(self.clock() * 1000.0)
        )

    def _not_found(self, request: HttpRequest) -> HttpResponse:
        body = msgspec.json.encode({"code": -1000, "msg": f"no endpoint {request.path}"})
        return HttpResponse(404, body)

    def _error(self, error: VenueError) -> HttpResponse:
        return http_response(binance_encode.error_response(error))

    # ------------------------------------------------------------ rate limits

    async def _answer(self, request: HttpRequest) -> HttpResponse:
        """Every reply, refusals included, tells the weight used this minute; an
        accepted placement also the orders counted."""
        response = await super()._answer(request)
        placed = (
            request.method == "POST"
            and request.path == f"{API_PREFIX}/order"
            and response.status == 200
        )
        counts = (
            [(name, self._order_windows[name][1]) for name, _ in ORDER_WINDOWS] if placed else []
        )
        headers = binance_encode.usage_headers(self._used_weight(), counts)
        return attrs.evolve(response, headers=tuple(response.headers) + headers)

    async def _answer_route(self, route: Route, request: HttpRequest) -> HttpResponse:
        weight = self._routes[request.method, request.path][1]
        cost = weight if isinstance(weight, int) else weight(request.query)
        refusal = self._take_weight(cost)
        if refusal is None and request.method == "POST" and request.path.endswith("/order"):
            refusal = self._count_order()
        if refusal is not None:
            self.rate_limiter.refused += 1
            return self._error(refusal)
        return await super()._answer_route(route, request)

    def _used_weight(self) -> int:
        """The weight used in the minute now."""
        window, used = self._weight_window
        return used if window == math.floor(self.clock() / MINUTE_S) else 0

    def _take_weight(self, cost: int) -> RateLimited | None:
        """Count ``cost`` against this minute's weight, or refuse it (counting nothing)."""
        clock = self.clock()
        minute = math.floor(clock / MINUTE_S)
        window, used = self._weight_window
        if window != minute:
            used = 0
        limit = self.limits.weight_per_minute
        if used + cost > limit:
            self._weight_window = (minute, used)
            return RateLimited(
                self.name,
                -1003,
                f"Too much request weight used; current limit is {limit} request weight per "
                "1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the "
                "API.",
                429,
                (minute + 1) * MINUTE_S - clock,
            )
        self._weight_window = (minute, used + cost)
        return None

    def _count_order(self) -> RateLimited | None:
        """Count a placement in each order window, or refuse it (counting nothing)."""
        clock = self.clock()
        counted = {}
        for (name, length), limit in zip(
            ORDER_WINDOWS, (self.limits.orders_per_10s, self.limits.orders_per_day), strict=True
        ):
            window = math.floor(clock / length)
            current, placed = self._order_windows.get(name, (window, 0))
            placed = placed if current == window else 0
            if placed >= limit:
                return RateLimited(
                    self.name,
                    -1015,
                    f"Too many new orders; current limit is {limit} orders per {name}.",
                    429,
                    (window + 1) * length - clock,
                )
            counted[name] = (window, placed + 1)
        self._order_windows.update(counted)
        return None

    def rate_limits(self) -> list[dict[str, object]]:
        """The limits as ``exchangeInfo`` lists them."""
        return [
            binance_encode.rate_limit_entry(
                "REQUEST_WEIGHT", "MINUTE", 1, self.limits.weight_per_minute
            ),
            binance_encode.rate_limit_entry("ORDERS", "SECOND", 10, self.limits.orders_per_10s),
            binance_encode.rate_limit_entry("ORDERS", "DAY", 1, self.limits.orders_per_day),
        ]

    # ------------------------------------------------------------ public REST

    def _ping(self, query: dict[str, str]) -> HttpResponse:
        return json_response(binance_encode.EMPTY_BODY)

    def _time(self, query: dict[str, str]) -> HttpResponse:
        return json_response(binance_encode.server_time_body(self.clock()))

    def _check_listed(self, symbol: Symbol) -> Symbol:
        try:
            self.spot.rules(symbol)
        except InvalidSymbol:
            raise InvalidSymbol(binance.EXCHANGE, -1121, "Invalid symbol.", 400) from None
        return symbol

    def _listed(self, query: dict[str, str]) -> list[Symbol]:
        symbols = read_symbols(query)
        if symbols is None:
            return list(self.spot.symbols)
        return [self._check_listed(symbol) for symbol in symbols]

    def _exchange_info(self, query: dict[str, str]) -> HttpResponse:
        listed = [
            binance_encode.ListedSymbol(symbol, self.spot.rules(symbol))
            for symbol in self._listed(query)
        ]
        body = binance_encode.exchange_info_body(listed, self.clock(), self.rate_limits())
        return json_response(body)

    def _depth(self, query: dict[str, str]) -> HttpResponse:
        symbol = self._check_listed(read_symbol(query))
        limit = _int_param(query, "limit", DEFAULT_DEPTH_LIMIT, 1, None)
        snapshot = self.spot.market.book(symbol, self.spot.leg).snapshot(
            min(limit, MAX_DEPTH_LIMIT)
        )
        return json_response(binance_encode.depth_body(snapshot))

    def _book_ticker(self, query: dict[str, str]) -> HttpResponse:
        symbols = self._listed(query)
        quotes = [self.spot.market.quote(symbol, self.spot.leg) for symbol in symbols]
        return json_response(binance_encode.book_ticker_body(quotes, bool(query.get("symbol"))))

    def _price_ticker(self, query: dict[str, str]) -> HttpResponse:
        prices = [(symbol, self._last_price(symbol)) for symbol in self._listed(query)]
        return json_response(binance_encode.price_ticker_body(prices, bool(query.get("symbol"))))

    def _last_price(self, symbol: Symbol) -> float:
        """The pair's price now: its mid, on the tick grid (the crowd trades at it)."""
        decimals = step_decimals(self.spot.rules(symbol).price_tick)
        return round(self.spot.market.spot_mid(symbol), decimals)

    # ------------------------------------------------------------ signed REST

    async def _new_order(self, request: HttpRequest) -> HttpResponse:
        params = self._verified(request)
        order = read_new_order(params)
        if order.tif not in (None, TimeInForce.GTC, TimeInForce.IOC):
            raise InvalidParameter(
                binance.EXCHANGE,
                UNSUPPORTED_COMBINATION_CODE,
                "Unsupported order combination.",
                400,
            )
        qty = order.qty
        by_quote = (
            qty is None
            and order.quote_qty is not None
            and order.type is OrderType.MARKET
            and order.side is Side.BUY
        )
        if qty is None and not by_quote:
            raise missing_parameter("quantity")

        def place() -> HttpResponse:
            now = self.now()
            if by_quote:
                assert order.quote_qty is not None
                placed = self.spot.buy_for_quote(
                    order.symbol, order.quote_qty, client_id=order.client_id, now=now
                )
                self._quote_qtys[placed.venue_order_id] = order.quote_qty
            else:
                assert qty is not None
                placed = self.spot.place_order(
                    order.symbol,
                    order.side,
                    order.type,
                    qty,
                    price=order.price if order.type is OrderType.LIMIT else None,
                    tif=order.tif,
                    client_id=order.client_id,
                    now=now,
                )
            facts = self._order_facts(placed)
            fills = [
                account_trade(fill, fill.client_id or "")
                for fill in self.spot.ledger.fills(order.symbol)
                if fill.venue_order_id == placed.venue_order_id
            ]
            return json_response(binance_encode.new_order_body(facts, order.response_type, fills))

        cid = order.client_id
        placement = None if cid is None else Placement(cid, cid, order.side, order.symbol)
        return await self._place(place, placement)

    def _order_facts(self, order: VenueOrder) -> OrderFacts:
        return _facts(order, self._quote_qtys.get(order.venue_order_id, 0.0))

    def _find(self, params: dict[str, str], unknown_code: int, unknown_message: str) -> VenueOrder:
        """The order a query or cancel names, checked as Binance checks it: by
        ``orderId`` first, and then its client id must be ``origClientOrderId`` if that
        was sent too."""
        reference = read_order_reference(params)
        self._check_listed(reference.symbol)
        try:
            if reference.venue_order_id is not None:
                order = self.spot.order(
                    venue_order_id=reference.venue_order_id,
                    symbol=reference.symbol,
                    now=self.now(),
                )
                if reference.client_id not in (None, order.client_id):
                    raise UnknownOrder(self.name, None, "client order id does not match")
                return order
            return self.spot.order(
                client_id=reference.client_id, symbol=reference.symbol, now=self.now()
            )
        except UnknownOrder:
            raise UnknownOrder(binance.EXCHANGE, unknown_code, unknown_message, 400) from None

    def _query_order(self, params: dict[str, str]) -> HttpResponse:
        order = self._find(params, -2013, "Order does not exist.")
        return json_response(binance_encode.order_body(self._order_facts(order)))

    def _cancel_order(self, params: dict[str, str]) -> HttpResponse:
        found = self._find(params, -2011, "Unknown order sent.")
        cancel_id = params.get("newClientOrderId") or secrets.token_urlsafe(16)
        self._cancel_ids[found.venue_order_id] = cancel_id
        try:
            order = self.spot.cancel_order(venue_order_id=found.venue_order_id, now=self.now())
        except VenueError as error:  # ended meanwhile, or hidden by the lookup lag
            raise UnknownOrder(binance.EXCHANGE, -2011, "Unknown order sent.", 400) from error
        finally:
            self._cancel_ids.pop(found.venue_order_id, None)
        body = binance_encode.cancel_body(self._order_facts(order), cancel_id, self.now())
        return json_response(body)

    def _open_orders(self, params: dict[str, str]) -> HttpResponse:
        symbol = self._check_listed(read_symbol(params)) if params.get("symbol") else None
        orders = self.spot.open_orders(symbol)
        return json_response(binance_encode.orders_body([self._order_facts(o) for o in orders]))

    def _all_orders(self, params: dict[str, str]) -> HttpResponse:
        """Orders from ``orderId`` on (oldest first), or within ``startTime..endTime``
        (at most 24 hours apart), or else the most recent ones; at most ``limit``."""
        symbol = self._check_listed(read_symbol(params))
        limit = _int_param(params, "limit", DEFAULT_ALL_ORDERS_LIMIT, 1, MAX_ALL_ORDERS_LIMIT)
        orders = self.spot.orders(symbol)
        if params.get("orderId"):
            first = _int_param(params, "orderId", 0, 0, None)
            orders = [o for o in orders if int(o.venue_order_id) >= first][:limit]
        elif params.get("startTime") or params.get("endTime"):
            start_s, end_s = _time_range(params)
            orders = [o for o in orders if start_s <= o.created_ts <= end_s][:limit]
        else:
            orders = orders[-limit:]
        return json_response(binance_encode.orders_body([self._order_facts(o) for o in orders]))

    def _account(self, params: dict[str, str]) -> HttpResponse:
        balances = self.spot.balances()
        if params.get("omitZeroBalances") == "true":
            balances = [b for b in balances if b.free or b.locked]
        body = binance_encode.account_body(
            balances, self.spot.maker_fee, self.spot.taker_fee, self.now()
        )
        return json_response(body)

    def _my_trades(self, params: dict[str, str]) -> HttpResponse:
        symbol = self._check_listed(read_symbol(params))
        limit = _int_param(params, "limit", DEFAULT_TRADES_LIMIT, 1, MAX_TRADES_LIMIT)
        fills = self.spot.ledger.fills(symbol)
        if params.get("orderId"):
            fills = [fill for fill in fills if fill.venue_order_id == params["orderId"]]
        if params.get("fromId"):
            first = _int_param(params, "fromId", 0, 0, None)
            fills = [fill for fill in fills if int(fill.trade_id) >= first][:limit]
        elif params.get("startTime") or params.get("endTime"):
            start_s, end_s = _time_range(params)
            fills = [fill for fill in fills if start_s <= fill.ts <= end_s][:limit]
        else:
            fills = fills[-limit:]
        trades = [account_trade(fill, fill.client_id or "") for fill in fills]
        return json_response(binance_encode.my_trades_body(trades))

    # ------------------------------------------------------------- websockets

    async def _session(self, client: WsClient) -> None:
        path = urlsplit(client.target).path
        if path == binance_ws_api.WS_API_PATH:
            await self._api_session(client)
            return
        if path == "/ws" or path.startswith("/ws/"):
            connection = _Connection(client, combined=False)
            named = path.removeprefix("/ws").split("/")
        elif path == "/stream":
            connection = _Connection(client, combined=True)
            named = client.query.get("streams", "").split("/")
        else:
            client.drop(f"no websocket at {path}")
            return
        self._follow(connection, [name for name in named if self._serves(name)])
        try:
            async for frame in client.messages():
                message = decode_client_message(frame)
                if isinstance(message, MalformedMessage):
                    client.send(
                        binance_encode.error_answer(
                            INVALID_REQUEST_CODE, f"Invalid request: {message.reason}"
                        )
                    )
                else:
                    client.send(self._request(connection, message))
        finally:
            for stream in connection.streams:
                self._followers[stream].discard(connection)

    def _serves(self, stream: str) -> bool:
        return stream in self._public_streams

    def _follow(self, connection: _Connection, streams: Sequence[str]) -> None:
        for stream in streams:
            connection.streams.add(stream)
            self._followers[stream].add(connection)

    def _request(self, connection: _Connection, request: ClientRequest) -> str:
        method, params, request_id = request.method, request.params, request.request_id
        if method == "LIST_SUBSCRIPTIONS":
            return binance_encode.result_answer(request_id, sorted(connection.streams))
        if method in ("SET_PROPERTY", "GET_PROPERTY"):
            return self._property(connection, request)
        names = [name for name in params if isinstance(name, str)]
        if len(names) != len(params):
            return binance_encode.error_answer(
                INVALID_REQUEST_CODE, "Invalid request: stream names must be strings", request_id
            )
        if method == "UNSUBSCRIBE":
            for name in names:
                connection.streams.discard(name)
                self._followers.get(name, set()).discard(connection)
            return binance_encode.result_answer(request_id)
        unknown = [name for name in names if not self._serves(name)]
        if unknown:
            return binance_encode.error_answer(
                INVALID_REQUEST_CODE, f"Invalid request: unknown stream {unknown[0]!r}", request_id
            )
        self._follow(connection, names)
        return binance_encode.result_answer(request_id)

    @staticmethod
    def _property(connection: _Connection, request: ClientRequest) -> str:
        params, request_id = request.params, request.request_id
        if not params or params[0] != "combined":
            return binance_encode.error_answer(0, "Unknown property", request_id)
        if request.method == "GET_PROPERTY":
            return binance_encode.result_answer(request_id, connection.combined)
        if len(params) != 2 or not isinstance(params[1], bool):
            return binance_encode.error_answer(1, "Invalid value type: expected Boolean")
        connection.combined = params[1]
        return binance_encode.result_answer(request_id)

    def _send(self, stream: str, event: dict) -> None:
        followers = self._followers.get(stream)
        if followers:
            frames = _Frames(event)
            for connection in list(followers):
                connection.send(stream, frames)

    def _push_market(self, book: SimBook, quote: Quote, diff: DepthDiff | None, now: float) -> None:
        streams, followers = self._market_streams[quote.symbol], self._followers
        if followers.get(streams.book_ticker):
            self._send(streams.book_ticker, binance_encode.book_ticker_event(quote, book.version))
        if diff is not None and any(followers.get(s) for s in streams.depth):
            event = binance_encode.depth_update_event(diff, now)
            for stream in streams.depth:
                self._send(stream, event)
        snapshot = None
        for levels, stream in streams.partial:
            if followers.get(stream):
                snapshot = snapshot or book.snapshot()
                self._send(stream, binance_encode.partial_depth_event(snapshot, levels))

    # ---------------------------------------------------------- WebSocket API

    async def _api_session(self, client: WsClient) -> None:
        session = _ApiSession(client)
        if self._take_weight(CONNECT_WEIGHT) is not None:
            self.rate_limiter.refused += 1
            client.drop("too much request weight used")
            return
        try:
            async for frame in client.messages():
                client.send(self._api_answer(session, frame))
        finally:
            self._subscribed.discard(session)

    def _api_answer(self, session: _ApiSession, frame: str | bytes) -> str:
        request = decode_api_request(frame)
        if isinstance(request, MalformedMessage):
            return self._api_refusal(None, invalid_json())
        method = self._api_methods.get(request.method)
        try:
            if method is None:
                raise InvalidParameter(
                    binance.EXCHANGE,
                    UNSUPPORTED_OPERATION_CODE,
                    "This operation is not supported.",
                    400,
                )
            handler, weight = method
            refusal = self._take_weight(weight)
            if refusal is not None:
                self.rate_limiter.refused += 1
                raise refusal
            result = handler(session, request)
        except VenueError as error:
            return self._api_refusal(request.request_id, error)
        return binance_encode.api_result(request.request_id, result, self._api_rate_limits())

    def _api_refusal(self, request_id: int | str | None, error: VenueError) -> str:
        return binance_encode.api_error(request_id, error, self._api_rate_limits(), self.clock())

    def _api_rate_limits(self) -> list[dict]:
        limit = self.limits.weight_per_minute
        return [
            binance_encode.api_rate_limit("REQUEST_WEIGHT", "MINUTE", 1, limit, self._used_weight())
        ]

    def _api_ping(self, session: _ApiSession, request: ApiRequest) -> dict:
        return {}

    def _api_time(self, session: _ApiSession, request: ApiRequest) -> dict:
        return {"serverTime": round(self.clock() * 1000.0)}

    def _subscribe(self, session: _ApiSession, request: ApiRequest) -> dict:
        verify_signed_params(request.params, self.credentials, round(self.clock() * 1000.0))
        if session.subscription is not None:
            raise InvalidParameter(
                binance.EXCHANGE,
                SUBSCRIPTION_ACTIVE_CODE,
                "User Data Stream subscription already active.",
                400,
            )
        session.subscription = session.next_subscription
        session.next_subscription += 1
        self._subscribed.add(session)
        return {"subscriptionId": session.subscription}

    def _unsubscribe(self, session: _ApiSession, request: ApiRequest) -> dict:
        """End the connection's subscription (the one named, if one is): its last event
        says so."""
        named = request.params.get("subscriptionId")
        if session.subscription is not None and named in (None, session.subscription):
            session.send(binance_encode.event_stream_terminated_event(self.now()))
            session.subscription = None
            self._subscribed.discard(session)
        return {}

    def _subscriptions(self, session: _ApiSession, request: ApiRequest) -> list[dict]:
        if session.subscription is None:
            return []
        return [{"subscriptionId": session.subscription}]

    # ------------------------------------------------------------ user data

    def _push_user_data(self, event: dict) -> None:
        for session in list(self._subscribed):
            session.send(event)

    def _on_event(self, event: VenueEvent) -> None:
        if isinstance(event, TradeExecuted):
            self._fills[event.fill.venue_order_id].append(event.fill)
        elif isinstance(event, OrderUpdated):
            order = event.order
            fills = self._fills.pop(order.venue_order_id, [])
            if self._subscribed:
                for report in self._reports(order, fills):
                    self._push_user_data(report)
            if order.status.is_final:
                self._reported.discard(order.venue_order_id)
            else:
                self._reported.add(order.venue_order_id)
        elif isinstance(event, BalanceChanged) and self._subscribed:
            self._push_user_data(binance_encode.account_position_event([event.balance], event.ts))

    def _reports(self, order: VenueOrder, fills: list[VenueFill]) -> list[dict]:
        """The execution reports of ``order``'s new state: its acceptance first if not
        told yet, one ``TRADE`` report per fill (each with the order's state after it),
        and its end if it ended other than filled."""
        now = self.now()
        facts = self._order_facts(order)
        final = facts.update
        reports = []
        if order.venue_order_id not in self._reported:
            accepted = msgspec.structs.replace(
                final, status=OrderStatus.NEW, filled_qty=0.0, avg_price=0.0, ts=order.created_ts
            )
            reports.append(self._report(facts, accepted, now))
        filled = final.filled_qty or 0.0
        quote_filled = filled * (final.avg_price or 0.0)
        after = []
        for fill in reversed(fills):  # the state after each fill, from the last back
            after.append((fill, filled, quote_filled))
            filled -= fill.qty
            quote_filled -= fill.qty * fill.price
        for n, (fill, cumulative, quote_cumulative) in enumerate(reversed(after)):
            last = n == len(after) - 1
            status = (
                final.status
                if last and final.status in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED)
                else OrderStatus.PARTIALLY_FILLED
            )
            state = msgspec.structs.replace(
                final,
                status=status,
                filled_qty=cumulative,
                avg_price=quote_cumulative / cumulative if cumulative else 0.0,
            )
            trade = account_trade(fill, order.client_id or "")
            reports.append(self._report(facts, state, now, trade))
        if final.status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED):
            cancel_id = self._cancel_ids.get(order.venue_order_id)
            reports.append(self._report(facts, final, now, cancel_client_id=cancel_id))
        return reports

    @staticmethod
    def _report(
        facts: OrderFacts,
        state: OrderUpdate,
        now: float,
        trade: Trade | None = None,
        cancel_client_id: str | None = None,
    ) -> dict:
        return binance_encode.execution_report(
            state,
            facts.order_type,
            facts.time_in_force,
            facts.created_ts,
            now,
            trade,
            cancel_client_id,
        )


@attrs.frozen
class _MarketStreams:
    """The public streams a symbol's market pushes go to, named once: every tick looks
    them up."""

    book_ticker: str
    depth: tuple[str, ...]
    partial: tuple[tuple[int, str], ...]

    @classmethod
    def of(cls, symbol: Symbol) -> _MarketStreams:
        return cls(
            binance.book_ticker_stream(symbol),
            tuple(binance.depth_stream(symbol, speed) for speed in _DEPTH_SPEEDS),
            tuple(
                (levels, binance.partial_depth_stream(symbol, levels, speed))
                for levels in _PARTIAL_LEVELS
                for speed in _DEPTH_SPEEDS
            ),
        )

    def all(self) -> tuple[str, ...]:
        return (self.book_ticker, *self.depth, *(stream for _, stream in self.partial))


def _rest_request(request: HttpRequest) -> RestRequest:
    return RestRequest(
        request.method,
        request.path,
        request.query_string,
        request.body,
        tuple(request.headers.items()),
    )


def _int_param(
    params: dict[str, str], name: str, default: int, minimum: int, maximum: int | None
) -> int:
    text = params.get(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        raise InvalidParameter(
            binance.EXCHANGE, -1130, f"Data sent for parameter '{name}' is not valid.", 400
        )
    return value


def _time_range(params: dict[str, str]) -> tuple[float, float]:
    """``startTime`` and ``endTime`` (ms) as Unix seconds, open-ended when left out."""
    start_s = _int_param(params, "startTime", 0, 0, None) / 1000.0 if "startTime" in params else 0.0
    end_s = _int_param(params, "endTime", 0, 0, None) / 1000.0 if "endTime" in params else math.inf
    return start_s, end_s
