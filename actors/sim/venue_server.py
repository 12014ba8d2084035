"""What the two simulated venues' wire servers share: one port for REST and websockets,
rate limits and injected faults in front of every REST request, market pushes on each
tick, and the fault switches.

A venue subclass (``MexcServer``, ``GateioServer``) routes REST requests, runs websocket
sessions and writes everything in its venue's format; this class decides, before a
request reaches the venue, whether the edge answers it at all:

1. a rate limit bucket that is empty answers 429 with the wait until it is not;
2. an injected 429 or 5xx answers in the venue's words;
3. the venue's handler answers; a ``VenueError`` it raises becomes the venue's error;

and whatever the answer, the venue may add what its rate limit buckets hold to it
(Gate.io's rate limit headers).

Order placements may instead time out (accepted by the engine, never answered), or meet
a fault aimed at them (``actors.sim.aimed_faults``): refused, filled in part, timed out,
or answered 5xx or 429.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Sequence

import attrs
import msgspec
import trio

from actors.http_server import CloseWithoutAnswer, HttpRequest, HttpResponse, HttpServer
from actors.sim.aimed_faults import AimedFaults, Meeting, OrderFaultKind
from actors.sim.book import SimBook
from actors.sim.candles import CandleHistory
from actors.sim.config import RateLimit, ServerConfig
from actors.sim.events import TradeExecuted, VenueEvent
from actors.sim.exchange import SimExchange
from actors.sim.rate_limits import VenueRateLimiter
from actors.sim.shared_port import SharedPort
from actors.sim.wire_faults import WireFaults, WireFaultsView
from actors.sim.ws_server import WebsocketEndpoint, WsClient
from protocols.model import Quote, Side, Symbol
from protocols.venue import (
    DepthDiff,
    RateLimited,
    RestResponse,
    VenueError,
    VenueUnavailable,
)

RouteHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]


@attrs.frozen
class Route:
    """What answers a request, and the rate limit buckets it counts against."""

    handler: RouteHandler
    limits: tuple[tuple[str, RateLimit], ...]


class VenueFaultsView(msgspec.Struct, frozen=True):
    """A venue's faults: its wire edge's, and its engine's (injected rejections and
    partial fills, as ``[fraction, probability]`` or ``None``)."""

    wire: WireFaultsView
    rejections_left: int
    rejection_error: str
    partial_fill: tuple[float, float] | None
    rate_limited_requests: int
    """Requests the venue's real rate limits refused so far."""
    lookup_lag_s: float
    """How long after accepting an order its queries say it does not exist."""
    forget_unfilled_after_s: float | None
    """How long after ending unfilled an order is forgotten (``None``: never)."""
    hidden_lookups: dict[str, int]
    """Lookups the lag (``lagged_lookup``) and forgetting (``forgotten_lookup``) hid."""


def http_response(response: RestResponse) -> HttpResponse:
    return HttpResponse(response.status, response.body, headers=response.headers)


def json_response(body: bytes, status: int = 200) -> HttpResponse:
    return HttpResponse(status, body)


@attrs.frozen
class Placement:
    """An order placement as an aimed fault looks at it: its client id in the engine
    (Gate.io's ``text``, ``t-`` included), as Basis made it, its side and symbol."""

    engine_id: str
    client_id: str
    side: Side
    symbol: Symbol


