"""The simulated Binance USDⓈ-M perpetual venue on the wire: REST under ``/fapi`` and
websockets at ``/ws``, ``/ws/<stream or listenKey>`` and ``/stream?streams=...``, in
Binance's formats (``protocols.binance_futures_encode``), in front of the
``FuturesExchange``.

The engine counts whole contracts; Binance counts base units. The venue shows each
symbol's contract size as its quantity step (``LOT_SIZE`` ``stepSize``), so every
quantity on the wire is whole contracts, and a quantity that is not is refused as
Binance refuses one off the step (``-1111``).

REST: the server time, exchange info, the order book (with ``lastUpdateId``), premium
index (mark price, funding rate and next settlement; one symbol or all), funding info
(the symbols whose interval is not 8 hours), funding rate history, book tickers, orders
(place with ``newOrderRespType`` ``ACK`` or ``RESULT``, query, cancel and amend by
``orderId`` or ``origClientOrderId``, open orders, all orders), the account's trades,
the account (``/fapi/v2`` and ``/fapi/v3``), position risk (v2, v3), position mode (read
and set), leverage, margin type, commission rate, income history (the funding
settlements as ``FUNDING_FEE``, each under its ledger number) and listen keys (open,
keep alive, close). Signed endpoints are checked as Binance does (API key, signature,
``timestamp`` within ``recvWindow``); listen key endpoints need the API key only.

Rate limits: every request weighs what Binance's documentation says; the IP's weight in
the current minute is in ``X-MBX-USED-WEIGHT-1M`` on every reply, and an order
placement's count in the last 10 s and minute in ``X-MBX-ORDER-COUNT-10S`` / ``-1M``.
Past a limit the venue answers 429 with ``Retry-After`` (the seconds to the window's
end) and code ``-1003``; the injected faults of ``VenueServer`` come on top.

Websockets: ``SUBSCRIBE``, ``UNSUBSCRIBE`` and ``LIST_SUBSCRIPTIONS`` are answered with
the request's ``id``. Book tickers and depth updates (``U``..``u`` with ``pu``, the
``u`` of the update before) are pushed on every market tick that changed the book; the
mark price with the funding rate every second (``@markPrice@1s``) or three. A user data
stream (``/ws/<listenKey>``) carries the account's ``ORDER_TRADE_UPDATE`` (one per
trade, then the order's end), ``ACCOUNT_UPDATE`` (positions after trades, funding fees)
and, once its key expired, ``listenKeyExpired``; a key lives ``listen_key_ttl_s``
unless kept alive. The server pings every client at the protocol level, and closes
every connection at the 24-hour mark, as Binance documents.

Simplified: the margin type is a label (the engine margins every position as isolated);
an amendment may only lower the quantity, at the order's own price; a trade's realized
profit is in ``userTrades`` (``realizedPnl``), and 0 in the order update's ``rp``; the
limit of 500 per 5 minutes that ``fundingInfo`` and ``fundingRate`` share is not kept.
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
from actors.sim.config import FuturesVenueConfig, ServerConfig
from actors.sim.events import (
    FundingApplied,
    OrderUpdated,
    PositionChanged,
    PositionDeleveraged,
    PositionLiquidated,
    TradeExecuted,
    VenueEvent,
)
from actors.sim.futures_exchange import FuturesExchange
from actors.sim.records import FinishReason, PerpetualPosition, VenueFill, VenueOrder
from actors.sim.venue_server import Placement, Route, VenueServer, http_response, json_response
from actors.sim.ws_server import LONGEST_CONNECTION_S, WsClient, send_to_each
from protocols import binance_futures, binance_futures_encode
from protocols._wire import decimal, decimals_of
from protocols.binance_futures import (
    DEFAULT_FUNDING_INTERVAL_S,
    EXCHANGE,
    TIF_NAMES,
    StreamRequest,
    parse_symbol,
    venue_symbol,
)
from protocols.binance_futures_client_requests import (
    decode_client_message,
    params_of,
    read_float,
    read_int,
    read_new_order,
    read_order_reference,
    read_side,
    read_symbol,
    verify_api_key,
    verify_signed_request,
)
from protocols.binance_futures_encode import (
    BracketFigures,
    FillFigures,
    IncomeFigures,
    OrderFigures,
    PositionFigures,
    TradeFigures,
)
from protocols.binance_futures_rest import FUNDING_FEE
from protocols.model import OrderStatus, OrderType, Quote, Side, Symbol
from protocols.rules import round_to_tick, whole_steps
from protocols.venue import (
    ApiCredentials,
    DepthDiff,
    InvalidParameter,
    InvalidPrecision,
    InvalidSymbol,
    OrderAlreadyFinal,
    RateLimited,
    RestRequest,
    UnknownOrder,
    VenueError,
)

API = "/fapi"
STREAM_PATH = "/ws"
"""Where clients connect: the raw streams, and with ``/<listenKey>`` after it the user
data stream (the private codec appends the key to this URL)."""
PING_INTERVAL_S = 180.0
PONG_TIMEOUT_S = 600.0
"""Binance pings every websocket client every 3 minutes and drops one whose pong has not
come within 10."""
MINUTE_S = 60.0
TEN_SECONDS_S = 10.0


@attrs.frozen
class BinanceFuturesLimits:
    """What the venue allows an IP a minute (request weight) and an account in 10 s and
    a minute (orders): Binance's published 2400, 300 and 1200."""

    weight_1m: int = 2400
    orders_10s: int = 300
    orders_1m: int = 1200


@attrs.define
class _Window:
    """A count in a window aligned to the clock (Binance's minute, its 10 seconds)."""

    length_s: float
    start: float = -math.inf
    used: int = 0

    def at(self, now: float) -> int:
        start = now - now % self.length_s
        if start != self.start:
            self.start, self.used = start, 0
        return self.used

    def left_s(self, now: float) -> float:
        return self.length_s - now % self.length_s


