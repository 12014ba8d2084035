"""The arbitrage strategy actor: the trio shell around the pure state machine.

It takes what arrives in its mailbox — the newest quote of each leg (conflated), feed
health and the liveness of each leg's connection, order reports from the routers,
operator commands, its own timer ticks — feeds each to the machine, and carries out the
commands that come back: orders go to the leg's router, alerts and completed cycles to
the log. It keeps no decision state of its own beyond the latest quotes and their
connections' liveness: everything else is in the context, which a restart recovers.

Before an order leaves, ``before_orders`` (the persistence writer's journal, when there
is one) is awaited with every order of the decision, so a crash can never leave an order
at a venue that Basis does not know about. While the store refuses writes that wait
lasts until it takes them again; the actor handles nothing meanwhile, and the orders'
leg timeout counts from when they leave (``orders_left``).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from operator import attrgetter
from typing import Any

import attrs
import msgspec
import trio

from actors import hot_path
from actors.arbitrage.context import ArbitrageContext, ArbitrageState, EntryTerms, Liveness
from actors.arbitrage.entry_terms import entry_terms, weighs_funding
from actors.arbitrage.machine import (
    holds_position,
    on_market,
    orders_left,
    pnl_if_closed,
    step,
    unattributed_pnl_usdt,
)
from actors.arbitrage.pricing import BUDGET_BELOW_INCREMENT, entry_cost_pct, pnl_pct
from actors.arbitrage.series import SeriesSampler
from actors.failpoints import failpoint
from actors.histogram import Histogram, HistogramStatistics
from actors.risk.limits import NO_LIMITS, EntryLimits
from protocols.history import FillRecord, FundingRecord, HistoryRecord
from protocols.messages import (
    Alert,
    AmendOrder,
    CancelOrder,
    FeedHealth,
    FeedLiveness,
    MarketQuote,
    PlaceOrder,
    TradeAmended,
    TradeClosed,
    TradeRecord,
)
from protocols.model import Leg, Order, Quote
from protocols.rules import common_step
from supervision import Address, Incarnation

log = logging.getLogger("basis.strategy")

TICK_KEY = "tick"
_ALERT_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
RECENT_TRADES = 50


class TimerTick:
    """The actor's own clock: time passed, decide again on the latest quotes."""

    __slots__ = ()


_TICK = TimerTick()
_SIZING = (ArbitrageState.IDLE, ArbitrageState.MONITORING, ArbitrageState.IMBALANCED)
"""The states whose decisions on the market read the portfolio's room: an entry, and a
correction that grows the lagging leg."""


class OrdersRefused(Exception):
    """Raised by ``before_orders``: the decision's orders must never leave, and this
    strategy no longer decides (another instance trades its symbol now). It keeps reading
    its mailbox, so nothing that sends to it waits, until it is stopped."""


ContextHook = Callable[[ArbitrageContext], Awaitable[None]]
OrdersHook = Callable[[ArbitrageContext, list[Order]], Awaitable[None]]
LimitsHook = Callable[[ArbitrageContext], EntryLimits]
DecidedHook = Callable[[ArbitrageContext], None]
HistoryHook = Callable[[TradeRecord | HistoryRecord], Awaitable[None]]


class OrderOut(msgspec.Struct, frozen=True):
    """An order in flight, as a strategy reports it."""

    client_id: str
    leg: str
    side: str
    qty: float
    price: float
    filled_qty: float
    avg_price: float
    status: str
    created_ts: float


def orders_of(ctx: ArbitrageContext) -> list[OrderOut]:
    """The orders ``ctx`` has in flight, by ``created_ts`` then ``client_id`` (a few at
    most: one per leg, and those being cancelled)."""
    orders = [order for by_id in ctx.active_orders.values() for order in by_id.values()]
    orders.sort(key=lambda o: (o.created_ts, o.client_id))
    return [
        OrderOut(
            o.client_id,
            o.leg.value,
            o.side.value,
            o.qty,
            o.price,
            o.filled_qty,
            o.avg_price,
            o.status.value,
            o.created_ts,
        )
        for o in orders
    ]


