"""The simulated MEXC spot venue on the wire: REST under ``/api/v3`` and websockets at
``/ws``, in MEXC's formats (``protocols.mexc_encode``), in front of the ``SpotExchange``.

REST: ping, server time, symbol rules (one pair, several or all), the pairs open to API
trading, tickers (24 h, last price, best bid/ask; one pair or all), depth, candles
(klines), recent trades (plain and aggregated), the average price, orders (place, query,
cancel, open orders, all orders), balances, own trades, fee rates and listen keys.
Signed endpoints are verified as MEXC does (key, signature over query + body,
``recvWindow``); a bad one gets MEXC's error.
Parameters may come in the query or in a form-encoded body. Refusals carry MEXC's codes;
a cancel of an unknown order says ``-2011`` as MEXC's does. A market buy may name what
it spends (``quoteOrderQty``) instead of its quantity.

Websockets: SUBSCRIPTION / UNSUBSCRIPTION are acknowledged by echoing the channels and the
request's ``id``, and refused in MEXC's words for a channel the venue does not serve (or
a private one without a valid listen key, or past 30 subscriptions); PING (or ``ping``)
is answered with PONG. Book tickers,
diff depth and partial depth are pushed as protobuf on every market tick (``@10ms``
channels too, at the tick's pace); a connection opened with ``?listenKey=KEY`` may
follow the private orders, deals and account channels. A listen key lives
``listen_key_ttl_s`` unless extended; when it expires or is closed, its connections are
dropped. Every connection is closed 24 hours after it opened, as MEXC documents.

Simplifications: ``LIMIT_MAKER`` and ``FILL_OR_KILL`` are refused as parameter errors
(the engine takes GTC and IOC); the 24 h ticker counts from the venue's start, and its
volume is the account's own trades (the synthetic crowd does not trade); the
idle-connection closes MEXC does (30 s without a subscription, 1 min without data) are
not simulated.
"""

from __future__ import annotations

import math
import secrets
from collections import defaultdict
from collections.abc import Callable, Sequence

import attrs
import msgspec

from actors.http_server import HttpRequest, HttpResponse
from actors.sim.aimed_faults import AimedFaults
from actors.sim.book import SimBook
from actors.sim.candles import (
    CALENDAR_MONTH,
    MINUTE_S,
    WEEK_FROM_MONDAY,
    Interval,
    every,
    public_trades,
)
from actors.sim.config import MexcRateLimits, RateLimit, ServerConfig, SpotVenueConfig
from actors.sim.events import BalanceChanged, OrderUpdated, TradeExecuted, VenueEvent
from actors.sim.records import VenueOrder
from actors.sim.spot_exchange import MX, SpotExchange
from actors.sim.venue_server import (
    Placement,
    Route,
    VenueServer,
    http_response,
    json_response,
)
from actors.sim.wire_records import account_trade, order_update
from actors.sim.ws_server import LONGEST_CONNECTION_S, WsClient, send_to_each
from protocols import mexc, mexc_encode
from protocols.mexc_client_requests import (
    INVALID_SYMBOL_CODE,
    PARAMETER_ERROR_CODE,
    ClientPing,
    ClientSubscription,
    decode_client_message,
    missing_parameter,
    read_new_order,
    read_order_reference,
    read_symbol,
    read_symbols,
    verify_signed_request,
)
from protocols.mexc_rest import API_PREFIX, order_type_name
from protocols.model import OrderType, Quote, Side, Symbol
from protocols.rules import step_decimals
from protocols.venue import (
    ApiCredentials,
    DepthDiff,
    InvalidParameter,
    InvalidSymbol,
    MalformedMessage,
    OrderUpdate,
    PublicTrade,
    RestRequest,
    UnknownOrder,
    VenueError,
)

MX_USDT = Symbol(MX, "USDT")

