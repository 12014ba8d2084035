"""The numbers a trader asks of a history: P&L, fees, drawdown, and the like."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from datetime import UTC, datetime

import attrs
import msgspec

from actors.analytics.history import History

DAY_S = 86400.0


class Summary(msgspec.Struct, frozen=True):
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
    avg_holding_s: float | None
    exposure_s: float
    exposure_pct: float | None
    max_drawdown_usdt: float
    sharpe: float | None
    sortino: float | None
    days: float


@attrs.frozen
class EquityPoint:
    ts: float
    equity: float
    high_water: float
    drawdown: float


@attrs.frozen
class SymbolRow:
    symbol: str
    cycles: int
    pnl_usdt: float
    fees_usdt: float
    funding_usdt: float
    volume_usdt: float
    win_rate: float | None
    avg_holding_s: float | None


def equity_curve(history: History) -> list[EquityPoint]:
    events = [(t.exit_ts, t.pnl_usdt, (t.symbol, 0.0)) for t in history.cycles]
    for symbol, points in history.series.items():
        events += [(p.ts, 0.0, (symbol, p.unrealized_usdt or 0.0)) for p in points]
    realized = 0.0
    marks: dict[str, float] = {}
    high = -math.inf
    curve = []
    for ts, pnl, mark in sorted(events, key=lambda e: e[0]):
        realized += pnl
        if mark is not None:
            marks[mark[0]] = mark[1]
        equity = realized + sum(marks.values())
        high = max(high, equity)
        curve.append(EquityPoint(ts, equity, high, high - equity))
    return curve


def daily_pnl(history: History) -> dict[str, float]:
    days: dict[str, float] = {}
    for t in history.cycles:
        day = datetime.fromtimestamp(t.exit_ts, UTC).date().isoformat()
        days[day] = days.get(day, 0.0) + t.pnl_usdt
    return days


def holding_times(history: History) -> list[float]:
    return [t.exit_ts - t.entry_ts for t in history.cycles]


def exit_reasons(history: History) -> dict[str, int]:
    return dict(sorted(Counter(t.exit_reason for t in history.cycles).items()))


def symbol_rows(history: History) -> list[SymbolRow]:
    rows = []
    for symbol in sorted({t.symbol for t in history.cycles}):
        mine = [t for t in history.cycles if t.symbol == symbol]
        rows.append(
            SymbolRow(
                symbol,
                len(mine),
                sum(t.pnl_usdt for t in mine),
                sum(t.fees_usdt for t in mine),
                sum(t.funding_usdt for t in mine),
                sum(t.volume_usdt for t in mine),
                sum(t.pnl_usdt > 0 for t in mine) / len(mine),
                statistics.fmean(t.exit_ts - t.entry_ts for t in mine),
            )
        )
    return rows


def summarize(history: History) -> Summary:
    cycles = history.cycles
    fees: dict[str, float] = {}
    for f in history.fills:
        fees[f.venue] = fees.get(f.venue, 0.0) + f.fee_usdt
    realized = sum(t.pnl_usdt for t in cycles)
    unrealized = sum(p.unrealized_usdt or 0.0 for p in history.open_positions)
    holds = holding_times(history)
    wins = sum(t.pnl_usdt > 0 for t in cycles)
    times = [t.entry_ts for t in cycles] + [t.exit_ts for t in cycles]
    start = history.window.start if history.window.start is not None else min(times, default=None)
    end = history.window.end if history.window.end is not None else max(times, default=None)
    span = (end - start) if start is not None and end is not None else 0.0
    exposure = sum(holds)
    daily = list(daily_pnl(history).values())
    days = span / DAY_S
    sharpe = sortino = None
    if days >= 2 and len(daily) >= 2:
        mean = statistics.fmean(daily)
        spread = statistics.stdev(daily)
        sharpe = mean / spread * math.sqrt(365) if spread else None
        downside = math.sqrt(statistics.fmean(min(d, 0.0) ** 2 for d in daily))
        sortino = mean / downside * math.sqrt(365) if downside else None
    curve = equity_curve(history)
    return Summary(
        start=start,
        end=end,
        realized_pnl_usdt=realized,
        unrealized_pnl_usdt=unrealized,
        total_pnl_usdt=realized + unrealized,
        fees_by_venue_usdt=dict(sorted(fees.items())),
        funding_usdt=sum(t.funding_usdt for t in cycles),
        volume_usdt=sum(t.volume_usdt for t in cycles),
        cycles=len(cycles),
        wins=wins,
        win_rate=wins / len(cycles) if cycles else None,
        avg_holding_s=statistics.fmean(holds) if holds else None,
        exposure_s=exposure,
        exposure_pct=exposure / span * 100.0 if span > 0 else None,
        max_drawdown_usdt=max((p.drawdown for p in curve), default=0.0),
        sharpe=sharpe,
        sortino=sortino,
        days=days,
    )
