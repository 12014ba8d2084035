"""What ``basis backtest`` prints: a JSON object, a readable table, a trades CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import msgspec

from actors.backtest.engine import BacktestResult, Resize
from protocols.messages import TradeRecord


class TradeOut(msgspec.Struct, frozen=True):
    symbol: str
    entry_ts_ms: int
    exit_ts_ms: int
    qty: float
    entry_spot_price: float
    entry_futures_price: float
    exit_spot_price: float
    exit_futures_price: float
    pnl_usdt: float
    pnl_pct: float
    exit_reason: str
    funding_usdt: float
    """Funding the cycle's short received (paid, when negative), in its P&L."""


class ResizeOut(msgspec.Struct, frozen=True):
    """An entry smaller than the configured size: from ``wanted_qty`` to ``qty``."""

    symbol: str
    ts_ms: int
    wanted_qty: float
    qty: float
    reason: str


class ModeChangeOut(msgspec.Struct, frozen=True):
    ts_ms: int
    mode: str
    reason: str


class TaskTypeOut(msgspec.Struct, frozen=True):
    """One task type's share of the run: the symbols that ran it, added up."""

    symbols: int
    cycles: int
    wins: int
    pnl_usdt: float
    funding_usdt: float
    """Funding received (paid, when negative), in ``pnl_usdt`` for closed cycles."""
    volume_usdt: float


def by_task_type(result: BacktestResult) -> dict[str, TaskTypeOut]:
    """Each task type the run's symbols ran, with their totals, by name."""
    kinds: dict[str, list] = {}
    for summary in result.symbols:
        kinds.setdefault(summary.task_type, []).append(summary)
    return {
        kind: TaskTypeOut(
            symbols=len(summaries),
            cycles=sum(s.cycles for s in summaries),
            wins=sum(s.wins for s in summaries),
            pnl_usdt=sum(s.pnl_usdt for s in summaries),
            funding_usdt=sum(s.funding_usdt for s in summaries),
            volume_usdt=sum(s.volume_usdt for s in summaries),
        )
        for kind, summaries in sorted(kinds.items())
    }


class ReportOut(msgspec.Struct, frozen=True):
    events: int
    cycles: int
    total_pnl_usdt: float
    open_positions: list[str]
    trades: list[TradeOut]
    skips: dict[str, int]
    """Opportunities skipped, by kind of reason; a run of skips for one reason counts once."""
    resizes: list[ResizeOut]
    mode_changes: list[ModeChangeOut]
    """The risk modes the portfolio's stops set, in order."""
    task_types: dict[str, TaskTypeOut] = msgspec.field(default_factory=dict)
    """The totals of each task type the symbols ran (:func:`by_task_type`)."""


def resize_out(resize: Resize) -> ResizeOut:
    return ResizeOut(
        resize.symbol, round(resize.ts * 1000.0), resize.wanted_qty, resize.qty, resize.reason
    )


def trade_out(trade: TradeRecord) -> TradeOut:
    return TradeOut(
        symbol=trade.symbol,
        entry_ts_ms=round(trade.entry_ts * 1000.0),
        exit_ts_ms=round(trade.exit_ts * 1000.0),
        qty=trade.qty,
        entry_spot_price=trade.entry_spot_price,
        entry_futures_price=trade.entry_futures_price,
        exit_spot_price=trade.exit_spot_price,
        exit_futures_price=trade.exit_futures_price,
        pnl_usdt=trade.pnl_usdt,
        pnl_pct=trade.pnl_pct,
        exit_reason=trade.exit_reason,
        funding_usdt=trade.funding_usdt,
    )


def to_json(result: BacktestResult) -> bytes:
    report = ReportOut(
        events=result.events,
        cycles=result.cycles,
        total_pnl_usdt=result.total_pnl_usdt,
        open_positions=result.open_positions,
        trades=[trade_out(trade) for trade in result.trades],
        skips=dict(sorted(result.skips.items())),
        resizes=[resize_out(resize) for resize in result.resizes],
        mode_changes=[
            ModeChangeOut(round(change.now * 1000.0), change.mode.value, change.reason)
            for change in result.mode_changes
        ],
        task_types=by_task_type(result),
    )
    return msgspec.json.encode(report)


def write_trades_csv(result: BacktestResult, path: str | Path) -> None:
    fields = list(TradeOut.__struct_fields__)
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(fields)
        for trade in result.trades:
            writer.writerow(msgspec.structs.astuple(trade_out(trade)))


def render_table(result: BacktestResult) -> str:
    """Per-symbol totals, then the overall line and how long the run took."""
    header = ("symbol", "cycles", "wins", "pnl_usdt", "funding_usdt", "volume_usdt", "open")
    rows = [
        (
            s.symbol,
            str(s.cycles),
            str(s.wins),
            f"{s.pnl_usdt:.4f}",
            f"{s.funding_usdt:.4f}",
            f"{s.volume_usdt:.2f}",
            "yes" if s.open_position else "no",
        )
        for s in result.symbols
    ]
    rows.append(
        (
            "total",
            str(result.cycles),
            str(sum(s.wins for s in result.symbols)),
            f"{result.total_pnl_usdt:.4f}",
            f"{sum(s.funding_usdt for s in result.symbols):.4f}",
            f"{sum(s.volume_usdt for s in result.symbols):.2f}",
            str(len(result.open_positions)),
        )
    )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    reasons: dict[str, int] = {}
    for trade in result.trades:
        reasons[trade.exit_reason] = reasons.get(trade.exit_reason, 0) + 1
    by_reason = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items()))
    rate = result.events / result.elapsed_s if result.elapsed_s > 0 else 0.0
    lines = [line(header), "  ".join("-" * width for width in widths)]
    lines += [line(row) for row in rows[:-1]]
    lines += ["  ".join("-" * width for width in widths), line(rows[-1]), ""]
    lines.append(f"exits: {by_reason or 'none'}")
    for kind, totals in by_task_type(result).items():
        share = totals.funding_usdt / totals.pnl_usdt * 100.0 if totals.pnl_usdt else 0.0
        lines.append(
            f"{kind}: {totals.symbols} symbol(s), {totals.cycles} cycles, {totals.wins} wins, "
            f"pnl {totals.pnl_usdt:.4f} USDT, funding {totals.funding_usdt:.4f} USDT "
            f"({share:.1f}% of pnl), volume {totals.volume_usdt:.2f} USDT"
        )
    skips = ", ".join(f"{count} {reason}" for reason, count in sorted(result.skips.items()))
    lines.append(f"skipped: {skips or 'none'}")
    lines.append(f"resized: {len(result.resizes) or 'none'}")
    lines += [
        f"  {r.symbol} at {r.ts:.0f}: {r.wanted_qty:g} -> {r.qty:g} ({r.reason})"
        for r in result.resizes
    ]
    lines += [f"risk mode {c.mode.value} at {c.now:.0f}: {c.reason}" for c in result.mode_changes]
    lines.append(f"{result.events} events in {result.elapsed_s:.2f} s ({rate:,.0f} events/s)")
    return "\n".join(lines)
