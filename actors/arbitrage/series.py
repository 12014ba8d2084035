"""A strategy's sampled series: what entering would cost, and while a position is open
what closing it would make, at most once an interval.

Pure: the strategy actor asks on every quote with the wall clock, a backtest with the
quotes' own clock, and both hand the points to the store (``SeriesPoint``). Sampling
keeps the series small (a point a second is 86 400 a day per symbol) while quotes may
come many times a second; the store thins old points further, to one a minute.
"""

from __future__ import annotations

import attrs

from actors.arbitrage.context import ArbitrageContext
from actors.arbitrage.machine import holds_position, pnl_if_closed
from actors.arbitrage.pricing import entry_cost_pct, pnl_pct
from protocols.history import SeriesPoint
from protocols.model import Quote


@attrs.define
class SeriesSampler:
    """One point per ``interval_s`` at most: on the first quotes of both legs once the
    interval since the last point has passed."""

    interval_s: float
    next_at: float = float("-inf")
    """When the next point is due (the last point's time plus the interval)."""

    def sample(
        self, ctx: ArbitrageContext, now: float, spot: Quote | None, futures: Quote | None
    ) -> SeriesPoint | None:
        """The point due at ``now`` on these quotes, or ``None`` (not due yet, or a leg
        without a usable price: nothing is sampled, and the next quotes are asked)."""
        if now < self.next_at or spot is None or futures is None:
            return None
        sa, fb = spot.ask, futures.bid
        if sa <= 0.0 or fb <= 0.0:
            return None
        self.next_at = now + self.interval_s
        symbol = str(ctx.symbol)
        cost = entry_cost_pct(sa, fb)
        if not holds_position(ctx):  # dust an exit left is no position
            return SeriesPoint(symbol, now, cost)
        held = ctx.positions.spot
        sb, fa = spot.bid, futures.ask
        if sb <= 0.0 or fa <= 0.0:
            return SeriesPoint(symbol, now, cost)
        pnl = pnl_if_closed(ctx, sb, fa)
        return SeriesPoint(
            symbol,
            now,
            cost,
            pnl,
            pnl_pct(pnl, held.qty, held.avg_price),
            pnl - ctx.cycle.realized_usdt,
        )
