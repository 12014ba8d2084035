"""The order router actor: one per venue.

Strategies send it ``PlaceOrder``, ``CancelOrder`` and ``AmendOrder``, recovery
``ReconcileOrder``; it
rounds each order to the venue's increments, signs and sends it through one kept-alive
httpx pool under token buckets, and reports back to the owning strategy —
``OrderAccepted``, ``OrderRejected``, ``Fill``s, ``OrderFinal`` — in that order and never
twice.

The client order id belongs to the order intent, not to an attempt: every retry of one
order reuses it. A request that may have reached the venue (a timeout, a reset, a 5xx) is
never simply resent: the order is first looked up by its client id, and only a venue that
still has no such order once its read-after-write lag has passed, and does not list it
among its orders either, gets it again. What a "no such order" answer may be taken to mean
is decided in one place, :func:`~actors.runtime.orders.lookup.judge_not_found`. An order
with a ``send_by`` (an entry's leg) is not sent, first or again, once it has passed: it is
reported rejected, as the prices it was decided on may be gone.

What the owner is told is derived by each order's
:class:`~actors.runtime.orders.tracker.OrderTracker` from the venue's reports (placement
replies, queries, private pushes and trades, in any order, repeated); the router moves
those reports in and the tracker's deliveries out, journaling each before it is sent.
"""

from __future__ import annotations

import enum
import logging
import random
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

import attrs
import msgspec
import trio

from actors.failpoints import failpoint
from actors.runtime.market.private_stream import PrivateStream, PrivateStreamCodec
from actors.runtime.orders.clock_skew import ClockWindow, judged, skew_s
from actors.runtime.orders.funding_book import FundingBook
from actors.runtime.orders.lookup import (
    LOOKUP_GIVE_UP_S,
    NotFound,
    OrderKnowledge,
    Visibility,
    gives_up,
    judge_not_found,
    may_not_show_yet,
)
from actors.runtime.orders.position_watch import PositionWatch
from actors.runtime.orders.rate_limit import TokenBucket
from actors.runtime.orders.tracker import (
    Accepted,
    Delivery,
    Filled,
    Finished,
    OrderTracker,
    Rejected,
)
from actors.runtime.persistence.store import OrderEventRecord
from actors.runtime.retry import retry
from actors.venues.rest import VENUE_FAILURES, OutcomeUnknown, RequestNotSent, RestClient
from protocols.client_ids import task_of
from protocols.messages import (
    AmendOrder,
    CancelOrder,
    PlaceOrder,
    ReconcileOrder,
    RulesUpdate,
)
from protocols.model import (
    Leg,
    Order,
    OrderStatus,
    OrderType,
    Side,
    Symbol,
    TimeInForce,
    VenueRules,
)
from protocols.rules import more_than_noise, round_down, round_to_tick
from protocols.venue import (
    BadCredentials,
    BadSignature,
    Banned,
    DuplicateClientId,
    FuturesPosition,
    InsufficientBalance,
    OrderAlreadyFinal,
    OrderUpdate,
    RateLimited,
    RestRequest,
    RestResponse,
    TimestampRejected,
    Trade,
    UnknownOrder,
    VenueError,
    VenueUnavailable,
)
from supervision import Address, Backoff, Incarnation

log = logging.getLogger("basis.router")

_encode_json = msgspec.json.Encoder().encode
FINISHED_IDS_KEPT = 100_000
REFUSALS_IN_A_ROW = 3
"""Placements the venue rejected one after another, none accepted between, that make it
a venue refusing orders (``RouterStatistics.orders_refused``)."""
ACCOUNT_REFUSALS = (BadCredentials, BadSignature, Banned, TimestampRejected)
"""Rejections that refuse the account, not the order: one is enough to know that no
order goes through there until someone fixes the keys, the IP ban or the clock."""
T = TypeVar("T")


class Refused(enum.Enum):
    """What a placement the venue answered with an error comes to."""

    RETRY = "retry"
    """Asked too often: the same order goes again once the venue's wait is over."""
    LOOK_UP = "look up"
    """The venue may have taken it all the same (a 5xx, an id it has seen): it is looked
    up by its client id before anything is sent again."""
    REJECT = "reject"
    """The venue turned it down: it ends rejected."""


def placement_refused(error: VenueError) -> Refused:
    """What a placement answered with ``error`` comes to."""
    if isinstance(error, RateLimited):
        return Refused.RETRY
    if isinstance(error, (VenueUnavailable, DuplicateClientId)):
        return Refused.LOOK_UP
    return Refused.REJECT


class RouterCodec(Protocol):
    """What a router needs of a venue's REST API."""

    exchange: str
    leg: Leg
    read_after_write_s: float
    """How long after an order reached the venue a query may still not find it."""
    forgets_unfilled: bool
    """Whether the venue forgets, even by its id, an order that ended unfilled."""
    clock_ahead_s: float
    clock_behind_s: float
    """How far the local clock may be ahead of, or behind, the venue's before it refuses
    signed requests (``clock_skew.py``)."""

    async def load_rules(
        self, rest: RestClient, symbols: Sequence[Symbol]
    ) -> dict[Symbol, VenueRules]: ...

    def place(self, order: Order, rules: VenueRules, now: float) -> RestRequest: ...

    def query(
        self, symbol: Symbol, client_id: str, venue_order_id: str | None, now: float
    ) -> RestRequest: ...

    def cancel(
        self, symbol: Symbol, client_id: str, venue_order_id: str | None, now: float
    ) -> RestRequest: ...

    def amend(
        self, order: Order, venue_order_id: str | None, rules: VenueRules, now: float
    ) -> RestRequest | None:
        """Changes the open ``order``'s size to ``order.qty`` in all; ``None`` where the
        venue cannot change an open order (it is cancelled instead)."""
        ...

    def parse_placed(
        self, response: RestResponse, order: Order, rules: VenueRules
    ) -> OrderUpdate: ...

    def parse_order(
        self, response: RestResponse, symbol: Symbol, rules: VenueRules
    ) -> OrderUpdate: ...

    def error(self, response: RestResponse, now: float) -> VenueError: ...

    def pause_s(self, response: RestResponse, now: float) -> float:
        """How long to hold every request off because the reply's usage headers say the
        venue's request budget is nearly spent (0.0: go on)."""
        ...

    def clock_request(self) -> RestRequest:
        """Asks the venue for its server time."""
        ...

    def parse_clock(self, response: RestResponse) -> float:
        """The venue's time (Unix seconds) in the answer to ``clock_request``."""
        ...

    async def order_trades(
        self, rest: RestClient, symbol: Symbol, venue_order_id: str, now: float
    ) -> Sequence[Trade] | None:
        """The order's trades with the fees the venue charged, or ``None`` when the
        venue has no way to list one order's trades."""
        ...

    async def price(self, rest: RestClient, symbol: Symbol) -> float | None:
        """The latest price of ``symbol``, to value fees paid in another asset; ``None``
        when the venue has none to give."""
        ...

    async def listed_order(
        self,
        rest: RestClient,
        symbol: Symbol,
        client_id: str,
        since: float | None,
        acquire: Callable[[], Awaitable[None]],
    ) -> OrderUpdate | None:
        """The order with ``client_id`` as the venue's lists of orders show it, or
        ``None``: asked before an order is concluded never to have arrived, for venues
        whose lookups by client id stop finding an order sooner than their lists do.
        ``since`` is when the order was sent (wall clock; ``None`` when not known), older
        orders need not be read; each request waits for ``acquire``."""
        ...


