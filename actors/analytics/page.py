"""The report: one HTML file a trader opens in any browser, offline, on a laptop or a
phone (``basis report --out``, ``basis backtest --report``).

Everything is in the file: the style inline, the charts inline SVG (actors/analytics/
charts.py), no script, no font or image from elsewhere. The same history gives the same
bytes: nothing in the page says when it was made, only the window it covers. Every text
taken from the store is escaped; a section with nothing in the window says so in words.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from actors.analytics import charts
from actors.analytics.history import History, Window, read_history
from actors.analytics.summary import (
    Summary,
    daily_pnl,
    equity_curve,
    exit_reasons,
    holding_times,
    summarize,
    symbol_rows,
)
from protocols.messages import TradeRecord

WATERFALLS = 20
"""How many of the latest cycles get a waterfall of their own."""

TABLE_ROWS = 500
"""The most rows a table shows (the newest); ``basis report --csv`` writes them all."""

NO_DATA = "No data in this window."


def write_report(store_path: Path, out: Path, window: Window) -> None:
    """The report of what the store at ``store_path`` holds in ``window``, written to
    ``out`` whole or not at all (a page half written is never left there)."""
    write_page(read_history(store_path, window), out)


def write_page(history: History, out: Path) -> None:
    """The report of ``history`` written to ``out`` whole or not at all."""
    page = report_html(history).encode()
    out = Path(out)
    scratch = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(descriptor, "wb") as file:
            file.write(page)
            file.flush()
            os.fsync(file.fileno())
        os.replace(scratch, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            scratch.unlink()
        raise


def report_html(history: History) -> str:
    """The whole page for ``history``."""
    summary = summarize(history)
    sections = (
        ("summary", "Summary", _summary(history, summary)),
        ("equity", "Equity", _equity(history)),
        ("symbols", "Entry cost and open positions", _symbols(history)),
        ("cycles", "Cycles: where the P&L came from", _cycles(history)),
        ("holding", "Holding times", _holding(history)),
        ("exits", "Exit reasons", _exits(history)),
        ("per-symbol", "Per symbol", _per_symbol(history)),
        ("incidents", "Incidents", _incidents(history)),
    )
    nav = "".join(f'<a href="#{key}">{escape(title)}</a>' for key, title, _ in sections)
    body = "".join(
        f'<section id="{key}"><h2>{escape(title)}</h2>{content}</section>'
        for key, title, content in sections
    )
    title = f"Basis report: {_window_text(history.window)}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'  # no request for a favicon
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>\n"
        f"<body><header><h1>Basis report</h1><p>{escape(_window_text(history.window))}</p>"
        f"<nav>{nav}</nav></header>\n<main>{body}</main></body></html>\n"
    )


_STYLE = """
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1c2329;background:#f5f6f8;line-height:1.4}
header{background:#1c2329;color:#fff;padding:1rem}
header h1{margin:0;font-size:1.4rem}header p{margin:.3rem 0}
nav{display:flex;flex-wrap:wrap;gap:.4rem 1rem;font-size:.9rem}
nav a{color:#9ecbff}
main{max-width:1100px;margin:0 auto;padding:.5rem}
section{background:#fff;border-radius:6px;margin:.8rem 0;padding:.8rem 1rem}
h2{font-size:1.15rem;margin:.2rem 0 .6rem}h3{font-size:1rem;margin:1rem 0 .4rem}
figure{margin:.5rem 0}figure svg{display:block;width:100%;height:auto;max-width:760px}
figure.wide{overflow-x:auto}figure.wide svg{min-width:440px}
figcaption{font-size:.85rem;color:#55606a}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:.5rem}
dl.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:.5rem;
margin:0}
dl.cards div{background:#f5f6f8;border-radius:4px;padding:.5rem}
dt{font-size:.8rem;color:#55606a}dd{margin:0;font-size:1.05rem;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:.85rem;font-variant-numeric:tabular-nums}
th,td{padding:.25rem .5rem;border-bottom:1px solid #e3e6ea;text-align:right;white-space:nowrap}
th{background:#f5f6f8;position:sticky;top:0}
td.text,th.text{text-align:left}
.gain{color:#2e7d32}.loss{color:#c62828}
.empty,.note{color:#55606a;font-style:italic}
"""


# ------------------------------------------------------------------------ formatting


def _time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _window_text(window: Window) -> str:
    start = _time(window.start) if window.start is not None else "the first record"
    end = _time(window.end) if window.end is not None else "the last record"
    what = window.symbol if window.symbol is not None else "all symbols"
    return f"{what}, from {start} to {end}"


def _usdt(value: float, places: int = 2) -> str:
    return f"{value:+,.{places}f} USDT"


def _duration(seconds: float) -> str:
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{seconds:.1f} s"


def _pct(value: float) -> str:
    return f"{value:.2f} %"


def _signed_class(value: float) -> str:
    return "gain" if value > 0 else "loss" if value < 0 else ""


def _base(symbol: str) -> str:
    return symbol.split("/")[0]


def _empty(text: str = NO_DATA) -> str:
    return f'<p class="empty">{escape(text)}</p>'


def _figure(name: str, svg: str, caption: str, *, wide: bool = True) -> str:
    """A chart and what it shows. A ``wide`` one is not drawn narrower than its text
    can be read at: on a phone it scrolls sideways instead."""
    kind = ' class="wide"' if wide else ""
    return (
        f'<figure{kind} data-chart="{escape(name)}">{svg}'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], text_columns: int = 0) -> str:
    """Cells are given escaped; the first ``text_columns`` are aligned as text."""

    def cells(tag: str, values: Sequence[str]) -> str:
        return "".join(
            f'<{tag} class="text">{v}</{tag}>' if i < text_columns else f"<{tag}>{v}</{tag}>"
            for i, v in enumerate(values)
        )

    head = cells("th", [escape(h) for h in headers])
    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="scroll">{table}</div>'


def _money_cell(value: float, places: int = 4) -> str:
    kind = _signed_class(value)
    return f'<span class="{kind}">{value:+,.{places}f}</span>' if kind else f"{value:,.{places}f}"


def _limited(rows: list, what: str) -> tuple[list, str]:
    """The newest :data:`TABLE_ROWS` of ``rows`` (oldest first), and a note when cut."""
    if len(rows) <= TABLE_ROWS:
        return rows, ""
    note = (
        f"The latest {TABLE_ROWS} of {len(rows)} {what}; `basis report --csv DIR` writes them all."
    )
    return rows[-TABLE_ROWS:], f'<p class="note">{escape(note)}</p>'


# ------------------------------------------------------------------------ sections


def _span(history: History) -> tuple[float, float] | None:
    """The stretch of time every chart over time shows: the window, where an end of it
    is open, the history's first or last record."""
    times = [
        *(t for c in history.cycles for t in (c.entry_ts, c.exit_ts)),
        *(p.ts for points in history.series.values() for p in points),
        *(i.ts for i in history.incidents),
    ]
    start = history.window.start if history.window.start is not None else min(times, default=None)
    end = history.window.end if history.window.end is not None else max(times, default=None)
    return (start, end) if start is not None and end is not None else None


def _summary(history: History, summary: Summary) -> str:
    def card(label: str, value: str, kind: str = "") -> str:
        cls = f' class="{kind}"' if kind else ""
        return f"<div><dt>{escape(label)}</dt><dd{cls}>{escape(value)}</dd></div>"

    def ratio(value: float | None, why_none: str) -> str:
        if value is None:
            return f"n/a ({why_none})"
        return f"{value:.2f} (annualised ratio)"

    too_few = "needs 2 days of daily P&L that varies"
    losing = any(d.pnl_usdt < 0 for d in daily_pnl(history))

    items = [
        card(
            "Realised P&L",
            _usdt(summary.realized_pnl_usdt),
            _signed_class(summary.realized_pnl_usdt),
        ),
        card(
            "Unrealised P&L (open positions at market)",
            _usdt(summary.unrealized_pnl_usdt),
            _signed_class(summary.unrealized_pnl_usdt),
        ),
        card("Total P&L", _usdt(summary.total_pnl_usdt), _signed_class(summary.total_pnl_usdt)),
    ]
    items += [
        card(f"Fees at {venue}", f"{fee:,.2f} USDT")
        for venue, fee in sorted(summary.fees_by_venue_usdt.items())
    ] or [card("Fees", "0.00 USDT")]
    win_rate = (
        f"{summary.win_rate * 100.0:.1f} % ({summary.wins} of {summary.cycles} cycles)"
        if summary.win_rate is not None
        else "n/a (no cycles)"
    )
    holding = _duration(summary.avg_holding_s) if summary.avg_holding_s is not None else "n/a"
    exposure = _duration(summary.exposure_s)
    if summary.exposure_pct is not None:
        exposure += f" ({summary.exposure_pct:.1f} % of the window)"
    items += [
        card("Funding", _usdt(summary.funding_usdt), _signed_class(summary.funding_usdt)),
        card("Volume (both legs)", f"{summary.volume_usdt:,.2f} USDT"),
        card("Cycles", f"{summary.cycles} cycles"),
        card("Win rate", win_rate),
        card("Average holding time", holding),
        card("Exposure time", exposure),
        card("Maximum drawdown", f"{abs(summary.max_drawdown_usdt):,.2f} USDT"),
        card("Sharpe of daily P&L", ratio(summary.sharpe, too_few)),
        card(
            "Sortino of daily P&L",
            ratio(summary.sortino, too_few if summary.days < 2 or losing else "no losing day"),
        ),
        card("UTC days in the window", f"{summary.days} day{'' if summary.days == 1 else 's'}"),
    ]
    html = f'<dl class="cards">{"".join(items)}</dl>'
    if history.open_positions:
        rows = [
            (
                escape(p.symbol),
                escape(p.task_id),
                escape(_time(p.opened_at)) if p.opened_at is not None else "unknown",
                escape(f"{p.qty:g} {_base(p.symbol)}"),
                _money_cell(p.realized_usdt, 2),
                _money_cell(p.unrealized_usdt, 2) if p.unrealized_usdt is not None else "n/a",
            )
            for p in history.open_positions
        ]
        html += "<h3>Open positions</h3>" + _table(
            ("symbol", "task", "opened", "quantity", "realised (USDT)", "unrealised (USDT)"),
            rows,
            text_columns=2,
        )
    return html


def _equity(history: History) -> str:
    curve = equity_curve(history)
    if not curve or not (history.cycles or history.series or history.open_positions):
        return _empty()  # a flat line at 0 says less than words
    svg = charts.equity(
        [p.ts for p in curve],
        [p.equity for p in curve],
        [p.high_water for p in curve],
        span=_span(history),
        name="equity",
    )
    return _figure(
        "equity",
        svg,
        "Equity (closed cycles' P&L plus open positions at market, USDT) with its "
        "high-water mark; below, the drawdown from that mark.",
    )


def _symbols(history: History) -> str:
    symbols = sorted(set(history.series) | {t.symbol for t in history.cycles})
    if not symbols:
        return _empty()
    parts = []
    for symbol in symbols:
        points = history.series.get(symbol, [])
        mine = [t for t in history.cycles if t.symbol == symbol]
        settings = history.settings.get(symbol)
        name = f"entry-cost-{symbol}"
        ranges = history.pnl_pct_ranges.get(symbol) or [
            None if p.pnl_pct is None else (p.pnl_pct, p.pnl_pct) for p in points
        ]
        svg = charts.entry_cost(
            [p.ts for p in points],
            [p.entry_cost_pct for p in points],
            [math.nan if r is None else r[0] for r in ranges],
            [math.nan if r is None else r[1] for r in ranges],
            entry_threshold_pct=settings.max_entry_cost_pct if settings else None,
            exit_threshold_pct=settings.min_profit_pct if settings else None,
            entries=[
                (t.decided_at if t.decided_at is not None else t.entry_ts, t.entry_cost_pct)
                for t in mine
                if t.entry_cost_pct is not None
            ],
            exits=[(t.exit_ts, t.pnl_pct) for t in mine],
            span=_span(history),
            name=name,
        )
        thresholds = (
            f" Entry threshold {_pct(settings.max_entry_cost_pct)}, exit threshold "
            f"{_pct(settings.min_profit_pct)} of the entry."
            if settings
            else " No thresholds known (no task for it in the store)."
        )
        parts.append(
            f"<h3>{escape(symbol)}</h3>"
            + _figure(
                name,
                svg,
                f"{symbol}: entry cost (%) over time, entries marked; the open position's "
                f"P&L (% of its entry, lowest to highest), exits marked at their cycle's "
                f"P&L %.{thresholds}",
            )
        )
    return "".join(parts)


TERMS = (
    ("basis", "basis captured"),
    ("spot_fees", "spot fees"),
    ("futures_fees", "futures fees"),
    ("funding", "funding"),
    ("spot_slippage", "spot slippage"),
    ("futures_slippage", "futures slippage"),
)


def _terms(cycles: Sequence[TradeRecord]) -> list[tuple[str, float]]:
    """The decomposition of the cycles' P&L, costs negative, in :data:`TERMS`' order."""
    values = {
        "basis": sum(t.basis_usdt for t in cycles),
        "spot_fees": -sum(t.spot_fees_usdt for t in cycles),
        "futures_fees": -sum(t.futures_fees_usdt for t in cycles),
        "funding": sum(t.funding_usdt for t in cycles),
        "spot_slippage": sum(t.spot_slippage_usdt for t in cycles),
        "futures_slippage": sum(t.futures_slippage_usdt for t in cycles),
    }
    return [(label, values[key]) for key, label in TERMS]


def _cycles(history: History) -> str:
    cycles = history.cycles
    if not cycles:
        return _empty()
    total = sum(t.pnl_usdt for t in cycles)
    everything = _figure(
        "waterfall-all",
        charts.waterfall(
            _terms(cycles),
            total,
            title=f"All {len(cycles)} cycles",
            name="waterfall-all",
            small=False,
        ),
        f"All {len(cycles)} cycles' P&L ({_usdt(total)}) from the basis captured at the "
        "decision prices, less each leg's fees, plus funding and each leg's slippage "
        "against its decision prices.",
    )
    latest = cycles[-WATERFALLS:][::-1]
    small = []
    for t in latest:
        name = f"waterfall-{t.task_id}-{t.cycle}"
        svg = charts.waterfall(
            _terms([t]),
            t.pnl_usdt,
            title=f"{t.symbol} #{t.cycle} ({t.task_id})",
            name=name,
            small=True,
        )
        small.append(
            _figure(
                name,
                svg,
                f"Task {t.task_id}, cycle {t.cycle}, closed {_time(t.exit_ts)}: "
                f"{_usdt(t.pnl_usdt, 4)}",
                wide=False,
            )
        )
    shown, note = _limited(list(cycles), "cycles")
    rows = [
        (
            escape(_time(t.exit_ts)),
            escape(t.symbol),
            escape(t.task_id),
            escape(t.exit_reason),
            str(t.cycle),
            escape(_duration(t.exit_ts - t.entry_ts)),
            escape(f"{t.qty:g} {_base(t.symbol)}"),
            *(_money_cell(value) for _, value in _terms([t])),
            _money_cell(t.pnl_usdt),
            escape(_pct(t.pnl_pct)),
        )
        for t in reversed(shown)
    ]
    table = _table(
        (
            "closed",
            "symbol",
            "task",
            "exit reason",
            "cycle",
            "held",
            "quantity",
            *(f"{label} (USDT)" for _, label in TERMS),
            "P&L (USDT)",
            "P&L (% of entry)",
        ),
        rows,
        text_columns=4,
    )
    return (
        everything
        + f"<h3>The latest {len(latest)} cycles, newest first</h3>"
        + f'<div class="grid">{"".join(small)}</div>'
        + "<h3>Every term of every cycle, newest first</h3>"
        + note
        + table
    )


def _holding(history: History) -> str:
    seconds = list(holding_times(history))
    if not seconds:
        return _empty()
    return _figure(
        "holding-times",
        charts.holding_times(seconds, name="holding-times"),
        f"How long each of {len(seconds)} cycles held its position, entry to exit.",
    )


def _exits(history: History) -> str:
    counts = dict(exit_reasons(history))
    if not counts:
        return _empty()
    total = sum(counts.values())
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    table = _table(
        ("exit reason", "cycles", "share (%)"),
        [(escape(reason), str(n), f"{n / total * 100.0:.1f}") for reason, n in ordered],
        text_columns=1,
    )
    return (
        _figure(
            "exit-reasons",
            charts.exit_reasons(counts, name="exit-reasons"),
            f"Why each of {total} cycles ended.",
        )
        + table
    )


def _per_symbol(history: History) -> str:
    rows = list(symbol_rows(history))
    if not rows:
        return _empty()
    return _table(
        (
            "symbol",
            "cycles",
            "realised P&L (USDT)",
            "fees (USDT)",
            "funding (USDT)",
            "volume (USDT)",
            "win rate (%)",
            "average hold",
        ),
        [
            (
                escape(r.symbol),
                str(r.cycles),
                _money_cell(r.pnl_usdt, 2),
                f"{r.fees_usdt:,.2f}",
                _money_cell(r.funding_usdt, 2),
                f"{r.volume_usdt:,.2f}",
                f"{r.win_rate * 100.0:.1f}" if r.win_rate is not None else "n/a",
                escape(_duration(r.avg_holding_s)) if r.avg_holding_s is not None else "n/a",
            )
            for r in rows
        ],
        text_columns=1,
    )


def _incidents(history: History) -> str:
    incidents = history.incidents
    if not incidents:
        return _empty("No incidents in this window.")
    chart = _figure(
        "incidents",
        charts.incidents(
            [(i.ts, i.kind, i.level) for i in incidents], span=_span(history), name="incidents"
        ),
        "Alerts, quarantines, starts, restarts and crashes, risk-mode changes and the operator's "
        "actions over time, by kind, coloured by level.",
    )
    shown, note = _limited(list(incidents), "incidents")
    if history.window.symbol is not None and any(i.kind == "alert" for i in incidents):
        # An alert's record names no symbol (only its title may), so none is left out.
        note += (
            '<p class="note">Alerts are listed for every symbol: an alert records no '
            "symbol to choose them by.</p>"
        )
    table = _table(
        ("time", "kind", "level", "what"),
        [
            (escape(_time(i.ts)), escape(i.kind), escape(i.level), escape(i.text))
            for i in reversed(shown)
        ],
        text_columns=4,
    )
    return chart + note + table
