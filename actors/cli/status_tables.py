"""A ``/status`` object as terminal tables: what ``basis status`` prints and what the live
view of ``basis run`` refreshes."""

from __future__ import annotations

import time
from collections.abc import Mapping

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from actors.runtime.ops.status import SystemStatus, percent


def titled_table(title: str, **options) -> Table:
    """A table with the views' look: its title above on the left, a rule under the header,
    one space between columns (so that the widest, the strategies', fits 80 columns)."""
    return Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=0,
        **options,
    )


def add_number_column(table: Table, header: str, footer: str = "") -> None:
    """A right-aligned column that is never wrapped: text columns give way first."""
    table.add_column(header, footer, justify="right", no_wrap=True)


def add_row(table: Table, *cells: str | Text) -> None:
    """A row whose text is shown as it is: a venue's message with brackets in it is not
    read as console markup."""
    table.add_row(*(Text(cell) if isinstance(cell, str) else cell for cell in cells))


def headline(status: SystemStatus) -> Text:
    """``Basis (paper) up 120 s   health: ok``; the health reason when not healthy, in
    yellow when degraded and red when failing."""
    if status.healthy:
        health = Text("ok", style="green")
    else:
        color = "yellow" if status.health == "degraded" else "red"
        health = Text(status.health_reason, color)
    return Text.assemble(f"Basis ({status.mode}) up {status.uptime_s:,.0f} s   health: ", health)


def tasks_table(status: SystemStatus) -> Table:
    """A row per strategy: state, entry cost now, spot position in its coin, cycles,
    restarts. Its P&L is in :func:`pnl_table`."""
    table = titled_table("strategies")
    table.add_column("task", no_wrap=True)
    table.add_column("symbol", no_wrap=True)
    table.add_column("state", no_wrap=True)
    for header in ("cost %", "position", "cycles", "restarts"):
        add_number_column(table, header)
    for t in status.tasks:
        cost = "-" if t.entry_cost_pct is None else f"{t.entry_cost_pct:.3f}"
        add_row(
            table,
            t.task_id,
            t.symbol,
            t.state,
            cost,
            coins(t.position_qty, t.symbol),
            str(t.cycles),
            str(t.restarts),
        )
    return table


def pnl_table(status: SystemStatus) -> Table:
    """A row per strategy: realised P&L, unrealised (what closing the open position now
    would add; ``-`` when flat), their total (``-`` while an open position cannot be
    valued: a leg without a quote), fees and volume, in USDT; and a total line."""
    table = titled_table("P&L", show_footer=True)
    table.add_column("symbol", "total", no_wrap=True)
    totals = status.totals
    add_number_column(table, "realised USDT", signed(totals.realized_pnl_usdt))
    add_number_column(table, "unrealised USDT", signed(totals.unrealized_pnl_usdt))
    add_number_column(table, "total USDT", signed(totals.total_pnl_usdt))
    add_number_column(table, "fees USDT", f"{totals.fees_usdt:.4f}")
    add_number_column(table, "volume USDT", f"{totals.volume_usdt:,.2f}")
    for t in status.tasks:
        add_row(
            table,
            t.symbol,
            signed(t.realized_pnl_usdt),
            signed(t.unrealized_pnl_usdt),
            signed(t.total_pnl_usdt),
            f"{t.fees_usdt:.4f}",
            f"{t.total_volume_usdt:,.2f}",
        )
    return table


def signed(amount: float | None) -> str:
    """``+1.2500``; ``-`` for an amount not known (an unrealised P&L with nothing open,
    a total whose unrealised part is not known)."""
    return "-" if amount is None else f"{amount:+.4f}"


def coins(qty: float, symbol: str) -> str:
    """``0.002 BTC``: a quantity of ``symbol``'s base coin."""
    return f"{qty:.6g} {symbol.partition('/')[0]}"


def funding_table(status: SystemStatus) -> Table:
    """A row per strategy's perpetual: the funding rate now, when it is settled next
    (UTC), and the funding its short has received (paid, when negative) so far."""
    table = titled_table("funding")
    table.add_column("symbol", no_wrap=True)
    for header in ("rate %", "next (UTC)", "received USDT"):
        add_number_column(table, header)
    for t in status.tasks:
        rate = "-" if t.funding_rate is None else percent(t.funding_rate)
        settles = (
            "-"
            if t.funding_next_ts is None
            else time.strftime("%H:%M:%S", time.gmtime(t.funding_next_ts))
        )
        add_row(table, t.symbol, rate, settles, signed(t.funding_usdt))
    return table


