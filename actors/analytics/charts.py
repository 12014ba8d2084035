"""The report's charts, drawn by matplotlib as SVG text to put inline in the page.

The same input gives the same bytes: the Agg backend, figures of fixed size, no date in
the SVG's metadata, text as text (``svg.fonttype`` "none": no glyph outlines, which
depend on the fonts installed) and a fixed salt for the ids matplotlib makes. Each SVG
is made ready to sit in an HTML page beside others: no XML prologue, no fixed size (the
page's style scales it to its column), and its ids prefixed with the chart's name, so
that two charts' ids never meet in one document.

Every function takes plain numbers (Unix seconds for times) and the chart's ``name``.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg")  # no display, and the same drawing everywhere

from matplotlib import dates
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from actors.analytics.history import INCIDENT_KINDS

WIDTH_IN = 6.4
"""A chart's width (inches of 72 points; a cycle's waterfall, several to a row, is
narrower): drawn at about this size in the page, its text is the size of the page's."""

GAIN = "#2e7d32"
LOSS = "#c62828"
TOTAL = "#1565c0"
LINE = "#37474f"
THRESHOLD = "#ef6c00"
LEVEL_COLOURS = {"info": "#1565c0", "warning": "#ef6c00", "critical": "#c62828"}

MAX_POINTS = 1500
"""The most points a line is drawn with: a longer series is thinned to this for the
chart (days at one point a second would make an SVG of megabytes)."""

_STYLE = {
    "svg.hashsalt": "basis-report",
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9.0,
    "text.parse_math": False,  # a "$" in a symbol or a reason is text, not TeX
    "timezone": "UTC",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.formatter.useoffset": False,
}
_LEGEND_ABOVE = {
    "loc": "lower right",
    "bbox_to_anchor": (1.0, 1.0),
    "ncols": 3,
    "frameon": False,
    "borderaxespad": 0.1,
}
_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
_REFERENCE = re.compile(r'(?:href="#|url\(#)([^")]+)')
_ID = re.compile(r' id="([^"]+)"')


@contextmanager
def _figure(
    height_in: float, rows: int = 1, width_in: float = WIDTH_IN, **grid: object
) -> Iterator[tuple[Figure, list[Axes]]]:
    with matplotlib.rc_context(_STYLE):
        figure = Figure(figsize=(width_in, height_in), layout="constrained")
        axes = figure.subplots(rows, 1, squeeze=False, **grid)[:, 0]
        yield figure, list(axes)


def _svg(figure: Figure, name: str) -> str:
    """The figure as an SVG element for an HTML page (see the module's docstring)."""
    with matplotlib.rc_context(_STYLE):
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata=_METADATA)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    head_end = text.index(">")
    head = re.sub(r' (?:width|height|xmlns(?::xlink)?)="[^"]*"', "", text[:head_end])
    text = head + ' role="img"' + text[head_end:]
    text = text.replace("xlink:href=", "href=")
    referenced = set(_REFERENCE.findall(text))
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", name)

    def rename(match: re.Match[str]) -> str:
        found = match.group(1)
        return f' id="{prefix}-{found}"' if found in referenced else ""

    text = _ID.sub(rename, text)
    text = _REFERENCE.sub(lambda m: m.group(0).replace("#", f"#{prefix}-", 1), text)
    return text.strip()


def _days(ts: float) -> float:
    """Unix seconds as matplotlib's date numbers (days since 1970, its default epoch)."""
    return ts / 86400.0


def _marks(
    axes: Axes, points: Sequence[tuple[float, float]], marker: str, color: str, label: str
) -> None:
    """Events (time, value) marked over a line: entries or exits; nothing when none."""
    if points:
        axes.scatter(
            [_days(t) for t, _ in points],
            [v for _, v in points],
            marker=marker,
            color=color,
            zorder=3,
            label=label,
        )


def _time_axis(ax: Axes, span: tuple[float, float] | None) -> None:
    """Dates in UTC on ``ax``'s x axis, over ``span`` (Unix seconds) when given: every
    chart over time then shows the same stretch, and lines up with the others."""
    if span is not None and span[1] > span[0]:
        ax.set_xlim(_days(span[0]), _days(span[1]))
    locator = dates.AutoDateLocator(tz="UTC")
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator, tz="UTC"))


def _last(run: list[float]) -> float:
    return run[-1]


Reduce = Callable[[list[float]], float]