UNKNOWN_ORDER_ON_CANCEL = -2011
MAX_DEPTH_LIMIT = 5000
DEFAULT_DEPTH_LIMIT = 100
MAX_TRADES_LIMIT = 100
DEFAULT_ALL_ORDERS_LIMIT = 500
MAX_ALL_ORDERS_LIMIT = 1000
ALL_ORDERS_DEFAULT_WINDOW_S = 24 * 3600.0
ALL_ORDERS_MAX_AGE_S = 7 * 24 * 3600.0
DAY_S = 24 * 3600.0
REFUSAL_REASON = "Blocked!"
_PRIVATE_CHANNELS = (
    mexc.PRIVATE_ORDERS_CHANNEL,
    mexc.PRIVATE_DEALS_CHANNEL,
    mexc.PRIVATE_ACCOUNT_CHANNEL,
)
_INTERVALS = ("100ms", "10ms")
DEFAULT_MARKET_LIMIT = 500
MAX_MARKET_LIMIT = 1000
AVERAGE_PRICE_MINUTES = 5
KLINE_INTERVALS: dict[str, Interval] = {
    "1m": every(MINUTE_S),
    "5m": every(5 * MINUTE_S),
    "15m": every(15 * MINUTE_S),
    "30m": every(30 * MINUTE_S),
    "60m": every(60 * MINUTE_S),
    "4h": every(240 * MINUTE_S),
    "1d": every(DAY_S),
    "1W": WEEK_FROM_MONDAY,
    "1M": CALENDAR_MONTH,
}
"""MEXC's kline intervals, by their names on the wire."""
_LIMIT_DEPTH_LEVELS = (5, 10, 20)

SignedHandler = Callable[[dict[str, str]], HttpResponse]


def _type_name(order: VenueOrder) -> str:
    return order_type_name(order.type, order.tif)


def _update(order: VenueOrder) -> OrderUpdate:
    return order_update(order, order.client_id or "")


