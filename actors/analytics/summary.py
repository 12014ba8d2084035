"""The figures of a window's history, pure: P&L realised and marked to market, fees per
venue, funding, volume, win rate, holding and exposure times, the equity curve with its
high-water mark and drawdown, daily P&L and its Sharpe and Sortino ratios.

Equity is marked to market: at any time it is the P&L of the cycles closed so far in the
window (each counted at its exit) plus, for each cycle open then, what closing it would
have made at the latest series point (``SeriesPoint.pnl_usdt``: the whole cycle's P&L,
its realised part included). It starts at 0 at the window's start; at the window's end
the open positions count as ``realized_usdt + unrealized_usdt``, so the curve ends at the
summary's total P&L. Days are UTC days. Money is USDT, times Unix seconds.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime

import msgspec

from actors.analytics.history import History
from protocols.history import FillRecord

DAY_S = 86400.0
TRADING_DAYS_PER_YEAR = 365
"""Crypto trades every day: daily ratios are annualised by the square root of this."""


class Summary(msgspec.Struct, frozen=True):
    """A window's figures. ``realized_pnl_usdt``: the closed cycles' P&L and what the
    open positions have realised so far (fees paid, partial exits);
    ``unrealized_pnl_usdt``: what closing the open positions would add at their last
    series point. Ratios and averages are ``None`` where nothing defines them (no
    cycle; fewer than 2 days or no deviation for Sharpe and Sortino)."""

    start: float | None
    end: float | None
    realized_pnl_usdt: float
    unrealized_pnl_usdt: float
    total_pnl_usdt: float
    fees_by_venue_usdt: dict[str, float]
    funding_usdt: float
    volume_usdt: float
    cycles: int
    wins: int
    win_rate: float | None
    """Closed cycles with a positive P&L, as a fraction of the closed cycles."""
    avg_holding_s: float | None
    exposure_s: float
    """How long any position was open in the window (overlapping positions once)."""
    exposure_pct: float | None
    """``exposure_s`` as % of the window's length."""
    max_drawdown_usdt: float
    sharpe: float | None
    sortino: float | None
    days: int


class EquityPoint(msgspec.Struct, frozen=True):
    """The equity after everything at ``ts``, its highest so far (from 0) and how far
    below that it is (``high_water - equity``, never negative)."""

    ts: float
    equity: float
    high_water: float
    drawdown: float


class DailyPnl(msgspec.Struct, frozen=True):
    """How much equity changed during one UTC day (``day``: ``YYYY-MM-DD``, starting at
    ``start``)."""

    day: str
    start: float
    pnl_usdt: float


class SymbolRow(msgspec.Struct, frozen=True):
    """One symbol's figures in the window: its realised P&L (its closed cycles' and what
    its open position has realised), its closed cycles' wins and holding time, and the
    fees, funding and volume of those cycles' fills and settlements (as
    :attr:`History.fills` holds them), so that P&L, fees and funding add up."""

    symbol: str
    cycles: int
    wins: int
    win_rate: float | None
    pnl_usdt: float
    fees_usdt: float
    funding_usdt: float
    volume_usdt: float
    avg_holding_s: float | None