@attrs.define(eq=False)
class TrackedOrder:
    """The router's record of one order intent: its accounting and who owns it."""

    tracker: OrderTracker
    owner: Address
    sends: int = 0
    """Placement requests sent for this intent (all with one client id)."""
    reached_by: float = float("-inf")
    """The trio time by which the venue had the order if it ever will: when the last
    placement attempt ended, or, for an order an earlier run sent, when this router began
    looking for it."""
    ends_by_itself: bool = False
    """Placed here as immediate-or-cancel (or market): it ends on arrival."""
    cancel_sent: bool = False
    """A cancel of it was sent: it is meant to end."""
    adopted: bool = False
    """Taken over from an earlier run: what became of it while no router watched is not
    known (it may have been cancelled, or ended by itself)."""
    send_by: float | None = None
    """Wall-clock time after which no attempt to send it starts (``PlaceOrder.send_by``)."""
    lock: trio.Lock = attrs.field(factory=trio.Lock)
    """Reports of one order are applied one at a time, so they reach the strategy in order."""
    ended: trio.Event = attrs.field(factory=trio.Event)
    """Set once its end is handed over: a wait to poll it again ends there (a router
    stopping waits for its orders in flight, not for their next poll)."""

    @property
    def order(self) -> Order:
        return self.tracker.order

    @property
    def venue_order_id(self) -> str | None:
        return self.tracker.venue_order_id

    @property
    def accepted(self) -> bool:
        return self.tracker.accepted

    @property
    def final(self) -> bool:
        return self.tracker.final


@attrs.define
class RouterStats:
    placed: int = 0
    accepted: int = 0
    rejected: int = 0
    filled: int = 0
    unknown_resolved: int = 0
    resent_after_not_found: int = 0
    rate_limited: int = 0
    sent_too_late: int = 0
    held_off: int = 0


class RouterStatistics(msgspec.Struct, frozen=True):
    """What a router reports of itself (:meth:`Router.statistics`); counters only grow."""

    name: str
    placed: int
    """Placement requests sent (a retried intent counts each time)."""
    accepted: int
    rejected: int
    filled: int
    """Fills delivered to strategies."""
    unknown_resolved: int
    """Orders of unknown outcome found at the venue by their client id."""
    resent_after_not_found: int
    rate_limited: int
    open_orders: int
    """Orders followed that have not ended."""
    private_stream_up: bool
    """The venue's private stream is up (see :class:`PrivateStreamStatistics`): orders
    are followed by its pushes, polling only as a safety net."""
    private_stream_down: str | None = None
    """Why the router's private stream is not up (never connected yet, refused,
    disconnected), or ``None`` when it is up or the router has none."""
    entries_refused: dict[str, str] = msgspec.field(default_factory=dict)
    """Symbol → why no new position may be opened there (the venue's settings)."""
    unresolved_orders: dict[str, str] = msgspec.field(default_factory=dict)
    """Client id → why: orders the venue acknowledged but has not found for longer
    than ``lookup_give_up_s``; their owners wait, an operator must look (``lookup.py``)."""
    orders_refused: str | None = None
    """Why the venue is refusing orders: ``REFUSALS_IN_A_ROW`` placements rejected with
    none accepted between, or one rejection that refuses the account
    (``ACCOUNT_REFUSALS``); ``None`` once an order is accepted again."""
    account_refused: bool = False
    """``orders_refused`` is the account's refusal: no order goes through there."""
    clock_skew_s: float | None = None
    """How far the local clock was ahead of the venue's (negative: behind) when last
    measured (at each load of the rules); ``None`` before the first measurement."""
    clock_window: ClockWindow | None = None
    """How far it may be before the venue refuses signed requests."""
    sent_too_late: int = 0
    """Orders not sent (reported rejected) because their ``send_by`` had passed."""
    held_off: int = 0
    """Times the venue's usage headers said its request budget was nearly spent, and
    nothing more was sent until its window turned (before it refused anything)."""


