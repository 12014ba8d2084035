"""The risk actor: holds the portfolio (``portfolio.py``), reads the venues' balances
every ``[risk] balance_interval_s``, evaluates the portfolio stops every second, watches
the futures positions' distance to liquidation, and sets the risk mode: persisted first,
then told to every strategy (``RiskModeChange``).

Who set a mode matters: a stop moves the portfolio between ``active`` and ``reducing``
only (it never lifts an operator's mode, nor softens a halt); the operator sets any."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from typing import Any, Protocol

import attrs
import msgspec
import trio

from actors.arbitrage.actor import StrategyActor
from actors.arbitrage.context import ArbitrageContext
from actors.arbitrage.machine import pnl_if_closed
from actors.risk.caps import Balances
from actors.risk.limits import EntryLimits
from actors.risk.liquidation import liquidation_action, liquidation_distance_pct
from actors.risk.stops import (
    StopsState,
    StoredMarks,
    evaluate_stops,
    marks_of,
    moved,
    operator_resumed,
    rebased,
)
from actors.runtime.persistence.store import RiskModeRow
from actors.runtime.persistence.writer import WriterClient
from actors.runtime.risk.portfolio import Portfolio
from actors.venues.rest import VENUE_FAILURES
from protocols.messages import ReduceExposure, RiskModeChange
from protocols.model import Leg, Quote, RiskMode, Symbol
from protocols.venue import FuturesPosition
from supervision import Incarnation, Mailbox, MailboxClosed

log = logging.getLogger("basis.risk")

STOPS_EVERY_S = 1.0
MARKS_EVERY_S = 5.0
"""How often, at most, the stops' marks are stored while no cycle closes."""
LIQUIDATION_LOOK_S = 0.25
"""How often each held short's distance to liquidation is judged again at the market: a
position is pushed when it changes (a trade, a margin change), not as the price moves,
so between pushes the watch follows the price on its strategy's futures quotes. A run of
the price at 1 % a second crosses a quarter of a percent between two looks."""
SET_BY_STOP = "stop"
_stops_json = msgspec.json.Encoder()


class StrategyHandle(Protocol):
    """A running strategy, as the system holds it."""

    symbol: Symbol
    actor: StrategyActor
    mailbox: Mailbox


class LiquidationView(msgspec.Struct, frozen=True):
    """A futures position's distance to liquidation, as last pushed."""

    symbol: str
    mark_price: float
    liq_price: float
    distance_pct: float | None
    action: float | None
    """The fraction of both legs the distance calls to close (``None``: none)."""