def summarize(history: History) -> Summary:
    curve = equity_curve(history)
    daily = [d.pnl_usdt for d in _daily(history, curve)]
    cycles = history.cycles
    wins = sum(1 for c in cycles if c.pnl_usdt > 0)
    holds = holding_times(history)
    open_realized = math.fsum(p.realized_usdt for p in history.open_positions)
    unrealized = math.fsum(p.unrealized_usdt or 0.0 for p in history.open_positions)
    realized = math.fsum(c.pnl_usdt for c in cycles) + open_realized
    fees: dict[str, list[float]] = {}
    for fill in history.fills:
        fees.setdefault(fill.venue, []).append(fill.fee_usdt)
    start, end = history.window.start, history.window.end
    exposure = exposure_s(history)
    span = end - start if start is not None and end is not None else 0.0
    return Summary(
        start=start,
        end=end,
        realized_pnl_usdt=realized,
        unrealized_pnl_usdt=unrealized,
        total_pnl_usdt=realized + unrealized,
        fees_by_venue_usdt={venue: math.fsum(fees[venue]) for venue in sorted(fees)},
        funding_usdt=math.fsum(f.amount_usdt for f in history.funding),
        volume_usdt=_volume(history.fills),
        cycles=len(cycles),
        wins=wins,
        win_rate=wins / len(cycles) if cycles else None,
        avg_holding_s=math.fsum(holds) / len(holds) if holds else None,
        exposure_s=exposure,
        exposure_pct=100.0 * exposure / span if span > 0 else None,
        max_drawdown_usdt=max((p.drawdown for p in curve), default=0.0),
        sharpe=sharpe(daily),
        sortino=sortino(daily),
        days=len(daily),
    )


def equity_curve(history: History) -> list[EquityPoint]:
    """A point at the window's start (equity 0), one at each time something changed the
    equity, and one at the window's end (the window's bounds are set whenever anything
    is recorded, as :func:`read_history` gives them)."""
    # Each change: (time, order, symbol, P&L closed or None, mark or None). At the
    # same time, marks come before exits: a point sampled as the cycle closed is
    # superseded by the cycle's own P&L.
    changes: list[tuple[float, int, str, float | None, float | None]] = [
        (point.ts, 0, symbol, None, point.pnl_usdt)
        for symbol, points in history.series.items()
        for point in points
    ]
    changes += [(c.exit_ts, 1, c.symbol, c.pnl_usdt, None) for c in history.cycles]
    changes.sort(key=lambda change: change[:3])
    start, end = history.window.start, history.window.end
    closed: list[float] = []
    marks: dict[str, float] = {}
    equities: list[tuple[float, float]] = []
    if start is not None and (not changes or start < changes[0][0]):
        equities.append((start, 0.0))
    for ts, _, symbol, pnl, mark in changes:
        if pnl is not None:
            closed.append(pnl)
            marks.pop(symbol, None)
        elif mark is not None:
            marks[symbol] = mark
        else:
            marks.pop(symbol, None)  # flat: no position to mark
        equity = math.fsum(closed) + math.fsum(marks.values())
        if equities and equities[-1][0] == ts:
            equities[-1] = (ts, equity)
        else:
            equities.append((ts, equity))
    if end is not None:
        final = math.fsum(closed) + math.fsum(
            p.realized_usdt + (p.unrealized_usdt or 0.0) for p in history.open_positions
        )
        if equities and equities[-1][0] >= end:
            equities[-1] = (equities[-1][0], final)
        else:
            equities.append((end, final))
    curve = []
    high_water = 0.0
    for ts, equity in equities:
        high_water = max(high_water, equity)
        curve.append(EquityPoint(ts, equity, high_water, high_water - equity))
    return curve


def daily_pnl(history: History) -> list[DailyPnl]:
    """Each UTC day the window touches, with how much the equity changed in it (0 on a
    day without change); they add up to the curve's last equity."""
    return _daily(history, equity_curve(history))


def _daily(history: History, curve: list[EquityPoint]) -> list[DailyPnl]:
    start, end = history.window.start, history.window.end
    if start is None or end is None:
        return []
    first = math.floor(start / DAY_S)
    last = max(first, math.ceil(end / DAY_S) - 1)
    changes = [0.0] * (last - first + 1)
    previous = 0.0
    for point in curve:
        day = min(max(math.floor(point.ts / DAY_S), first), last)
        changes[day - first] += point.equity - previous
        previous = point.equity
    return [
        DailyPnl(_day_name(first + offset), (first + offset) * DAY_S, change)
        for offset, change in enumerate(changes)
    ]


def _day_name(day: int) -> str:
    return datetime.fromtimestamp(day * DAY_S, UTC).strftime("%Y-%m-%d")


