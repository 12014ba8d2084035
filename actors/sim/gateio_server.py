"""The simulated Gate.io USDT perpetual venue on the wire: REST under
``/api/v4/futures/usdt`` and websockets at ``/v4/ws/usdt``, in Gate.io's formats
(``protocols.gateio_encode``), in front of the ``FuturesExchange``.

REST: the server time (``/api/v4/spot/time``), the contracts (all, or one) with their
funding, their risk limit tiers, tickers (all, or one), the order book (with its
``id``), funding history, candlesticks, public trades, fee rates (per contract, and the account's at
``/api/v4/wallet/fee``),
orders (place with HTTP 201, list open or finished of one contract or all, query or
cancel by id or by ``t-`` text), the account's trades (``my_trades``, of one order or
all, and by time range, ``my_trades_timerange``), positions (one, or the list) and their
leverage, the account's liquidations (``liquidates``) and auto-deleveragings
(``auto_deleverages``), the futures account (with its position mode) and its book of changes
(``account_book``: the funding settlements, each under its ledger number), and the
account detail (``/api/v4/account/detail``, with the user id). Signed endpoints are
verified as Gate.io does (``KEY``, ``Timestamp`` within 60 s, ``SIGN``); refusals carry
Gate.io's labels, an unknown order with HTTP 404.

Websockets: subscribe / unsubscribe are acknowledged (``result.status`` success, or an
``error``), ``futures.ping`` is answered on ``futures.pong``, and the server pings every
client at the protocol level, dropping one that does not answer in time. Book tickers,
order book updates (``U``..``u``) and ``futures.tickers`` (with the funding rate) are
pushed on every market tick; an order book update is the whole book (``full: true``)
first after a subscription, and every ``gateio_full_book_every`` updates when that is
set. ``futures.orders``, ``futures.usertrades``, ``futures.positions``,
``futures.liquidates`` and ``futures.auto_deleverages`` follow the account's events for
subscriptions whose ``auth`` checks out and whose payload names this account's user id.
``send_upgrade_notice`` tells every client to reconnect.

Every REST reply carries Gate.io's rate limit headers (``X-Gate-RateLimit-*``), from the
endpoint's bucket; an unknown path answers 404 with the documented label ``NOT_FOUND``.

Sizes are whole contracts on the wire (the engine trades whole contracts). Simplified:
``close`` orders (size 0) are refused as a parameter error.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from typing import TypeVar

import attrs
import msgspec
import trio

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
from actors.sim.config import FuturesVenueConfig, GateioRateLimits, RateLimit, ServerConfig
from actors.sim.events import (
    OrderUpdated,
    PositionChanged,
    PositionDeleveraged,
    PositionLiquidated,
    TradeExecuted,
    VenueEvent,
)
from actors.sim.futures_exchange import FuturesExchange
from actors.sim.ledger import OrderFinished
from actors.sim.records import AutoDeleverage, Liquidation, VenueOrder
from actors.sim.venue_server import (
    Placement,
    Route,
    VenueServer,
    http_response,
    json_response,
)
from actors.sim.wire_records import account_trade, futures_position, order_update
from actors.sim.ws_server import WsClient, send_to_each
from protocols import gateio, gateio_encode
from protocols.gateio_client_requests import (
    decode_client_message,
    read_amendment,
    read_contract,
    read_new_order,
    read_order_reference,
    verify_channel_auth,
    verify_signed_request,
)
from protocols.gateio_rest import API_PREFIX, FUTURES
from protocols.model import Quote, Side, Symbol
from protocols.rules import round_to_tick
from protocols.venue import (
    ApiCredentials,
    DepthDiff,
    DepthSnapshot,
    InvalidParameter,
    OrderUpdate,
    RestRequest,
    Trade,
    VenueError,
)

PREFIX = f"{API_PREFIX}{FUTURES}/"
SERVER_TIME_PATH = f"{API_PREFIX}/spot/time"
ACCOUNT_DETAIL = f"{API_PREFIX}/account/detail"
WALLET_FEE = f"{API_PREFIX}/wallet/fee"
CREATED = 201
DEFAULT_BOOK_LIMIT = 10
MAX_LIST_LIMIT = 1000
ACCOUNT_BOOK_FUNDING = "fund"
_BOOK_UPDATE_INTERVALS = ("100ms", "20ms")
DEFAULT_CANDLES = 100
MAX_CANDLES = 2000
CANDLE_INTERVALS: dict[str, Interval] = {
    "1m": every(MINUTE_S),
    "5m": every(5 * MINUTE_S),
    "15m": every(15 * MINUTE_S),
    "30m": every(30 * MINUTE_S),
    "1h": every(60 * MINUTE_S),
    "4h": every(240 * MINUTE_S),
    "8h": every(480 * MINUTE_S),
    "1d": every(1440 * MINUTE_S),
    "7d": every(7 * 1440 * MINUTE_S),
    "1w": WEEK_FROM_MONDAY,
    "30d": CALENDAR_MONTH,
}
"""Gate.io's candlestick intervals, by their names on the wire (``7d`` counts weeks
from the Unix epoch, ``1w`` natural weeks, ``30d`` calendar months)."""
_BOOK_UPDATE_LEVELS = ("20", "50", "100")

Handler = Callable[[HttpRequest, list[str]], HttpResponse]
_Record = TypeVar("_Record", Liquidation, AutoDeleverage)


def _invalid(message: str) -> InvalidParameter:
    return InvalidParameter(gateio.EXCHANGE, "INVALID_PARAM_VALUE", message, 400)


def _client_id(text: str | None) -> str:
    return gateio.client_id_from_text(text) if text else ""


def _update(order: VenueOrder) -> OrderUpdate:
    return order_update(order, _client_id(order.client_id))


class GateioServer(VenueServer):
    """Gate.io USDT perpetuals on the wire, for ``exchange``; ``config`` gives the
    credentials and the user id."""

    websocket_path = "/v4/ws/usdt"

    def __init__(
        self,
        exchange: FuturesExchange,
        config: FuturesVenueConfig,
        servers: ServerConfig,
        now: Callable[[], float],
        aimed: AimedFaults | None = None,
    ) -> None:
        self.futures = exchange
        self.credentials = ApiCredentials(config.api_key, config.api_secret)
        self.user_id = config.user_id
        self._limits: GateioRateLimits = servers.gateio_limits
        self._contract_sizes = {s: exchange.rules(s).contract_size for s in exchange.symbols}
        self._price_ticks = {s: exchange.rules(s).price_tick for s in exchange.symbols}
        self._ticker_clients: defaultdict[Symbol, set[WsClient]] = defaultdict(set)
        """Each symbol's book ticker clients."""
        self._tickers_clients: defaultdict[Symbol, set[WsClient]] = defaultdict(set)
        """Each symbol's ``futures.tickers`` clients."""
        self._book_clients: defaultdict[Symbol, dict[WsClient, int]] = defaultdict(dict)
        """Each symbol's order book update clients, with the depth each asked for."""
        self._awaiting_full_book: defaultdict[Symbol, set[WsClient]] = defaultdict(set)
        """Clients whose next order book update is the whole book (just subscribed)."""
        self._book_updates: defaultdict[Symbol, int] = defaultdict(int)
        self._full_book_every = servers.gateio_full_book_every
        self._private_clients: defaultdict[str, dict[WsClient, frozenset[Symbol] | None]] = (
            defaultdict(dict)
        )
        """Each private channel's clients, with the contracts they follow (``None``: all)."""
        super().__init__(exchange, servers, now, aimed)
        self.websockets.ping_interval_s = servers.gateio_ping_interval_s
        self.websockets.pong_timeout_s = servers.gateio_pong_timeout_s

    # ---------------------------------------------------------------- routing

    def _route(self, request: HttpRequest) -> Route | None:
        found: tuple[Handler, str, bool] | None
        segments: list[str] = []
        if (request.method, request.path) == ("GET", SERVER_TIME_PATH):
            found = (self._server_time, "GET time", False)
        elif (request.method, request.path) == ("GET", ACCOUNT_DETAIL):
            found = (self._account_detail, "GET account/detail", True)
        elif (request.method, request.path) == ("GET", WALLET_FEE):
            found = (self._wallet_fee, "GET wallet/fee", True)
        elif request.path.startswith(PREFIX):
            segments = request.path[len(PREFIX) :].split("/")
            found = self._handler(request.method, segments)
        else:
            found = None
        limits = self._limits
        if found is None:
            # Answered like any public endpoint, rate limit headers included.
            return Route(self._unknown_endpoint, (("unknown", limits.public_per_endpoint),))
        handler, limit_key, signed = found
        if limit_key in ("place", "amend"):
            # Gate.io counts amends with placements, against one limit.
            bucket = ("place", limits.place)
        elif limit_key == "cancel":
            bucket = (limit_key, limits.cancel)
        elif signed:
            bucket = (limit_key, limits.private_per_endpoint)
        else:
            bucket = (limit_key, limits.public_per_endpoint)

        async def answer(request: HttpRequest) -> HttpResponse:
            if signed:
                self._verify(request)
            if limit_key == "place":
                placement = _placement(request)
                return await self._place(lambda: handler(request, segments), placement)
            return handler(request, segments)

        return Route(answer, (bucket,))

    def _handler(self, method: str, segments: list[str]) -> tuple[Handler, str, bool] | None:
        """The handler of an endpoint, its rate limit key and whether it is signed."""
        match method, segments:
            case "GET", ["contracts"]:
                return self._contracts, "GET contracts", False
            case "GET", ["tickers"]:
                return self._tickers, "GET tickers", False
            case "GET", ["account_book"]:
                return self._account_book, "GET account_book", True
            case "GET", ["contracts", _]:
                return self._contract, "GET contracts/{contract}", False
            case "GET", ["order_book"]:
                return self._order_book, "GET order_book", False
            case "GET", ["risk_limit_tiers"]:
                return self._risk_limit_tiers, "GET risk_limit_tiers", False
            case "GET", ["funding_rate"]:
                return self._funding_history, "GET funding_rate", False
            case "GET", ["candlesticks"]:
                return self._candlesticks, "GET candlesticks", False
            case "GET", ["trades"]:
                return self._trades, "GET trades", False
            case "GET", ["fee"]:
                return self._fee, "GET fee", True
            case "POST", ["orders"]:
                return self._new_order, "place", True
            case "GET", ["orders"]:
                return self._list_orders, "GET orders", True
            case "GET", ["my_trades"]:
                return self._my_trades, "GET my_trades", True
            case "GET", ["my_trades_timerange"]:
                return self._my_trades_timerange, "GET my_trades_timerange", True
            case "GET", ["orders", _]:
                return self._query_order, "GET orders/{id}", True
            case "DELETE", ["orders", _]:
                return self._cancel_order, "cancel", True
            case "PUT", ["orders", _]:
                return self._amend_order, "amend", True
            case "GET", ["positions"]:
                return self._positions, "GET positions", True
            case "GET", ["positions", _]:
                return self._position, "GET positions/{contract}", True
            case "POST", ["positions", _, "leverage"]:
                return self._set_leverage, "POST positions/{contract}/leverage", True
            case "GET", ["accounts"]:
                return self._accounts, "GET accounts", True
            case "GET", ["liquidates"]:
                return self._liquidates, "GET liquidates", True
            case "GET", ["auto_deleverages"]:
                return self._auto_deleverages, "GET auto_deleverages", True
        return None

    def _verify(self, request: HttpRequest) -> None:
        rest = RestRequest(
            request.method,
            request.path,
            request.query_string,
            request.body,
            tuple(request.headers.items()),
        )
        verify_signed_request(rest, self.credentials, self.clock())

    async def _unknown_endpoint(self, request: HttpRequest) -> HttpResponse:
        return self._not_found(request)

    def _with_rate_limits(
        self, response: HttpResponse, limits: tuple[tuple[str, RateLimit], ...]
    ) -> HttpResponse:
        """``response`` with Gate.io's rate limit headers, from the endpoint's bucket: the
        reset time is now, except on a refusal (429), which names when to come back."""
        limit, remaining = self.rate_limiter.headroom(limits, trio.current_time())
        headers = gateio_encode.rate_limit_headers(limit, remaining, self.now())
        named = {name.lower() for name, _ in response.headers}
        added = tuple(header for header in headers if header[0].lower() not in named)
        return attrs.evolve(response, headers=response.headers + added)

    def _not_found(self, request: HttpRequest) -> HttpResponse:
        body = msgspec.json.encode(
            {"label": "NOT_FOUND", "message": f"no endpoint {request.method} {request.path}"}
        )
        return HttpResponse(404, body)

    def _error(self, error: VenueError) -> HttpResponse:
        reset_ts = None
        if error.retry_after_s is not None:
            reset_ts = self.now() + error.retry_after_s
        return http_response(gateio_encode.error_response(error, reset_ts))

    def _symbol(self, contract: str) -> Symbol:
        symbol = read_contract(contract)
        self.futures.rules(symbol)
        return symbol

    def _query_symbol(self, request: HttpRequest) -> Symbol:
        contract = request.query.get("contract")
        if not contract:
            raise _invalid("contract is required")
        return self._symbol(contract)

    # ------------------------------------------------------------ public REST

    def _server_time(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        return json_response(gateio_encode.server_time_body(self.clock()))

    def _contract(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        symbol = self._symbol(segments[1])
        rules = msgspec.structs.replace(
            self.futures.rules(symbol), taker_fee=self.futures.taker_fee
        )
        funding = self.futures.market.funding_rate(symbol)
        return json_response(gateio_encode.contract_body(symbol, rules, funding))

    def _risk_limit_tiers(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        """The risk limit tiers of ``contract``, or of every contract one after another."""
        symbol = self._optional_symbol(request)
        rows = [
            gateio_encode.RiskTierFigures(
                n, tier.risk_limit, tier.initial_rate, tier.maintenance_rate, tier.leverage_max
            )
            for listed in (self.futures.symbols if symbol is None else (symbol,))
            for n, tier in enumerate(self.futures.risk_tiers(listed), start=1)
        ]
        return json_response(gateio_encode.risk_limit_tiers_body(rows))

    def _contracts(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        listed = [
            (
                symbol,
                msgspec.structs.replace(
                    self.futures.rules(symbol), taker_fee=self.futures.taker_fee
                ),
                self.futures.market.funding_rate(symbol),
            )
            for symbol in self.futures.symbols
        ]
        return json_response(gateio_encode.contracts_body(listed))

    def _ticker(self, symbol: Symbol) -> gateio_encode.TickerFigures:
        market, tick = self.futures.market, self._price_ticks[symbol]
        # The venue prints its mark and index prices on the contract's price grid.
        return gateio_encode.TickerFigures(
            market.quote(symbol, self.futures.leg),
            round_to_tick(market.mark_price(symbol), tick),
            round_to_tick(market.spot_mid(symbol), tick),
            market.funding_rate(symbol),
        )

    def _tickers(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        contract = request.query.get("contract")
        symbols = [self._symbol(contract)] if contract else list(self.futures.symbols)
        body = gateio_encode.tickers_body(
            [(self._ticker(symbol), self._contract_sizes[symbol]) for symbol in symbols]
        )
        return json_response(body)

    def _order_book(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        symbol = self._query_symbol(request)
        limit = _limit(request, DEFAULT_BOOK_LIMIT)
        snapshot = self.futures.market.book(symbol, self.futures.leg).snapshot(limit)
        body = gateio_encode.order_book_body(snapshot, self._contract_sizes[symbol], self.now())
        return json_response(body)

    def _funding_history(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        symbol = self._query_symbol(request)
        limit = _limit(request, 100)
        since = _seconds(request, "from", -math.inf)
        until = _seconds(request, "to", math.inf)
        history = [
            settled
            for settled in self.futures.market.funding_history(symbol)
            if since <= settled.ts <= until
        ][-limit:]
        body = gateio_encode.funding_history_body([(s.ts, s.rate) for s in history])
        return json_response(body)

    def _last_price(self, symbol: Symbol) -> float:
        # The tickers' last price is the mark (no trade history of the crowd).
        return round_to_tick(self.futures.market.mark_price(symbol), self._price_ticks[symbol])

    def _candlesticks(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        """Candles of ``interval`` (``5m`` unless named) from ``from`` to ``to`` (Unix
        seconds; ``to`` defaults to now, ``from`` to 100 intervals before), or the newest
        ``limit``, which the venue refuses alongside ``from`` or ``to``."""
        symbol = self._query_symbol(request)
        name = request.query.get("interval") or "5m"
        interval = CANDLE_INTERVALS.get(name)
        if interval is None:
            raise _invalid(f"interval {name!r} is not one of {', '.join(CANDLE_INTERVALS)}")
        query = request.query
        if "limit" in query and ("from" in query or "to" in query):
            raise _invalid("limit conflicts with from and to: give one or the other")
        candles = self.candles.candles(symbol, interval, -math.inf, math.inf)
        if "limit" in query:
            candles = candles[-_limit(request, DEFAULT_CANDLES, MAX_CANDLES) :]
        else:
            until = _seconds(request, "to", self.now())
            since = _seconds(request, "from", until - DEFAULT_CANDLES * interval.longest_s)
            candles = [c for c in candles if since <= c.open_ts <= until][:MAX_CANDLES]
        body = gateio_encode.candlesticks_body(
            [c.figures() for c in candles], self._contract_sizes[symbol]
        )
        return json_response(body)

    def _trades(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        """The contract's trades newest first, within ``from``..``to`` (Unix seconds,
        both optional), ``limit`` of them from ``offset`` (see docs/venues.md: the
        crowd's prints are one a minute)."""
        symbol = self._query_symbol(request)
        since = _seconds(request, "from", -math.inf)
        until = _seconds(request, "to", math.inf)
        minutes = list(self.candles.minutes(symbol))
        fills = self.futures.ledger.fills(symbol)
        size = self._contract_sizes[symbol]
        trades = [
            trade
            for trade in public_trades(minutes, fills, size, len(minutes) + len(fills))
            if since <= trade.ts <= until
        ]
        offset = _offset(request)
        newest = list(reversed(trades))[offset : offset + _limit(request, 100)]
        body = gateio_encode.public_trades_body(symbol, list(reversed(newest)), size)
        return json_response(body)

    # ------------------------------------------------------------ signed REST

    def _fee(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        """Each contract's fee rates (the one ``contract`` named, or all)."""
        symbol = self._optional_symbol(request)
        taker, maker = self.futures.taker_fee, self.futures.maker_fee
        fees = [(s, taker, maker) for s in self.futures.symbols if symbol in (None, s)]
        return json_response(gateio_encode.futures_fee_body(fees))

    def _wallet_fee(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        body = gateio_encode.wallet_fee_body(
            self.user_id, self.futures.taker_fee, self.futures.maker_fee
        )
        return json_response(body)

    def _new_order(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        order = read_new_order(request.body)
        self.futures.rules(order.symbol)
        placed = self.futures.place_order(
            order.symbol,
            order.side,
            order.type,
            order.contracts,
            price=order.price,
            tif=order.tif,
            reduce_only=order.reduce_only,
            client_id=order.text,
            now=self.now(),
        )
        return self._order_response(placed, CREATED)

    def _order_response(self, order: VenueOrder, status: int = 200) -> HttpResponse:
        size = self._contract_sizes[order.symbol]
        body = gateio_encode.order_body(_update(order), size, order.tif.value)
        return json_response(body, status)

    def _optional_symbol(self, request: HttpRequest) -> Symbol | None:
        """The ``contract`` a list is narrowed to; ``None`` (every contract) without one."""
        contract = request.query.get("contract")
        return self._symbol(contract) if contract else None

    def _list_orders(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        symbol = self._optional_symbol(request)
        status = request.query.get("status")
        limit = _limit(request, 100)
        offset = _offset(request)
        if status == "open":
            orders = self.futures.open_orders(symbol)
        elif status == "finished":
            # Newest first; an order that ended with nothing filled is forgotten here as
            # by a query (Gate.io: not retrievable 10 minutes after it was cancelled).
            now = self.now()
            forgets = self.futures.read_after_write.forgets
            orders = [
                entry.order
                for entry in reversed(self.futures.ledger.entries())
                if isinstance(entry, OrderFinished)
                and symbol in (None, entry.order.symbol)
                and not forgets(entry.order.filled_qty > 0, entry.order.updated_ts, now)
            ]
        else:
            raise _invalid(f"status {status!r} is neither open nor finished")
        orders = orders[offset : offset + limit]
        listed = [(_update(order), order.tif.value) for order in orders]
        return json_response(gateio_encode.orders_body(listed, self._contract_sizes))

    def _my_trades_timerange(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        """The account's trades from ``from`` to ``to`` (Unix seconds, both optional),
        newest first, of one contract or all, of one ``role`` or both, paged by ``limit``
        and ``offset``; each with the part of it that closed a position."""
        symbol = self._optional_symbol(request)
        since = _seconds(request, "from", -math.inf)
        until = _seconds(request, "to", math.inf)
        role = request.query.get("role")
        if role not in (None, "maker", "taker"):
            raise _invalid(f"role {role!r} is neither maker nor taker")
        trades = [
            (trade, closed)
            for trade, closed in self._account_trades()
            if symbol in (None, trade.symbol)
            and since <= trade.ts <= until
            and role in (None, "maker" if trade.is_maker else "taker")
        ]
        offset = _offset(request)
        page = list(reversed(trades))[offset : offset + _limit(request, 100)]
        return json_response(gateio_encode.my_trades_timerange_body(page, self._contract_sizes))

    def _my_trades(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        """The account's trades newest first, of one contract or all, of one ``order``
        or all, paged by ``limit`` and ``offset``; each with the part of it that closed a
        position."""
        symbol = self._optional_symbol(request)
        order_id = request.query.get("order")
        trades = [
            (trade, closed)
            for trade, closed in self._account_trades()
            if symbol in (None, trade.symbol) and order_id in (None, trade.venue_order_id)
        ]
        offset = _offset(request)
        page = list(reversed(trades))[offset : offset + _limit(request, 100)]
        return json_response(gateio_encode.my_trades_body(page, self._contract_sizes))

    def _account_trades(self) -> list[tuple[Trade, float]]:
        """Every trade of the account, oldest first, with the part of it (base units)
        that closed a position."""
        holdings: defaultdict[Symbol, float] = defaultdict(float)
        trades: list[tuple[Trade, float]] = []
        for fill in self.futures.ledger.fills():
            held = holdings[fill.symbol]
            opposite = held * fill.signed_qty < 0.0
            closed = min(fill.qty, abs(held)) if opposite else 0.0
            holdings[fill.symbol] = held + fill.signed_qty
            trades.append((account_trade(fill, _client_id(fill.client_id)), closed))
        return trades

    def _query_order(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        reference = read_order_reference(segments[1])
        order = self.futures.order(
            venue_order_id=reference.venue_order_id, client_id=reference.text, now=self.now()
        )
        return self._order_response(order)

    def _cancel_order(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        reference = read_order_reference(segments[1])
        order = self.futures.cancel_order(
            venue_order_id=reference.venue_order_id, client_id=reference.text, now=self.now()
        )
        return self._order_response(order)

    def _amend_order(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        reference = read_order_reference(segments[1])
        size = read_amendment(request.body)
        order = self.futures.amend_order(
            venue_order_id=reference.venue_order_id,
            client_id=reference.text,
            contracts=abs(size),
            side=Side.BUY if size > 0 else Side.SELL,
            now=self.now(),
        )
        return self._order_response(order)

    def _position(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        symbol = self._symbol(segments[1])
        position = futures_position(self.futures.position(symbol), self._price_ticks[symbol])
        body = gateio_encode.position_body(position, self._contract_sizes[symbol])
        return json_response(body)

    def _positions(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        # ``holding=true`` lists only the positions that hold something.
        holding = request.query.get("holding") == "true"
        listed = [
            (
                futures_position(position, self._price_ticks[position.symbol]),
                self._contract_sizes[position.symbol],
            )
            for position in self.futures.positions()
            if position.contracts or not holding
        ]
        return json_response(gateio_encode.positions_body(listed))

    def _set_leverage(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        symbol = self._symbol(segments[1])
        text = request.query.get("leverage")
        try:
            leverage = float(text) if text else math.nan
        except ValueError:
            leverage = math.nan
        if math.isnan(leverage):
            raise _invalid(f"leverage {text!r} is not a number")
        changed = self.futures.set_leverage(symbol, leverage)
        position = futures_position(changed, self._price_ticks[symbol])
        body = gateio_encode.position_body(position, self._contract_sizes[symbol])
        return json_response(body)

    def _account_book(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        """The account's changes newest first, filtered by ``type``, ``contract`` and
        time (``from``, ``to``: Unix seconds, inclusive), ``limit`` of them from
        ``offset``. Only funding settlements are recorded here (see docs/venues.md)."""
        kind = request.query.get("type")
        symbol = self._optional_symbol(request)
        start = _seconds(request, "from", -math.inf)
        end = _seconds(request, "to", math.inf)
        limit = _limit(request, 100)
        offset = _offset(request)
        changes = [
            gateio_encode.AccountChange(
                entry.seq,
                entry.payment.ts,
                entry.payment.amount,
                entry.payment.balance,
                ACCOUNT_BOOK_FUNDING,
                f"{gateio.venue_symbol(entry.payment.symbol)}:funding",
                gateio.venue_symbol(entry.payment.symbol),
            )
            for entry in self.futures.ledger.funding_entries()
            if kind in (None, ACCOUNT_BOOK_FUNDING)
            and symbol in (None, entry.payment.symbol)
            and start <= entry.payment.ts <= end
        ]
        changes.sort(key=lambda change: change.id, reverse=True)
        return json_response(gateio_encode.account_book_body(changes[offset : offset + limit]))

    def _liquidates(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        """The account's liquidations newest first, of ``contract``, by time (``from``,
        ``to``, or exactly ``at``; Unix seconds), ``limit`` of them from ``offset``."""
        chosen = self._history(request, self.futures.ledger.liquidations())
        body = gateio_encode.liquidates_body([self._liquidate(item) for item in chosen])
        return json_response(body)

    def _auto_deleverages(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        """The account's auto-deleveragings, chosen as ``_liquidates`` chooses."""
        chosen = self._history(request, self.futures.ledger.deleverages())
        items = [self._auto_deleverage(item) for item in chosen]
        return json_response(gateio_encode.auto_deleverages_body(items))

    def _history(self, request: HttpRequest, records: list[_Record]) -> list[_Record]:
        symbol = self._optional_symbol(request)
        start = _seconds(request, "from", -math.inf)
        end = _seconds(request, "to", math.inf)
        at = _seconds(request, "at", 0.0)
        chosen = [
            record
            for record in reversed(records)
            if symbol in (None, record.symbol)
            and start <= record.ts <= end
            and (at == 0.0 or int(record.ts) == int(at))
        ]
        offset = _offset(request)
        return chosen[offset : offset + _limit(request, 100)]

    def _liquidate(self, item: Liquidation) -> gateio_encode.LiquidateFigures:
        tick = self._price_ticks[item.symbol]
        return gateio_encode.LiquidateFigures(
            time=item.ts,
            contract=gateio.venue_symbol(item.symbol),
            user=self.user_id,
            leverage=item.leverage,
            size=item.contracts,
            margin=item.margin,
            entry_price=item.entry_price,
            liq_price=round_to_tick(item.liq_price, tick),
            mark_price=round_to_tick(item.mark_price, tick),
            order_id=int(item.order_id),
            order_price=item.price,
            fill_price=item.price,
        )

    def _auto_deleverage(self, item: AutoDeleverage) -> gateio_encode.AutoDeleverageFigures:
        return gateio_encode.AutoDeleverageFigures(
            time=item.ts,
            contract=gateio.venue_symbol(item.symbol),
            user=self.user_id,
            order_id=int(item.order_id),
            leverage=item.leverage,
            entry_price=item.entry_price,
            fill_price=item.price,
            trade_size=item.trade_contracts,
            position_size=item.position_contracts,
        )

    def _accounts(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        account = self.futures.account()
        body = gateio_encode.accounts_body(
            account.total,
            account.available,
            unrealised_pnl=account.unrealised_pnl,
            position_margin=account.position_margin,
            order_margin=account.order_margin,
            currency=account.currency,
            in_dual_mode=self.futures.dual_mode,
        )
        return json_response(body)

    def _account_detail(self, request: HttpRequest, segments: list[str]) -> HttpResponse:
        return json_response(gateio_encode.account_detail_body(self.user_id))

    # ------------------------------------------------------------- websockets

    async def _session(self, client: WsClient) -> None:
        try:
            async for frame in client.messages():
                request = decode_client_message(frame)
                if isinstance(request, gateio.ChannelRequest):
                    self._on_request(client, request)
                # Gate.io's answer to an unreadable request is not documented: none is sent.
        finally:
            for clients in (
                *self._ticker_clients.values(),
                *self._tickers_clients.values(),
                *self._awaiting_full_book.values(),
            ):
                clients.discard(client)
            for followers in (*self._book_clients.values(), *self._private_clients.values()):
                followers.pop(client, None)

    def _on_request(self, client: WsClient, request: gateio.ChannelRequest) -> None:
        now = self.now()
        if request.channel == gateio.PING:
            client.send(gateio_encode.pong_message(now))
            return
        if request.event is None:
            return
        try:
            verify_channel_auth(request, self.credentials)
            self._follow(client, request)
        except VenueError as error:
            client.send(gateio_encode.subscription_ack(request, now, error))
            return
        client.send(gateio_encode.subscription_ack(request, now))

    def _follow(self, client: WsClient, request: gateio.ChannelRequest) -> None:
        """Start (subscribe) or stop following what ``request`` names, once it is known
        to be valid; ``InvalidParameter`` or ``InvalidSymbol`` otherwise."""
        subscribe = request.event == "subscribe"
        payload = request.payload or []
        channel = request.channel
        if channel in (gateio.BOOK_TICKER, gateio.TICKERS):
            if not payload:
                raise _invalid("payload names no contract")
            followers = (
                self._ticker_clients if channel == gateio.BOOK_TICKER else self._tickers_clients
            )
            for symbol in [self._symbol(contract) for contract in payload]:
                if subscribe:
                    followers[symbol].add(client)
                else:
                    followers[symbol].discard(client)
        elif channel == gateio.ORDER_BOOK_UPDATE:
            if len(payload) != 3:
                raise _invalid("payload is [contract, interval, levels]")
            symbol = self._symbol(payload[0])
            if payload[1] not in _BOOK_UPDATE_INTERVALS or payload[2] not in _BOOK_UPDATE_LEVELS:
                raise _invalid(f"interval {payload[1]!r} or levels {payload[2]!r} not served")
            if subscribe:
                self._book_clients[symbol][client] = int(payload[2])
                self._awaiting_full_book[symbol].add(client)
            else:
                self._book_clients[symbol].pop(client, None)
                self._awaiting_full_book[symbol].discard(client)
        elif channel in gateio.PRIVATE_CHANNELS:
            if len(payload) != 2 or payload[0] != self.user_id:
                raise _invalid("payload is [user id, contract or !all] for this account's user")
            followed = (
                None
                if payload[1] == gateio.ALL_CONTRACTS
                else frozenset({self._symbol(payload[1])})
            )
            if subscribe:
                self._private_clients[channel][client] = followed
            else:
                self._private_clients[channel].pop(client, None)
        else:
            raise _invalid(f"channel {channel!r} is not served")

    def _push_market(self, book: SimBook, quote: Quote, diff: DepthDiff | None, now: float) -> None:
        symbol = quote.symbol
        size = self._contract_sizes[symbol]
        tickers = self._ticker_clients.get(symbol)
        if tickers:
            send_to_each(tickers, gateio_encode.book_ticker_push(quote, size, book.version, now))
        followers = self._tickers_clients.get(symbol)
        if followers:
            send_to_each(followers, gateio_encode.tickers_push(self._ticker(symbol), size, now))
        books = self._book_clients.get(symbol)
        if books:
            self._push_book(symbol, books, book, diff, size, now)

    def _push_book(
        self,
        symbol: Symbol,
        books: dict[WsClient, int],
        book: SimBook,
        diff: DepthDiff | None,
        size: float,
        now: float,
    ) -> None:
        """The order book update of this tick to each client: the diff, or the whole
        book to a client that just subscribed and to all every ``full_book_every``
        updates."""
        self._book_updates[symbol] += 1
        every = self._full_book_every
        all_full = every > 0 and self._book_updates[symbol] % every == 0
        just_subscribed = self._awaiting_full_book.pop(symbol, set())
        first_version = book.version if diff is None else diff.first_version
        snapshot: DepthSnapshot | None = None
        frames: dict[tuple[int, bool], str] = {}
        for client, levels in list(books.items()):
            full = all_full or client in just_subscribed
            if not full and diff is None:
                continue
            key = (levels, full)
            if key not in frames:
                if full:
                    snapshot = snapshot or book.snapshot()
                    frames[key] = gateio_encode.order_book_full_push(
                        snapshot, size, now, first_version, levels
                    )
                else:
                    assert diff is not None
                    frames[key] = gateio_encode.order_book_update_push(diff, size, now, levels)
            client.send(frames[key])

    def _on_event(self, event: VenueEvent) -> None:
        now = self.now()
        if isinstance(event, OrderUpdated):
            order = event.order
            followers = self._followers(gateio.ORDERS, order.symbol)
            if followers:
                size = self._contract_sizes[order.symbol]
                frame = gateio_encode.orders_push([_update(order)], size, now, order.tif.value)
                send_to_each(followers, frame)
        elif isinstance(event, TradeExecuted):
            fill = event.fill
            followers = self._followers(gateio.USER_TRADES, fill.symbol)
            if followers:
                trade = account_trade(fill, _client_id(fill.client_id))
                size = self._contract_sizes[fill.symbol]
                send_to_each(followers, gateio_encode.user_trades_push([trade], size, now))
        elif isinstance(event, PositionChanged):
            position = futures_position(event.position, self._price_ticks[event.position.symbol])
            followers = self._followers(gateio.POSITIONS, position.symbol)
            if followers:
                size = self._contract_sizes[position.symbol]
                send_to_each(followers, gateio_encode.positions_push([position], size, now))
        elif isinstance(event, PositionLiquidated):
            followers = self._followers(gateio.LIQUIDATES, event.liquidation.symbol)
            if followers:
                figures = self._liquidate(event.liquidation)
                send_to_each(followers, gateio_encode.liquidates_push([figures], now))
        elif isinstance(event, PositionDeleveraged):
            followers = self._followers(gateio.AUTO_DELEVERAGES, event.deleverage.symbol)
            if followers:
                figures = self._auto_deleverage(event.deleverage)
                send_to_each(followers, gateio_encode.auto_deleverages_push([figures], now))

    def _followers(self, channel: str, symbol: Symbol) -> list[WsClient]:
        return [
            client
            for client, followed in self._private_clients.get(channel, {}).items()
            if followed is None or symbol in followed
        ]

    def send_upgrade_notice(self) -> int:
        """Tell every websocket client the server is being upgraded (reconnect soon);
        returns how many were told."""
        told = self.websockets.broadcast(gateio_encode.upgrade_notice(self.now()))
        self.wire_faults.count("upgrade_notice")
        return told


def _placement(request: HttpRequest) -> Placement | None:
    """A new order's client id and side, for the faults aimed at placements; ``None``
    when it has no client id, or when it cannot be read (the handler says why)."""
    try:
        order = read_new_order(request.body)
    except VenueError:
        return None
    if not order.text:
        return None
    return Placement(order.text, _client_id(order.text), order.side, order.symbol)


def _seconds(request: HttpRequest, name: str, default: float) -> float:
    text = request.query.get(name)
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise _invalid(f"{name} {text!r} is not a Unix time in seconds") from None


def _offset(request: HttpRequest) -> int:
    text = request.query.get("offset") or "0"
    if not text.isdigit():
        raise _invalid(f"offset {text!r} is not a whole number >= 0")
    return int(text)


def _limit(request: HttpRequest, default: int, maximum: int = MAX_LIST_LIMIT) -> int:
    text = request.query.get("limit")
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= maximum:
        raise _invalid(f"limit {text!r} is not a whole number within 1..{maximum}")
    return int(text)
