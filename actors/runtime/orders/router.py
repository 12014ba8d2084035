"""The order router actor: one per venue.

Strategies send it ``PlaceOrder`` and ``CancelOrder``; it rounds each order to the venue's
increments, signs and sends it through one kept-alive httpx pool under token buckets, and
reports back to the owning strategy — ``OrderAccepted``, ``OrderRejected``, ``Fill``s,
``OrderFinal`` — in that order and never twice.

The client order id belongs to the order intent, not to an attempt: every retry of one
order reuses it. A request that may have reached the venue (a timeout, a reset, a 5xx) is
never simply resent: the order is first looked up by its client id, and only a venue that
still has no such order after a grace period gets it again.

Fills are derived so that no source can double one: each order's delivered quantity only
grows. A trade report (with its trade id) delivers what it adds beyond that; a cumulative
report (an order query or push) delivers the difference. Late or repeated reports of
quantity already delivered change nothing.
"""

from __future__ import annotations

import logging
import random
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

import attrs
import msgspec
import trio

from actors.failpoints import failpoint
from actors.runtime.market.private_stream import PrivateStream, PrivateStreamCodec
from actors.runtime.orders.rate_limit import TokenBucket
from actors.runtime.persistence.store import OrderEventRecord
from actors.venues.rest import OutcomeUnknown, RequestNotSent, RestClient
from protocols.messages import (
    CancelOrder,
    OrderAccepted,
    OrderFinal,
    OrderRejected,
    PlaceOrder,
    RulesUpdate,
)
from protocols.model import Fill, Leg, Order, OrderStatus, OrderType, Side, Symbol, VenueRules
from protocols.rules import more_than_noise, round_down, round_to_tick
from protocols.venue import (
    DuplicateClientId,
    OrderAlreadyFinal,
    OrderUpdate,
    RateLimited,
    RestRequest,
    RestResponse,
    Trade,
    UnknownOrder,
    VenueError,
    VenueUnavailable,
)
from supervision import Address, Backoff, Incarnation

log = logging.getLogger("basis.router")

_encode_json = msgspec.json.Encoder().encode
FINISHED_IDS_KEPT = 100_000


class RouterCodec(Protocol):
    """What a router needs of a venue's REST API."""

    venue: str
    leg: Leg

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

    def parse_placed(
        self, response: RestResponse, order: Order, rules: VenueRules
    ) -> OrderUpdate: ...

    def parse_order(
        self, response: RestResponse, symbol: Symbol, rules: VenueRules
    ) -> OrderUpdate: ...

    def error(self, response: RestResponse, now: float) -> VenueError: ...


@attrs.define(eq=False)
class TrackedOrder:
    """The router's record of one order intent."""

    order: Order
    owner: Address
    venue_order_id: str | None = None
    accepted: bool = False
    final_status: OrderStatus | None = None
    """How the order ended (``REJECTED`` when the router rejected it); ``None`` while it
    lives."""
    rejection: str | None = None
    """Why the router rejected it, when it did: its owner was told with an ``OrderRejected``."""
    delivered_qty: float = 0.0
    delivered_value: float = 0.0
    delivered_fee: float = 0.0
    traded_qty: float = 0.0
    trade_ids: set[str] = attrs.field(factory=set)
    sends: int = 0
    """Placement requests sent for this intent (all with one client id)."""
    lock: trio.Lock = attrs.field(factory=trio.Lock)
    """Reports of one order are applied one at a time, so they reach the strategy in order."""

    @property
    def final(self) -> bool:
        return self.final_status is not None

    @property
    def average_price(self) -> float:
        """The average price of what was delivered (0 when nothing was)."""
        return self.delivered_value / self.delivered_qty if self.delivered_qty else 0.0

    def final_report(self, now: float) -> OrderFinal | OrderRejected:
        """What the owner is told of the end of the order, which must be final."""
        client_id = self.order.client_id
        if self.rejection is not None:
            return OrderRejected(now, client_id, self.rejection)
        assert self.final_status is not None, f"{client_id} is not final"
        return OrderFinal(now, client_id, self.final_status, self.delivered_qty, self.average_price)


@attrs.define
class RouterStats:
    placed: int = 0
    accepted: int = 0
    rejected: int = 0
    filled: int = 0
    unknown_resolved: int = 0
    resent_after_not_found: int = 0
    rate_limited: int = 0


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