class StrategyStatistics(msgspec.Struct, frozen=True):
    """What a strategy actor reports of itself (:meth:`StrategyActor.statistics`)."""

    name: str
    """The actor's name, which is also its child name in the supervision tree."""
    task_id: str
    type: str
    symbol: str
    spot_venue: str
    futures_venue: str
    state: str
    cycles: int
    """Arbitrage cycles completed (entered and exited)."""
    total_volume_usdt: float
    realized_pnl_usdt: float
    """Every cycle's P&L so far, the open one's fees, funding and closed parts included."""
    unrealized_pnl_usdt: float | None
    """What closing the position now at the latest spot bid and futures ask would add
    to ``realized_pnl_usdt``, exit fees included; ``None`` when nothing is held or either
    leg has no quote to close at."""
    fees_usdt: float
    """Every fee the venues charged, in USDT (``ArbitrageContext.fees_usdt``)."""
    last_error: str | None
    """The last error the context recorded (the machine's, not a crash's)."""
    position_qty: float
    """The spot leg's holding, in base units."""
    futures_qty: float
    """The futures leg's short, in base units."""
    entry_cost_pct: float | None
    """What entering would cost now, in percent, on the latest quotes of both legs;
    ``None`` until both have a quote with an ask."""
    funding_usdt: float
    funding_rate: float | None
    """The futures leg's funding rate, as last heard; ``None`` until known."""
    funding_next_ts: float | None
    """When that rate is settled (Unix time), if the venue said."""
    paused_reason: str | None
    decisions: int
    """Messages that changed the context."""
    resumed_at: float | None
    """See :attr:`StrategyActor.resumed_at`."""
    decision_lag: HistogramStatistics
    """See :attr:`StrategyActor.lag`."""
    unhedged_usdt_s: float = 0.0
    """How long and by how much the legs differed, over every cycle: USDT-seconds
    (``ArbitrageContext.unhedged_usdt_s``)."""
    cycle_unhedged_usdt_s: float = 0.0
    """The same, in the current cycle so far."""
    longest_unhedged_s: float = 0.0
    """The longest single stretch the legs differed, over every cycle."""
    last_skip_reason: str | None = None
    """Why the last opportunity priced was not taken (too little depth, no room under
    the caps, a venue minimum, ...); ``None`` once an entry is taken."""
    holding: bool = False
    """A position is open: either leg holds more than its venue's smallest order
    (``machine.holds_position``); dust an exit left is none."""
    unattributed_pnl_usdt: float = 0.0
    """At rest, the part of ``realized_pnl_usdt`` no cycle record holds yet: carried
    into the next cycle's (docs/strategy.md, "P&L of a cycle, decomposed")."""
    spot_avg_price: float = 0.0
    futures_avg_price: float = 0.0
    spot_notional_usdt: float = 0.0
    """What the spot leg held cost: its quantity at its average price."""
    futures_notional_usdt: float = 0.0
    """The futures short's quantity at its average price."""
    net_delta_qty: float = 0.0
    """Spot quantity less futures quantity, in base units: what is not hedged."""
    net_delta_usdt: float | None = None
    """``net_delta_qty`` at the spot quote's mid; ``None`` without both spot sides."""
    spot_bid: float | None = None
    """The latest quotes the strategy holds; ``None`` for a leg without one, or an
    empty side."""
    spot_ask: float | None = None
    futures_bid: float | None = None
    futures_ask: float | None = None
    pnl_pct: float | None = None
    """The open position's P&L in percent as the exit rule judges it now (the cycle's
    P&L if closed at the spot bid and futures ask, against the spot leg's cost);
    ``None`` when flat or a leg has no price to close at."""
    max_entry_cost_pct: float = 0.0
    min_profit_pct: float = 0.0
    max_hours: float = 0.0
    position_opened_at: float | None = None
    orders: list[OrderOut] = msgspec.field(default_factory=list)
    """The orders in flight (:func:`orders_of`)."""
    entry_terms: EntryTerms | None = None
    """What an entry of the configured size would weigh on the latest quotes, for a
    task whose entries count funding (docs/strategy.md, "Funding-aware entry");
    ``None`` for others, or until both legs have a quote to enter at."""