def entry_terms_table(status: SystemStatus) -> Table | None:
    """A row per strategy whose entries count funding: what an entry would weigh now, in
    % of its notional (the expected convergence and funding over its planned hold
    against the cost, fees and slippage), the net against the margin it must beat, and
    whether it would pass. ``None`` when no strategy's entries count funding."""
    weighed = [t for t in status.tasks if t.entry_terms is not None]
    if not weighed:
        return None
    table = titled_table("entries weighed (% of notional)")
    table.add_column("symbol", no_wrap=True)
    table.add_column("task type", no_wrap=True)
    for header in ("cost", "fees", "slip", "conv", "funding", "hold h", "net", "margin"):
        add_number_column(table, header)
    table.add_column("enter", no_wrap=True)
    for t in weighed:
        terms = t.entry_terms
        assert terms is not None
        add_row(
            table,
            t.symbol,
            t.type,
            f"{terms.cost:.3f}",
            f"{terms.fees:.3f}",
            f"{terms.slippage:.3f}",
            f"{terms.convergence:+.3f}",
            f"{terms.funding:+.3f}",
            f"{terms.hold_h:g}",
            f"{terms.net:+.3f}",
            f"{terms.margin:.3f}",
            "yes" if terms.passes else "no",
        )
    return table


def feeds_table(status: SystemStatus, rates: Mapping[str, float] | None = None) -> Table:
    """A row per feed: state, messages, their rate, connections, why it is not fresh.
    ``rates``: each feed's messages per second, where the caller has measured them."""
    table = titled_table("feeds")
    table.add_column("feed", no_wrap=True)
    table.add_column("state")
    for header in ("msgs", "msg/s", "connects"):
        add_number_column(table, header)
    table.add_column("detail")
    for f in status.feeds:
        rate = "-" if rates is None or f.name not in rates else f"{rates[f.name]:.0f}"
        state = Text(f.state, style="green" if f.state == "fresh" else "yellow")
        add_row(table, f.name, state, str(f.messages), rate, str(f.connects), f.detail)
    return table


def routers_table(status: SystemStatus) -> Table:
    """A row per router: its orders, and whether its private stream is up or it polls."""
    table = titled_table("routers")
    table.add_column("router", no_wrap=True)
    for header in ("placed", "filled", "rejected", "open"):
        add_number_column(table, header)
    table.add_column("stream")
    for r in status.routers:
        stream = "up" if r.private_stream_up else "polling"
        add_row(
            table,
            r.name,
            str(r.placed),
            str(r.filled),
            str(r.rejected),
            str(r.open_orders),
            stream,
        )
    return table


def store_line(status: SystemStatus) -> Text:
    """The store's commits, write latency, queue and task counts."""
    p = status.persistence
    latency = "-" if p.write_latency_p99_ms is None else f"{p.write_latency_p99_ms:.2f} ms"
    return Text(
        f"store: {p.batches} commits, write p99 {latency}, queue {p.queue_depth}; tasks "
        f"{p.active} active, {p.completed} completed, {p.quarantined} quarantined"
    )


def risk_line(status: SystemStatus) -> Text:
    """``risk: active`` in green; another mode in yellow (red when halted), with why,
    since when and who set it."""
    risk = status.risk
    if risk is None:
        return Text("risk: -")
    if risk.mode == "active":
        return Text.assemble("risk: ", Text("active", "green"), f"   P&L {risk.pnl_usdt:+.2f} USDT")
    color = "red" if risk.mode == "halted" else "yellow"
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(risk.since))
    return Text.assemble(
        "risk: ", Text(risk.mode, color), f" since {since} ({risk.set_by}): {risk.reason}"
    )


def status_view(status: SystemStatus, rates: Mapping[str, float] | None = None) -> Group:
    """The whole status: headline, the risk mode, strategies, their P&L, funding, the
    entries weighed on funding (where any is), feeds, routers and the store."""
    blank = Text()
    terms = entry_terms_table(status)
    weighed = () if terms is None else (terms, blank)
    return Group(
        headline(status),
        risk_line(status),
        blank,
        tasks_table(status),
        blank,
        pnl_table(status),
        blank,
        funding_table(status),
        blank,
        *weighed,
        feeds_table(status, rates),
        blank,
        routers_table(status),
        blank,
        store_line(status),
    )
