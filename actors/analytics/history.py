"""What the store kept, for a window of time and optionally one symbol: the cycles that
closed in it with their fills and funding settlements, the series points recorded in
it, each symbol's thresholds, the positions open at its end (and what they filled and
settled before it), and the incidents in it.

The store, a SQLite file or a PostgreSQL database, is read through a read-only
connection of its own (``read_only.py``), so a report can be made beside running
instances and never changes what is stored. A PostgreSQL store is a cluster's: its
history is that of every instance sharing it, as one.

A cycle belongs to the window its exit falls in; a cycle that entered before the window's
end and exits after it (or has not exited) is a position open at the end. Times are Unix
seconds; a window is ``start <= ts < end``, either bound open when ``None``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import attrs
import msgspec

from actors.arbitrage.context import ArbitrageParams
from actors.runtime.persistence.read_only import READ_FAILURES, ReadOnly, read_only
from actors.runtime.persistence.source import (
    PostgresSource,
    SqliteSource,
    StoreSource,
    source_of,
)
from actors.runtime.persistence.store import StoreError
from protocols.history import FillRecord, FundingRecord, SeriesPoint
from protocols.messages import TradeRecord


@attrs.frozen
class Window:
    """The time span (``start <= ts < end``, Unix seconds, a bound ``None`` where open)
    and the symbol (``BTC/USDT``; ``None``: every symbol) a history is read for."""

    start: float | None = None
    end: float | None = None
    symbol: str | None = None


@attrs.frozen
class SymbolSettings:
    """A symbol's thresholds as its newest task was configured (``%`` as configured)."""

    max_entry_cost_pct: float
    min_profit_pct: float
    max_hours: float


@attrs.frozen
class OpenPosition:
    """A cycle open at the window's end: since when, how much (base units, the spot
    leg), what it has realised so far (fees paid, partial exits) and what closing the
    rest would have made at the last series point (``None``: no point was sampled)."""

    task_id: str
    symbol: str
    opened_at: float
    qty: float
    realized_usdt: float
    unrealized_usdt: float | None
    cycle: int | None = None
    """The cycle's number in its task (``None``: not known)."""


INCIDENT_KINDS = ("alert", "quarantine", "start", "restart", "crash", "risk_mode", "operator")
"""What an :class:`Incident` may be, in the order a timeline lists them: ``start`` is
the first run's start, ``restart`` a start after a clean stop, ``crash`` a start after a
run that had none."""


@attrs.frozen
class Incident:
    """Something on the timeline beside trading: an alert raised, a symbol quarantined
    or released, Basis (re)started or found to have crashed, the risk mode changed, an
    operator's action. ``level`` is ``info``, ``warning`` or ``critical``."""

    ts: float
    kind: str
    level: str
    text: str


@attrs.frozen
class History:
    """Everything read for a window. ``window`` is the span covered: the bounds asked
    for and, where one was left open, the earliest or latest time a cycle, fill,
    settlement, series point or open position records (both ``None`` only when there
    is none), with the symbol asked for."""

    window: Window
    cycles: list[TradeRecord]
    """Closed in the window, by exit time (then task and cycle number)."""
    fills: list[FillRecord]
    """The fills of the cycles that count: those closed in the window, whenever filled,
    and the open positions', filled before the window's end; by time."""
    funding: list[FundingRecord]
    """The settlements of the cycles that count, as the fills; by time."""
    series: dict[str, list[SeriesPoint]]
    """Each symbol's points in the window, by time; at most :data:`SERIES_POINTS` a
    symbol, each then standing for a stretch of the stored ones (see
    :func:`read_history`)."""
    settings: dict[str, SymbolSettings]
    open_positions: list[OpenPosition]
    incidents: list[Incident]
    pnl_pct_ranges: dict[str, list[tuple[float, float] | None]] = attrs.field(factory=dict)
    """Parallel to ``series``: the lowest and highest P&L % of the stored points each
    point stands for (``None``: flat throughout). A symbol missing here: each point
    stands for itself alone."""


SERIES_POINTS = 2000
"""The most series points read per symbol: a longer series (a day at one a second is
86,400 points) is read as this many stretches of equal time, each one point."""

_DEFAULTS = ArbitrageParams()


class _Params(msgspec.Struct, frozen=True):
    max_entry_cost_pct: float = _DEFAULTS.max_entry_cost_pct
    min_profit_pct: float = _DEFAULTS.min_profit_pct
    max_hours: float = _DEFAULTS.max_hours