class VenueServer(abc.ABC):
    """The wire edge of one simulated venue, ``exchange``; ``now`` reads Unix time;
    ``aimed`` holds the faults aimed at order placements (shared by the venues of a pair,
    which it tells apart by name)."""

    websocket_path: str

    @property
    def streams_path(self) -> str:
        """Where a client opens its websockets: the endpoint's path, unless the venue
        names its streams under it (Binance's ``/ws/<stream>``)."""
        return self.websocket_path

    def __init__(
        self,
        exchange: SimExchange,
        servers: ServerConfig,
        now: Callable[[], float],
        aimed: AimedFaults | None = None,
    ) -> None:
        self.exchange = exchange
        self.aimed = AimedFaults() if aimed is None else aimed
        self.name = exchange.name
        self.now = now
        self.clock_ahead_s = 0.0
        """How far the venue's own clock runs ahead of ``now`` (negative: behind): what it
        says the time is, and judges signed requests' timestamps by. A skew to test
        against; the market and its orders keep ``now``."""
        self.wire_faults = WireFaults()
        self.rate_limiter = VenueRateLimiter()
        self.websockets = WebsocketEndpoint(
            self._session, self.websocket_path, self.wire_faults, servers.websocket_backlog_frames
        )
        self.http = HttpServer(
            self._answer, name=self.name, upgrade=self.websockets.handle_connection
        )
        self.port = SharedPort(self.http, self.wire_faults, self.name)
        self._pushed_versions: dict[Symbol, int] = {}
        self.candles = CandleHistory()
        """Each symbol's price history, for candles and public trades."""
        exchange.add_listener(self._on_event)
        exchange.add_listener(self._record_trade)

    async def serve(
        self, port: int = 0, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Serve REST and websockets on 127.0.0.1:``port``; started with the bound port."""
        await self.port.serve(port, task_status=task_status)

    # ------------------------------------------------------------------- REST

    def clock(self) -> float:
        """The venue's own clock (``clock_ahead_s``)."""
        return self.now() + self.clock_ahead_s

    async def _answer(self, request: HttpRequest) -> HttpResponse:
        route = self._route(request)
        if route is None:
            return self._not_found(request)
        response = await self._answer_route(route, request)
        return self._with_rate_limits(response, route.limits)

    def _with_rate_limits(
        self, response: HttpResponse, limits: tuple[tuple[str, RateLimit], ...]
    ) -> HttpResponse:
        """``response`` with what the venue tells of its rate limits; as it is here."""
        return response

    async def _answer_route(self, route: Route, request: HttpRequest) -> HttpResponse:
        wait_s = self.rate_limiter.admit(route.limits, trio.current_time())
        if wait_s is not None:
            return self._error(RateLimited(self.name, None, "Too many requests", 429, wait_s))
        injected_wait_s = self.wire_faults.take_rate_limit()
        if injected_wait_s is not None:
            error = RateLimited(self.name, None, "Too many requests", 429, injected_wait_s)
            return self._error(error)
        if self.wire_faults.take_server_error():
            return self._error(VenueUnavailable(self.name, None, "injected fault: server error"))
        try:
            return await route.handler(request)
        except VenueError as error:
            return self._error(error)

    async def _place(
        self, place: Callable[[], HttpResponse], placement: Placement | None
    ) -> HttpResponse:
        """Answer an order placement with ``place()``, unless a fault aimed at it meets
        it, or a timeout is due: then the order goes to the engine all the same, and the
        answer never comes."""
        if placement is not None:
            meeting = await self.aimed.meet(
                self.name, placement.client_id, placement.side, placement.symbol
            )
            if meeting is not None:
                return await self._place_under(meeting, place, placement.engine_id)
        hold_s = self.wire_faults.take_timeout()
        rejections_left = self.exchange.faults.rejections_left
        try:
            response = place()
        except VenueError:
            if hold_s is None:
                raise
            response = None  # refused; the client never hears that either
        finally:
            if self.exchange.faults.rejections_left < rejections_left:
                self.wire_faults.count("rejected_order")
        if hold_s is None and response is not None:
            return response
        await trio.sleep(hold_s or 0.0)
        raise CloseWithoutAnswer

    async def _place_under(
        self, meeting: Meeting, place: Callable[[], HttpResponse], engine_id: str
    ) -> HttpResponse:
        """Answer a placement that met an aimed fault, landing it once its effect
        happened; when it cannot happen (the placement failed before the engine looked
        at it, or the order filled whole or not at all) the placement goes on as if
        unmet and the fault stays armed. A 5xx or a 429 goes on for the venue's next
        ``count - 1`` requests; the others are this order's alone."""
        fault = meeting.fault
        kind = fault.kind
        if kind is OrderFaultKind.SERVER_ERROR:
            meeting.land()
            self.wire_faults.count("server_error")
            self.wire_faults.fail_requests(fault.count - 1)
            return self._error(VenueUnavailable(self.name, None, "injected fault: server error"))
        if kind is OrderFaultKind.RATE_LIMIT:
            meeting.land()
            self.wire_faults.count("rate_limit")
            self.wire_faults.rate_limit_requests(fault.count - 1, fault.retry_after_s)
            wait_s = fault.retry_after_s
            return self._error(RateLimited(self.name, None, "Too many requests", 429, wait_s))
        engine = self.exchange.faults
        if kind is OrderFaultKind.REJECT:
            assert fault.error is not None
            engine.reject_order(
                engine_id, fault.error(self.name, None, "injected fault: order rejected")
            )
            try:
                return place()
            finally:
                if not engine.withdraw_rejection(engine_id):
                    meeting.land()
                    self.wire_faults.count("rejected_order")
        if kind is OrderFaultKind.PARTIAL_FILL:
            engine.cap_order(engine_id, fault.fraction)
            try:
                return place()
            finally:
                if self.exchange.part_filled(engine_id):
                    meeting.land()
                    self.wire_faults.count("partial_fill")
                else:
                    engine.uncap_order(engine_id)
        place()  # refused: the client hears it, as it would without the fault
        meeting.land()
        self.wire_faults.count("timeout")
        await trio.sleep(fault.hold_s)
        raise CloseWithoutAnswer

    @abc.abstractmethod
    def _route(self, request: HttpRequest) -> Route | None:
        """What answers ``request``, or ``None`` (404)."""

    @abc.abstractmethod
    def _not_found(self, request: HttpRequest) -> HttpResponse: ...

    @abc.abstractmethod
    def _error(self, error: VenueError) -> HttpResponse:
        """``error`` in the venue's words."""

    # -------------------------------------------------------------- websockets

    @abc.abstractmethod
    async def _session(self, client: WsClient) -> None:
        """Talk to one websocket client until it goes."""

    @abc.abstractmethod
    def _on_event(self, event: VenueEvent) -> None:
        """Push one of the engine's private events to the clients that follow it."""

    def publish_market(self, now: float, symbols: Sequence[Symbol]) -> None:
        """Push each of ``symbols`` whose book changed since its last push: its best bid
        and ask and the depth diff since (unless a skip is due); and each one's last
        price into its candles."""
        market, leg = self.exchange.market, self.exchange.leg
        for symbol in symbols:
            self.candles.record_price(symbol, self._last_price(symbol), now)
            book = market.book(symbol, leg)
            pushed = self._pushed_versions.get(symbol)
            if pushed == book.version:
                continue
            self._pushed_versions[symbol] = book.version
            # The venue is the book's one reader of changes: what it took last time is
            # what it pushed, so the changes continue its stream exactly.
            changes = book.take_changes(pushed)
            diff = (
                None
                if pushed is None or changes is None
                else DepthDiff(symbol, pushed + 1, book.version, *changes, now)
            )
            if diff is not None and self.wire_faults.take_depth_skip(symbol):
                diff = None
            self._push_market(book, book.quote(), diff, now)
        self.wire_faults.depth_pass_done(symbols, len(self.exchange.symbols))

    @abc.abstractmethod
    def _last_price(self, symbol: Symbol) -> float:
        """The price ``symbol`` last traded at, as the venue's tickers say."""

    def _record_trade(self, event: VenueEvent) -> None:
        if isinstance(event, TradeExecuted):
            fill = event.fill
            self.candles.record_trade(fill.symbol, fill.qty, fill.price, fill.ts)

    @abc.abstractmethod
    def _push_market(self, book: SimBook, quote: Quote, diff: DepthDiff | None, now: float) -> None:
        """Push ``book`` (at its ``quote``) to the clients that follow it: ``diff`` the
        levels changed since the last push, ``None`` when it is not to be sent."""

    # -------------------------------------------------------------- fault switches

    def drop_websockets(self) -> int:
        """Cut every open websocket at once (no closing handshake); how many there were."""
        dropped = self.websockets.drop_all("injected fault: dropped")
        self.wire_faults.count("dropped_websocket", dropped)
        return dropped

    def stall_websockets(self, seconds: float) -> None:
        """Keep websockets open but send nothing on them (no pongs either) for ``seconds``."""
        self.wire_faults.stall(seconds)

    def delay_frames(self, ms: float) -> None:
        """Send every websocket frame ``ms`` late from now on (0 puts frames back on time)."""
        self.wire_faults.delay_frames(ms)

    def refuse_connections(self, seconds: float) -> None:
        """Refuse new REST and websocket connections for ``seconds`` (the port closes;
        open connections live on); 0 ends a refusal."""
        self.wire_faults.refuse_connections(seconds)
        self.port.refusal_changed()

    def fail_requests(self, count: int) -> None:
        """Answer the next ``count`` REST requests with the venue's server error (503)."""
        self.wire_faults.fail_requests(count)

    def rate_limit_requests(self, count: int, retry_after_s: float = 1.0) -> None:
        """Answer the next ``count`` REST requests with 429, asking for ``retry_after_s``."""
        self.wire_faults.rate_limit_requests(count, retry_after_s)

    def time_out_orders(self, count: int, hold_s: float = 10.0) -> None:
        """Accept the next ``count`` order placements, then close each connection
        unanswered after ``hold_s``."""
        self.wire_faults.time_out_orders(count, hold_s)

    def reject_orders(self, count: int, error: type[VenueError] = VenueUnavailable) -> None:
        """Refuse the next ``count`` order placements with ``error`` (nothing accepted)."""
        self.exchange.faults.reject_next(count, error)

    def fill_partially(self, fraction: float, probability: float = 1.0) -> None:
        """Give each matching pass of an order at most ``fraction`` of it, with
        ``probability``, until ``fill_fully``."""
        self.exchange.faults.fill_partially(fraction, probability)

    def fill_fully(self) -> None:
        self.exchange.faults.fill_fully()

    def skip_depth_update(self, symbol: Symbol | None = None) -> None:
        """Leave out the next depth diff of ``symbol`` (every symbol when ``None``)."""
        self.wire_faults.skip_depth_update(symbol)

    def set_read_after_write(self, lag_s: float, forget_unfilled_after_s: float | None) -> None:
        """Hide orders from queries for ``lag_s`` after they are accepted, and forget
        those that ended unfilled ``forget_unfilled_after_s`` after (``None``: never)."""
        self.exchange.read_after_write.set(lag_s, forget_unfilled_after_s)

    def clear_faults(self) -> None:
        """Switch every fault of this venue off, wire and engine; lookups see orders as
        the venue's config says."""
        self.wire_faults.clear()
        self.exchange.faults.clear()
        for aimed in self.aimed.armed:
            if aimed.target.venue == self.name:
                aimed.close()
        self.exchange.read_after_write.reset()
        self.port.refusal_changed()

    def faults_view(self) -> VenueFaultsView:
        engine = self.exchange.faults
        lookups = self.exchange.read_after_write
        return VenueFaultsView(
            self.wire_faults.view(),
            engine.rejections_left,
            engine.rejection.__name__,
            engine.partial_fill,
            self.rate_limiter.refused,
            lookups.lag_s,
            lookups.forget_unfilled_after_s,
            lookups.served(),
        )