@attrs.define(eq=False)
class RiskActor:
    portfolio: Portfolio
    strategies: Mapping[str, StrategyHandle]
    """The running strategies by task id (the system's own mapping)."""
    writer: WriterClient
    read_balances: Callable[[float], Awaitable[Balances]]
    wall_clock: Callable[[], float] = time.time
    system_started: trio.Event | None = None
    """Set once every strategy is restored: the stops are judged from then on, as the
    portfolio's P&L sums every strategy's only then."""
    name: str = "risk"
    liquidation: dict[str, LiquidationView] = attrs.field(factory=dict)
    _acted: dict[str, float] = attrs.field(factory=dict)
    """Symbol → the fraction already asked for in the current crossing."""
    _setting: trio.Lock = attrs.field(factory=trio.Lock)
    _cycle_closed: trio.Event = attrs.field(factory=trio.Event)
    _waiting: dict[Symbol, FuturesPosition] = attrs.field(factory=dict)
    """Positions pushed and not judged yet: the newest of each symbol."""
    _pushed: trio.Event = attrs.field(factory=trio.Event)
    _pushed_positions: dict[Symbol, FuturesPosition] = attrs.field(factory=dict)
    """Each symbol's futures position as last pushed (its liquidation price)."""
    _read_now: trio.Event = attrs.field(factory=trio.Event)
    """Set when a venue refused an order for the balance: read them again at once."""
    _restored: StoredMarks | None = None
    """The marks the store kept, until the first judgement sets them on this run's P&L."""
    _stored: StoredMarks | None = None
    _stored_at: float = -math.inf

    # ----------------------------------------------------------------- the mode

    def restore(self, row: RiskModeRow | None) -> None:
        """The mode the store kept (before any strategy trades)."""
        if row is None:
            return
        portfolio = self.portfolio
        try:
            portfolio.mode = RiskMode(row.mode)
            portfolio.reason = row.reason
        except ValueError:
            # Not a mode this version knows: the most careful one holds until the
            # operator sets one.
            portfolio.mode = RiskMode.HALTED
            portfolio.reason = (
                f"the stored mode {row.mode!r} cannot be read: halted until the operator "
                "sets one (basis risk reduce|halt|resume)"
            )
            log.error("risk: %s", portfolio.reason)
        portfolio.since = row.since
        portfolio.set_by = row.set_by
        if row.stops:
            # The marks are relative to the P&L when stored: the first judgement, once
            # every strategy is restored, sets them on this run's P&L.
            try:
                marks = msgspec.json.decode(row.stops, type=StoredMarks)
            except msgspec.DecodeError as error:
                # The mode stands (it is what the operator or a stop chose); only the
                # stops start again from this run's P&L.
                log.error(
                    "risk: the stops kept with the mode cannot be read (%s); they start "
                    "again from this run's P&L, the mode %s stays",
                    error,
                    row.mode,
                )
            else:
                self._restored = self._stored = marks
                portfolio.stops = StopsState(day=marks.day, tripped=marks.tripped)
        log.warning("risk mode %s since %.0f (%s): %s", row.mode, row.since, row.set_by, row.reason)

    async def set_mode(self, mode: RiskMode, reason: str, set_by: str) -> None:
        """Persist ``mode``, then tell every strategy; one change at a time."""
        async with self._setting:
            await self._set(mode, reason, set_by)

    async def _set(
        self, mode: RiskMode, reason: str, set_by: str, stops: StopsState | None = None
    ) -> None:
        """Persist ``mode`` with the stops (``stops``, else the portfolio's), then take
        both: a write that fails changes nothing, so a stop trips again at the next."""
        portfolio = self.portfolio
        now = self.wall_clock()
        stops = portfolio.stops if stops is None else stops
        marks = marks_of(stops, self.pnl_usdt())
        row = RiskModeRow(mode.value, reason, now, set_by, _stops_json.encode(marks))
        await self.writer.set_risk_mode(row)
        self._stored, self._stored_at = marks, now
        portfolio.stops = stops
        portfolio.mode, portfolio.reason, portfolio.since, portfolio.set_by = (
            mode,
            reason,
            now,
            set_by,
        )
        log.warning("risk mode %s (%s): %s", mode.value, set_by, reason)
        change = RiskModeChange(now, mode, reason)
        for handle in list(self.strategies.values()):
            with suppress(MailboxClosed):  # being removed: it decides nothing more
                await handle.mailbox.address.send(change)

    async def resume(self, set_by: str) -> None:
        """Back to ``active``; a tripped stop is lifted and its marks start from the P&L
        now (the operator accepted the loss so far)."""
        async with self._setting:
            resumed = operator_resumed(self.portfolio.stops, self.pnl_usdt())
            await self._set(RiskMode.ACTIVE, "resumed by the operator", set_by, resumed)
            self._restored = None  # the operator accepted the loss so far, stored or not

    # ------------------------------------------------------- strategies' hooks

    def limits(self, ctx: ArbitrageContext) -> EntryLimits:
        """Read by a strategy right before it decides on the market."""
        return self.portfolio.limits_for(ctx)

    def decided(self, ctx: ArbitrageContext) -> None:
        """Published by a strategy right after each decision."""
        if self.portfolio.publish(ctx):
            self._cycle_closed.set()

    def balance_refused(self, leg: Leg, venue: str) -> None:
        """A router's hook: ``venue`` refused an order of ``leg`` for the balance. No
        strategy enters on it until the balances are read again, which is at once: each
        entry would otherwise place its other leg only to unwind it."""
        self.portfolio.balance_refused(venue, leg, self.wall_clock())
        log.warning("risk: %s refused an order for the balance; reading the balances", venue)
        self._read_now.set()

    # --------------------------------------------------------------- the stops

    def pnl_usdt(self) -> float:
        """The portfolio's realised P&L plus what closing every position on the latest
        quotes would add."""
        total = sum(self.portfolio.realized.values())
        for handle in self.strategies.values():
            actor = handle.actor
            ctx, spot, futures = actor.ctx, actor.spot, actor.futures
            held = ctx.positions.spot.qty > 0.0 or ctx.positions.futures.qty > 0.0
            if held and spot is not None and futures is not None and spot.bid > 0 < futures.ask:
                total += pnl_if_closed(ctx, spot.bid, futures.ask) - ctx.cycle.realized_usdt
        return total

    async def check_stops(self, cycle_closed: bool = False) -> None:
        """Judge the stops at the P&L now, and store their marks when they moved (at
        once when a cycle closed, else at most every ``MARKS_EVERY_S``)."""
        async with self._setting:  # judged and set as one: no mode change in between
            portfolio = self.portfolio
            now, pnl = self.wall_clock(), self.pnl_usdt()
            before = portfolio.stops if self._restored is None else rebased(self._restored, pnl)
            stops, change = evaluate_stops(before, now, pnl, portfolio.config)
            if change is not None and self._stop_may_set(change.mode):
                # The new stops only once the mode is stored: if the write fails, the
                # stop is still untripped and trips again at the next judgement.
                try:
                    await self._set(change.mode, change.reason, SET_BY_STOP, stops)
                except Exception as error:  # what the store refused
                    log.error("risk: %s; the mode cannot be stored (%s)", change.reason, error)
                    return
            else:
                portfolio.stops = stops
            self._restored = None
            await self._keep_marks(now, pnl, cycle_closed)

    def _stop_may_set(self, mode: RiskMode) -> bool:
        """A stop pauses an active portfolio and lifts only its own pause."""
        portfolio = self.portfolio
        if mode is RiskMode.REDUCING:
            return portfolio.mode is RiskMode.ACTIVE
        return portfolio.mode is RiskMode.REDUCING and portfolio.set_by == SET_BY_STOP

    async def _keep_marks(self, now: float, pnl: float, cycle_closed: bool) -> None:
        marks = marks_of(self.portfolio.stops, pnl)
        due = cycle_closed or now - self._stored_at >= MARKS_EVERY_S
        if not (due and moved(self._stored, marks)):
            return
        portfolio = self.portfolio
        row = RiskModeRow(
            portfolio.mode.value,
            portfolio.reason,
            portfolio.since,
            portfolio.set_by,
            _stops_json.encode(marks),
        )
        try:
            await self.writer.keep_risk_stops(row)
        except Exception as error:  # what the store refused: tried again at the next
            log.warning("risk: the stops' marks cannot be stored (%s)", error)
            return
        self._stored, self._stored_at = marks, now

    # --------------------------------------------------------- the liquidation

    def position_pushed(self, position: FuturesPosition) -> None:
        """The futures router's hook: a position as the private stream pushed it."""
        # Never waits, whatever the burst: the newest of each symbol is what counts.
        self._waiting[position.symbol] = position
        self._pushed.set()

    async def watch_position(self, position: FuturesPosition) -> None:
        """A position pushed (or read over REST): its distance to liquidation at the mark
        the venue gave."""
        known = self._pushed_positions.get(position.symbol)
        if position.liq_price <= 0.0 and known is not None and known.qty == position.qty:
            # A push that leaves the liquidation price out (Binance's ACCOUNT_UPDATE): the
            # one last read for this same position stands until the next read.
            position = msgspec.structs.replace(position, liq_price=known.liq_price)
        self._pushed_positions[position.symbol] = position
        mark = position.mark_price
        if mark <= 0.0:  # Gate.io's position push carries no mark: the quotes stand for it
            quote = self._latest_futures_quotes().get(position.symbol)
            if quote is None or quote.bid <= 0.0 or quote.ask <= 0.0:
                return
            mark = (quote.bid + quote.ask) / 2.0
        await self._judge(position, mark)

    async def recheck_liquidations(self) -> None:
        """The mark moves with the market, and a venue pushes a position only when the
        position changes: between pushes each held short is judged again at its
        symbol's latest futures quote (the mid stands for the mark), every
        ``LIQUIDATION_LOOK_S``."""
        latest = self._latest_futures_quotes()
        for symbol, position in list(self._pushed_positions.items()):
            if position.qty == 0.0:
                continue
            quote = latest.get(symbol)
            if quote is not None and quote.bid > 0.0 and quote.ask > 0.0:
                await self._judge(position, (quote.bid + quote.ask) / 2.0)

    def _latest_futures_quotes(self) -> dict[Symbol, Quote]:
        """Each symbol's newest futures quote among its strategies', in one pass over
        them: a pass for each held short would cost strategies times shorts on every look."""
        latest: dict[Symbol, Quote] = {}
        for handle in self.strategies.values():
            quote = handle.actor.futures
            if quote is None:
                continue
            newest = latest.get(handle.symbol)
            if newest is None or quote.recv_ts > newest.recv_ts:
                latest[handle.symbol] = quote
        return latest

    async def _judge(self, position: FuturesPosition, mark: float) -> None:
        """Ask the symbol's strategy to reduce once per crossing of a distance."""
        symbol = str(position.symbol)
        held = position.qty != 0.0
        liq = position.liq_price
        action = liquidation_action(mark, liq, self.portfolio.config) if held else None
        # Without a liquidation price (not read yet) there is no distance to show.
        known = held and liq > 0.0
        self.liquidation[symbol] = LiquidationView(
            symbol, mark, liq, liquidation_distance_pct(mark, liq) if known else None, action
        )
        if action is None:
            self._acted.pop(symbol, None)
            return
        if self._acted.get(symbol, 0.0) >= action:
            return
        distance = self.liquidation[symbol].distance_pct or 0.0
        reason = f"liquidation {distance:.1f}% away (mark {mark:g}, liquidation {liq:g})"
        reduce = ReduceExposure(self.wall_clock(), action, "liquidation_risk")
        told = 0
        for handle in list(self.strategies.values()):
            if handle.symbol == Symbol.parse(symbol):
                with suppress(MailboxClosed):
                    await handle.mailbox.address.send(reduce)
                    told += 1
        if not told:
            # No strategy of the symbol is running yet (a restart pushes positions
            # before it starts them): asked again at the next look, not marked done.
            log.warning(
                "%s: %s: no strategy running to close %g of both legs", symbol, reason, action
            )
            return
        self._acted[symbol] = action
        log.error("%s: %s: closing %g of both legs", symbol, reason, action)

    # ----------------------------------------------------------------- running

    async def run(self, inc: Incarnation, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._poll_balances)
            nursery.start_soon(self._watch_stops)
            nursery.start_soon(self._follow_marks)
            await self.follow_positions()

    async def follow_positions(self) -> None:
        """The newest position of each symbol the router's hook handed over."""
        while True:
            await self._pushed.wait()
            self._pushed = trio.Event()
            waiting, self._waiting = self._waiting, {}
            for position in waiting.values():
                await self.watch_position(position)

    async def _poll_balances(self) -> None:
        """Every ``balance_interval_s``; at once when every strategy is restored (a
        position restored after a read would count as spent since it) and when a venue
        refused an order for the balance."""
        portfolio = self.portfolio
        started = self.system_started
        while True:
            now, begun_at = self.wall_clock(), portfolio.refusals
            try:
                balances = await self.read_balances(now)
            except VENUE_FAILURES as error:
                if portfolio.poll_error is None:
                    log.warning("risk: the balances cannot be read (%s); keeping the last", error)
                portfolio.poll_error = str(error)
            else:
                portfolio.balances_read(balances, now, begun_at)
            with trio.move_on_after(portfolio.config.balance_interval_s):
                async with trio.open_nursery() as wake:
                    if started is not None and not started.is_set():
                        wake.start_soon(_wake_on, started, wake.cancel_scope)
                    wake.start_soon(_wake_on, self._read_now, wake.cancel_scope)
            self._read_now = trio.Event()

    async def _follow_marks(self) -> None:
        while True:
            await trio.sleep(LIQUIDATION_LOOK_S)
            await self.recheck_liquidations()

    async def _watch_stops(self) -> None:
        """Every second, and at once when a cycle closed, once every strategy is
        restored."""
        cycle_closed = False
        while True:
            if self.system_started is None or self.system_started.is_set():
                await self.check_stops(cycle_closed)
            with trio.move_on_after(STOPS_EVERY_S):
                await self._cycle_closed.wait()
            cycle_closed = self._cycle_closed.is_set()
            self._cycle_closed = trio.Event()


