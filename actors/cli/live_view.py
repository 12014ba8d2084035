"""What ``basis run`` shows while it runs: on a terminal, a live view refreshed every
``VIEW_REFRESH_S`` whose last frame is a summary of what the run left; otherwise a status
line in the log now and then."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs
import trio
from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from actors.cli.status_tables import (
    add_number_column,
    add_row,
    coins,
    signed,
    status_view,
    titled_table,
)
from actors.runtime.ops.logs import RecentLines, hand_console_to, stop_handing_to
from actors.runtime.ops.status import SystemStatus, build_status, one_line

if TYPE_CHECKING:
    from actors.runtime.system import TradingSystem

log = logging.getLogger("basis")

VIEW_REFRESH_S = 1.0


@attrs.define
class MessageRates:
    """Each feed's messages per second between one reading and the one before."""

    _counts: dict[str, int] = attrs.field(factory=dict)
    _at: float | None = None

    def read(self, status: SystemStatus, now: float) -> dict[str, float]:
        """The rates since the last reading, taken at trio time ``now``; none the first
        time, nor for a feed first seen now."""
        counts = {feed.name: feed.messages for feed in status.feeds}
        rates = {}
        if self._at is not None and now > self._at:
            elapsed = now - self._at
            rates = {
                name: (count - self._counts[name]) / elapsed
                for name, count in counts.items()
                if name in self._counts
            }
        self._counts, self._at = counts, now
        return rates


def live_frame(status: SystemStatus, rates: dict[str, float], log_lines: Iterable[str]) -> Group:
    """One frame of the live view: the status tables and the latest log lines."""
    return Group(status_view(status, rates), Text(), Text("log:"), Text("\n".join(log_lines)))


def stop_summary(status: SystemStatus) -> Group:
    """What a run left: each task's cycles, realised and unrealised P&L, open position,
    and the totals."""
    table = titled_table(
        f"Basis ({status.mode}) stopped after {status.uptime_s:,.0f} s",
        caption="unrealised: closing at the last quotes; spot: held, short: futures",
        caption_justify="left",
        show_footer=True,
    )
    tasks, totals = status.tasks, status.totals
    table.add_column("task", "total", no_wrap=True)
    table.add_column("symbol", no_wrap=True)
    table.add_column("state", no_wrap=True)
    add_number_column(table, "cycles", str(sum(t.cycles for t in tasks)))
    add_number_column(table, "realised\nUSDT", signed(totals.realized_pnl_usdt))
    add_number_column(table, "unrealised\nUSDT", signed(totals.unrealized_pnl_usdt))
    add_number_column(table, "total\nUSDT", signed(totals.total_pnl_usdt))
    add_number_column(table, "spot")
    add_number_column(table, "short", f"{totals.open_positions} open")
    for t in tasks:
        add_row(
            table,
            t.task_id,
            t.symbol,
            t.state,
            str(t.cycles),
            signed(t.realized_pnl_usdt),
            signed(t.unrealized_pnl_usdt),
            signed(t.total_pnl_usdt),
            coins(t.position_qty, t.symbol),
            coins(t.futures_qty, t.symbol),
        )
    open_tasks = [t for t in tasks if t.holding]  # dust an exit left is no position
    if open_tasks:
        names = ", ".join(f"{t.task_id} ({t.symbol})" for t in open_tasks)
        closing = Text(f"open positions left: {names}", style="yellow")
    else:
        closing = Text("no open positions", style="green")
    return Group(table, closing)


async def live_view(system: TradingSystem, console: Console | None = None) -> None:
    """Show the live view on ``console`` (the terminal by default) until cancelled, the
    log's latest lines in it instead of on the console; when cancelled — the run
    stopped — its last frame becomes the :func:`stop_summary`."""
    recent = RecentLines()
    hand_console_to(recent)
    rates = MessageRates()
    try:
        with Live(console=console, auto_refresh=False) as live:
            try:
                while True:
                    status = build_status(system)
                    now = trio.current_time()
                    frame = live_frame(status, rates.read(status, now), recent.lines)
                    live.update(frame, refresh=True)
                    await trio.sleep(VIEW_REFRESH_S)
            except trio.Cancelled:
                live.update(stop_summary(build_status(system)))
                raise
    finally:
        stop_handing_to(recent)


async def status_lines(system: TradingSystem, every_s: float) -> None:
    """Log :func:`one_line` of the status every ``every_s``."""
    while True:
        await trio.sleep(every_s)
        log.info("%s", one_line(build_status(system)))