def _invalid(message: str, code: int = -1130) -> InvalidParameter:
    return InvalidParameter(EXCHANGE, code, message, 400)


Handler = Callable[[HttpRequest, dict[str, str]], HttpResponse]
_PUBLIC, _SIGNED, _KEYED = "public", "signed", "keyed"


@attrs.frozen
class _Endpoint:
    handler: Handler
    weight: int | Callable[[dict[str, str]], int]
    security: str
    order: bool = False
    """Counts against the account's order limits (placements)."""


def _depth_weight(params: dict[str, str]) -> int:
    text = params.get("limit") or "500"
    limit = int(text) if text.isdigit() else 500
    return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20


def _with_symbol(one: int, every: int) -> Callable[[dict[str, str]], int]:
    return lambda params: one if params.get("symbol") else every


_STREAM_KINDS = ("bookTicker", "depth", "markPrice")


class BinanceFuturesServer(VenueServer):
    """Binance USDⓈ-M perpetuals on the wire, for ``exchange``; ``config`` gives the
    credentials, ``limits`` the rate limits (Binance's unless given)."""

    websocket_path = "/"
    """Every websocket path is the venue's to tell apart (``/ws``, ``/ws/<...>``,
    ``/stream``): clients are pointed at :data:`STREAM_PATH`."""
    streams_path = STREAM_PATH  # type: ignore[assignment]

    def __init__(
        self,
        exchange: FuturesExchange,
        config: FuturesVenueConfig,
        servers: ServerConfig,
        now: Callable[[], float],
        aimed: AimedFaults | None = None,
        limits: BinanceFuturesLimits | None = None,
    ) -> None:
        self.futures = exchange
        self.credentials = ApiCredentials(config.api_key, config.api_secret)
        self.limits = BinanceFuturesLimits() if limits is None else limits
        self._funding_rate_cap = config.funding_rate_cap
        self._contract_sizes = {s: exchange.rules(s).contract_size for s in exchange.symbols}
        self._price_ticks = {s: exchange.rules(s).price_tick for s in exchange.symbols}
        self.dual_mode = exchange.dual_mode
        """Hedge mode (a long and a short per symbol), as the account is set; one-way
        orders (``positionSide`` ``BOTH``) are refused in it."""
        self._margin_types = {s: "cross" for s in exchange.symbols}
        self._weight = _Window(MINUTE_S)
        self._orders_10s = _Window(TEN_SECONDS_S)
        self._orders_1m = _Window(MINUTE_S)
        self._listen_key_ttl_s = servers.listen_key_ttl_s
        self._listen_key: str | None = None
        self._listen_key_expires = 0.0
        self._user_clients: set[WsClient] = set()
        self._followers: dict[str, defaultdict[Symbol, dict[WsClient, str | None]]] = {
            kind: defaultdict(dict) for kind in _STREAM_KINDS
        }
        """Each stream kind's clients by symbol, with the stream name a combined stream
        wraps their frames in (``None``: a raw stream)."""
        self._mark_every_s: dict[tuple[WsClient, Symbol], float] = {}
        """Each mark price follower's cadence: every second or every 3."""
        self._mark_due: dict[tuple[WsClient, Symbol], float] = {}
        self._pending_fills: defaultdict[str, list[VenueFill]] = defaultdict(list)
        """Each order's fills the engine reported since its last order update."""
        self._seen_orders: set[str] = set()
        self._generated_ids = 0
        self._endpoints = self._endpoint_table()
        super().__init__(exchange, servers, now, aimed)
        self.websockets.ping_interval_s = PING_INTERVAL_S
        self.websockets.pong_timeout_s = PONG_TIMEOUT_S
        self.websockets.max_lifetime_s = LONGEST_CONNECTION_S

    def _endpoint_table(self) -> dict[tuple[str, str], _Endpoint]:
        e = _Endpoint
        return {
            ("GET", "/v1/ping"): e(self._ping, 1, _PUBLIC),
            ("GET", "/v1/time"): e(self._server_time, 1, _PUBLIC),
            ("GET", "/v1/exchangeInfo"): e(self._exchange_info, 1, _PUBLIC),
            ("GET", "/v1/depth"): e(self._depth, _depth_weight, _PUBLIC),
            ("GET", "/v1/premiumIndex"): e(self._premium_index, _with_symbol(1, 10), _PUBLIC),
            # These two weigh nothing against the minute's weight (Binance counts them
            # against a limit of their own, 500 per 5 minutes, which is not simulated).
            ("GET", "/v1/fundingInfo"): e(self._funding_info, 0, _PUBLIC),
            ("GET", "/v1/fundingRate"): e(self._funding_rate_history, 0, _PUBLIC),
            ("GET", "/v1/ticker/bookTicker"): e(self._book_ticker, _with_symbol(2, 5), _PUBLIC),
            ("GET", "/v1/ticker/24hr"): e(self._ticker_24h, _with_symbol(1, 40), _PUBLIC),
            ("POST", "/v1/order"): e(self._new_order, 0, _SIGNED, order=True),
            ("GET", "/v1/order"): e(self._query_order, 1, _SIGNED),
            ("DELETE", "/v1/order"): e(self._cancel_order, 1, _SIGNED),
            ("PUT", "/v1/order"): e(self._amend_order, 1, _SIGNED, order=True),
            ("GET", "/v1/openOrders"): e(self._open_orders, _with_symbol(1, 40), _SIGNED),
            ("GET", "/v1/allOrders"): e(self._all_orders, 5, _SIGNED),
            ("GET", "/v1/userTrades"): e(self._user_trades, 5, _SIGNED),
            ("GET", "/v2/account"): e(self._account, 5, _SIGNED),
            ("GET", "/v3/account"): e(self._account, 5, _SIGNED),
            ("GET", "/v2/balance"): e(self._balance, 5, _SIGNED),
            ("GET", "/v2/positionRisk"): e(self._position_risk, 5, _SIGNED),
            ("GET", "/v3/positionRisk"): e(self._position_risk, 5, _SIGNED),
            ("GET", "/v1/positionSide/dual"): e(self._position_mode, 30, _SIGNED),
            ("POST", "/v1/positionSide/dual"): e(self._set_position_mode, 1, _SIGNED),
            ("POST", "/v1/leverage"): e(self._set_leverage, 1, _SIGNED),
            ("GET", "/v1/leverageBracket"): e(self._leverage_brackets, 1, _SIGNED),
            ("POST", "/v1/marginType"): e(self._set_margin_type, 1, _SIGNED),
            ("GET", "/v1/commissionRate"): e(self._commission_rate, 20, _SIGNED),
            ("GET", "/v1/income"): e(self._income, 30, _SIGNED),
            ("POST", "/v1/listenKey"): e(self._open_listen_key, 1, _KEYED),
            ("PUT", "/v1/listenKey"): e(self._keep_listen_key, 1, _KEYED),
            ("DELETE", "/v1/listenKey"): e(self._close_listen_key, 1, _KEYED),
        }

    # ---------------------------------------------------------------- routing

    def _route(self, request: HttpRequest) -> Route | None:
        if not request.path.startswith(API):
            return None
        endpoint = self._endpoints.get((request.method, request.path[len(API) :]))
        if endpoint is None:
            return None

        async def answer(request: HttpRequest) -> HttpResponse:
            rest = _rest_request(request)
            if endpoint.security == _SIGNED:
                verify_signed_request(rest, self.credentials, self.clock())
            elif endpoint.security == _KEYED:
                verify_api_key(rest, self.credentials)
            params = params_of(rest)
            if request.method == "POST" and request.path == f"{API}/v1/order":
                placement = _placement(params)
                return await self._place(lambda: endpoint.handler(request, params), placement)
            return endpoint.handler(request, params)

        return Route(answer, ())

    async def _answer_route(self, route: Route, request: HttpRequest) -> HttpResponse:
        """Count the request's weight (and an order's count) against the venue's windows,
        or refuse it with 429 when a window is used up; then as every venue."""
        refusal = self._admit(request)
        if refusal is not None:
            self.rate_limiter.refused += 1
            return self._error(refusal)
        return await super()._answer_route(route, request)

    def _admit(self, request: HttpRequest) -> RateLimited | None:
        now = self.now()
        endpoint = self._endpoints.get((request.method, request.path[len(API) :]))
        if endpoint is None:
            return None
        weight = endpoint.weight
        cost = weight if isinstance(weight, int) else weight(request.query)
        if self._weight.at(now) + cost > self.limits.weight_1m:
            message = (
                f"Too many requests; current limit is {self.limits.weight_1m} requests per "
                "minute. Please use the websocket for live updates to avoid polling the API."
            )
            return RateLimited(EXCHANGE, -1003, message, 429, self._weight.left_s(now))
        if endpoint.order:
            for window, limit, per in (
                (self._orders_10s, self.limits.orders_10s, "10 SECONDS"),
                (self._orders_1m, self.limits.orders_1m, "MINUTE"),
            ):
                if window.at(now) + 1 > limit:
                    message = f"Too many new orders; current limit is {limit} orders per {per}."
                    return RateLimited(EXCHANGE, -1015, message, 429, window.left_s(now))
            self._orders_10s.used += 1
            self._orders_1m.used += 1
        self._weight.used += cost
        return None

    async def _answer(self, request: HttpRequest) -> HttpResponse:
        """Any reply, with the venue's usage headers: the IP's weight this minute, and
        on an order request the account's orders in the last 10 s and minute."""
        response = await super()._answer(request)
        now = self.now()
        endpoint = self._endpoints.get((request.method, request.path[len(API) :]))
        orders = endpoint is not None and endpoint.order
        headers = binance_futures_encode.usage_headers(
            self._weight.at(now),
            self._orders_10s.at(now) if orders else None,
            self._orders_1m.at(now) if orders else None,
        )
        named = {name.lower() for name, _ in response.headers}
        added = tuple(header for header in headers if header[0].lower() not in named)
        return attrs.evolve(response, headers=response.headers + added)

    def _not_found(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(404, b"", content_type="text/html")

    def _error(self, error: VenueError) -> HttpResponse:
        return http_response(binance_futures_encode.error_response(error))

    # ------------------------------------------------------------- helpers

    def _symbol(self, params: dict[str, str]) -> Symbol:
        symbol = read_symbol(params)
        try:
            self.futures.rules(symbol)
        except InvalidSymbol:
            raise InvalidSymbol(EXCHANGE, -1121, "Invalid symbol.", 400) from None
        return symbol

    def _optional_symbol(self, params: dict[str, str]) -> Symbol | None:
        return self._symbol(params) if params.get("symbol") else None

    def _qty(self, symbol: Symbol, contracts: float) -> float:
        size = self._contract_sizes[symbol]
        return round(contracts * size, decimals_of(size) + 3)

    def _contracts(self, symbol: Symbol, qty: float) -> int:
        """``qty`` base units as whole contracts; ``-1111`` when it is between them."""
        steps = whole_steps(qty, self._contract_sizes[symbol])
        if steps is None:
            raise InvalidPrecision(
                EXCHANGE, -1111, "Precision is over the maximum defined for this asset.", 400
            )
        return steps

    def _figures(self, order: VenueOrder) -> OrderFigures:
        return OrderFigures(
            symbol=order.symbol,
            order_id=int(order.venue_order_id),
            client_id=order.client_id or "",
            side=order.side,
            status=_status_name(order),
            type="MARKET" if order.type is OrderType.MARKET else "LIMIT",
            tif=TIF_NAMES[order.tif],
            qty=self._qty(order.symbol, order.contracts or 0),
            price=order.price or 0.0,
            filled_qty=self._qty(order.symbol, order.filled_contracts or 0),
            avg_price=order.avg_price,
            reduce_only=order.reduce_only,
            created_ts=order.created_ts,
            updated_ts=order.updated_ts,
        )

    def _position_figures(self, position: PerpetualPosition) -> PositionFigures:
        symbol = position.symbol
        tick = self._price_ticks[symbol]
        entry_ticks = whole_steps(position.entry_price, tick)
        entry = (
            position.entry_price if entry_ticks is None else round_to_tick(entry_ticks * tick, tick)
        )
        return PositionFigures(
            symbol=symbol,
            qty=self._qty(symbol, position.contracts),
            entry_price=entry if position.contracts else 0.0,
            mark_price=round_to_tick(position.mark_price, tick),
            unrealised_pnl=position.unrealised_pnl,
            liq_price=round_to_tick(position.liq_price, tick) if position.contracts else 0.0,
            leverage=position.leverage,
            margin_type=self._margin_types[symbol],
            isolated_margin=position.margin if self._margin_types[symbol] == "isolated" else 0.0,
            max_notional=position.risk_limit,
            updated_ts=self.now(),
        )

    def _funding(self, symbol: Symbol):
        return self.futures.market.funding_rate(symbol).at(self.now())

    # ------------------------------------------------------------ public REST

    def _ping(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        return json_response(binance_futures_encode.empty_body())

    def _server_time(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        return json_response(binance_futures_encode.server_time_body(self.clock()))

    def _exchange_info(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        listed = [(symbol, self.futures.rules(symbol)) for symbol in self.futures.symbols]
        limits = self.limits
        body = binance_futures_encode.exchange_info_body(
            listed, self.clock(), limits.weight_1m, limits.orders_10s, limits.orders_1m
        )
        return json_response(body)

    def _depth(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        symbol = self._symbol(params)
        limit = read_int(params, "limit", 500)
        if limit not in (5, 10, 20, 50, 100, 500, 1000):
            raise _invalid(f"limit {limit} is not one of 5, 10, 20, 50, 100, 500, 1000")
        snapshot = self.futures.market.book(symbol, self.futures.leg).snapshot(limit)
        return json_response(binance_futures_encode.depth_body(snapshot, self.now()))

    def _index(self, symbol: Symbol) -> dict[str, object]:
        market, tick = self.futures.market, self._price_ticks[symbol]
        funding = self._funding(symbol)
        return binance_futures_encode.premium_index_body(
            symbol,
            round_to_tick(market.mark_price(symbol), tick),
            round_to_tick(market.spot_mid(symbol), tick),
            funding.rate,
            funding.next_ts,
            self.now(),
        )

    def _premium_index(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        symbol = self._optional_symbol(params)
        if symbol is not None:
            return json_response(binance_futures_encode.json_body(self._index(symbol)))
        listed = [self._index(s) for s in self.futures.symbols]
        return json_response(binance_futures_encode.json_body(listed))

    def _funding_info(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        """The symbols whose funding interval is not the 8 hours of the others."""
        adjusted = [
            (symbol, funding.interval_s, self._funding_rate_cap)
            for symbol in self.futures.symbols
            if (funding := self.futures.market.funding_rate(symbol)).interval_s
            != DEFAULT_FUNDING_INTERVAL_S
        ]
        return json_response(binance_futures_encode.funding_info_body(adjusted))

    def _funding_rate_history(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        symbol = self._symbol(params)
        since = (read_int(params, "startTime") or 0) / 1000.0
        until = read_int(params, "endTime")
        limit = _limit(params, 100)
        history = [
            (symbol, s.ts, s.rate, s.mark_price)
            for s in self.futures.market.funding_history(symbol)
            if since <= s.ts and (until is None or s.ts <= until / 1000.0)
        ][:limit]
        return json_response(binance_futures_encode.funding_rate_history_body(history))

    def _book_ticker(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        symbol = self._optional_symbol(params)
        listed = []
        for s in self.futures.symbols if symbol is None else (symbol,):
            quote = self.futures.market.quote(s, self.futures.leg)
            listed.append(
                {
                    "symbol": venue_symbol(s),
                    "bidPrice": _text(quote.bid),
                    "bidQty": _text(quote.bid_qty),
                    "askPrice": _text(quote.ask),
                    "askQty": _text(quote.ask_qty),
                    "time": round(self.now() * 1000),
                }
            )
        body = listed[0] if symbol is not None else listed
        return json_response(binance_futures_encode.json_body(body))

    def _ticker_24h(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        """The last 24 hours of each symbol (the one named, or all), from its minute
        candles: open, high, low, last price and volume."""
        symbol = self._optional_symbol(params)
        now = self.now()
        listed = []
        for s in self.futures.symbols if symbol is None else (symbol,):
            last = self._last_price(s)
            minutes = [c for c in self.candles.minutes(s) if c.open_ts >= now - 86400.0]
            listed.append(
                binance_futures_encode.ticker_24h_body(
                    s,
                    minutes[0].open if minutes else last,
                    max((c.high for c in minutes), default=last),
                    min((c.low for c in minutes), default=last),
                    last,
                    math.fsum(c.volume for c in minutes),
                    math.fsum(c.quote_volume for c in minutes),
                    now,
                )
            )
        body = listed[0] if symbol is not None else listed
        return json_response(binance_futures_encode.json_body(body))

    # ------------------------------------------------------------ signed REST

    def _new_order(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        order = read_new_order(params)
        self._symbol(params)
        if self.dual_mode:
            raise _invalid("Order's position side does not match user's setting.", -4061)
        contracts = self._contracts(order.symbol, order.qty)
        placed = self.futures.place_order(
            order.symbol,
            order.side,
            order.type,
            contracts,
            price=order.price,
            tif=order.tif,
            reduce_only=order.reduce_only,
            client_id=order.client_id or self._generated_client_id(),
            now=self.now(),
        )
        figures = self._figures(placed)
        if order.response_type == "ACK":
            figures = msgspec.structs.replace(
                figures, status="NEW", filled_qty=0.0, avg_price=0.0, updated_ts=placed.created_ts
            )
        return json_response(binance_futures_encode.order_body(figures))

    def _generated_client_id(self) -> str:
        """The client id the venue gives an order sent without one."""
        self._generated_ids += 1
        return f"web_{self._generated_ids}"

    def _find(self, params: dict[str, str]) -> tuple[str | None, str | None, Symbol]:
        reference = read_order_reference(params)
        self._symbol(params)
        return reference.venue_order_id, reference.client_id, reference.symbol

    def _query_order(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        venue_order_id, client_id, symbol = self._find(params)
        try:
            order = self.futures.order(
                venue_order_id=venue_order_id, client_id=client_id, symbol=symbol, now=self.now()
            )
        except UnknownOrder:
            raise UnknownOrder(EXCHANGE, -2013, "Order does not exist.", 400) from None
        return json_response(binance_futures_encode.order_body(self._figures(order)))

    def _cancel_order(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        venue_order_id, client_id, symbol = self._find(params)
        try:
            order = self.futures.cancel_order(
                venue_order_id=venue_order_id, client_id=client_id, symbol=symbol, now=self.now()
            )
        except VenueError as error:
            if isinstance(error, (UnknownOrder, OrderAlreadyFinal)):
                raise UnknownOrder(EXCHANGE, -2011, "Unknown order sent.", 400) from None
            raise
        return json_response(binance_futures_encode.order_body(self._figures(order)))

    def _amend_order(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        venue_order_id, client_id, symbol = self._find(params)
        side = read_side(params)
        qty = read_float(params, "quantity")
        price = read_float(params, "price")
        assert qty is not None and price is not None
        now = self.now()
        try:
            order = self.futures.order(
                venue_order_id=venue_order_id, client_id=client_id, symbol=symbol, now=now
            )
        except UnknownOrder:
            raise UnknownOrder(EXCHANGE, -2013, "Order does not exist.", 400) from None
        if order.type is not OrderType.LIMIT:
            raise _invalid("Only limit orders can be modified.", -4028)
        if order.price is None or not math.isclose(price, order.price):
            raise _invalid(f"price {price:g}: the order's price {order.price} stays", -4028)
        amended = self.futures.amend_order(
            venue_order_id=order.venue_order_id,
            contracts=self._contracts(symbol, qty),
            side=side,
            now=now,
        )
        return json_response(binance_futures_encode.order_body(self._figures(amended)))

    def _open_orders(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        symbol = self._optional_symbol(params)
        orders = [self._figures(order) for order in self.futures.open_orders(symbol)]
        return json_response(binance_futures_encode.orders_body(orders))

    def _all_orders(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        """The symbol's orders, oldest first: ``limit`` of them from ``startTime`` when it
        is given, else the newest ``limit`` of the last 7 days. One that ended with nothing
        filled is forgotten as a query forgets it."""
        symbol = self._symbol(params)
        now = self.now()
        start = read_int(params, "startTime")
        since = now - 7 * 86400.0 if start is None else start / 1000.0
        forgets = self.futures.read_after_write.forgets
        orders = [
            order
            for order in self.futures.orders(symbol)
            if order.created_ts >= since
            and not (order.status.is_final and forgets(order.filled_qty > 0, order.updated_ts, now))
        ]
        limit = _limit(params, 500)
        orders = orders[:limit] if start is not None else orders[-limit:]
        return json_response(
            binance_futures_encode.orders_body([self._figures(order) for order in orders])
        )

    def _user_trades(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        symbol = self._symbol(params)
        order_id = params.get("orderId") or None
        since = read_int(params, "startTime")
        held, entry = 0.0, 0.0
        trades = []
        for fill in self.futures.ledger.fills(symbol):
            # What a fill closed of the position made or lost against its entry price.
            realized = 0.0
            if held * fill.signed_qty < 0.0:
                closed = min(fill.qty, abs(held))
                realized = closed * (fill.price - entry) * (1.0 if held > 0 else -1.0)
                held += math.copysign(closed, fill.signed_qty)
                rest = fill.qty - closed
                if rest > 0.0:
                    held, entry = math.copysign(rest, fill.signed_qty), fill.price
            else:
                total = abs(held) + fill.qty
                entry = (abs(held) * entry + fill.qty * fill.price) / total
                held += fill.signed_qty
            if order_id not in (None, fill.venue_order_id):
                continue
            if since is not None and fill.ts * 1000 < since:
                continue
            trades.append(self._trade_figures(fill, realized))
        return json_response(
            binance_futures_encode.user_trades_body(trades[-_limit(params, 500) :])
        )

    def _trade_figures(self, fill: VenueFill, realized: float) -> TradeFigures:
        return TradeFigures(
            symbol=fill.symbol,
            trade_id=int(fill.trade_id),
            order_id=int(fill.venue_order_id),
            side=fill.side,
            qty=self._qty(fill.symbol, fill.contracts or 0),
            price=fill.price,
            commission=fill.fee,
            commission_asset=fill.fee_asset,
            is_maker=fill.is_maker,
            realized_pnl=round(realized, 8),
            ts=fill.ts,
        )

    def _account(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        account = self.futures.account()
        positions = [self._position_figures(p) for p in self.futures.positions()]
        body = binance_futures_encode.account_body(
            account.total,
            account.available,
            account.unrealised_pnl,
            account.position_margin,
            account.order_margin,
            positions,
            self.now(),
        )
        return json_response(body)

    def _balance(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        account = self.futures.account()
        body = [
            {
                "accountAlias": "SgsR",
                "asset": account.currency,
                "balance": _text(round(account.total, 8)),
                "crossWalletBalance": _text(round(account.total, 8)),
                "crossUnPnl": _text(round(account.unrealised_pnl, 8)),
                "availableBalance": _text(round(account.available, 8)),
                "maxWithdrawAmount": _text(round(max(0.0, account.available), 8)),
                "marginAvailable": True,
                "updateTime": round(self.now() * 1000),
            }
        ]
        return json_response(binance_futures_encode.json_body(body))

    def _position_risk(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        symbol = self._optional_symbol(params)
        positions = [
            self._position_figures(p)
            for p in self.futures.positions()
            if symbol in (None, p.symbol)
        ]
        return json_response(binance_futures_encode.position_risk_body(positions))

    def _position_mode(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        return json_response(binance_futures_encode.position_mode_body(self.dual_mode))

    def _set_position_mode(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        text = (params.get("dualSidePosition") or "").lower()
        if text not in ("true", "false"):
            raise _invalid(f"dualSidePosition {text!r} is neither true nor false")
        dual = text == "true"
        if dual == self.dual_mode:
            raise _invalid("No need to change position side.", -4059)
        if self.futures.open_orders():
            raise _invalid("Position side cannot be changed if there exists open orders.", -4067)
        if any(p.contracts for p in self.futures.positions()):
            raise _invalid("Position side cannot be changed if there exists position.", -4068)
        self.dual_mode = dual
        return json_response(binance_futures_encode.success_body())

    def _set_leverage(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        symbol = self._symbol(params)
        leverage = read_int(params, "leverage")
        if leverage is None:
            raise _invalid("Mandatory parameter 'leverage' was not sent.", -1102)
        try:
            position = self.futures.set_leverage(symbol, float(leverage))
        except InvalidParameter:
            raise _invalid(f"Leverage {leverage} is not valid", -4028) from None
        body = binance_futures_encode.leverage_body(symbol, leverage, position.risk_limit)
        return json_response(body)

    def _leverage_brackets(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        """Each symbol's notional brackets: its risk limit tiers."""
        symbol = self._optional_symbol(params)
        listed = [
            (
                s,
                [
                    BracketFigures(tier.risk_limit, tier.maintenance_rate, tier.leverage_max)
                    for tier in self.futures.risk_tiers(s)
                ],
            )
            for s in self.futures.symbols
            if symbol in (None, s)
        ]
        body = binance_futures_encode.leverage_brackets_body(listed)
        if symbol is not None:
            body = binance_futures_encode.json_body(msgspec.json.decode(body)[0])
        return json_response(body)

    def _set_margin_type(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        symbol = self._symbol(params)
        wanted = {"ISOLATED": "isolated", "CROSSED": "cross"}.get(params.get("marginType") or "")
        if wanted is None:
            raise _invalid(f"marginType {params.get('marginType')!r} is not ISOLATED or CROSSED")
        if self._margin_types[symbol] == wanted:
            raise _invalid("No need to change margin type.", -4046)
        if self.futures.open_orders(symbol):
            raise _invalid("Margin type cannot be changed if there exists open orders.", -4047)
        if self.futures.position(symbol).contracts:
            raise _invalid("Margin type cannot be changed if there exists position.", -4048)
        self._margin_types[symbol] = wanted
        return json_response(binance_futures_encode.success_body())

    def _commission_rate(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        symbol = self._symbol(params)
        body = binance_futures_encode.commission_rate_body(
            symbol, self.futures.maker_fee, self.futures.taker_fee
        )
        return json_response(body)

    def _income(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        """The account's income, oldest first, from ``startTime`` (7 days back unless
        given) to ``endTime``, of ``incomeType`` and ``symbol`` when named, ``limit`` a
        page (100 unless given, at most 1000), page ``page``. Funding settlements are
        the income recorded here (see docs/venues.md)."""
        kind = params.get("incomeType") or None
        symbol = self._optional_symbol(params)
        now = self.now()
        start = read_int(params, "startTime")
        end = read_int(params, "endTime")
        since = (now - 7 * 86400.0) if start is None else start / 1000.0
        until = math.inf if end is None else end / 1000.0
        limit = _limit(params, 100, 1000)
        page = read_int(params, "page", 1) or 1
        if page < 1:
            raise _invalid(f"page {page} is not >= 1")
        records = [
            IncomeFigures(
                entry.payment.symbol,
                FUNDING_FEE,
                entry.payment.amount,
                entry.payment.ts,
                entry.seq,
            )
            for entry in self.futures.ledger.funding_entries()
            if kind in (None, FUNDING_FEE)
            and symbol in (None, entry.payment.symbol)
            and since <= entry.payment.ts <= until
        ]
        chosen = records[(page - 1) * limit : page * limit]
        return json_response(binance_futures_encode.income_body(chosen))

    # ----------------------------------------------------------- listen keys

    def _open_listen_key(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        """The account's key while it is valid (kept alive by asking), else a new one."""
        now = self.now()
        if self._listen_key is None or self._listen_key_expires <= now:
            self._listen_key = secrets.token_urlsafe(48)
        self._listen_key_expires = now + self._listen_key_ttl_s
        return json_response(binance_futures_encode.listen_key_body(self._listen_key))

    def _keep_listen_key(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        now = self.now()
        if self._listen_key is None or self._listen_key_expires <= now:
            raise _invalid("This listenKey does not exist.", -1125)
        self._listen_key_expires = now + self._listen_key_ttl_s
        return json_response(binance_futures_encode.listen_key_body(self._listen_key))

    def _close_listen_key(self, request: HttpRequest, params: dict[str, str]) -> HttpResponse:
        if self._listen_key is not None:
            self._end_listen_key("listen key closed")
        return json_response(binance_futures_encode.empty_body())

    def _end_listen_key(self, why: str) -> None:
        """Tell the key's streams it expired, and push them nothing more."""
        assert self._listen_key is not None
        frame = binance_futures_encode.listen_key_expired_push(self._listen_key, self.now())
        send_to_each(self._user_clients, frame)
        self._user_clients.clear()
        self._listen_key = None

    def expire_listen_key(self) -> bool:
        """End the account's listen key now, as its hour running out would; whether
        there was one."""
        if self._listen_key is None:
            return False
        self._end_listen_key("listen key expired")
        self.wire_faults.count("listen_key_expired")
        return True

    # ------------------------------------------------------------- websockets

    async def _session(self, client: WsClient) -> None:
        parts = urlsplit(client.target)
        path = parts.path
        combined = path == "/stream"
        if path.startswith(f"{STREAM_PATH}/"):
            name = path[len(STREAM_PATH) + 1 :]
            if "@" in name:
                self._follow(client, name, combined=False)
            elif self._listen_key is not None and name == self._listen_key:
                self._user_clients.add(client)
            else:
                client.drop("no such listen key")
                return
        elif combined:
            for name in (client.query.get("streams") or "").split("/"):
                if name:
                    self._follow(client, name, combined=True)
        elif path != STREAM_PATH:
            client.drop(f"no websocket at {path}")
            return
        try:
            async for frame in client.messages():
                request = decode_client_message(frame)
                if isinstance(request, StreamRequest):
                    client.send(self._on_request(client, request, combined))
        finally:
            self._user_clients.discard(client)
            for followers in self._followers.values():
                for clients in followers.values():
                    clients.pop(client, None)
            for key in [key for key in self._mark_every_s if key[0] is client]:
                del self._mark_every_s[key]
                self._mark_due.pop(key, None)

    def _on_request(self, client: WsClient, request: StreamRequest, combined: bool) -> str:
        if request.method == "LIST_SUBSCRIPTIONS":
            return binance_futures_encode.request_answer(request, self._streams_of(client))
        if request.method not in ("SUBSCRIBE", "UNSUBSCRIBE"):
            return binance_futures_encode.request_error(
                request.id, 2, "Invalid request: unknown method"
            )
        try:
            for name in request.params or []:
                if request.method == "SUBSCRIBE":
                    self._follow(client, name, combined)
                else:
                    self._unfollow(client, name)
        except VenueError as error:
            return binance_futures_encode.request_error(request.id, 2, error.message)
        return binance_futures_encode.request_answer(request)

    def _parse_stream(self, name: str) -> tuple[str, Symbol, float]:
        """The kind, symbol and (mark price) cadence a stream name means."""
        symbol_text, _, rest = name.partition("@")
        try:
            symbol = parse_symbol(symbol_text)
            self.futures.rules(symbol)
        except (ValueError, VenueError):
            raise _invalid(f"Invalid request: unknown stream {name!r}", 2) from None
        if rest == "bookTicker":
            return "bookTicker", symbol, 0.0
        if rest in ("depth", "depth@100ms", "depth@250ms", "depth@500ms"):
            return "depth", symbol, 0.0
        if rest in ("markPrice", "markPrice@1s"):
            return "markPrice", symbol, 1.0 if rest.endswith("@1s") else 3.0
        raise _invalid(f"Invalid request: unknown stream {name!r}", 2)

    def _follow(self, client: WsClient, name: str, combined: bool) -> None:
        kind, symbol, every = self._parse_stream(name)
        self._followers[kind][symbol][client] = name if combined else None
        if kind == "markPrice":
            self._mark_every_s[(client, symbol)] = every

    def _unfollow(self, client: WsClient, name: str) -> None:
        kind, symbol, _ = self._parse_stream(name)
        self._followers[kind][symbol].pop(client, None)

    def _streams_of(self, client: WsClient) -> list[str]:
        names = []
        for kind, followers in self._followers.items():
            for symbol, clients in followers.items():
                if client in clients:
                    names.append(f"{binance_futures.stream_symbol(symbol)}@{kind}")
        return names

    def _send(self, clients: dict[WsClient, str | None], payload: str) -> None:
        for client, stream in list(clients.items()):
            client.send(
                payload if stream is None else binance_futures_encode.combined(stream, payload)
            )

    def publish_market(self, now: float, symbols: Sequence[Symbol]) -> None:
        """As every venue, then the mark price of each symbol whose push is due (every
        second), whether its book moved or not; and the listen key's end when its hour
        ran out."""
        if self._listen_key is not None and self._listen_key_expires <= now:
            self._end_listen_key("listen key expired")
        super().publish_market(now, symbols)
        marks = self._followers["markPrice"]
        for symbol in symbols:
            clients = marks.get(symbol)
            if not clients:
                continue
            due = {
                client: stream
                for client, stream in clients.items()
                if now >= self._mark_due.get((client, symbol), -math.inf)
            }
            if not due:
                continue
            for client in due:
                self._mark_due[(client, symbol)] = now + self._mark_every_s[(client, symbol)]
            market, tick = self.futures.market, self._price_ticks[symbol]
            funding = self._funding(symbol)
            payload = binance_futures_encode.mark_price_push(
                symbol,
                round_to_tick(market.mark_price(symbol), tick),
                round_to_tick(market.spot_mid(symbol), tick),
                funding.rate,
                funding.next_ts,
                now,
            )
            self._send(due, payload)

    def _last_price(self, symbol: Symbol) -> float:
        return round_to_tick(self.futures.market.mark_price(symbol), self._price_ticks[symbol])

    def _push_market(self, book: SimBook, quote: Quote, diff: DepthDiff | None, now: float) -> None:
        symbol = quote.symbol
        tickers = self._followers["bookTicker"].get(symbol)
        if tickers:
            self._send(tickers, binance_futures_encode.book_ticker_push(quote, book.version, now))
        depth = self._followers["depth"].get(symbol)
        if depth and diff is not None:
            previous_u = diff.first_version - 1
            self._send(depth, binance_futures_encode.depth_update_push(diff, previous_u, now))

    # -------------------------------------------------------- account events

    def _on_event(self, event: VenueEvent) -> None:
        now = self.now()
        if isinstance(event, TradeExecuted):
            self._pending_fills[event.fill.venue_order_id].append(event.fill)
        elif isinstance(event, OrderUpdated):
            self._push_order(event.order, now)
        elif isinstance(event, PositionChanged):
            if self._user_clients:
                self._push_account("ORDER", [event.position], now)
        elif isinstance(event, FundingApplied):
            if self._user_clients:
                payment = event.payment
                position = self.futures.position(payment.symbol)
                self._push_account("FUNDING_FEE", [position], now, payment.amount)
        elif isinstance(event, PositionLiquidated):
            item = event.liquidation
            self._push_venue_order(
                item.symbol,
                f"{binance_futures.LIQUIDATION_CLIENT_PREFIX}{round(item.ts * 1000)}",
                item.order_id,
                Side.BUY if item.qty < 0 else Side.SELL,
                abs(item.qty),
                item.price,
                now,
            )
        elif isinstance(event, PositionDeleveraged):
            item = event.deleverage
            self._push_venue_order(
                item.symbol,
                binance_futures.ADL_CLIENT_ID,
                item.order_id,
                Side.BUY if item.trade_qty > 0 else Side.SELL,
                abs(item.trade_qty),
                item.price,
                now,
            )

    def _push_order(self, order: VenueOrder, now: float) -> None:
        """One ``ORDER_TRADE_UPDATE`` per trade since the last update (each with the
        quantity filled up to it), then the order's news: accepted, amended, or ended
        otherwise than filled."""
        fills = self._pending_fills.pop(order.venue_order_id, [])
        first_sight = order.venue_order_id not in self._seen_orders
        self._seen_orders.add(order.venue_order_id)
        if order.status.is_final:
            self._seen_orders.discard(order.venue_order_id)
        if not self._user_clients:
            return
        figures = self._figures(order)
        sends: list[str] = []
        if first_sight:
            news = msgspec.structs.replace(figures, status="NEW", filled_qty=0.0, avg_price=0.0)
            sends.append(binance_futures_encode.order_trade_update_push(news, "NEW", None, now))
        # What the order had filled, and for how much, before these fills.
        filled_before = (order.filled_contracts or 0) - sum(f.contracts or 0 for f in fills)
        value = order.avg_price * order.filled_qty - math.fsum(f.qty * f.price for f in fills)
        for fill in fills:
            filled_before += fill.contracts or 0
            value += fill.qty * fill.price
            filled = self._qty(order.symbol, filled_before)
            state = msgspec.structs.replace(
                figures,
                status="FILLED" if filled_before == order.contracts else "PARTIALLY_FILLED",
                filled_qty=filled,
                avg_price=value / filled if filled else 0.0,
            )
            trade = FillFigures(
                int(fill.trade_id),
                self._qty(order.symbol, fill.contracts or 0),
                fill.price,
                fill.fee,
                fill.fee_asset,
                fill.is_maker,
                0.0,
            )
            sends.append(binance_futures_encode.order_trade_update_push(state, "TRADE", trade, now))
        status = figures.status
        if status in ("CANCELED", "EXPIRED"):
            sends.append(binance_futures_encode.order_trade_update_push(figures, status, None, now))
        elif not first_sight and not fills:
            sends.append(
                binance_futures_encode.order_trade_update_push(figures, "AMENDMENT", None, now)
            )
        for frame in sends:
            send_to_each(self._user_clients, frame)

    def _push_account(
        self, reason: str, positions: list[PerpetualPosition], now: float, change: float = 0.0
    ) -> None:
        wallet = self.futures.account().total
        figures = [self._position_figures(p) for p in positions]
        frame = binance_futures_encode.account_update_push(reason, wallet, figures, now, change)
        send_to_each(self._user_clients, frame)

    def _push_venue_order(
        self,
        symbol: Symbol,
        client_id: str,
        order_id: str,
        side: Side,
        qty: float,
        price: float,
        now: float,
    ) -> None:
        """The venue's own liquidation or ADL order, as its one trade."""
        if not self._user_clients:
            return
        figures = OrderFigures(
            symbol,
            int(order_id),
            client_id,
            side,
            "FILLED",
            "LIMIT",
            "IOC",
            qty,
            price,
            qty,
            price,
            True,
            now,
            now,
        )
        trade = FillFigures(0, qty, price, 0.0, binance_futures.SETTLE_ASSET, False, 0.0)
        frame = binance_futures_encode.order_trade_update_push(figures, "TRADE", trade, now)
        send_to_each(self._user_clients, frame)


def _status_name(order: VenueOrder) -> str:
    """The order's status as Binance writes it: an IOC order's unfilled rest, and a
    reduce-only order left with nothing to reduce, end ``EXPIRED``."""
    if order.status is OrderStatus.CANCELLED:
        return "CANCELED" if order.finish_reason in (None, FinishReason.CANCELLED) else "EXPIRED"
    return {
        OrderStatus.NEW: "NEW",
        OrderStatus.PENDING: "NEW",
        OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
        OrderStatus.FILLED: "FILLED",
        OrderStatus.EXPIRED: "EXPIRED",
        OrderStatus.REJECTED: "REJECTED",
    }[order.status]


def _rest_request(request: HttpRequest) -> RestRequest:
    return RestRequest(
        request.method,
        request.path,
        request.query_string,
        request.body,
        tuple(request.headers.items()),
    )


def _placement(params: dict[str, str]) -> Placement | None:
    """A new order's client id and side, for the faults aimed at placements; ``None``
    when it has no client id, or cannot be read (the handler says why)."""
    try:
        order = read_new_order(params)
    except VenueError:
        return None
    if order.client_id is None:
        return None
    return Placement(order.client_id, order.client_id, order.side, order.symbol)


def _limit(params: dict[str, str], default: int, maximum: int = 1000) -> int:
    limit = read_int(params, "limit", default)
    assert limit is not None
    if not 1 <= limit <= maximum:
        raise _invalid(f"limit {limit} is not within 1..{maximum}")
    return limit


def _text(value: float) -> str:
    return decimal(float(value))