@attrs.define(eq=False)
class Router:
    name: str
    codec: RouterCodec
    rest: RestClient
    owners: Mapping[str, Address]
    """Task id → its strategy's address (client ids start with the task id)."""
    subscribers: Mapping[Symbol, Sequence[Address]]
    """Symbol → strategies to tell about rule changes."""
    order_bucket: TokenBucket = attrs.field(factory=lambda: TokenBucket(10.0, 10.0))
    query_bucket: TokenBucket = attrs.field(factory=lambda: TokenBucket(20.0, 20.0))
    private: PrivateStreamCodec | None = None
    """The venue's private stream, when the router has one; polling covers its gaps."""
    ws_url: str = ""
    poll_interval_s: float = 0.25
    """How often open orders are polled while the private stream is down."""
    safety_poll_s: float = 2.0
    """How often they are polled while it is up, in case a push was lost."""
    not_found_grace_s: float = 1.0
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
    keep_finished_s: float = 300.0
    """How long a finished order stays followed, for late pushes and resent intents."""
    _finished: deque[tuple[float, str]] = attrs.field(factory=deque)
    _finished_ids: OrderedDict[str, None] = attrs.field(factory=OrderedDict)
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
            self.stream is not None and self.stream.statistics().up,
        )

    # ------------------------------------------------------------------ lifecycle

    async def run(self, inc: Incarnation, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Load the venue's rules, take up the orders a previous incarnation left
        unfinished, then serve the mailbox until asked to stop. In-flight orders are
        followed to the end before a stop completes.

        A venue that cannot give its rules now (down, 5xx, 429) does not stop the router:
        it serves at once, refusing placements until the rules are known, and keeps asking
        in the background."""
        assert inc.mailbox is not None, "a router needs a mailbox"
        try:
            await self._load_rules()
        except (VenueError, RequestNotSent, OutcomeUnknown) as error:
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
                    self._start_place(message.order, nursery)
                elif isinstance(message, CancelOrder):
                    nursery.start_soon(self._cancel, message)
                else:
                    log.warning("%s: ignored %r", self.name, message)
            # Stopping: orders in flight are followed to their end; nothing new starts.
            background.cancel()

    async def _background(self, scope: trio.CancelScope) -> None:
        with scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._keep_rules)
                if self.private is not None:
                    self.stream = PrivateStream(
                        f"{self.name}-private",
                        self.private,
                        self.rest,
                        self.ws_url,
                        self._on_push,
                        self.on_trade,
                        rng=self.rng,
                        wall_clock=self.wall_clock,
                    )
                    nursery.start_soon(self.stream.run)

    async def _load_rules(self) -> None:
        symbols = list(self.subscribers)
        self.rules.update(await self.codec.load_rules(self.rest, symbols))
        self._rules_known.set()
        now = self.wall_clock()
        for symbol, rules in self.rules.items():
            for address in self.subscribers.get(symbol, ()):
                await address.send(RulesUpdate(now, self.codec.leg, rules))

    async def _keep_rules(self) -> None:
        """Ask for the rules until the venue gives them, then again every
        ``rules_refresh_s``; a failed refresh keeps the rules already known."""
        attempt = 0
        while True:
            if self._rules_known.is_set():
                await trio.sleep(self.rules_refresh_s)
            try:
                await self._load_rules()
                attempt = 0
            except (VenueError, RequestNotSent, OutcomeUnknown) as error:
                log.warning("%s: could not load the rules: %s", self.name, error)
                if not self._rules_known.is_set():
                    attempt += 1
                    wait_s = self.backoff.delay(attempt, self.rng)
                    if isinstance(error, RateLimited) and error.retry_after_s:
                        wait_s = max(wait_s, error.retry_after_s)
                    await trio.sleep(wait_s)

    # -------------------------------------------------------------------- placing

    def _start_place(self, order: Order, nursery: trio.Nursery) -> None:
        self._forget_finished()
        if order.client_id in self.orders or order.client_id in self._finished_ids:
            # The same intent again (a strategy restarted and resent it): never twice.
            log.info("%s: %s is already known; not sent again", self.name, order.client_id)
            return
        owner = self.owners.get(order.client_id.rsplit("-", 1)[0])
        if owner is None:
            log.error("%s: no strategy owns %s; not sent", self.name, order.client_id)
            return
        tracked = TrackedOrder(order, owner)
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
        nursery.start_soon(self._place_and_follow, tracked)

    async def _place_and_follow(self, tracked: TrackedOrder) -> None:
        order = tracked.order
        rules = self.rules.get(order.symbol)
        if rules is None:
            await self._reject(tracked, f"no {self.codec.venue} rules for {order.symbol}")
            return
        tracked.order = order = _rounded(order, rules)
        not_sent = 0
        while not tracked.final and not tracked.accepted:
            await self.order_bucket.acquire()
            try:
                # Built anew for each attempt: the signature carries the time.
                request = self.codec.place(order, rules, self.wall_clock())
            except ValueError as error:
                await self._reject(tracked, str(error))
                return
            tracked.sends += 1
            self.stats.placed += 1
            if order.reduce_only:
                failpoint("exit-sending")
            try:
                response = await self.rest.send(request)
            except RequestNotSent as error:
                not_sent += 1
                if not_sent >= self.max_send_attempts:
                    await self._reject(tracked, f"not sent after {not_sent} attempts: {error}")
                    return
                await trio.sleep(self.backoff.delay(not_sent, self.rng))
                continue
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
            if isinstance(error, RateLimited):
                self.stats.rate_limited += 1
                self.order_bucket.close_for(error.retry_after_s or 1.0)
                continue
            if isinstance(error, (VenueUnavailable, DuplicateClientId)):
                # A 5xx may come after the venue took the order, and a duplicate id means
                # an earlier attempt arrived: look before resending.
                if not await self._resolve(tracked, rules):
                    continue
                break
            await self._reject(tracked, str(error))
            return
        await self._follow(tracked, rules)

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
        means it has no such order even after the grace period: it never arrived."""
        looked_twice = False
        attempt = 0
        while True:
            try:
                update = await self._query(tracked, rules)
            except UnknownOrder:
                if looked_twice:
                    return False
                looked_twice = True
                # An order may still be on its way inside the venue: ask once more later.
                await trio.sleep(self.not_found_grace_s)
                continue
            except (VenueError, RequestNotSent, OutcomeUnknown) as error:
                attempt += 1
                log.warning(
                    "%s: looking up %s failed: %s", self.name, tracked.order.client_id, error
                )
                await trio.sleep(self.backoff.delay(attempt, self.rng))
                continue
            self.stats.unknown_resolved += 1
            await self._apply(tracked, update)
            return True

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
        attempt = 0
        while not tracked.final:
            stream_up = self.stream is not None and self.stream.up
            await trio.sleep(self.safety_poll_s if stream_up else self.poll_interval_s)
            if tracked.final:
                break
            try:
                update = await self._query(tracked, rules)
            except (VenueError, RequestNotSent, OutcomeUnknown) as error:
                attempt += 1
                log.warning(
                    "%s: following %s failed: %s", self.name, tracked.order.client_id, error
                )
                await trio.sleep(self.backoff.delay(attempt, self.rng))
                continue
            await self._apply(tracked, update)

    # ------------------------------------------------------------------ cancelling

    async def _cancel(self, command: CancelOrder) -> None:
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
        while not tracked.final:
            await self.order_bucket.acquire()
            request = self.codec.cancel(
                command.symbol, command.client_id, tracked.venue_order_id, self.wall_clock()
            )
            try:
                response = await self.rest.send(request)
            except (RequestNotSent, OutcomeUnknown) as error:
                log.warning("%s: cancel of %s failed: %s", self.name, command.client_id, error)
                await trio.sleep(self.backoff.delay(0, self.rng))
                continue
            if response.status < 300:
                await self._apply(tracked, self.codec.parse_order(response, command.symbol, rules))
                return
            error = self.codec.error(response, self.wall_clock())
            if isinstance(error, RateLimited):
                self.order_bucket.close_for(error.retry_after_s or 1.0)
                continue
            if isinstance(error, (UnknownOrder, OrderAlreadyFinal)):
                return  # it ended (or never was): following it reports how
            log.warning("%s: cancel of %s refused: %s", self.name, command.client_id, error)
            return

    async def _adopt(self, command: CancelOrder) -> TrackedOrder | None:
        """Take over an order this router did not place: look it up by client id and
        report what the venue says; an order the venue never got is reported rejected."""
        owner = self.owners.get(command.client_id.rsplit("-", 1)[0])
        rules = self.rules.get(command.symbol)
        if owner is None or rules is None:
            log.error("%s: cannot follow %s: no owner or rules", self.name, command.client_id)
            return None
        probe = Order(command.client_id, self.codec.leg, command.symbol, Side.BUY, 0.0, 0.0)
        tracked = TrackedOrder(probe, owner)
        attempt = 0
        while True:
            try:
                update = await self._query(tracked, rules)
                break
            except UnknownOrder:
                log.warning("%s: %s never reached the venue", self.name, command.client_id)
                self.orders[command.client_id] = tracked
                await self._reject(tracked, "the venue has no such order: it never left")
                return None
            except (VenueError, RequestNotSent, OutcomeUnknown) as error:
                attempt += 1
                log.warning("%s: looking up %s failed: %s", self.name, command.client_id, error)
                await trio.sleep(self.backoff.delay(attempt, self.rng))
        tracked.order = Order(
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

    def _finish(self, tracked: TrackedOrder, status: OrderStatus) -> None:
        tracked.final_status = status
        self._finished.append((trio.current_time(), tracked.order.client_id))

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
        # Under the lock, so an end reported again cannot overtake the rejection.
        async with tracked.lock:
            self.stats.rejected += 1
            tracked.rejection = reason
            self._finish(tracked, OrderStatus.REJECTED)
            client_id = tracked.order.client_id
            now = self.wall_clock()
            await self._record(client_id, "rejected", now, reason, status="rejected")
            log.warning("%s: %s rejected: %s", self.name, client_id, reason)
            await tracked.owner.send(tracked.final_report(now))

    async def _report_end_again(self, tracked: TrackedOrder) -> None:
        async with tracked.lock:
            log.info(
                "%s: %s ended already: its end is reported again",
                self.name,
                tracked.order.client_id,
            )
            await tracked.owner.send(tracked.final_report(self.wall_clock()))

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
        if tracked is None or trade.trade_id in tracked.trade_ids:
            return
        async with tracked.lock:
            tracked.trade_ids.add(trade.trade_id)
            tracked.traded_qty += trade.qty
            extra = tracked.traded_qty - tracked.delivered_qty
            if more_than_noise(extra, of=tracked.order.qty) and not tracked.final:
                fee = self._quote_fee(trade, extra)
                await self._deliver(tracked, extra, trade.price, fee, trade.trade_id, trade.ts)

    def _quote_fee(self, trade: Trade, qty: float) -> float:
        """The trade's fee for ``qty`` of it, in the quote asset."""
        share = qty / trade.qty if trade.qty > 0 else 0.0
        if trade.fee_asset == trade.symbol.base:
            return trade.fee * share * trade.price
        return trade.fee * share

    async def _apply(self, tracked: TrackedOrder, update: OrderUpdate) -> None:
        async with tracked.lock:
            await self._apply_locked(tracked, update)

    async def _apply_locked(self, tracked: TrackedOrder, update: OrderUpdate) -> None:
        """A cumulative report of the order: accept, deliver new fills, finish."""
        order = tracked.order
        now = update.ts or self.wall_clock()
        if update.venue_order_id:
            tracked.venue_order_id = update.venue_order_id
        if not tracked.accepted and update.status is not OrderStatus.REJECTED:
            tracked.accepted = True
            self.stats.accepted += 1
            await self._record(order.client_id, "accepted", now, status="new")
            await tracked.owner.send(
                OrderAccepted(now, order.client_id, tracked.venue_order_id or "")
            )
        filled = update.filled_qty or 0.0
        extra = filled - tracked.delivered_qty
        if more_than_noise(extra, of=order.qty):
            average = update.avg_price or order.price
            price = (average * filled - tracked.delivered_value) / extra
            rules = self.rules.get(order.symbol)
            rate = rules.taker_fee if rules and rules.taker_fee is not None else self.default_fee
            fee = (update.fee - tracked.delivered_fee) if update.fee else extra * price * rate
            trade_id = f"{tracked.venue_order_id}@{filled:.12g}"
            await self._deliver(tracked, extra, price, fee, trade_id, now)
        if update.status.is_final and not tracked.final:
            self._finish(tracked, update.status)
            log.info("%s: %s %s", self.name, order.client_id, update.status.value)
            await self._record(
                order.client_id,
                "final",
                now,
                status=update.status.value,
                filled_qty=tracked.delivered_qty,
                avg_price=tracked.average_price,
            )
            await tracked.owner.send(tracked.final_report(now))

    async def _deliver(
        self, tracked: TrackedOrder, qty: float, price: float, fee: float, trade_id: str, now: float
    ) -> None:
        tracked.delivered_qty += qty
        tracked.delivered_value += qty * price
        tracked.delivered_fee += fee
        self.stats.filled += 1
        fill = Fill(tracked.order.client_id, trade_id, qty, price, fee, now)
        await self._record(
            fill.client_id,
            "fill",
            now,
            _encode_json(fill),
            filled_qty=tracked.delivered_qty,
            avg_price=tracked.delivered_value / tracked.delivered_qty,
        )
        log.info(
            "%s: %s filled %g at %g (fee %.6f)", self.name, tracked.order.client_id, qty, price, fee
        )
        await tracked.owner.send(fill)


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