def _thin(ts: Sequence[float], *columns: tuple[Sequence[float], Reduce]) -> tuple[list[float], ...]:
    """At most :data:`MAX_POINTS` points: each run of consecutive points becomes its
    first time and, of each column, what its reducer makes of the run's values (the
    lowest entry cost is the best chance the run offered; the deepest drawdown must not
    be thinned away). NaN is a gap, kept only where the whole run is one."""
    if len(ts) <= MAX_POINTS:
        return (list(ts), *(list(values) for values, _ in columns))
    step = math.ceil(len(ts) / MAX_POINTS)
    out: tuple[list[float], ...] = ([], *([] for _ in columns))
    for start in range(0, len(ts), step):
        out[0].append(ts[start])
        for (values, reduce), column in zip(columns, out[1:], strict=True):
            run = [v for v in values[start : start + step] if not math.isnan(v)]
            column.append(reduce(run) if run else math.nan)
    return out


def equity(
    ts: Sequence[float],
    equity_usdt: Sequence[float],
    high_water_usdt: Sequence[float],
    *,
    span: tuple[float, float] | None,
    name: str,
) -> str:
    """The equity curve (closed cycles' P&L and open positions at market) with its
    high-water mark above, and the drawdown from that mark below."""
    with _figure(4.6, 2, sharex=True, height_ratios=[3, 1.4]) as (figure, (top, bottom)):
        x, equity_usdt, high_water_usdt, drawdown = _thin(
            [_days(t) for t in ts],
            (equity_usdt, _last),
            (high_water_usdt, _last),
            ([e - h for e, h in zip(equity_usdt, high_water_usdt, strict=True)], min),
        )
        top.step(x, equity_usdt, where="post", color=TOTAL, linewidth=1.4, label="equity")
        top.step(
            x,
            high_water_usdt,
            where="post",
            color=GAIN,
            linewidth=1.0,
            linestyle="--",
            label="high-water mark",
        )
        top.set_ylabel("P&L (USDT)")
        top.legend(**_LEGEND_ABOVE)
        bottom.fill_between(x, drawdown, 0.0, step="post", color=LOSS, alpha=0.35, linewidth=0)
        bottom.step(x, drawdown, where="post", color=LOSS, linewidth=0.8)
        bottom.set_ylabel("drawdown (USDT)")
        _time_axis(bottom, span)
        return _svg(figure, name)


def entry_cost(
    ts: Sequence[float],
    entry_cost_pct: Sequence[float],
    pnl_low_pct: Sequence[float],
    pnl_high_pct: Sequence[float],
    *,
    entry_threshold_pct: float | None,
    exit_threshold_pct: float | None,
    entries: Sequence[tuple[float, float]],
    exits: Sequence[tuple[float, float]],
    span: tuple[float, float] | None,
    name: str,
) -> str:
    """A symbol over time: above, what entering cost (%) against the entry threshold,
    entries marked; below, an open position's P&L (% of its entry) against the exit
    threshold, exits marked at their cycles' P&L %. Each point's P&L is the range it
    spanned, lowest to highest (the same where a point stands for one sample), drawn as
    a band: how far under water a position went shows as clearly as its best. NaN
    while flat."""
    with _figure(4.4, 2, sharex=True, height_ratios=[1, 1]) as (figure, (top, bottom)):
        x, cost, low, high = _thin(
            [_days(t) for t in ts], (entry_cost_pct, min), (pnl_low_pct, min), (pnl_high_pct, max)
        )
        top.plot(x, cost, color=LINE, linewidth=0.9, label="entry cost")
        if entry_threshold_pct is not None:
            top.axhline(
                entry_threshold_pct, color=THRESHOLD, linestyle="--", label="entry threshold"
            )
        _marks(top, entries, "^", GAIN, "entry")
        top.set_ylabel("entry cost (%)")
        top.legend(**_LEGEND_ABOVE)
        bottom.fill_between(x, low, high, color=TOTAL, alpha=0.3, linewidth=0)
        bottom.plot(x, high, color=TOTAL, linewidth=0.7, label="open position P&L (range)")
        bottom.plot(x, low, color=TOTAL, linewidth=0.7)
        if exit_threshold_pct is not None:
            bottom.axhline(
                exit_threshold_pct, color=THRESHOLD, linestyle="--", label="exit threshold"
            )
        _marks(bottom, exits, "v", LOSS, "exit")
        bottom.set_ylabel("P&L (% of entry)")
        bottom.legend(**_LEGEND_ABOVE)
        _time_axis(bottom, span)
        return _svg(figure, name)


def _amount(value: float) -> str:
    return f"{value:+,.2f}" if abs(value) >= 1.0 else f"{value:+.4f}"