class MexcServer(VenueServer):
    """MEXC spot on the wire, for ``exchange``; ``config`` gives the credentials."""

    websocket_path = "/ws"

    def __init__(
        self,
        exchange: SpotExchange,
        config: SpotVenueConfig,
        servers: ServerConfig,
        now: Callable[[], float],
        aimed: AimedFaults | None = None,
    ) -> None:
        self.spot = exchange
        self.credentials = ApiCredentials(config.api_key, config.api_secret)
        self._listen_key_ttl_s = servers.listen_key_ttl_s
        self._limits: MexcRateLimits = servers.mexc_limits
        self._listen_keys: dict[str, float] = {}
        """Each open listen key and the Unix time it expires."""
        self._private_clients: defaultdict[str, set[WsClient]] = defaultdict(set)
        self._channel_clients: defaultdict[str, set[WsClient]] = defaultdict(set)
        self._quote_qtys: dict[str, float] = {}
        """What each market buy by ``quoteOrderQty`` asked to spend, by venue order id."""
        self._started_ts = now()
        self._day_ranges: dict[Symbol, _PriceRange] = {}
        """Each pair's first, highest and lowest price since the venue started."""
        super().__init__(exchange, servers, now, aimed)
        self.websockets.max_lifetime_s = LONGEST_CONNECTION_S
        self._routes = self._route_table()
        self._served_public_channels = self._public_channels()
        self._push_channels = {symbol: _PushChannels.of(symbol) for symbol in self.spot.symbols}
        self._served_channels = self._served_public_channels | set(_PRIVATE_CHANNELS)

    # ---------------------------------------------------------------- routing

    def _route_table(self) -> dict[tuple[str, str], Route]:
        public: dict[tuple[str, str], Callable[[dict[str, str]], HttpResponse]] = {
            ("GET", "ping"): self._ping,
            ("GET", "time"): self._time,
            ("GET", "exchangeInfo"): self._exchange_info,
            ("GET", "ticker/24hr"): self._day_ticker,
            ("GET", "ticker/price"): self._price_ticker,
            ("GET", "ticker/bookTicker"): self._book_ticker,
            ("GET", "depth"): self._depth,
            ("GET", "klines"): self._klines,
            ("GET", "trades"): self._trades,
            ("GET", "aggTrades"): self._agg_trades,
            ("GET", "avgPrice"): self._avg_price,
            ("GET", "defaultSymbols"): self._default_symbols,
        }
        signed: dict[tuple[str, str], SignedHandler] = {
            ("GET", "order"): self._query_order,
            ("DELETE", "order"): self._cancel_order,
            ("GET", "openOrders"): self._open_orders,
            ("GET", "allOrders"): self._all_orders,
            ("GET", "account"): self._account,
            ("GET", "myTrades"): self._my_trades,
            ("GET", "tradeFee"): self._trade_fee,
            ("POST", "userDataStream"): self._create_listen_key,
            ("PUT", "userDataStream"): self._extend_listen_key,
            ("DELETE", "userDataStream"): self._close_listen_key,
        }
        routes: dict[tuple[str, str], Route] = {}
        for (method, endpoint), handler in public.items():
            routes[method, f"{API_PREFIX}/{endpoint}"] = self._public_route(
                method, endpoint, handler
            )
        for (method, endpoint), handler in signed.items():
            routes[method, f"{API_PREFIX}/{endpoint}"] = self._signed_route(
                method, endpoint, handler
            )
        routes["POST", f"{API_PREFIX}/order"] = Route(
            self._new_order, self._endpoint_limits("POST", "order")
        )
        return routes

    def _endpoint_limits(self, method: str, endpoint: str) -> tuple[tuple[str, RateLimit], ...]:
        endpoint_limit = (f"{method} {endpoint}", self._limits.per_endpoint)
        if endpoint == "order" and method in ("POST", "DELETE"):
            return (endpoint_limit, ("orders", self._limits.orders))
        return (endpoint_limit,)

    def _public_route(
        self, method: str, endpoint: str, handler: Callable[[dict[str, str]], HttpResponse]
    ) -> Route:
        async def answer(request: HttpRequest) -> HttpResponse:
            return handler(request.query)

        return Route(answer, self._endpoint_limits(method, endpoint))

    def _signed_route(self, method: str, endpoint: str, handler: SignedHandler) -> Route:
        async def answer(request: HttpRequest) -> HttpResponse:
            return handler(self._verified(request))

        return Route(answer, self._endpoint_limits(method, endpoint))

    def _route(self, request: HttpRequest) -> Route | None:
        return self._routes.get((request.method, request.path))

    def _verified(self, request: HttpRequest) -> dict[str, str]:
        rest = RestRequest(
            request.method,
            request.path,
            request.query_string,
            request.body,
            tuple(request.headers.items()),
        )
        return verify_signed_request(rest, self.credentials, round(self.clock() * 1000.0))

    def _not_found(self, request: HttpRequest) -> HttpResponse:
        body = msgspec.json.encode({"code": 404, "msg": f"no endpoint {request.path}"})
        return HttpResponse(404, body)

    def _error(self, error: VenueError) -> HttpResponse:
        return http_response(mexc_encode.error_response(error))

    # ------------------------------------------------------------ public REST

    def _ping(self, query: dict[str, str]) -> HttpResponse:
        return json_response(mexc_encode.PING_BODY)

    def _time(self, query: dict[str, str]) -> HttpResponse:
        return json_response(mexc_encode.server_time_body(self.clock()))

    def _listed(self, query: dict[str, str]) -> list[Symbol]:
        """The pairs a market data request names (``symbol`` or ``symbols``), each
        listed here (``InvalidSymbol`` otherwise); every pair when it names none."""
        symbols = read_symbols(query)
        if symbols is None:
            return list(self.spot.symbols)
        for symbol in symbols:
            self._check_listed(symbol)
        return symbols

    def _check_listed(self, symbol: Symbol) -> None:
        try:
            self.spot.rules(symbol)
        except InvalidSymbol as error:
            raise InvalidSymbol(mexc.EXCHANGE, INVALID_SYMBOL_CODE, error.message, 400) from None

    def _exchange_info(self, query: dict[str, str]) -> HttpResponse:
        listed = [
            mexc_encode.ListedSymbol(
                symbol, self.spot.rules(symbol), self.spot.maker_fee, self.spot.taker_fee
            )
            for symbol in self._listed(query)
        ]
        return json_response(mexc_encode.exchange_info_body(listed, self.now()))

    def _one_or_all(self, query: dict[str, str]) -> tuple[list[Symbol], bool]:
        """The pairs a ticker request is about, and whether it named one (answered with
        an object) rather than none (an array of every pair)."""
        if query.get("symbol"):
            symbol = read_symbol(query)
            self._check_listed(symbol)
            return [symbol], True
        return list(self.spot.symbols), False

    def _book_ticker(self, query: dict[str, str]) -> HttpResponse:
        symbols, one = self._one_or_all(query)
        quotes = [self.spot.market.quote(symbol, self.spot.leg) for symbol in symbols]
        if one:
            return json_response(mexc_encode.book_ticker_body(quotes[0]))
        return json_response(mexc_encode.book_tickers_body(quotes))

    def _price_ticker(self, query: dict[str, str]) -> HttpResponse:
        # MX/USDT is listed on MEXC though not simulated: fees paid in MX are valued at it.
        if query.get("symbol") and read_symbol(query) == MX_USDT:
            return json_response(mexc_encode.price_ticker_body(MX_USDT, self.spot.mx_price_usdt()))
        symbols, one = self._one_or_all(query)
        prices = [(symbol, self._last_price(symbol)) for symbol in symbols]
        if one:
            return json_response(mexc_encode.price_ticker_body(*prices[0]))
        return json_response(mexc_encode.price_tickers_body(prices))

    def _day_ticker(self, query: dict[str, str]) -> HttpResponse:
        symbols, one = self._one_or_all(query)
        stats = [self._day_stats(symbol) for symbol in symbols]
        if one:
            return json_response(mexc_encode.day_ticker_body(stats[0]))
        return json_response(mexc_encode.day_tickers_body(stats))

    def _last_price(self, symbol: Symbol) -> float:
        """The pair's price now: its mid, on the tick grid (the crowd trades at it)."""
        decimals = step_decimals(self.spot.rules(symbol).price_tick)
        return round(self.spot.market.spot_mid(symbol), decimals)

    def _day_stats(self, symbol: Symbol) -> mexc_encode.DayStats:
        now = self.now()
        last = self._last_price(symbol)
        prices = self._day_range(symbol, last)
        fills = [fill for fill in self.spot.ledger.fills(symbol) if fill.ts > now - DAY_S]
        return mexc_encode.DayStats(
            self.spot.market.quote(symbol, self.spot.leg),
            open_price=prices.first,
            last_price=last,
            high_price=prices.high,
            low_price=prices.low,
            volume=math.fsum(fill.qty for fill in fills),
            quote_volume=math.fsum(fill.qty * fill.price for fill in fills),
            open_ts=max(self._started_ts, now - DAY_S),
            close_ts=now,
        )

    def _day_range(self, symbol: Symbol, price: float) -> _PriceRange:
        prices = self._day_ranges.get(symbol)
        if prices is None:
            prices = self._day_ranges[symbol] = _PriceRange(price, price, price)
        prices.include(price)
        return prices

    def _depth(self, query: dict[str, str]) -> HttpResponse:
        symbol = read_symbol(query)
        self.spot.rules(symbol)
        limit = _int_param(query, "limit", DEFAULT_DEPTH_LIMIT, 1, MAX_DEPTH_LIMIT)
        snapshot = self.spot.market.book(symbol, self.spot.leg).snapshot(limit)
        return json_response(mexc_encode.depth_body(snapshot))

    def _klines(self, query: dict[str, str]) -> HttpResponse:
        """Candles of ``interval`` starting within ``startTime..endTime`` (ms), the first
        ``limit`` of them; without ``startTime``, the newest ``limit``."""
        symbol = self._listed_symbol(query)
        name = query.get("interval", "")
        interval = KLINE_INTERVALS.get(name)
        if interval is None:
            raise InvalidParameter(
                mexc.EXCHANGE,
                PARAMETER_ERROR_CODE,
                f"interval {name!r} is not one of {', '.join(KLINE_INTERVALS)}",
                400,
            )
        limit = _int_param(query, "limit", DEFAULT_MARKET_LIMIT, 1, MAX_MARKET_LIMIT)
        start_s, end_s = _time_range(query, -math.inf, math.inf)
        candles = self.candles.candles(symbol, interval, start_s, end_s)
        candles = candles[:limit] if "startTime" in query else candles[-limit:]
        body = mexc_encode.klines_body(
            [(c.figures(), interval.next_start(c.open_ts)) for c in candles]
        )
        return json_response(body)

    def _public_trades(self, query: dict[str, str]) -> list[PublicTrade]:
        symbol = self._listed_symbol(query)
        rules = self.spot.rules(symbol)
        minutes = self.candles.minutes(symbol)
        fills = self.spot.ledger.fills(symbol)
        return public_trades(
            minutes, fills, rules.min_qty or rules.qty_step, len(minutes) + len(fills)
        )

    def _trades(self, query: dict[str, str]) -> HttpResponse:
        """The market's most recent ``limit`` trades (see docs/venues.md: the crowd's
        prints are one a minute)."""
        limit = _int_param(query, "limit", DEFAULT_MARKET_LIMIT, 1, MAX_MARKET_LIMIT)
        return json_response(mexc_encode.public_trades_body(self._public_trades(query)[-limit:]))

    def _agg_trades(self, query: dict[str, str]) -> HttpResponse:
        """The market's trades within ``startTime..endTime`` (ms, given together), the
        first ``limit``; without them, the most recent ``limit``."""
        limit = _int_param(query, "limit", DEFAULT_MARKET_LIMIT, 1, MAX_MARKET_LIMIT)
        trades = self._public_trades(query)
        if ("startTime" in query) != ("endTime" in query):
            raise InvalidParameter(
                mexc.EXCHANGE,
                PARAMETER_ERROR_CODE,
                "startTime and endTime go together: give both or neither",
                400,
            )
        if "startTime" in query:
            start_s, end_s = _time_range(query, -math.inf, math.inf)
            trades = [t for t in trades if start_s <= t.ts <= end_s][:limit]
        else:
            trades = trades[-limit:]
        return json_response(mexc_encode.agg_trades_body(trades))

    def _avg_price(self, query: dict[str, str]) -> HttpResponse:
        """The mean of the pair's last price over its last minutes, one price a minute."""
        symbol = self._listed_symbol(query)
        since = self.now() - AVERAGE_PRICE_MINUTES * MINUTE_S
        closes = [c.shown for c in self.candles.minutes(symbol) if c.shown_ts >= since]
        price = math.fsum(closes) / len(closes) if closes else self._last_price(symbol)
        decimals = step_decimals(self.spot.rules(symbol).price_tick)
        body = mexc_encode.avg_price_body(AVERAGE_PRICE_MINUTES, round(price, decimals))
        return json_response(body)

    def _default_symbols(self, query: dict[str, str]) -> HttpResponse:
        return json_response(mexc_encode.default_symbols_body(list(self.spot.symbols)))

    def _listed_symbol(self, query: dict[str, str]) -> Symbol:
        symbol = read_symbol(query)
        self._check_listed(symbol)
        return symbol

    # ------------------------------------------------------------ signed REST

    async def _new_order(self, request: HttpRequest) -> HttpResponse:
        params = self._verified(request)
        order = read_new_order(params)
        qty = order.qty
        # A market buy may name what it spends instead; everything else needs a quantity.
        by_quote = (
            qty is None
            and order.quote_qty is not None
            and order.type is OrderType.MARKET
            and order.side is Side.BUY
        )
        if qty is None and not by_quote:
            raise missing_parameter("quantity")

        def place() -> HttpResponse:
            if by_quote:
                assert order.quote_qty is not None
                placed = self.spot.buy_for_quote(
                    order.symbol, order.quote_qty, client_id=order.client_id, now=self.now()
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
                    now=self.now(),
                )
            return json_response(mexc_encode.new_order_body(_update(placed), order.type_name))

        cid = order.client_id
        placement = None if cid is None else Placement(cid, cid, order.side, order.symbol)
        return await self._place(place, placement)

    def _query_order(self, params: dict[str, str]) -> HttpResponse:
        reference = read_order_reference(params, symbol_required=False)
        order = self.spot.order(
            venue_order_id=reference.venue_order_id,
            client_id=reference.client_id,
            symbol=reference.symbol,
            now=self.now(),
        )
        return json_response(self._order_body(order))

    def _cancel_order(self, params: dict[str, str]) -> HttpResponse:
        reference = read_order_reference(params)
        try:
            order = self.spot.cancel_order(
                venue_order_id=reference.venue_order_id,
                client_id=reference.client_id,
                symbol=reference.symbol,
                now=self.now(),
            )
        except UnknownOrder as error:
            raise UnknownOrder(mexc.EXCHANGE, UNKNOWN_ORDER_ON_CANCEL, error.message, 400) from None
        return json_response(mexc_encode.cancel_body(_update(order), _type_name(order)))

    def _open_orders(self, params: dict[str, str]) -> HttpResponse:
        # MEXC's parameter table marks the symbol required, yet the venue answers a
        # request without one with every pair's open orders, and clients rely on it.
        symbol = read_symbol(params) if "symbol" in params else None
        orders = self.spot.open_orders(symbol)
        return json_response(self._orders_body(orders))

    def _all_orders(self, params: dict[str, str]) -> HttpResponse:
        """Orders created within ``startTime..endTime`` (the last 24 h by default, the
        last 7 days at most), oldest first, at most ``limit``."""
        symbol = read_symbol(params)
        now = self.now()
        start_s, end_s = _time_range(params, now - ALL_ORDERS_DEFAULT_WINDOW_S, now)
        start_s = max(start_s, now - ALL_ORDERS_MAX_AGE_S)
        limit = _int_param(params, "limit", DEFAULT_ALL_ORDERS_LIMIT, 1, MAX_ALL_ORDERS_LIMIT)
        orders = [
            order for order in self.spot.orders(symbol) if start_s <= order.created_ts <= end_s
        ][:limit]
        return json_response(self._orders_body(orders))

    def _account(self, params: dict[str, str]) -> HttpResponse:
        return json_response(mexc_encode.account_body(self.spot.balances()))

    def _my_trades(self, params: dict[str, str]) -> HttpResponse:
        symbol = read_symbol(params)
        self.spot.rules(symbol)
        limit = _int_param(params, "limit", MAX_TRADES_LIMIT, 1, MAX_TRADES_LIMIT)
        fills = self.spot.ledger.fills(symbol)
        order_id = params.get("orderId")
        if order_id:
            fills = [fill for fill in fills if fill.venue_order_id == order_id]
        if "endTime" in params:
            end_s = _int_param(params, "endTime", 0, 0, None) / 1000.0
            fills = [fill for fill in fills if fill.ts <= end_s]
        # From startTime on, oldest first; without it, the most recent ones.
        if "startTime" in params:
            start_s = _int_param(params, "startTime", 0, 0, None) / 1000.0
            fills = [fill for fill in fills if fill.ts >= start_s][:limit]
        else:
            fills = fills[-limit:]
        trades = [account_trade(fill, fill.client_id or "") for fill in fills]
        return json_response(mexc_encode.my_trades_body(trades))

    def _trade_fee(self, params: dict[str, str]) -> HttpResponse:
        self._listed_symbol(params)
        body = mexc_encode.trade_fee_body(self.spot.maker_fee, self.spot.taker_fee, self.now())
        return json_response(body)

    def _order_body(self, order: VenueOrder) -> bytes:
        quote_qty = self._quote_qtys.get(order.venue_order_id, 0.0)
        return mexc_encode.order_body(_update(order), _type_name(order), quote_qty)

    def _orders_body(self, orders: list[VenueOrder]) -> bytes:
        return mexc_encode.open_orders_body(
            [
                (_update(o), _type_name(o), self._quote_qtys.get(o.venue_order_id, 0.0))
                for o in orders
            ]
        )

    def _create_listen_key(self, params: dict[str, str]) -> HttpResponse:
        key = secrets.token_hex(32)
        self._listen_keys[key] = self.now() + self._listen_key_ttl_s
        return json_response(mexc_encode.listen_key_body(key))

    def _extend_listen_key(self, params: dict[str, str]) -> HttpResponse:
        key = self._known_listen_key(params)
        self._listen_keys[key] = self.now() + self._listen_key_ttl_s
        return json_response(mexc_encode.listen_key_body(key))

    def _close_listen_key(self, params: dict[str, str]) -> HttpResponse:
        key = self._known_listen_key(params)
        self._end_listen_key(key, "listen key closed")
        return json_response(mexc_encode.listen_key_body(key))

    def _known_listen_key(self, params: dict[str, str]) -> str:
        key = params.get("listenKey", "")
        if key not in self._listen_keys:
            raise InvalidParameter(
                mexc.EXCHANGE, PARAMETER_ERROR_CODE, f"listenKey {key!r} does not exist", 400
            )
        return key

    def _end_listen_key(self, key: str, why: str) -> None:
        del self._listen_keys[key]
        for client in self._private_clients.pop(key, set()):
            client.drop(why)

    # ------------------------------------------------------------- websockets

    async def _session(self, client: WsClient) -> None:
        listen_key = client.query.get("listenKey")
        if listen_key is not None and listen_key in self._listen_keys:
            self._private_clients[listen_key].add(client)
        else:
            listen_key = None
        subscribed: set[str] = set()
        try:
            async for frame in client.messages():
                message = decode_client_message(frame)
                if isinstance(message, ClientPing):
                    client.send(mexc_encode.pong(message.request_id))
                elif isinstance(message, ClientSubscription):
                    client.send(self._subscription(client, message, subscribed, listen_key))
                elif isinstance(message, MalformedMessage):
                    # MEXC documents no answer to a request it cannot read.
                    continue
        finally:
            for channel in subscribed:
                self._channel_clients[channel].discard(client)
            if listen_key is not None:
                self._private_clients.get(listen_key, set()).discard(client)

    def _subscription(
        self,
        client: WsClient,
        request: ClientSubscription,
        subscribed: set[str],
        listen_key: str | None,
    ) -> str:
        channels, request_id = request.channels, request.request_id
        if not request.subscribe:
            for channel in channels:
                subscribed.discard(channel)
                self._channel_clients.get(channel, set()).discard(client)
            return mexc_encode.subscription_ack(channels, request_id)
        allowed = self._served_channels if listen_key else self._served_public_channels
        total = len(subscribed | set(channels))
        if any(channel not in allowed for channel in channels) or (
            total > mexc.MAX_SUBSCRIPTIONS_PER_CONNECTION
        ):
            return mexc_encode.subscription_refusal(channels, REFUSAL_REASON, request_id)
        for channel in channels:
            subscribed.add(channel)
            self._channel_clients[channel].add(client)
        return mexc_encode.subscription_ack(channels, request_id)

    def _public_channels(self) -> frozenset[str]:
        channels = set()
        for symbol in self.spot.symbols:
            for interval in _INTERVALS:
                channels.add(mexc.book_ticker_channel(symbol, interval))
                channels.add(mexc.depth_channel(symbol, interval))
            for levels in _LIMIT_DEPTH_LEVELS:
                channels.add(mexc.limit_depth_channel(symbol, levels))
        return frozenset(channels)

    def _push_market(self, book: SimBook, quote: Quote, diff: DepthDiff | None, now: float) -> None:
        symbol = quote.symbol
        self._day_range(symbol, self._last_price(symbol))
        channels, following = self._push_channels[symbol], self._channel_clients
        for interval, ticker_channel, depth_channel in channels.by_interval:
            clients = following.get(ticker_channel)
            if clients:
                frame = mexc_encode.book_ticker_push(quote, book.version, now, interval)
                send_to_each(clients, frame)
            clients = following.get(depth_channel)
            if clients and diff is not None:
                send_to_each(clients, mexc_encode.depth_diff_push(diff, now, interval))
        snapshot = None
        for levels, channel in channels.limit_depth:
            clients = following.get(channel)
            if clients:
                snapshot = snapshot or book.snapshot()
                send_to_each(clients, mexc_encode.limit_depth_push(snapshot, levels, now))

    def publish_market(self, now: float, symbols: Sequence[Symbol]) -> None:
        self._expire_listen_keys(now)
        super().publish_market(now, symbols)

    def _expire_listen_keys(self, now: float) -> None:
        for key in [key for key, expires in self._listen_keys.items() if expires <= now]:
            self._end_listen_key(key, "listen key expired")

    def _on_event(self, event: VenueEvent) -> None:
        now = self.now()
        if isinstance(event, OrderUpdated):
            clients = self._channel_clients.get(mexc.PRIVATE_ORDERS_CHANNEL)
            if clients:
                order = event.order
                send_to_each(
                    clients, mexc_encode.order_push(_update(order), _type_name(order), now)
                )
        elif isinstance(event, TradeExecuted):
            clients = self._channel_clients.get(mexc.PRIVATE_DEALS_CHANNEL)
            if clients:
                fill = event.fill
                trade = account_trade(fill, fill.client_id or "")
                send_to_each(clients, mexc_encode.deal_push(trade, now))
        elif isinstance(event, BalanceChanged):
            clients = self._channel_clients.get(mexc.PRIVATE_ACCOUNT_CHANNEL)
            if clients:
                send_to_each(clients, mexc_encode.account_push(event.balance, now))