def sharpe(daily: list[float]) -> float | None:
    """Mean daily P&L over its sample standard deviation, annualised; ``None`` for fewer
    than 2 days or no deviation."""
    if len(daily) < 2:
        return None
    mean = math.fsum(daily) / len(daily)
    deviation = math.sqrt(math.fsum((x - mean) ** 2 for x in daily) / (len(daily) - 1))
    if _negligible(deviation, daily):
        return None
    return mean / deviation * math.sqrt(TRADING_DAYS_PER_YEAR)


def sortino(daily: list[float]) -> float | None:
    """Mean daily P&L over its downside deviation (the root mean square of the losing
    days' P&L, the other days counting as 0), annualised; ``None`` for fewer than 2 days
    or no losing day."""
    if len(daily) < 2:
        return None
    mean = math.fsum(daily) / len(daily)
    downside = math.sqrt(math.fsum(min(0.0, x) ** 2 for x in daily) / len(daily))
    if _negligible(downside, daily):
        return None
    return mean / downside * math.sqrt(TRADING_DAYS_PER_YEAR)


def _negligible(deviation: float, values: list[float]) -> bool:
    """A deviation that is only the rounding of equal values: dividing by it would give a
    ratio of rounding noise."""
    return deviation <= 1e-12 * max(abs(x) for x in values)


def exposure_s(history: History) -> float:
    """How long any position was open within the window: the union of the closed
    cycles' entry-to-exit spans and the open positions' spans to the window's end."""
    start, end = history.window.start, history.window.end
    if start is None or end is None:
        return 0.0
    spans = [(max(c.entry_ts, start), min(c.exit_ts, end)) for c in history.cycles]
    spans += [(max(p.opened_at, start), end) for p in history.open_positions]
    total, reached = 0.0, start
    for begin, finish in sorted(spans):
        begin = max(begin, reached)
        if finish > begin:
            total += finish - begin
            reached = finish
    # Adding the spans' lengths may round past the window's length they partition.
    return min(total, end - start)


def holding_times(history: History) -> list[float]:
    """Each closed cycle's time from entry to exit (seconds), in the cycles' order."""
    return [c.exit_ts - c.entry_ts for c in history.cycles]


def exit_reasons(history: History) -> dict[str, int]:
    """How many closed cycles ended for each reason, the most frequent first (ties by
    name)."""
    counts = Counter(c.exit_reason for c in history.cycles)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _volume(fills: list[FillRecord]) -> float:
    """What was traded: every fill's notional but a venue's own reductions (role
    ``venue``), which are no trade of ours; as a cycle's ``volume_usdt`` counts it."""
    return math.fsum(f.qty * f.price for f in fills if f.role != "venue")


def symbol_rows(history: History) -> list[SymbolRow]:
    """A row per symbol with a cycle, fill, settlement or open position in the window,
    by symbol."""
    symbols = {c.symbol for c in history.cycles} | {f.symbol for f in history.fills}
    symbols |= {f.symbol for f in history.funding} | {p.symbol for p in history.open_positions}
    rows = []
    for symbol in sorted(symbols):
        cycles = [c for c in history.cycles if c.symbol == symbol]
        fills = [f for f in history.fills if f.symbol == symbol]
        wins = sum(1 for c in cycles if c.pnl_usdt > 0)
        holds = [c.exit_ts - c.entry_ts for c in cycles]
        rows.append(
            SymbolRow(
                symbol=symbol,
                cycles=len(cycles),
                wins=wins,
                win_rate=wins / len(cycles) if cycles else None,
                pnl_usdt=math.fsum(
                    [c.pnl_usdt for c in cycles]
                    + [p.realized_usdt for p in history.open_positions if p.symbol == symbol]
                ),
                fees_usdt=math.fsum(f.fee_usdt for f in fills),
                funding_usdt=math.fsum(
                    f.amount_usdt for f in history.funding if f.symbol == symbol
                ),
                volume_usdt=_volume(fills),
                avg_holding_s=math.fsum(holds) / len(holds) if holds else None,
            )
        )
    return rows