_BID: Callable[[Quote], float] = attrgetter("bid")
_ASK: Callable[[Quote], float] = attrgetter("ask")


def _side(quote: Quote | None, price: Callable[[Quote], float]) -> float | None:
    """One side's price of ``quote``; ``None`` without a quote or on an empty side."""
    if quote is None or price(quote) <= 0.0:
        return None
    return price(quote)


@attrs.define(eq=False)
class StrategyActor:
    ctx: ArbitrageContext
    routers: Mapping[Leg, Address]
    tick_interval_s: float = 0.5
    before_orders: OrdersHook | None = None
    """Awaited with every order a decision places, before any of them is sent; may raise
    :class:`OrdersRefused`."""
    on_change: ContextHook | None = None
    """Awaited after every decision that changed the context (snapshots)."""
    entry_limits: LimitsHook | None = None
    """Called right before each decision on the market: what the portfolio's caps leave
    for an entry. Synchronous, like ``decided``: no other strategy decides in between."""
    decided: DecidedHook | None = None
    """Called right after each decision that changed the context, before anything is
    awaited (the portfolio's exposure)."""
    history: HistoryHook | None = None
    """Awaited with every record of what happened for the store's history: each fill
    and funding settlement the machine counted, each cycle's record (closed or amended),
    before the snapshot of the same decision; and the sampled series."""
    series: SeriesSampler | None = None
    """Samples the quotes for the series (with ``history`` only)."""
    wall_clock: Callable[[], float] = time.time
    spot: Quote | None = None
    futures: Quote | None = None
    live: Liveness = attrs.field(factory=Liveness)
    """The legs' connections as their feeds last told (``FeedLiveness``): neither is live
    until its feed says so."""
    decisions: int = 0
    lag: Histogram = attrs.field(factory=Histogram)
    """Quote received to orders handed to the routers (journal commit included), for
    decisions that placed orders."""
    decide_lag: Histogram = attrs.field(factory=Histogram)
    """Quote received to the machine's decision to place orders (no journal)."""
    quote_lag: Histogram = attrs.field(factory=Histogram)
    """Quote received to the machine's decision on it, for every quote: the wait in the
    mailbox and the step, whatever was decided (the stress demo's keeping-up figure)."""
    journal_lag: Histogram = attrs.field(factory=Histogram)
    """A decision's orders handed to ``before_orders`` to their intents committed."""
    trades: deque[TradeRecord] = attrs.field(factory=lambda: deque(maxlen=RECENT_TRADES))
    resumed_at: float | None = None
    """Wall-clock time of the first decision on quotes of both legs received after a
    start, a restart or the feeds turning fresh again: where recovering from a fault
    ends."""
    _resuming_since: float | None = None
    """Set while waiting for that decision: quotes received before it do not count."""
    refused: str | None = None
    """Why ``before_orders`` refused a decision's orders; from then on nothing is decided."""
    _told_budget: bool = False
    """Whether the log said the budget buys less than one increment (once a run)."""

    @property
    def name(self) -> str:
        return f"strategy-{self.ctx.task_id}"

    def statistics(self) -> StrategyStatistics:
        """This actor's state and counters now, as a value that no later change touches."""
        ctx = self.ctx
        spot, futures = self.spot, self.futures
        cost = None
        if spot is not None and futures is not None and spot.ask > 0:
            cost = entry_cost_pct(spot.ask, futures.bid)
        unrealized = pct = None
        holding = holds_position(ctx)
        if (
            holding
            and spot is not None
            and futures is not None
            and spot.bid > 0.0
            and futures.ask > 0.0
        ):
            # What the risk actor's stops count too: the cycle's P&L if closed now, less
            # the part of it already in realized_pnl_usdt.
            closed = pnl_if_closed(ctx, spot.bid, futures.ask)
            unrealized = closed - ctx.cycle.realized_usdt
            pct = pnl_pct(closed, ctx.positions.spot.qty, ctx.positions.spot.avg_price)
        held, params = ctx.positions, ctx.params
        delta = held.spot.qty - held.futures.qty
        mid = None
        if spot is not None and spot.bid > 0.0 and spot.ask > 0.0:
            mid = (spot.bid + spot.ask) / 2.0
        return StrategyStatistics(
            name=self.name,
            task_id=ctx.task_id,
            type=ctx.task_type,
            symbol=str(ctx.symbol),
            spot_venue=ctx.spot_venue,
            futures_venue=ctx.futures_venue,
            state=ctx.state.value,
            cycles=ctx.arbitrage_cycles,
            total_volume_usdt=ctx.total_volume_usdt,
            realized_pnl_usdt=ctx.realized_pnl_usdt,
            unrealized_pnl_usdt=unrealized,
            fees_usdt=ctx.fees_usdt,
            last_error=ctx.last_error,
            position_qty=ctx.positions.spot.qty,
            futures_qty=ctx.positions.futures.qty,
            entry_cost_pct=cost,
            funding_usdt=ctx.funding_usdt,
            funding_rate=ctx.funding_rate,
            funding_next_ts=ctx.funding_next_ts,
            paused_reason=self.refused
            or ctx.paused_reason
            or (
                None
                if ctx.store_failing is None
                else f"the store cannot journal orders: {ctx.store_failing}"
            ),
            decisions=self.decisions,
            resumed_at=self.resumed_at,
            decision_lag=self.lag.statistics(),
            unhedged_usdt_s=ctx.unhedged_usdt_s,
            cycle_unhedged_usdt_s=ctx.cycle.unhedged_usdt_s,
            longest_unhedged_s=ctx.longest_unhedged_s,
            last_skip_reason=ctx.last_skip_reason,
            holding=holding,
            unattributed_pnl_usdt=unattributed_pnl_usdt(ctx),
            spot_avg_price=held.spot.avg_price,
            futures_avg_price=held.futures.avg_price,
            spot_notional_usdt=held.spot.qty * held.spot.avg_price,
            futures_notional_usdt=held.futures.qty * held.futures.avg_price,
            net_delta_qty=delta,
            net_delta_usdt=None if mid is None else delta * mid,
            spot_bid=_side(spot, _BID),
            spot_ask=_side(spot, _ASK),
            futures_bid=_side(futures, _BID),
            futures_ask=_side(futures, _ASK),
            pnl_pct=pct,
            max_entry_cost_pct=params.max_entry_cost_pct,
            min_profit_pct=params.min_profit_pct,
            max_hours=params.max_hours,
            position_opened_at=ctx.position_opened_at,
            orders=orders_of(ctx),
            entry_terms=self._entry_terms(),
        )

    def _entry_terms(self) -> EntryTerms | None:
        """The terms an entry would be decided on now: worked out when asked for, so a
        quote that decides nothing writes nothing."""
        ctx, spot, futures = self.ctx, self.spot, self.futures
        if not weighs_funding(ctx) or spot is None or futures is None:
            return None
        if spot.ask <= 0.0 or futures.bid <= 0.0:
            return None
        qty = ctx.base_position_size_usdt / spot.ask
        return entry_terms(ctx, self.wall_clock(), spot, futures, qty)

    async def run(self, inc: Incarnation, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        mailbox = inc.mailbox
        assert mailbox is not None, "a strategy needs a mailbox"
        if inc.is_restart:
            log.warning(
                "%s: restart %d after %s; resuming in %s",
                self.name,
                inc.restarts,
                inc.last_failure,
                self.ctx.state.value,
            )
        self._resuming_since = self.wall_clock()
        task_status.started()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._tick, mailbox.address)
            async for message in mailbox:
                if self.refused is None:
                    await self.handle(message)
            nursery.cancel_scope.cancel()

    def _limits(self) -> EntryLimits:
        # Only an entry or a correction uses them: the hot path of a strategy holding a
        # position skips it.
        if self.entry_limits is None or self.ctx.state not in _SIZING:
            return NO_LIMITS
        return self.entry_limits(self.ctx)

    async def _tick(self, address: Address) -> None:
        while True:
            await trio.sleep(self.tick_interval_s)
            address.put_latest(TICK_KEY, _TICK)

    async def handle(self, message: Any) -> None:
        """One mailbox message through the machine, and its commands carried out."""
        ctx = self.ctx
        point = None
        if type(message) is MarketQuote:
            if message.leg is Leg.SPOT:
                self.spot = message.quote
            else:
                self.futures = message.quote
            now = self.wall_clock()
            if self._resuming_since is not None:
                self._note_resumed(now)
            new, commands = on_market(ctx, now, self.spot, self.futures, self.live, self._limits())
            self.quote_lag.observe(now - message.quote.recv_ts)
            if self.series is not None and self.history is not None:
                point = self.series.sample(new, now, self.spot, self.futures)
        elif type(message) is TimerTick:
            new, commands = on_market(
                ctx, self.wall_clock(), self.spot, self.futures, self.live, self._limits()
            )
        elif type(message) is FeedLiveness:
            live = self.live
            if message.leg is Leg.SPOT:
                self.live = Liveness(message.live_since, live.futures_since)
            else:
                self.live = Liveness(live.spot_since, message.live_since)
            new, commands = on_market(
                ctx, self.wall_clock(), self.spot, self.futures, self.live, self._limits()
            )
        else:
            new, commands = step(ctx, message)
            if type(message) is FeedHealth and ctx.stale_legs and not new.stale_legs:
                self._resuming_since = self.wall_clock()
        if new is ctx:
            if point is not None:
                await self._record(point)
            return
        self.ctx = new
        if self.decided is not None:
            self.decided(new)
        self.decisions += 1
        if new.state is not ctx.state:
            log.info("%s: %s -> %s", self.name, ctx.state.value, new.state.value)
            if new.state is ArbitrageState.ENTERING:
                self._log_entry(new, commands)
        if not self._told_budget and new.last_skip_reason == BUDGET_BELOW_INCREMENT:
            self._tell_budget(new)
        if commands and self.history is not None:
            # Before the snapshot: one that is stored never lacks its decision's history.
            await self._keep_history(commands)
        if self.on_change is not None:
            await self.on_change(new)
        if commands:
            placing = type(message) is MarketQuote and any(type(c) is PlaceOrder for c in commands)
            if placing:
                hot_path.mark("decision")
                self.decide_lag.observe(self.wall_clock() - message.quote.recv_ts)
            await self._carry_out(commands)
            if placing:
                self.lag.observe(self.wall_clock() - message.quote.recv_ts)
        if point is not None:
            # After the decision's orders have left: a point is never worth their delay.
            await self._record(point)

    def _tell_budget(self, ctx: ArbitrageContext) -> None:
        """A budget no entry can be sized from: said once, with the least it must be."""
        self._told_budget = True
        least = common_step(ctx.rules.spot.qty_step, ctx.rules.futures.contract_size)
        ask = _side(self.spot, _ASK) or 0.0
        log.warning(
            "%s: %s never enters: strategy.base_position_size_usdt (%g USDT) buys less than "
            "the least both venues trade (%g %s, %.2f USDT at the ask); raise it above that",
            self.name,
            ctx.symbol,
            ctx.base_position_size_usdt,
            least,
            ctx.symbol.base,
            least * ask,
        )

    async def _keep_history(self, commands: tuple) -> None:
        """Hand the records among a decision's commands to ``history``, in order."""
        for command in commands:
            kind = type(command)
            if kind is FillRecord or kind is FundingRecord:
                await self._record(command)
            elif kind is TradeClosed or kind is TradeAmended:
                await self._record(command.trade)

    async def _record(self, record: TradeRecord | HistoryRecord) -> None:
        assert self.history is not None
        await self.history(record)

    async def _carry_out(self, commands: tuple) -> None:
        orders = [command.order for command in commands if type(command) is PlaceOrder]
        if orders and self.before_orders is not None:
            began = self.wall_clock()
            try:
                await self.before_orders(self.ctx, orders)
            except OrdersRefused as refused:
                self.refused = str(refused)
                log.error("%s: orders not sent, deciding nothing more: %s", self.name, refused)
                return
            hot_path.mark("committed")
            waited = self.wall_clock() - began
            self.journal_lag.observe(waited)
            self.ctx = orders_left(self.ctx, waited)
            failpoint("journaled")
        sent = 0
        for command in commands:
            kind = type(command)
            if kind is PlaceOrder:
                if sent:
                    failpoint("between-legs")
                await self.routers[command.order.leg].send(command)
                sent += 1
            elif kind is CancelOrder or kind is AmendOrder:
                await self.routers[command.leg].send(command)
            elif kind is TradeClosed:
                self._closed(command.trade)
            elif kind is TradeAmended:
                self._amended(command.trade)
            elif kind is Alert:
                level = _ALERT_LEVELS.get(command.level, logging.WARNING)
                log.log(level, "%s: %s", self.name, command.message)

    def _note_resumed(self, now: float) -> None:
        since = self._resuming_since
        spot, futures = self.spot, self.futures
        if spot is None or futures is None or since is None:
            return
        if spot.recv_ts >= since and futures.recv_ts >= since:
            self.resumed_at = now
            self._resuming_since = None

    def _log_entry(self, ctx: ArbitrageContext, commands: tuple) -> None:
        """The decision to enter, with the age of the quotes it was made on: what shows,
        after the fact, that no entry was made on a stale quote; and, for an entry that
        counted funding, what it weighed."""
        opportunity = ctx.current_opportunity
        if opportunity is None:
            return
        client_ids = [c.order.client_id for c in commands if type(c) is PlaceOrder]
        fields: dict[str, Any] = {
            "task_id": ctx.task_id,
            "symbol": str(ctx.symbol),
            "client_ids": client_ids,
            "decided_at": opportunity.ts,
            "entry_cost_pct": opportunity.entry_cost_pct,
            "spot_quote_age_s": opportunity.spot_quote_age_s,
            "futures_quote_age_s": opportunity.futures_quote_age_s,
            "max_quote_age_s": ctx.params.max_quote_age_s,
        }
        terms = opportunity.terms
        weighed = ""
        if terms is not None:
            fields["terms"] = msgspec.to_builtins(terms)
            weighed = (
                f"; over {terms.hold_h:g} h: convergence {terms.convergence:+.4f}% + funding "
                f"{terms.funding:+.4f}% ({terms.settlements} settlements) - cost "
                f"{terms.cost:+.4f}% - fees {terms.fees:.4f}% - slippage {terms.slippage:.4f}% "
                f"= {terms.net:+.4f}% >= margin {terms.margin:g}%"
            )
        log.info(
            "%s: entering %g %s at entry cost %.3f%%, decided on prices %.3f s (spot) "
            "and %.3f s (futures) old%s",
            self.name,
            opportunity.qty,
            ctx.symbol,
            opportunity.entry_cost_pct,
            opportunity.spot_quote_age_s,
            opportunity.futures_quote_age_s,
            weighed,
            extra={"event": "entry", "fields": fields},
        )

    def _amended(self, trade: TradeRecord) -> None:
        """Replace the record of the same cycle, if still among the recent ones."""
        for n in range(len(self.trades) - 1, -1, -1):
            kept = self.trades[n]
            if (kept.entry_ts, kept.exit_ts) == (trade.entry_ts, trade.exit_ts):
                self.trades[n] = trade
                break
        log.info(
            "%s: funding reported after the exit added to the last cycle: %+.4f USDT "
            "of funding, %+.4f USDT in all",
            self.name,
            trade.funding_usdt,
            trade.pnl_usdt,
        )

    def _closed(self, trade: TradeRecord) -> None:
        self.trades.append(trade)
        log.info(
            "%s: cycle %d closed (%s): %+.4f USDT (%+.3f%%), qty %g, "
            "unhedged %.2f USDT-s (longest %.3f s)",
            self.name,
            self.ctx.arbitrage_cycles,
            trade.exit_reason,
            trade.pnl_usdt,
            trade.pnl_pct,
            trade.qty,
            trade.unhedged_usdt_s,
            trade.longest_unhedged_s,
        )