class _Leg(msgspec.Struct, frozen=True):
    qty: float = 0.0


class _Positions(msgspec.Struct, frozen=True):
    spot: _Leg = _Leg()
    futures: _Leg = _Leg()


class _Cycle(msgspec.Struct, frozen=True):
    realized_usdt: float = 0.0


class _Snapshot(msgspec.Struct, frozen=True):
    """The part of a strategy's snapshot (an ``ArbitrageContext`` as JSON) a report
    reads; read leniently, so that a snapshot of any version gives what it has."""

    arbitrage_cycles: int = 0

    params: _Params = _Params()
    positions: _Positions = _Positions()
    cycle: _Cycle = _Cycle()
    position_opened_at: float | None = None


class _Alert(msgspec.Struct, frozen=True):
    ts: float
    severity: str
    title: str


_decode_snapshot = msgspec.json.Decoder(_Snapshot).decode
_decode_trade = msgspec.json.Decoder(TradeRecord).decode
_decode_alert = msgspec.json.Decoder(_Alert).decode

_RISK_MODE_LEVEL = {"active": "info", "reducing": "warning", "halted": "critical"}


def read_history(store: Path | StoreSource, window: Window = Window()) -> History:
    """The history of ``window`` in the store ``store`` names (a path: the SQLite file
    there); a :class:`StoreError` naming the store when there is none, it is not a Basis
    store, or it was written before the store kept the history of cycles."""
    db = _open(store)
    try:
        return _read(db, window)
    except (*READ_FAILURES, msgspec.DecodeError) as error:
        raise StoreError(
            f"{db.name}: not a usable Basis store ({_one_line(error)}); {_FIX[db.kind]}"
        ) from None
    finally:
        db.close()


def check_history_store(store: Path | StoreSource) -> None:
    """The :class:`StoreError` :func:`read_history` would raise for ``store`` if it is no
    store to report on, found without reading any history."""
    _open(store).close()


_FIX = {
    "sqlite": "point --data-dir at the data directory of a run or a backtest",
    "postgresql": "point --config at the config of the instances that keep their store there",
}
"""How to name another store, by kind of store."""


def _open(where: Path | StoreSource) -> ReadOnly:
    source = source_of(where)
    kind = "postgresql" if isinstance(source, PostgresSource) else "sqlite"
    fix = _FIX[kind]
    if isinstance(source, SqliteSource) and not source.path.is_file():
        raise StoreError(f"{source.name}: no Basis store there; {fix}")
    try:
        db = read_only(source)
    except sqlite3.DatabaseError as error:
        raise StoreError(
            f"{source.name}: cannot be read ({error}); check its permissions"
        ) from None
    try:
        version, tables = db.schema_version(), db.tables()
    except READ_FAILURES as error:
        db.close()
        raise StoreError(f"{db.name}: not a Basis store ({_one_line(error)}); {fix}") from None
    if "tasks" not in tables:
        db.close()
        raise StoreError(f"{db.name}: not a Basis store (no tasks table); {fix}")
    if version > db.latest_schema:
        db.close()
        raise StoreError(
            f"{db.name}: written by a newer Basis (schema {version}, this one knows "
            f"{db.latest_schema}); upgrade Basis to report on it"
        )
    if "cycles" not in tables:
        db.close()
        raise StoreError(
            f"{db.name}: written by an older Basis, before the store kept the history of "
            "cycles, so there is nothing to report; a run of this Basis records it"
        )
    return db


def _one_line(error: Exception) -> str:
    """What ``error`` says, on one line (a server's message may take several)."""
    return " ".join(str(error).split())


def _within(column: str, window: Window) -> tuple[str, list[object]]:
    """The SQL condition choosing the window's rows by ``column`` (a time) and symbol."""
    terms, args = ["TRUE"], []
    if window.start is not None:
        terms.append(f"{column} >= ?")
        args.append(window.start)
    if window.end is not None:
        terms.append(f"{column} < ?")
        args.append(window.end)
    if window.symbol is not None:
        terms.append("symbol = ?")
        args.append(window.symbol)
    return " AND ".join(terms), args