def waterfall(
    terms: Sequence[tuple[str, float]], total: float, *, title: str, name: str, small: bool
) -> str:
    """Bars that step from zero through each term (USDT, a gain up, a cost down) to the
    total drawn from zero. ``small``: a cycle's, several to a row on a wide page."""
    width, height = (WIDTH_IN * 0.6, 2.8) if small else (WIDTH_IN, 3.4)
    with _figure(height, width_in=width) as (figure, (ax,)):
        labels = [label for label, _ in terms] + ["P&L"]
        bottoms, heights, colours = [], [], []
        level = 0.0
        for _, value in terms:
            bottoms.append(level)
            heights.append(value)
            colours.append(GAIN if value >= 0 else LOSS)
            level += value
        bottoms.append(0.0)
        heights.append(total)
        colours.append(TOTAL)
        positions = range(len(labels))
        ax.bar(positions, heights, bottom=bottoms, color=colours, width=0.7)
        for x, bottom, value in zip(positions, bottoms, heights, strict=True):
            ax.annotate(
                _amount(value),
                (x, bottom + value),
                xytext=(0, 2 if value >= 0 else -2),
                textcoords="offset points",
                ha="center",
                va="bottom" if value >= 0 else "top",
                fontsize=7,
            )
        # Limits of our own: a bar's edges are sticky, so margins alone would leave no
        # room for the value written above the highest bar.
        levels = [0.0, *(b + h for b, h in zip(bottoms, heights, strict=True)), *bottoms]
        low, high = min(levels), max(levels)
        pad = (high - low) * 0.15 or 1.0
        ax.set_ylim(low - pad, high + pad)
        ax.axhline(0.0, color=LINE, linewidth=0.6)
        ax.set_xticks(list(positions), labels, rotation=30, ha="right", fontsize=7)
        ax.set_ylabel("USDT")
        ax.set_title(title, fontsize=9)
        return _svg(figure, name)


def holding_times(seconds: Sequence[float], *, name: str) -> str:
    """How long cycles held their position: a histogram, in minutes or hours."""
    hours = max(seconds) >= 2 * 3600.0
    unit, scale = ("hours", 3600.0) if hours else ("minutes", 60.0)
    with _figure(3.2) as (figure, (ax,)):
        ax.hist([s / scale for s in seconds], bins=min(20, max(5, len(seconds))), color=TOTAL)
        ax.set_xlabel(f"holding time ({unit})")
        ax.set_ylabel("cycles")
        return _svg(figure, name)


def exit_reasons(counts: Mapping[str, int], *, name: str) -> str:
    """How many cycles ended for each reason, most frequent on top."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    with _figure(1.0 + 0.35 * len(ordered)) as (figure, (ax,)):
        labels = [reason for reason, _ in ordered][::-1]
        values = [count for _, count in ordered][::-1]
        ax.barh(labels, values, color=TOTAL)
        for y, value in enumerate(values):
            ax.annotate(
                f"{value}", (value, y), xytext=(3, 0), textcoords="offset points", va="center"
            )
        ax.set_xlabel("cycles")
        ax.margins(x=0.1)
        return _svg(figure, name)


def incidents(
    events: Sequence[tuple[float, str, str]],
    *,
    span: tuple[float, float] | None,
    name: str,
) -> str:
    """Incidents (time, kind, level) on a timeline, a row per kind, coloured by level;
    ``span``: the report's stretch of time, to show where in it they fell."""
    kinds = [k for k in INCIDENT_KINDS if any(kind == k for _, kind, _ in events)]
    kinds += sorted({kind for _, kind, _ in events} - set(kinds))
    with _figure(1.2 + 0.35 * len(kinds)) as (figure, (ax,)):
        groups = [
            (level, colour, [(ts, kind) for ts, kind, lvl in events if lvl == level])
            for level, colour in LEVEL_COLOURS.items()
        ]
        groups.append(
            ("other", LINE, [(ts, kind) for ts, kind, lvl in events if lvl not in LEVEL_COLOURS])
        )
        for label, colour, mine in groups:
            if mine:
                ax.scatter(
                    [_days(ts) for ts, _ in mine],
                    [kinds.index(kind) for _, kind in mine],
                    color=colour,
                    marker="|",
                    s=200,
                    linewidths=2,
                    label=label,
                )
        ax.set_yticks(range(len(kinds)), kinds)
        ax.set_ylim(-0.6, len(kinds) - 0.4)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        _time_axis(ax, span)
        return _svg(figure, name)