@attrs.define(eq=False)
class Router:
    name: str
    codec: RouterCodec
    rest: RestClient
    owners: Mapping[str, Address]
    """Task id → its strategy's address (each client id names its task)."""
    subscribers: Mapping[Symbol, Sequence[Address]]
    """Symbol → strategies to tell about rule changes."""
    order_bucket: TokenBucket = attrs.field(factory=lambda: TokenBucket(10.0, 10.0))
    query_bucket: TokenBucket = attrs.field(factory=lambda: TokenBucket(20.0, 20.0))
    private: PrivateStreamCodec | None = None
    """The venue's private stream, when the router has one; polling covers its gaps."""
    ws_url: str = ""
    funding: FundingBook | None = None
    """The account's funding ledger, read beside the orders, when the venue has one."""
    position_watch: PositionWatch | None = None
    """The venue's positions against the strategies' legs, when the venue has positions."""
    poll_interval_s: float = 0.25
    """How often open orders are polled while the private stream is down."""
    safety_poll_s: float = 2.0
    """How often they are polled while it is up, in case a push was lost."""
    read_after_write_s: float | None = None
    """The codec's read-after-write lag unless given (tests shorten it)."""
    max_send_attempts: int = 5
    rules_refresh_s: float = 3600.0
    default_fee: float = 0.0005
    backoff: Backoff = attrs.field(factory=lambda: Backoff(min_s=0.05, max_s=2.0))
    rng: random.Random = attrs.field(factory=random.Random)
    wall_clock: Callable[[], float] = time.time
    rules: dict[Symbol, VenueRules] = attrs.field(factory=dict)
    orders: dict[str, TrackedOrder] = attrs.field(factory=dict)
    stats: RouterStats = attrs.field(factory=RouterStats)
    stream: PrivateStream | None = None
    journal: Callable[[OrderEventRecord], Awaitable[None]] | None = None
    """Where what venues say of orders is appended (the writer), when there is a store."""
    on_position: Callable[[FuturesPosition], None] | None = None
    """Told each futures position the private stream pushes (the liquidation watch)."""
    on_balance_refused: Callable[[], None] | None = None
    """Told when the venue refuses an order for the balance (the risk actor, so that no
    strategy enters on it before the balances are read again)."""
    may_send: Callable[[Order], str | None] | None = None
    """Asked right before each attempt to send an order, the first and every retry: why it
    must not leave now (in a cluster, its symbol's lease has ended here), or ``None``. An
    order refused so is reported rejected and never sent."""
    lookup_give_up_s: float = LOOKUP_GIVE_UP_S
    """How long an acknowledged order may go unfound before it is reported unresolved."""
    not_found_log_every_s: float = 30.0
    """How often an order still not found is logged again (the first time always)."""
    _unresolved: dict[str, str] = attrs.field(factory=dict)
    _heard_fill_at: dict[Symbol, float] = attrs.field(factory=dict)
    """Symbol → when (trio time) a fill or an end of one of its orders was last heard."""
    _refusals: int = 0
    """Placements rejected by the venue since the last one it accepted."""
    _refused: tuple[str, bool] | None = None
    """``(why, the account's refusal)`` while the venue refuses orders."""
    _clock_skew_s: float | None = None
    _not_found: dict[str, tuple[float, float]] = attrs.field(factory=dict)
    """Client id → (trio time it was first not found, time that was last logged)."""
    fee_price_ttl_s: float = 60.0
    """How long a fee asset's USDT price is reused before it is asked for again."""
    _fee_prices: dict[Symbol, tuple[float, float]] = attrs.field(factory=dict)
    """Fee asset in the quote currency → (price, monotonic time it was read)."""
    keep_finished_s: float = 300.0
    """How long a finished order stays followed, for late pushes and resent intents."""
    _finished: deque[tuple[float, str]] = attrs.field(factory=deque)
    _finished_ids: OrderedDict[str, None] = attrs.field(factory=OrderedDict)
    _adopting: set[str] = attrs.field(factory=set)
    """Client ids of orders of an earlier run being looked up to be taken over."""
    _rules_known: trio.Event = attrs.field(factory=trio.Event)
    """Set once the venue's rules have loaded (they are kept across restarts)."""

    def statistics(self) -> RouterStatistics:
        """This router's counters now, as a value that no later change touches."""
        stats = self.stats
        return RouterStatistics(
            self.name,
            stats.placed,
            stats.accepted,
            stats.rejected,
            stats.filled,
            stats.unknown_resolved,
            stats.resent_after_not_found,
            stats.rate_limited,
            sum(1 for tracked in self.orders.values() if not tracked.final),
            self.stream is not None and self.stream.up,
            self._private_stream_down(),
            {
                str(symbol): rules.entries_refused
                for symbol, rules in self.rules.items()
                if rules.entries_refused is not None
            },
            dict(self._unresolved),
            None if self._refused is None else self._refused[0],
            self._refused is not None and self._refused[1],
            self._clock_skew_s,
            ClockWindow(self.codec.clock_ahead_s, self.codec.clock_behind_s),
            stats.sent_too_late,
            stats.held_off,
        )

    def last_fill(self, symbol: Symbol) -> float | None:
        """When (trio time) a fill or an end of an order on ``symbol`` was last heard of:
        the venue's own reads may not show it until its read-after-write lag has passed."""
        return self._heard_fill_at.get(symbol)

    def _heed_usage(self, response: RestResponse) -> None:
        """Hold every request off while the venue's usage headers say its budget is
        nearly spent (``codec.pause_s``): waiting for its window to turn costs less than
        the refusals past its limit, which a venue may answer with a ban."""
        pause_s = self.codec.pause_s(response, self.wall_clock())
        if pause_s > 0.0:
            self.stats.held_off += 1
            self.order_bucket.close_for(pause_s)
            self.query_bucket.close_for(pause_s)

    def busy(self, symbol: Symbol) -> bool:
        """An order on ``symbol`` is followed that has not ended."""
        return any(
            not tracked.final and tracked.order.symbol == symbol for tracked in self.orders.values()
        )

    def _owner(self, client_id: str) -> Address | None:
        """The strategy that owns ``client_id``'s order: the task the id names, matched
        whole (an id Basis did not make has none)."""
        task_id = task_of(client_id)
        return None if task_id is None else self.owners.get(task_id)

    def _private_stream_down(self) -> str | None:
        if self.private is None:
            return None
        if self.stream is None:
            return "not started"
        stream = self.stream.statistics()
        if stream.up:
            return None
        return stream.last_reason or "connecting"

    # ------------------------------------------------------------------ lifecycle

    async def run(self, inc: Incarnation, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Load the venue's rules, take up the orders a previous incarnation left
        unfinished, then serve the mailbox until asked to stop. In-flight orders are
        followed to the end before a stop completes.

        A venue that cannot give its rules now (down, 5xx, 429) does not stop the router:
        it serves at once, refusing placements until the rules are known, and keeps asking
        in the background."""
        assert inc.mailbox is not None, "a router needs a mailbox"
        self.rest.on_reply = self._heed_usage
        try:
            await self._load_rules()
        except VENUE_FAILURES as error:
            log.warning("%s: cannot load the venue's rules yet: %s", self.name, error)
        task_status.started()
        async with trio.open_nursery() as nursery:
            background = trio.CancelScope()
            nursery.start_soon(self._background, background)
            for tracked in self.orders.values():
                if not tracked.final:
                    nursery.start_soon(self._resume, tracked)
            async for message in inc.mailbox:
                if isinstance(message, PlaceOrder):
                    tracked = self._take_on(message.order, message.send_by)
                    if tracked is not None:
                        # Written here, before the task that follows it starts: a new
                        # task runs only after every task ready now.
                        first = await self._write_first(tracked)
                        nursery.start_soon(self._place_and_follow, tracked, first)
                elif isinstance(message, (CancelOrder, ReconcileOrder)):
                    # Both end with the order settled: followed (adopted if this router
                    # never placed it) and cancelled while still open.
                    nursery.start_soon(self._cancel, message)
                elif isinstance(message, AmendOrder):
                    nursery.start_soon(self._amend, message)
                else:
                    log.warning("%s: ignored %r", self.name, message)
            # Stopping: orders in flight are followed to their end; nothing new starts.
            background.cancel()

    async def _background(self, scope: trio.CancelScope) -> None:
        with scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._keep_rules)
                if self.funding is not None:
                    nursery.start_soon(self.funding.run)
                watch = self.position_watch
                if watch is not None:
                    nursery.start_soon(watch.run)
                if self.private is not None:
                    self.stream = PrivateStream(
                        f"{self.name}-private",
                        self.private,
                        self.rest,
                        self.ws_url,
                        self._on_push,
                        self.on_trade,
                        on_position=self._on_position,
                        on_reduction=None if watch is None else watch.on_reduction,
                        rng=self.rng,
                        wall_clock=self.wall_clock,
                    )
                    nursery.start_soon(self.stream.run)

    def _on_position(self, position: FuturesPosition) -> None:
        """A position the private stream pushed: to the position watch (a short the venue
        reduced by itself) and to ``on_position`` (the liquidation watch)."""
        if self.position_watch is not None:
            self.position_watch.on_push(position)
        if self.on_position is not None:
            self.on_position(position)

    async def _load_rules(self) -> None:
        symbols = list(self.subscribers)
        self.rules.update(await self.codec.load_rules(self.rest, symbols))
        self._rules_known.set()
        now = self.wall_clock()
        for symbol, rules in self.rules.items():
            for address in self.subscribers.get(symbol, ()):
                await address.send(RulesUpdate(now, self.codec.leg, rules))
        try:
            await self._measure_clock()
        except VENUE_FAILURES as error:
            log.warning("%s: cannot read the venue's clock: %s", self.name, error)

    async def _measure_clock(self) -> None:
        """How far the local clock is from the venue's, now (``clock_skew.py``)."""
        sent_at = self.wall_clock()
        response = await self.rest.send(self.codec.clock_request())
        received_at = self.wall_clock()
        if response.status != 200:
            raise self.codec.error(response, received_at)
        skew = skew_s(self.codec.parse_clock(response), sent_at, received_at)
        self._clock_skew_s = skew
        window = ClockWindow(self.codec.clock_ahead_s, self.codec.clock_behind_s)
        verdict = judged(skew, window)
        if verdict is not None:
            log.warning("%s: %s", self.name, verdict[1])

    async def _keep_rules(self) -> None:
        """Ask for the rules until the venue gives them, then again every
        ``rules_refresh_s``; a failed refresh keeps the rules already known."""

        def failed(error: Exception) -> None:
            log.warning("%s: could not load the rules: %s", self.name, error)

        if not self._rules_known.is_set():
            await self._retry(self._load_rules, VENUE_FAILURES, on_failure=failed)
        while True:
            await trio.sleep(self.rules_refresh_s)
            try:
                await self._load_rules()
            except VENUE_FAILURES as error:
                failed(error)

    async def _retry(
        self,
        operation: Callable[[], Awaitable[T]],
        retry_on: tuple[type[Exception], ...],
        *,
        attempts: int | None = None,
        on_failure: Callable[[Exception], object] | None = None,
    ) -> T:
        """:func:`~actors.runtime.retry.retry` with this router's backoff."""
        return await retry(
            operation,
            retry_on=retry_on,
            backoff=self.backoff,
            rng=self.rng,
            attempts=attempts,
            on_failure=on_failure,
        )

    # -------------------------------------------------------------------- placing

    def _take_on(self, order: Order, send_by: float | None = None) -> TrackedOrder | None:
        """``order`` tracked, unless it is known already or no strategy owns it."""
        self._forget_finished()
        if order.client_id in self.orders or order.client_id in self._finished_ids:
            # The same intent again (a strategy restarted and resent it): never twice.
            log.info("%s: %s is already known; not sent again", self.name, order.client_id)
            return None
        owner = self._owner(order.client_id)
        if owner is None:
            log.error("%s: no strategy owns %s; not sent", self.name, order.client_id)
            return None
        ends_by_itself = order.type is OrderType.MARKET or order.tif is TimeInForce.IOC
        tracked = TrackedOrder(
            OrderTracker(order), owner, ends_by_itself=ends_by_itself, send_by=send_by
        )
        self.orders[order.client_id] = tracked
        log.info(
            "%s: %s %s %s %g at %g",
            self.name,
            order.client_id,
            order.side.value,
            order.symbol,
            order.qty,
            order.price,
        )
        return tracked

    async def _write_first(self, tracked: TrackedOrder) -> _FirstSend | None:
        """The order's first placement, as far as it goes without waiting: rounded to the
        venue's rules, and written if the order bucket has a token and a kept-open
        connection is free. Its outcome (the reply to await, or what the attempt raised)
        is for :meth:`_place_and_follow` to take as its first attempt's. ``None`` if the
        attempt must wait (no rules, no token, the wrong kind of client): it is made
        there, as every later one is."""
        order = tracked.order
        rules = self.rules.get(order.symbol)
        write = getattr(self.rest, "write", None)
        if rules is None or write is None or not self.order_bucket.ready():
            return None
        tracked.tracker.order = _rounded(order, rules)
        try:
            request = await self._placement(tracked, rules)
        except (_Unwritable, _TooLate) as error:
            return _FirstSend(rules, None, error)
        try:
            return _FirstSend(rules, await write(request), None)
        except (RequestNotSent, OutcomeUnknown) as error:
            tracked.reached_by = trio.current_time()
            return _FirstSend(rules, None, error)

    async def _place_and_follow(self, tracked: TrackedOrder, first: _FirstSend | None) -> None:
        order = tracked.order
        if first is not None:
            rules = first.rules  # the order is rounded to them already
        elif (found := self.rules.get(order.symbol)) is not None:
            rules = found
            tracked.tracker.order = order = _rounded(order, rules)
        else:
            await self._reject(tracked, f"no {self.codec.exchange} rules for {order.symbol}")
            return

        async def attempt() -> RestResponse:
            nonlocal first
            if first is None:
                return await self._send_placement(tracked, rules)
            taken, first = first, None
            return await taken.outcome(tracked)

        while not tracked.final and not tracked.accepted:
            try:
                response = await self._retry(
                    attempt,
                    (RequestNotSent,),
                    attempts=self.max_send_attempts,
                )
            except (_Unwritable, _TooLate) as error:
                await self._reject(tracked, str(error))
                return
            except RequestNotSent as error:
                await self._reject(
                    tracked, f"not sent after {self.max_send_attempts} attempts: {error}"
                )
                return
            except OutcomeUnknown as error:
                log.warning(
                    "%s: %s outcome unknown (%s): looking it up", self.name, order.client_id, error
                )
                if not await self._resolve(tracked, rules):
                    continue  # the venue never got it: the same intent goes again
                break
            if response.status < 300:
                await self._apply(tracked, self.codec.parse_placed(response, order, rules))
                break
            error = self.codec.error(response, self.wall_clock())
            self._note_refusal(error)
            refused = placement_refused(error)
            if refused is Refused.RETRY:
                self.stats.rate_limited += 1
                self.order_bucket.close_for(error.retry_after_s or 1.0)
                continue
            if refused is Refused.LOOK_UP:
                if not await self._resolve(tracked, rules):
                    continue
                break
            if isinstance(error, InsufficientBalance) and self.on_balance_refused is not None:
                self.on_balance_refused()
            await self._reject(tracked, str(error))
            return
        await self._follow(tracked, rules)

    def _note_refusal(self, error: VenueError) -> None:
        """Count a placement the venue turned down; a run of them, or one that refuses
        the account, makes this a venue refusing orders."""
        if placement_refused(error) is not Refused.REJECT:
            return  # not a refusal: the order goes again or is looked up
        self._refusals += 1
        account = isinstance(error, ACCOUNT_REFUSALS)
        if not account and self._refusals < REFUSALS_IN_A_ROW:
            return
        why = (
            f"the account is refused: {error}"
            if account
            else f"{self._refusals} orders in a row rejected, the last: {error}"
        )
        if self._refused is None:
            log.error("%s: the venue refuses orders: %s", self.name, why)
        self._refused = (why, account)

    async def _send_placement(self, tracked: TrackedOrder, rules: VenueRules) -> RestResponse:
        """Send ``tracked`` once, under the order bucket; the venue's answer, whatever it
        is. Raises what :meth:`_placement` and :meth:`RestClient.send` raise."""
        request = await self._placement(tracked, rules)
        try:
            return await self.rest.send(request)
        finally:
            tracked.reached_by = trio.current_time()

    async def _placement(self, tracked: TrackedOrder, rules: VenueRules) -> RestRequest:
        """``tracked``'s request for one attempt, once the order bucket lets it go.
        Raises ``_TooLate`` past its deadline, ``_Unwritable`` if the codec cannot write
        the order."""
        order = tracked.order
        await self.order_bucket.acquire()
        if tracked.send_by is not None:
            late_s = self.wall_clock() - tracked.send_by
            if late_s > 0.0:
                self.stats.sent_too_late += 1
                log.warning(
                    "%s: %s not sent: %.2f s past its deadline (sent %d time(s) before)",
                    self.name,
                    order.client_id,
                    late_s,
                    tracked.sends,
                )
                raise _TooLate(f"not sent: {late_s:.2f} s past its deadline to leave")
        refusal = None if self.may_send is None else self.may_send(order)
        if refusal is not None:
            log.warning("%s: %s not sent: %s", self.name, order.client_id, refusal)
            raise _TooLate(f"not sent: {refusal}")
        try:
            # Built anew for each attempt: the signature carries the time.
            request = self.codec.place(order, rules, self.wall_clock())
        except ValueError as error:
            raise _Unwritable(str(error)) from error
        tracked.sends += 1
        self.stats.placed += 1
        if order.reduce_only:
            failpoint("exit-sending")
        return request

    async def _resolve(self, tracked: TrackedOrder, rules: VenueRules) -> bool:
        """Before ``tracked`` is sent again: ``True`` if the venue has it after all (its
        state adopted), ``False`` if it never arrived and is to go again."""
        if await self._look_up(tracked, rules):
            return True
        self.stats.resent_after_not_found += 1
        log.warning(
            "%s: %s never reached the venue; sending it again", self.name, tracked.order.client_id
        )
        return False

    async def _look_up(self, tracked: TrackedOrder, rules: VenueRules) -> bool:
        """Find out whether the venue has ``tracked``; adopt its state if so. ``False``
        means it has no such order even after its read-after-write lag: it never arrived."""
        update = await self._find_or_conclude(tracked, rules)
        if update is None:
            return False
        self.stats.unknown_resolved += 1
        await self._apply(tracked, update)
        return True

    @property
    def visibility(self) -> Visibility:
        lag = self.read_after_write_s
        return Visibility(
            self.codec.read_after_write_s if lag is None else lag, self.codec.forgets_unfilled
        )

    def _may_not_show_yet(self, tracked: TrackedOrder) -> bool:
        """The venue may still be hiding ``tracked`` behind its read-after-write lag."""
        return may_not_show_yet(trio.current_time() - tracked.reached_by, self.visibility)

    def _judge_not_found(self, tracked: TrackedOrder) -> NotFound:
        known = OrderKnowledge(
            since_sent_s=trio.current_time() - tracked.reached_by,
            # Its venue id is known only from the venue: reported here, or journaled by
            # an earlier run when the venue acknowledged it.
            accepted=tracked.accepted or tracked.venue_order_id is not None,
            asked_by_venue_id=tracked.venue_order_id is not None,
            ending=tracked.cancel_sent or tracked.ends_by_itself or tracked.adopted,
            filled=tracked.tracker.delivered_qty > 0.0,
        )
        return judge_not_found(known, self.visibility)

    async def _find_or_conclude(
        self, tracked: TrackedOrder, rules: VenueRules
    ) -> OrderUpdate | None:
        """The venue's report of an order it has not reported here yet, asked until the
        venue shows it or "no such order" may be concluded (:func:`judge_not_found`):
        ``None`` when it never arrived, an end with nothing filled when the venue forgot
        it. Before "never arrived" the venue's lists are asked: a lookup by client id
        comes too late to find an order that ended a while ago."""
        while True:
            update = await self._find(tracked, rules)
            if update is not None:
                return update
            verdict = self._judge_not_found(tracked)
            if verdict is NotFound.NEVER_ARRIVED:
                return await self._listed(tracked)
            if verdict is NotFound.ENDED_UNFILLED:
                return self._ended_unfilled(tracked)
            self._still_not_found(tracked, verdict)
            await trio.sleep(self.poll_interval_s)

    async def _listed(self, tracked: TrackedOrder) -> OrderUpdate | None:
        """``tracked`` as the venue's lists of orders show it, asked until the venue
        answers; ``None`` if they hold no such order."""
        order = tracked.order

        # When an earlier run sent it is not known; this run's last send is.
        since = None if tracked.adopted else self._wall_time(tracked.reached_by)

        async def ask() -> OrderUpdate | None:
            return await self.codec.listed_order(
                self.rest, order.symbol, order.client_id, since, self.query_bucket.acquire
            )

        def failed(error: Exception) -> None:
            log.warning("%s: listing orders for %s failed: %s", self.name, order.client_id, error)

        update = await self._retry(ask, VENUE_FAILURES, on_failure=failed)
        if update is not None:
            log.warning(
                "%s: %s is not found by its client id any more, but the venue lists it (%s)",
                self.name,
                order.client_id,
                update.status.value,
            )
        return update

    def _wall_time(self, trio_time: float) -> float:
        """``trio_time`` (in the past) by the wall clock."""
        return self.wall_clock() - (trio.current_time() - trio_time)

    async def _find(self, tracked: TrackedOrder, rules: VenueRules) -> OrderUpdate | None:
        """The venue's report of ``tracked``, asked until it answers; ``None`` if it has
        no such order."""

        async def query() -> OrderUpdate | None:
            try:
                return await self._query(tracked, rules)
            except UnknownOrder:
                return None

        def failed(error: Exception) -> None:
            log.warning("%s: looking up %s failed: %s", self.name, tracked.order.client_id, error)

        return await self._retry(query, VENUE_FAILURES, on_failure=failed)

    async def _query(self, tracked: TrackedOrder, rules: VenueRules) -> OrderUpdate:
        order = tracked.order
        await self.query_bucket.acquire()
        request = self.codec.query(
            order.symbol, order.client_id, tracked.venue_order_id, self.wall_clock()
        )
        response = await self.rest.send(request)
        if response.status >= 300:
            error = self.codec.error(response, self.wall_clock())
            if isinstance(error, RateLimited):
                self.query_bucket.close_for(error.retry_after_s or 1.0)
            raise error
        return self.codec.parse_order(response, order.symbol, rules)

    async def _resume(self, tracked: TrackedOrder) -> None:
        """Take up an order whose task ended with the previous incarnation. One that was
        never accepted may or may not have reached the venue (its placement was cancelled
        in flight): it is looked up, and reported rejected if it never arrived, not sent
        this late; its owner decides what follows."""
        client_id = tracked.order.client_id
        await self._rules_known.wait()
        rules = self.rules[tracked.order.symbol]
        if tracked.accepted:
            log.info("%s: resuming %s: following it", self.name, client_id)
        else:
            log.info("%s: resuming %s: its placement went unanswered", self.name, client_id)
            if not await self._look_up(tracked, rules):
                await self._reject(
                    tracked, "it never reached the venue before the router restarted"
                )
                return
        await self._follow(tracked, rules)

    async def _follow(self, tracked: TrackedOrder, rules: VenueRules) -> None:
        """Poll an accepted order until it is final."""

        async def poll() -> OrderUpdate | None:
            # A push may end the order while this waits: checked on both sides of the wait.
            if tracked.final:
                return None
            stream_up = self.stream is not None and self.stream.up
            with trio.move_on_after(self.safety_poll_s if stream_up else self.poll_interval_s):
                await tracked.ended.wait()
            if tracked.final:
                return None
            try:
                return await self._query(tracked, rules)
            except UnknownOrder:
                return self._forgotten(tracked)

        def failed(error: Exception) -> None:
            log.warning("%s: following %s failed: %s", self.name, tracked.order.client_id, error)

        while not tracked.final:
            update = await self._retry(poll, VENUE_FAILURES, on_failure=failed)
            if update is not None:
                await self._apply(tracked, update)

    def _forgotten(self, tracked: TrackedOrder) -> OrderUpdate | None:
        """What the venue's "no such order" says of an order being followed: its end,
        when it may be concluded (:func:`judge_not_found`), else ``None`` (ask again)."""
        verdict = self._judge_not_found(tracked)
        if verdict is not NotFound.ENDED_UNFILLED:
            self._still_not_found(tracked, verdict)
            return None
        return self._ended_unfilled(tracked)

    def _still_not_found(self, tracked: TrackedOrder, verdict: NotFound) -> None:
        """Count how long the venue has not found ``tracked``: logged the first time, then
        at most every ``not_found_log_every_s``; past ``lookup_give_up_s`` the order is
        reported unresolved (see ``lookup.py``). The asking goes on: the order is waited
        for, never given an outcome the venue did not state."""
        client_id = tracked.order.client_id
        now = trio.current_time()
        since, logged = self._not_found.setdefault(client_id, (now, now))
        if now == since:
            log.info("%s: %s not found (%s)", self.name, client_id, verdict.value)
        elif now - logged >= self.not_found_log_every_s:
            log.info(
                "%s: %s still not found after %.0f s (%s)",
                self.name,
                client_id,
                now - since,
                verdict.value,
            )
            self._not_found[client_id] = (since, now)
        if client_id not in self._unresolved and gives_up(now - since, self.lookup_give_up_s):
            why = f"acknowledged by the venue but not found for {now - since:.1f} s"
            self._unresolved[client_id] = why
            log.error(
                "%s: %s is unresolved: %s; its owner waits for it, look it up at the venue",
                self.name,
                client_id,
                why,
            )

    def _found(self, tracked: TrackedOrder) -> None:
        """The venue reported ``tracked``, or it was concluded: it is looked for no more."""
        client_id = tracked.order.client_id
        if self._not_found.pop(client_id, None) is not None and self._unresolved.pop(
            client_id, None
        ):
            log.warning("%s: %s is found again at the venue", self.name, client_id)

    def _ended_unfilled(self, tracked: TrackedOrder) -> OrderUpdate:
        """The end of an order the venue forgot (:attr:`NotFound.ENDED_UNFILLED`)."""
        order = tracked.order
        status = OrderStatus.CANCELLED if tracked.cancel_sent else OrderStatus.EXPIRED
        log.warning(
            "%s: %s is forgotten by the venue: it ended with nothing filled (%s)",
            self.name,
            order.client_id,
            status.value,
        )
        return OrderUpdate(
            order.symbol,
            order.client_id,
            tracked.venue_order_id or "",
            status,
            filled_qty=0.0,
        )

    # ------------------------------------------------------------------ cancelling

    async def _cancel(self, command: CancelOrder | ReconcileOrder) -> None:
        tracked = self.orders.get(command.client_id)
        if tracked is not None and tracked.final:
            # Its owner may have lost the end (a strategy that crashed while handling it
            # keeps cancelling the order): it is told again.
            await self._report_end_again(tracked)
            return
        if tracked is None:
            # Not ours: sent before this router (or the whole system) restarted.
            tracked = await self._adopt(command)
        if tracked is None or tracked.final:
            return
        rules = self.rules[tracked.order.symbol]

        async def send() -> RestResponse | None:
            if tracked.final:
                return None
            await self.order_bucket.acquire()
            request = self.codec.cancel(
                command.symbol, command.client_id, tracked.venue_order_id, self.wall_clock()
            )
            # Only a cancel that may have reached the venue lets a "not found" be read
            # as the order's end: one never sent cancelled nothing.
            try:
                response = await self.rest.send(request)
            except OutcomeUnknown:
                tracked.cancel_sent = True
                raise
            tracked.cancel_sent = True
            return response

        refused = await self._until_answered(tracked, "cancel", send, rules)
        if refused is not None:
            log.warning("%s: cancel of %s refused: %s", self.name, command.client_id, refused)

    async def _amend(self, command: AmendOrder) -> None:
        """Bring an open order down to ``command.new_qty`` in all, where the venue amends;
        elsewhere cancel it. The new size is absolute, so a request whose outcome is
        unknown is sent again as it is (as a cancel is); an order that ended meanwhile,
        or that this router does not follow, is settled by its own reports; an amend the
        venue refuses cancels the order instead."""
        tracked = self.orders.get(command.client_id)
        if tracked is None or tracked.final:
            return
        rules = self.rules[tracked.order.symbol]
        # The venue's increments, down: an amend never asks for more than was meant.
        new_qty = round_down(command.new_qty, rules.contract_size or rules.qty_step)
        amended = msgspec.structs.replace(tracked.order, qty=new_qty)
        if (
            new_qty <= 0.0
            or self.codec.amend(amended, tracked.venue_order_id, rules, self.wall_clock()) is None
        ):
            await self._cancel(CancelOrder(command.leg, command.client_id, command.symbol))
            return

        async def send() -> RestResponse | None:
            if tracked.final:
                return None
            await self.order_bucket.acquire()
            now = self.wall_clock()
            request = self.codec.amend(amended, tracked.venue_order_id, rules, now)
            assert request is not None  # the codec amends (checked above)
            return await self.rest.send(request)

        def resized() -> None:
            # The order's size is what the venue now holds it to: fill accounting (what
            # counts as noise, when it is filled) follows the new size.
            tracked.tracker.order = msgspec.structs.replace(tracked.tracker.order, qty=new_qty)
            log.info("%s: %s amended to %g", self.name, command.client_id, new_qty)

        refused = await self._until_answered(tracked, "amend", send, rules, resized)
        if refused is not None:
            # The strategy already counts the order at its new size: left at the old one
            # it could fill past that. Cancelled, its reports settle what it filled.
            log.warning(
                "%s: amend of %s refused: %s; cancelling it", self.name, command.client_id, refused
            )
            await self._cancel(CancelOrder(command.leg, command.client_id, command.symbol))

    async def _until_answered(
        self,
        tracked: TrackedOrder,
        what: str,
        send: Callable[[], Awaitable[RestResponse | None]],
        rules: VenueRules,
        on_accepted: Callable[[], None] | None = None,
    ) -> VenueError | None:
        """Send a change to an order the venue holds (``what``: a cancel, an amend) until
        the venue answers it: a failed request retried, a rate limit waited out, an order
        the venue may not show yet asked about again within its lag. An accepted change
        is applied (after ``on_accepted``); returns the venue's refusal, or ``None`` when
        the change was applied or the order ended meanwhile (following it reports how)."""
        client_id = tracked.order.client_id

        def failed(error: Exception) -> None:
            log.warning("%s: %s of %s failed: %s", self.name, what, client_id, error)

        while not tracked.final:
            response = await self._retry(send, (RequestNotSent, OutcomeUnknown), on_failure=failed)
            if response is None:
                return None
            if response.status < 300:
                if on_accepted is not None:
                    on_accepted()
                update = self.codec.parse_order(response, tracked.order.symbol, rules)
                await self._apply(tracked, update)
                return None
            error = self.codec.error(response, self.wall_clock())
            if isinstance(error, RateLimited):
                self.order_bucket.close_for(error.retry_after_s or 1.0)
                continue
            if isinstance(error, UnknownOrder) and self._may_not_show_yet(tracked):
                # MEXC answers a cancel of an order it does not show yet as of one it
                # has finished (-2011): within the lag, the order may well be open.
                await trio.sleep(self.poll_interval_s)
                continue
            if isinstance(error, (UnknownOrder, OrderAlreadyFinal)):
                return None
            return error
        return None

    async def _adopt(self, command: CancelOrder | ReconcileOrder) -> TrackedOrder | None:
        """Take over an order this router did not place: look it up by client id and
        report what the venue says; an order the venue never got is reported rejected."""
        owner = self._owner(command.client_id)
        rules = self.rules.get(command.symbol)
        if owner is None or rules is None:
            log.error("%s: cannot follow %s: no owner or rules", self.name, command.client_id)
            return None
        if command.client_id in self._adopting:
            # Its owner asked again (it cancels an unresolved order at every timeout):
            # the lookup under way reports it, once.
            return None
        probe = Order(command.client_id, self.codec.leg, command.symbol, Side.BUY, 0.0, 0.0)
        # The journaled venue id, when there is one: by it the venue finds the order for
        # as long as it keeps it, where a client id may be forgotten sooner.
        venue_order_id = command.venue_order_id if isinstance(command, ReconcileOrder) else None
        # When the earlier run sent it is not known, only that it was before now.
        tracked = TrackedOrder(
            OrderTracker(probe, venue_order_id=venue_order_id),
            owner,
            reached_by=trio.current_time(),
            adopted=True,
        )
        self._adopting.add(command.client_id)
        try:
            update = await self._find_or_conclude(tracked, rules)
        finally:
            self._adopting.discard(command.client_id)
        if update is None:
            log.warning("%s: %s never reached the venue", self.name, command.client_id)
            self.orders[command.client_id] = tracked
            await self._reject(tracked, "the venue has no such order: it never left")
            return None
        tracked.tracker.order = Order(
            command.client_id,
            self.codec.leg,
            command.symbol,
            update.side or Side.BUY,
            update.qty or 0.0,
            update.price or 0.0,
        )
        self.orders[command.client_id] = tracked
        self.stats.unknown_resolved += 1
        log.info(
            "%s: adopted %s (%s at the venue)", self.name, command.client_id, update.status.value
        )
        await self._apply(tracked, update)
        return tracked

    # ------------------------------------------------------------------ reporting

    def _forget_finished(self) -> None:
        """Drop finished orders older than ``keep_finished_s``: a router runs for weeks.
        Their ids are remembered (a bounded number of them) so an intent is never sent
        twice."""
        horizon = trio.current_time() - self.keep_finished_s
        finished = self._finished
        while finished and finished[0][0] < horizon:
            _, client_id = finished.popleft()
            self.orders.pop(client_id, None)
            self._finished_ids[client_id] = None
            if len(self._finished_ids) > FINISHED_IDS_KEPT:
                self._finished_ids.popitem(last=False)

    async def _reject(self, tracked: TrackedOrder, reason: str) -> None:
        self._found(tracked)  # concluded: no longer looked for
        # Under the lock, so an end reported again cannot overtake the rejection.
        async with tracked.lock:
            await self._hand_over(tracked, tracked.tracker.reject(reason, self.wall_clock()))

    async def _report_end_again(self, tracked: TrackedOrder) -> None:
        async with tracked.lock:
            log.info(
                "%s: %s ended already: its end is reported again",
                self.name,
                tracked.order.client_id,
            )
            await tracked.owner.send(tracked.tracker.end_report(self.wall_clock()))

    async def _record(
        self,
        client_id: str,
        kind: str,
        now: float,
        payload: bytes | str = b"",
        *,
        status: str | None = None,
        filled_qty: float | None = None,
        avg_price: float | None = None,
    ) -> None:
        if self.journal is None:
            return
        body = payload.encode() if isinstance(payload, str) else payload
        record = OrderEventRecord(
            client_id,
            kind,
            body,
            now,
            status,
            self.orders[client_id].venue_order_id if client_id in self.orders else None,
            filled_qty,
            avg_price,
        )
        await self.journal(record)

    async def _on_push(self, update: OrderUpdate) -> None:
        tracked = self.orders.get(update.client_id)
        if tracked is not None:  # not ours, or from before this router started
            await self._apply(tracked, update)

    async def on_trade(self, trade: Trade) -> None:
        """A private trade report: delivers what it adds beyond what was delivered."""
        tracked = self.orders.get(trade.client_id)
        if tracked is not None:
            fee_price = await self._fee_asset_price(trade)
            async with tracked.lock:
                await self._hand_over(tracked, self._on_trade(tracked, trade, fee_price))

    def _on_trade(
        self, tracked: TrackedOrder, trade: Trade, fee_price: float | None
    ) -> list[Delivery]:
        try:
            return tracked.tracker.on_trade(trade, fee_price)
        except ValueError:
            # No price for the fee's asset: the trade is valued at the fee rate instead.
            rate = self._fee_rate(trade.symbol)
            log.warning(
                "%s: no %s/%s price: the %s fee of trade %s is valued at the fee rate %g",
                self.name,
                trade.fee_asset,
                trade.symbol.quote,
                trade.fee_asset,
                trade.trade_id,
                rate,
            )
            return tracked.tracker.on_trade(trade, trade.qty * trade.price * rate / trade.fee)

    def _fee_rate(self, symbol: Symbol) -> float:
        rules = self.rules.get(symbol)
        return rules.taker_fee if rules and rules.taker_fee is not None else self.default_fee

    async def _fee_asset_price(self, trade: Trade) -> float | None:
        """The USDT price of ``trade``'s fee asset when it is neither of the symbol's own
        (MEXC's MX), asked of the venue and kept ``fee_price_ttl_s``; ``None`` when not
        needed, or when the venue cannot say."""
        symbol = trade.symbol
        if trade.fee_asset in ("", symbol.base, symbol.quote) or not trade.fee:
            return None
        pair = Symbol(trade.fee_asset, symbol.quote)
        known = self._fee_prices.get(pair)
        now = trio.current_time()
        if known is not None and now - known[1] < self.fee_price_ttl_s:
            return known[0]
        try:
            price = await self._retry(
                lambda: self.codec.price(self.rest, pair), VENUE_FAILURES, attempts=3
            )
        except VENUE_FAILURES as error:
            log.warning("%s: the %s price is not known: %s", self.name, pair, error)
            return known[0] if known is not None else None
        if price is None or price <= 0.0:
            return None
        self._fee_prices[pair] = (price, now)
        return price

    async def _apply(self, tracked: TrackedOrder, update: OrderUpdate) -> None:
        """A cumulative report of the order: accept, deliver new fills, finish. Before an
        end is delivered, the order's trades are asked for when its reports left fills
        whose fees the venue has not stated, so the owner hears the fees as charged."""
        self._found(tracked)
        rate = self._fee_rate(tracked.order.symbol)
        trades = await self._unreported_trades(tracked, update)
        prices = [await self._fee_asset_price(trade) for trade in trades]
        async with tracked.lock:
            for trade, fee_price in zip(trades, prices, strict=True):
                await self._hand_over(tracked, self._on_trade(tracked, trade, fee_price))
            deliveries = tracked.tracker.on_report(update, self.wall_clock(), rate)
            await self._hand_over(tracked, deliveries)

    async def _unreported_trades(
        self, tracked: TrackedOrder, update: OrderUpdate
    ) -> Sequence[Trade]:
        """The trades of an order ``update`` ends having filled more than its trades
        reported so far; none when it does not, or when the venue needs no such check.

        A venue may not list a trade just after it happened (its read-after-write lag):
        while the trades it lists cover less than the report says was filled beyond the
        trades seen, it is asked again, until the lag has passed; then the fees of what
        no trade covers stay estimated, with a warning naming the order."""
        tracker = tracked.tracker
        filled = update.filled_qty or 0.0
        venue_order_id = update.venue_order_id or tracker.venue_order_id
        if (
            tracker.final
            or not update.status.is_final
            or not venue_order_id
            or not more_than_noise(filled - tracker.traded_qty, of=tracker.order.qty)
        ):
            return ()
        symbol = tracked.order.symbol

        async def ask() -> Sequence[Trade] | None:
            await self.query_bucket.acquire()
            return await self.codec.order_trades(
                self.rest, symbol, venue_order_id, self.wall_clock()
            )

        unseen = filled - tracker.traded_qty
        give_up_at = trio.current_time() + self.visibility.read_after_write_s
        while True:
            try:
                trades = await self._retry(ask, VENUE_FAILURES, attempts=3)
            except VENUE_FAILURES as error:
                log.warning(
                    "%s: the trades of %s are not known (%s): "
                    "its fees stay estimated at the fee rate",
                    self.name,
                    tracked.order.client_id,
                    error,
                )
                return ()
            mine = [trade for trade in trades or () if trade.venue_order_id == venue_order_id]
            new = sum(trade.qty for trade in mine if trade.trade_id not in tracker.trade_ids)
            if not more_than_noise(unseen - new, of=tracker.order.qty):
                return mine
            if trio.current_time() >= give_up_at:
                log.warning(
                    "%s: the trades of %s listed cover %g of the %g it filled beyond those "
                    "seen: the fees of the rest stay estimated at the fee rate",
                    self.name,
                    tracked.order.client_id,
                    new,
                    unseen,
                )
                return mine
            await trio.sleep(self.poll_interval_s)

    async def _hand_over(self, tracked: TrackedOrder, deliveries: list[Delivery]) -> None:
        """Journal each delivery, then tell the order's owner; the caller holds its lock."""
        client_id = tracked.order.client_id
        for delivery in deliveries:
            match delivery:
                case Accepted(accepted):
                    self.stats.accepted += 1
                    if self._refused is not None:
                        log.warning("%s: the venue accepts orders again", self.name)
                    self._refusals = 0
                    self._refused = None
                    await self._record(client_id, "accepted", accepted.now, status="new")
                case Filled(fill, filled_qty, avg_price):
                    self.stats.filled += 1
                    self._heard_fill_at[tracked.order.symbol] = trio.current_time()
                    await self._record(
                        client_id,
                        "fill",
                        fill.ts,
                        _encode_json(fill),
                        filled_qty=filled_qty,
                        avg_price=avg_price,
                    )
                    log.info(
                        "%s: %s filled %g at %g (fee %.6f)",
                        self.name,
                        client_id,
                        fill.qty,
                        fill.price,
                        fill.fee,
                    )
                case Finished(final):
                    # Its end may add fills its reports missed.
                    self._heard_fill_at[tracked.order.symbol] = trio.current_time()
                    self._finished.append((trio.current_time(), client_id))
                    log.info("%s: %s %s", self.name, client_id, final.status.value)
                    await self._record(
                        client_id,
                        "final",
                        final.now,
                        status=final.status.value,
                        filled_qty=final.filled_qty,
                        avg_price=final.avg_price,
                    )
                case Rejected(rejected):
                    self.stats.rejected += 1
                    self._finished.append((trio.current_time(), client_id))
                    await self._record(
                        client_id, "rejected", rejected.now, rejected.reason, status="rejected"
                    )
                    log.warning("%s: %s rejected: %s", self.name, client_id, rejected.reason)
            await tracked.owner.send(delivery.message)
        if tracked.final:
            tracked.ended.set()


@attrs.frozen
class _FirstSend:
    """An order's first placement as its router's step left it: the answer to await,
    or what the attempt raised, and the rules the order was rounded to."""

    rules: VenueRules
    answer: Callable[[], Awaitable[RestResponse]] | None
    error: Exception | None

    async def outcome(self, tracked: TrackedOrder) -> RestResponse:
        """The attempt's end, as :meth:`Router._send_placement` would have ended it."""
        if self.error is not None:
            raise self.error
        assert self.answer is not None
        try:
            return await self.answer()
        finally:
            tracked.reached_by = trio.current_time()


class _Unwritable(Exception):
    """The venue's codec cannot write the order (the message says why): it is rejected."""


class _TooLate(Exception):
    """The order may not leave any more (its ``send_by`` passed, or ``may_send`` refused
    it) before it could be sent (again): it is rejected."""


def _rounded(order: Order, rules: VenueRules) -> Order:
    """The order as the venue takes it: quantity down to the step (or whole contracts),
    price to the tick."""
    step = rules.contract_size or rules.qty_step
    qty = round_down(order.qty, step)
    price = (
        order.price
        if order.type is OrderType.MARKET
        else round_to_tick(order.price, rules.price_tick)
    )
    if qty == order.qty and price == order.price:
        return order
    return msgspec.structs.replace(order, qty=qty, price=price)