def _read(db: ReadOnly, window: Window) -> History:
    where, args = _within("exit_ts", window)
    cycles = sorted(
        (
            _decode_trade(record)
            for (record,) in db.rows(f"SELECT record FROM cycles WHERE {where}", args)
        ),
        key=lambda c: (c.exit_ts, c.task_id, c.cycle),
    )
    settings, open_positions, latest = _from_tasks(db, window)
    open_positions = sorted(
        _open_at_end(db, window) + open_positions, key=lambda p: (p.opened_at, p.task_id)
    )
    # What a window's figures count is its cycles: a cycle closed in it brings all its
    # fills and settlements (entered before the window, it still paid its entry fees),
    # an open one those before the window's end, so fees, funding and P&L add up.
    closed = {(c.task_id, c.cycle) for c in cycles}
    still_open = [
        (p.task_id, p.cycle)
        for p in open_positions
        if p.cycle is not None and (p.task_id, p.cycle) not in closed
    ]
    fills = sorted(
        _of_closed(db, _FILLS, window) + _of_open(db, _FILLS, still_open, window.end),
        key=lambda f: (f.ts, f.client_id, f.trade_id),
    )
    funding = sorted(
        _of_closed(db, _FUNDING, window) + _of_open(db, _FUNDING, still_open, window.end),
        key=lambda f: (f.ts, f.task_id, f.ledger_id),
    )
    where, args = _within("ts", window)
    series, pnl_pct_ranges, series_bounds = _series(db, where, args)
    times = [t for c in cycles for t in (c.entry_ts, c.exit_ts)]
    times += [f.ts for f in fills] + [f.ts for f in funding]
    times += series_bounds
    times += [p.opened_at for p in open_positions] + latest
    return History(
        window=_covered(window, times),
        cycles=cycles,
        fills=fills,
        funding=funding,
        series=series,
        settings=settings,
        open_positions=open_positions,
        incidents=_incidents(db, window),
        pnl_pct_ranges=pnl_pct_ranges,
    )


_FILLS = (
    FillRecord,
    "SELECT task_id, cycle, symbol, venue, leg, side, role, client_id, trade_id, ts, qty, "
    "price, decision_price, fee_usdt, commission, commission_asset FROM fills",
)
_FUNDING = (
    FundingRecord,
    "SELECT task_id, cycle, symbol, venue, ledger_id, ts, amount_usdt FROM funding",
)


def _of_closed(db: ReadOnly, table: tuple[type, str], window: Window) -> list:
    """The rows of ``table`` (a record type and its query) of the cycles that closed in
    ``window``, whenever they were recorded; in one pass over the table."""
    kind, query = table
    where, args = _within("exit_ts", window)
    query += f" WHERE (task_id, cycle) IN (SELECT task_id, cycle FROM cycles WHERE {where})"
    return [kind(*row) for row in db.rows(query, args)]


def _of_open(
    db: ReadOnly, table: tuple[type, str], keys: list[tuple[str, int]], until: float | None
) -> list:
    """The rows of ``table`` of the cycles ``keys`` (task id, cycle number: the positions
    open at the window's end, one at most a task), before ``until`` where given."""
    if not keys:
        return []
    kind, query = table
    query += f" WHERE (task_id, cycle) IN (VALUES {', '.join(['(?, ?)'] * len(keys))})"
    args: list[object] = [part for key in keys for part in key]
    if until is not None:
        query += " AND ts < ?"
        args.append(until)
    return [kind(*row) for row in db.rows(query, args)]


_BUCKETED = """
    WITH stretches AS (
        SELECT ts, entry_cost_pct, pnl_pct, floor((ts - ?) / ?) AS stretch
        FROM series WHERE symbol = ? AND ts >= ? AND ts <= ?
    ), buckets AS (
        SELECT max(ts) AS last, min(entry_cost_pct) AS cost, min(pnl_pct) AS low,
            max(pnl_pct) AS high
        FROM stretches
        GROUP BY CASE WHEN stretch < ? THEN stretch ELSE ? END
    )
    SELECT b.last, b.cost, s.pnl_usdt, s.pnl_pct, s.unrealized_usdt, b.low, b.high
    FROM buckets AS b JOIN series AS s ON s.symbol = ? AND s.ts = b.last
    ORDER BY b.last
"""


