"""The risk actor: holds the portfolio (``portfolio.py``), reads the venues' balances
every ``[risk] balance_interval_s``, evaluates the portfolio stops every second, watches
the futures positions' distance to liquidation, and sets the risk mode: persisted first,
then told to every strategy (``RiskModeChange``).

Who set a mode matters: a stop moves the portfolio between ``active`` and ``reducing``
only (it never lifts an operator's mode, nor softens a halt); the operator sets any."""

from __future__ import annotations

import logging
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
from actors.risk.stops import DAILY_LOSS, StopsState, evaluate_stops, operator_resumed
from actors.runtime.persistence.store import RiskModeRow
from actors.runtime.persistence.writer import WriterClient
from actors.runtime.risk.portfolio import Portfolio
from actors.venues.rest import VENUE_FAILURES
from protocols.messages import ReduceExposure, RiskModeChange
from protocols.model import RiskMode, Symbol
from protocols.venue import FuturesPosition
from supervision import Incarnation, Mailbox, MailboxClosed

log = logging.getLogger("basis.risk")

STOPS_EVERY_S = 1.0
MARKS_EVERY_S = 0.25
"""How often a held short's distance to liquidation is judged again at the market: a
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
    name: str = "risk"
    liquidation: dict[str, LiquidationView] = attrs.field(factory=dict)
    _held: dict[str, FuturesPosition] = attrs.field(factory=dict)
    """Symbol → the short last pushed, while one is held: what the marks are judged on."""
    _acted: dict[str, float] = attrs.field(factory=dict)
    """Symbol → the fraction already asked for in the current crossing."""
    _setting: trio.Lock = attrs.field(factory=trio.Lock)
    _cycle_closed: trio.Event = attrs.field(factory=trio.Event)
    _positions: Any = None
    _pushed: Any = None

    def __attrs_post_init__(self) -> None:
        self._pushed, self._positions = trio.open_memory_channel[FuturesPosition](1024)

    # ----------------------------------------------------------------- the mode

    def restore(self, row: RiskModeRow | None) -> None:
        """The mode the store kept (before any strategy trades)."""
        if row is None:
            return
        portfolio = self.portfolio
        portfolio.mode = RiskMode(row.mode)
        portfolio.reason = row.reason
        portfolio.since = row.since
        portfolio.set_by = row.set_by
        if row.stops:
            # Only which stop holds the portfolio, and the day of a daily one (it lifts at
            # the next): the marks were of the last run's strategies, whose P&L this run's
            # sum does not hold, so they start again from this run's.
            stored = msgspec.json.decode(row.stops, type=StopsState)
            day = stored.day if stored.tripped == DAILY_LOSS else None
            portfolio.stops = StopsState(day=day, tripped=stored.tripped)
        log.warning("risk mode %s since %.0f (%s): %s", row.mode, row.since, row.set_by, row.reason)

    async def set_mode(self, mode: RiskMode, reason: str, set_by: str) -> None:
        """Persist ``mode``, then tell every strategy; one change at a time."""
        async with self._setting:
            await self._set(mode, reason, set_by)

    async def _set(self, mode: RiskMode, reason: str, set_by: str) -> None:
        portfolio = self.portfolio
        now = self.wall_clock()
        row = RiskModeRow(mode.value, reason, now, set_by, _stops_json.encode(portfolio.stops))
        await self.writer.set_risk_mode(row)
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
            pnl = self.pnl_usdt()
            self.portfolio.stops = operator_resumed(self.portfolio.stops, pnl)
            await self._set(RiskMode.ACTIVE, "resumed by the operator", set_by)

    # ------------------------------------------------------- strategies' hooks

    def limits(self, ctx: ArbitrageContext) -> EntryLimits:
        """Read by a strategy right before it decides on the market."""
        return self.portfolio.limits_for(ctx)

    def decided(self, ctx: ArbitrageContext) -> None:
        """Published by a strategy right after each decision."""
        if self.portfolio.publish(ctx):
            self._cycle_closed.set()

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

    async def check_stops(self) -> None:
        portfolio = self.portfolio
        stops, change = evaluate_stops(
            portfolio.stops, self.wall_clock(), self.pnl_usdt(), portfolio.config
        )
        portfolio.stops = stops
        if change is None:
            return
        # A stop pauses an active portfolio and lifts only its own pause.
        stop_pauses = change.mode is RiskMode.REDUCING and portfolio.mode is RiskMode.ACTIVE
        stop_lifts = (
            change.mode is RiskMode.ACTIVE
            and portfolio.mode is RiskMode.REDUCING
            and portfolio.set_by == SET_BY_STOP
        )
        if stop_pauses or stop_lifts:
            await self.set_mode(change.mode, change.reason, SET_BY_STOP)

    # --------------------------------------------------------- the liquidation

    def position_pushed(self, position: FuturesPosition) -> None:
        """The futures router's hook: a position as the private stream pushed it."""
        with suppress(trio.WouldBlock):  # a burst: the newest of each symbol is what counts
            self._pushed.send_nowait(position)

    async def watch_position(self, position: FuturesPosition) -> None:
        """Ask the symbol's strategy to reduce once per crossing of a distance."""
        symbol = str(position.symbol)
        held = position.qty != 0.0
        if held:
            self._held[symbol] = position
        else:
            self._held.pop(symbol, None)
        mark, liq = position.mark_price, position.liq_price
        action = liquidation_action(mark, liq, self.portfolio.config) if held else None
        self.liquidation[symbol] = LiquidationView(
            symbol, mark, liq, liquidation_distance_pct(mark, liq) if held else None, action
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

    async def watch_marks(self) -> None:
        """Each short last pushed as held, judged again at its strategy's futures quote
        (the mid of its best bid and ask, for the mark), with the liquidation price the
        venue last gave it."""
        for symbol, position in list(self._held.items()):
            quotes = [
                handle.actor.futures
                for handle in self.strategies.values()
                if handle.symbol == position.symbol and handle.actor.futures is not None
            ]
            quote = max(quotes, key=lambda q: q.recv_ts, default=None)
            if quote is None or quote.bid <= 0.0 or quote.ask <= 0.0:
                continue
            mark = (quote.bid + quote.ask) / 2.0
            if self._held.get(symbol) is position:  # not replaced by a push meanwhile
                await self.watch_position(msgspec.structs.replace(position, mark_price=mark))

    # ----------------------------------------------------------------- running

    async def run(self, inc: Incarnation, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._poll_balances)
            nursery.start_soon(self._watch_stops)
            nursery.start_soon(self._follow_marks)
            await self.follow_positions()

    async def follow_positions(self) -> None:
        """Each position the router's hook handed over, in order."""
        async for position in self._positions:
            await self.watch_position(position)

    async def _poll_balances(self) -> None:
        portfolio = self.portfolio
        while True:
            now = self.wall_clock()
            try:
                balances = await self.read_balances(now)
            except VENUE_FAILURES as error:
                if portfolio.poll_error is None:
                    log.warning("risk: the balances cannot be read (%s); keeping the last", error)
                portfolio.poll_error = str(error)
            else:
                portfolio.balances_read(balances, now)
            await trio.sleep(portfolio.config.balance_interval_s)

    async def _follow_marks(self) -> None:
        while True:
            await trio.sleep(MARKS_EVERY_S)
            await self.watch_marks()

    async def _watch_stops(self) -> None:
        """Every second, and at once when a cycle closed."""
        while True:
            await self.check_stops()
            with trio.move_on_after(STOPS_EVERY_S):
                await self._cycle_closed.wait()
            self._cycle_closed = trio.Event()


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
