"""The futures venue's positions against what the strategies hold: a short that shrinks
or vanishes without an order of ours is told to the strategies holding it.

The futures router runs it beside its private stream. A position push showing less
than the strategies hold on a symbol has that symbol checked at once; every
``check_every_s`` each symbol a strategy holds a short in is checked anyway, so a push
that never came (a dropped stream) is caught too. A check reads the strategies, asks the
venue for the position over REST, reads the strategies again, and judges
(``short_check.unexplained``): a push may be older than our latest fill, the REST answer
is not, and nothing of ours may have moved while it was asked. Nor is the venue asked
within its read-after-write lag of a fill of ours on the symbol: its answer might not
show that fill yet, and the short it added would look taken away. What the venue took is
sent to each strategy concerned as a ``VenuePositionChanged`` on the FIFO lane; the
strategy unwinds its spot leg to match. The venue's own report of a reduction it made
(a liquidation, an auto-deleveraging) has the symbol checked at once too, and names the
cause and the price in what the strategy is told. Each position read is handed to the
liquidation watch as well (``on_read``): a read carries the liquidation price, which a
venue's push may leave out (Binance's does), and a push holding a short without one has
the symbol read at once.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence

import attrs
import trio

from actors.runtime.orders.short_check import (
    Holding,
    settled,
    smallest_change,
    unexplained,
)
from actors.venues.rest import VENUE_FAILURES
from protocols.messages import VenuePositionChanged
from protocols.model import Leg, Symbol, VenueRules
from protocols.venue import FuturesPosition, PositionReducedByVenue
from supervision import Address

log = logging.getLogger("basis.positions")


@attrs.define(eq=False)
class PositionWatch:
    name: str
    read: Callable[[Symbol], Awaitable[FuturesPosition]]
    """The venue's position of a symbol, asked over REST."""
    holdings: Callable[[Symbol], Sequence[Holding]]
    """What the strategies trading a symbol hold on its futures leg, now."""
    busy: Callable[[Symbol], bool]
    """The router follows an order on the symbol that has not ended."""
    owners: Mapping[str, Address]
    """Task id → its strategy's address."""
    rules: Mapping[Symbol, VenueRules]
    """The router's rules: a contract's size is the least a position changes by."""
    symbols: Sequence[Symbol]
    check_every_s: float = 3.0
    acquire: Callable[[], Awaitable[None]] | None = None
    """Awaited before each request (the router's query rate limit)."""
    last_fill: Callable[[Symbol], float | None] = lambda symbol: None
    """When (trio time) the router last heard of a fill or an end of one of our futures
    orders on a symbol; ``None`` if never."""
    read_after_write_s: float = 0.0
    """How long after a fill of ours the venue's position may not show it yet."""
    wall_clock: Callable[[], float] = time.time
    on_read: Callable[[FuturesPosition], None] | None = None
    """Where each position read goes too (the liquidation watch): a read carries the
    liquidation price, which a venue's push may leave out (Binance's does)."""
    reported: int = 0
    """Shrinks told to strategies."""
    _pushed: trio.MemorySendChannel[Symbol] | None = None
    _told: dict[Symbol, PositionReducedByVenue] = attrs.field(factory=dict)
    """The venue's own report of a reduction it made, by symbol, until the venue's
    position is next read: what names the cause and the price in what the strategy is
    told."""

    def on_push(self, position: FuturesPosition) -> None:
        """A position pushed by the venue: its symbol is checked at once when it shows
        less than the strategies hold (a push is never acted on by itself)."""
        if self._pushed is None:
            return
        symbol = position.symbol
        rules = self.rules.get(symbol)
        if rules is None:
            return
        holdings = self.holdings(symbol)
        if unexplained(holdings, -position.qty, holdings, False, smallest_change(rules)) or (
            position.qty != 0.0 and position.liq_price <= 0.0
        ):
            # Less than held, or held without its liquidation price: read it now.
            self._pushed.send_nowait(symbol)

    def on_reduction(self, reduction: PositionReducedByVenue) -> None:
        """The venue reports having reduced a position by itself (a liquidation, an
        auto-deleveraging): its symbol is checked at once, and the check names the
        cause. The report alone is not acted on: the check confirms it against what the
        strategies hold, as for any push."""
        self._told[reduction.symbol] = reduction
        if self._pushed is not None:
            self._pushed.send_nowait(reduction.symbol)

    async def run(self) -> None:
        """Check pushed symbols as they come and every held symbol every
        ``check_every_s``, until cancelled."""
        send, receive = trio.open_memory_channel[Symbol](math.inf)
        self._pushed = send
        try:
            next_round = trio.current_time() + self.check_every_s
            while True:
                symbol = None
                with trio.move_on_at(next_round):
                    symbol = await receive.receive()
                if symbol is not None:
                    await self.check(symbol, "a position push")
                    continue
                next_round = trio.current_time() + self.check_every_s
                for symbol in self.symbols:
                    if any(holding.short > 0.0 for holding in self.holdings(symbol)):
                        await self.check(symbol, "the periodic position check")
        finally:
            self._pushed = None

    async def check(self, symbol: Symbol, found_by: str) -> None:
        """Ask the venue for ``symbol``'s position and tell each strategy what it took
        from its short beyond what our orders explain."""
        rules = self.rules.get(symbol)
        if rules is None:
            return
        heard = self.last_fill(symbol)
        if heard is not None and trio.current_time() < heard + self.read_after_write_s:
            await trio.sleep_until(heard + self.read_after_write_s)
        before = tuple(self.holdings(symbol))
        busy = self.busy(symbol)
        if not settled(before, busy) or not any(holding.short > 0.0 for holding in before):
            return  # our own orders are moving it: judged once they have ended
        try:
            if self.acquire is not None:
                await self.acquire()
            read_at = trio.current_time()
            position = await self.read(symbol)
        except VENUE_FAILURES as error:
            log.warning("%s: the %s position cannot be read: %s", self.name, symbol, error)
            return
        if self.on_read is not None:
            self.on_read(position)
        after = tuple(self.holdings(symbol))
        busy = busy or self.busy(symbol)
        venue_short = -position.qty
        heard = self.last_fill(symbol)
        since_fill = math.inf if heard is None else read_at - heard
        shrinks = unexplained(
            before,
            venue_short,
            after,
            busy,
            smallest_change(rules),
            since_fill,
            self.read_after_write_s,
        )
        # A report the position does not bear out is spent all the same: a later shrink
        # is not put down to it.
        told = self._told.pop(symbol, None)
        cause = f"found by {found_by}, confirmed by the venue's position"
        price = position.mark_price
        if told is not None:
            cause = f"{told.cause.replace('_', '-')} reported by the venue, {cause}"
            price = told.price
        for shrink in shrinks:
            owner = self.owners.get(shrink.task_id)
            if owner is None:
                continue
            log.error(
                "%s: the venue holds a %s short of %g where task %s holds %g, and no order "
                "of ours did it (%s): the strategy unwinds its spot leg to match",
                self.name,
                symbol,
                max(venue_short, 0.0),
                shrink.task_id,
                shrink.held,
                found_by,
            )
            self.reported += 1
            await owner.send(
                VenuePositionChanged(
                    self.wall_clock(),
                    Leg.FUTURES,
                    symbol,
                    shrink.held,
                    shrink.venue,
                    price,
                    cause,
                )
            )