def _series(
    db: ReadOnly, where: str, args: list[object]
) -> tuple[dict[str, list[SeriesPoint]], dict[str, list[tuple[float, float] | None]], list[float]]:
    """Each symbol's series in the window, at most :data:`SERIES_POINTS` points: a longer
    one is cut into that many stretches of equal time, each read as one point at its
    last stored time with the stretch's lowest entry cost (the best chance it offered)
    and its last point's P&L (what the position was worth as the stretch ended, so the
    equity curve passes through true values, and the last point before the window's
    end is exact), beside the stretch's lowest and highest P&L % (how far the position
    went either way in it). The store does the thinning: a report over days at one
    point a second never holds them all. Also the first and last stored times of each
    symbol's points."""
    series: dict[str, list[SeriesPoint]] = {}
    ranges: dict[str, list[tuple[float, float] | None]] = {}
    spans = sorted(
        db.rows(
            f"SELECT symbol, min(ts), max(ts), count(*) FROM series WHERE {where} GROUP BY symbol",
            args,
        )
    )
    bounds = [t for _, first, last, _ in spans for t in (first, last)]
    last_stretch = SERIES_POINTS - 1
    for symbol, first, last, count in spans:
        if count <= SERIES_POINTS:
            rows = db.rows(
                "SELECT ts, entry_cost_pct, pnl_usdt, pnl_pct, unrealized_usdt, pnl_pct, "
                "pnl_pct FROM series WHERE symbol = ? AND ts >= ? AND ts <= ? ORDER BY ts",
                (symbol, first, last),
            )
        else:
            width = (last - first) / SERIES_POINTS
            rows = db.rows(
                _BUCKETED,
                (first, width, symbol, first, last, last_stretch, last_stretch, symbol),
            )
        points, lows_highs = [], []
        for ts, cost, pnl, pct, unrealized, low, high in rows:
            points.append(SeriesPoint(symbol, ts, cost, pnl, pct, unrealized))
            lows_highs.append(None if low is None else (low, high))
        series[symbol], ranges[symbol] = points, lows_highs
    return series, ranges, bounds


def _covered(window: Window, times: list[float]) -> Window:
    """``window`` with an open bound set to the earliest or latest of ``times``, never
    past the other bound (a window asked to start after the last record ends where it
    starts, and one asked to end before the first starts where it ends)."""
    start, end = window.start, window.end
    if start is None and times:
        start = min(times) if end is None else min(end, min(times))
    if end is None and times:
        end = max(times) if start is None else max(start, max(times))
    return Window(start, end, window.symbol)


def _from_tasks(
    db: ReadOnly, window: Window
) -> tuple[dict[str, SymbolSettings], list[OpenPosition], list[float]]:
    """Each symbol's settings (its newest task's), the positions the active tasks hold
    that were open at the window's end, and when those tasks were last saved (so an open
    window reaches the last time anything was known of them)."""
    settings: dict[str, SymbolSettings] = {}
    positions: list[OpenPosition] = []
    saved: list[float] = []
    query = "SELECT created_at, task_id, symbol, snapshot, updated_at, completed_at FROM tasks"
    args: list[object] = []
    if window.symbol is not None:
        query += " WHERE symbol = ?"
        args.append(window.symbol)
    for _, task_id, symbol, snapshot, updated_at, completed_at in sorted(db.rows(query, args)):
        try:
            ctx = _decode_snapshot(snapshot)
        except msgspec.DecodeError:
            continue  # a record that could not be read is quarantined, not reported on
        settings[symbol] = SymbolSettings(
            ctx.params.max_entry_cost_pct, ctx.params.min_profit_pct, ctx.params.max_hours
        )
        opened = ctx.position_opened_at
        holds = ctx.positions.spot.qty > 0 or ctx.positions.futures.qty > 0
        if completed_at is not None or opened is None or not holds:
            continue
        if window.end is not None and opened >= window.end:
            continue
        saved.append(updated_at)
        point = _last_pnl_point(db, symbol, opened, window.end)
        realized = ctx.cycle.realized_usdt
        unrealized = None
        if point is not None:
            realized, unrealized = point
        positions.append(
            OpenPosition(
                task_id,
                symbol,
                opened,
                ctx.positions.spot.qty,
                realized,
                unrealized,
                ctx.arbitrage_cycles + 1,  # the cycle under way
            )
        )
    return settings, positions, saved