async def _wake_on(event: trio.Event, scope: trio.CancelScope) -> None:
    await event.wait()
    scope.cancel()


class CapUse(msgspec.Struct, frozen=True):
    """One exposure cap: its limit and how much of it the strategies use (USDT)."""

    cap: str
    limit_usdt: float
    used_usdt: float


class RiskStatistics(msgspec.Struct, frozen=True):
    """The portfolio's risk as ``/status`` shows it."""

    mode: str
    reason: str
    since: float
    set_by: str
    pnl_usdt: float
    """Realised plus unrealised P&L of every strategy of this run."""
    high_water_usdt: float | None
    stop_tripped: str | None
    caps: list[CapUse]
    balances_read: Balances | None
    """Free balances as the venues last answered."""
    balances_left: Balances | None
    """Those less what orders placed since will spend."""
    balances_read_at: float | None
    balances_error: str | None
    """Why the last read failed (the figures are the last good ones), or ``None``."""
    liquidation: list[LiquidationView]


def risk_statistics(actor: RiskActor) -> RiskStatistics:
    portfolio = actor.portfolio
    config = portfolio.config
    totals = portfolio.totals
    caps = [CapUse("total", config.max_total_notional_usdt, totals.total)]
    caps += [
        CapUse(f"venue:{venue}", config.max_venue_notional_usdt, used)
        for venue, used in sorted(totals.per_venue.items())
    ]
    caps += [
        CapUse(f"symbol:{symbol}", config.max_symbol_notional_usdt, used)
        for symbol, used in sorted(totals.per_symbol.items())
    ]
    return RiskStatistics(
        portfolio.mode.value,
        portfolio.reason,
        portfolio.since,
        portfolio.set_by,
        actor.pnl_usdt(),
        portfolio.stops.high_water_usdt,
        portfolio.stops.tripped,
        caps,
        portfolio.polled,
        portfolio.balances_now(),
        portfolio.polled_at,
        portfolio.poll_error,
        sorted(actor.liquidation.values(), key=lambda view: view.symbol),
    )