@attrs.frozen
class _PushChannels:
    """The public channels a symbol's market pushes go to, named once: every tick looks
    them up."""

    by_interval: tuple[tuple[str, str, str], ...]
    """Each interval with its book ticker and depth diff channels."""
    limit_depth: tuple[tuple[int, str], ...]
    """Each partial depth with its channel."""

    @classmethod
    def of(cls, symbol: Symbol) -> _PushChannels:
        return cls(
            tuple(
                (
                    interval,
                    mexc.book_ticker_channel(symbol, interval),
                    mexc.depth_channel(symbol, interval),
                )
                for interval in _INTERVALS
            ),
            tuple(
                (levels, mexc.limit_depth_channel(symbol, levels)) for levels in _LIMIT_DEPTH_LEVELS
            ),
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
        within = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
        raise InvalidParameter(
            mexc.EXCHANGE,
            PARAMETER_ERROR_CODE,
            f"parameter '{name}' {text!r} is not a whole number {within}",
            400,
        )
    return value


def _time_range(params: dict[str, str], start_s: float, end_s: float) -> tuple[float, float]:
    """``startTime`` and ``endTime`` (ms) as Unix seconds, each defaulting as given."""
    if "startTime" in params:
        start_s = _int_param(params, "startTime", 0, 0, None) / 1000.0
    if "endTime" in params:
        end_s = _int_param(params, "endTime", 0, 0, None) / 1000.0
    return start_s, end_s


@attrs.define
class _PriceRange:
    """The first, highest and lowest of the prices seen."""

    first: float
    high: float
    low: float

    def include(self, price: float) -> None:
        self.high = max(self.high, price)
        self.low = min(self.low, price)