def _open_at_end(db: ReadOnly, window: Window) -> list[OpenPosition]:
    """Cycles that entered before the window's end and exited after it."""
    if window.end is None:
        return []
    query = "SELECT record FROM cycles WHERE entry_ts < ? AND exit_ts >= ?"
    args: list[object] = [window.end, window.end]
    if window.symbol is not None:
        query += " AND symbol = ?"
        args.append(window.symbol)
    found = []
    for (record,) in db.rows(query, args):
        trade = _decode_trade(record)
        realized, unrealized = _last_pnl_point(db, trade.symbol, trade.entry_ts, window.end) or (
            0.0,
            None,
        )
        found.append(
            OpenPosition(
                trade.task_id,
                trade.symbol,
                trade.entry_ts,
                trade.qty,
                realized,
                unrealized,
                trade.cycle,
            )
        )
    return found


def _last_pnl_point(
    db: ReadOnly, symbol: str, since: float, until: float | None
) -> tuple[float, float | None] | None:
    """What the last series point of ``symbol`` from ``since`` to before ``until``
    with a position open says was realised and unrealised then."""
    query = "SELECT pnl_usdt, unrealized_usdt FROM series WHERE symbol = ? AND ts >= ?"
    args: list[object] = [symbol, since]
    if until is not None:
        query += " AND ts < ?"
        args.append(until)
    row = db.first(query + " AND pnl_usdt IS NOT NULL ORDER BY ts DESC LIMIT 1", args)
    if row is None:
        return None
    pnl, unrealized = row
    return pnl - (unrealized or 0.0), unrealized


def _incidents(db: ReadOnly, window: Window) -> list[Incident]:
    found: list[Incident] = []
    for _, _, body in sorted(db.rows("SELECT created_at, id, body FROM alert_outbox")):
        try:
            alert = _decode_alert(body)
        except msgspec.DecodeError:
            continue
        found.append(Incident(alert.ts, "alert", alert.severity, alert.title))
    for ts, symbol, reason, resolved_at, resolution in db.rows(
        "SELECT ts, symbol, reason, resolved_at, resolution FROM quarantine ORDER BY id"
    ):
        if not _concerns(window, symbol):
            continue
        found.append(Incident(ts, "quarantine", "critical", f"{symbol or 'a task'}: {reason}"))
        if resolved_at is not None:
            text = f"{symbol} released from quarantine ({resolution})"
            found.append(Incident(resolved_at, "quarantine", "info", text))
    # A PostgreSQL store's runs are each instance's of a cluster; a SQLite store's, one's.
    instance = "instance" if db.kind == "postgresql" else "NULL"
    found += _runs(db.rows(f"SELECT {instance}, started_at, stopped_at FROM runs ORDER BY id"))
    for mode, reason, since, set_by in db.rows(
        "SELECT mode, reason, since, set_by FROM risk_modes ORDER BY id"
    ):
        level = _RISK_MODE_LEVEL.get(mode, "warning")
        found.append(Incident(since, "risk_mode", level, f"{mode} ({set_by}): {reason}"))
    for ts, action, symbol, result in db.rows(
        "SELECT ts, action, symbol, result FROM operator_actions ORDER BY id"
    ):
        if _concerns(window, symbol):
            what = f"{action} {symbol}" if symbol else action
            found.append(Incident(ts, "operator", "info", f"{what}: {result}"))
    inside = [
        i
        for i in found
        if (window.start is None or i.ts >= window.start)
        and (window.end is None or i.ts < window.end)
    ]
    return sorted(inside, key=lambda i: (i.ts, i.kind, i.text))


def _concerns(window: Window, symbol: str | None) -> bool:
    return window.symbol is None or symbol is None or symbol == window.symbol


def _runs(runs: Sequence[tuple[str | None, float, float | None]]) -> list[Incident]:
    """Each start of Basis (``runs``: each run's instance, start and clean stop, oldest
    first); a start after a run of the same instance with no clean stop is a crash
    found. Where several instances ran, each incident names its instance."""
    found = []
    last_stop: dict[str | None, float | None] = {}
    named = len({instance for instance, _, _ in runs}) > 1
    for instance, started_at, stopped_at in runs:
        if instance not in last_stop:
            incident = Incident(started_at, "start", "info", "started")
        elif last_stop[instance] is None:
            text = "restarted after a crash: the run before had no clean stop"
            incident = Incident(started_at, "crash", "critical", text)
        else:
            incident = Incident(started_at, "restart", "info", "restarted after a clean stop")
        if named:
            incident = attrs.evolve(incident, text=f"{instance}: {incident.text}")
        found.append(incident)
        last_stop[instance] = stopped_at
    return found
