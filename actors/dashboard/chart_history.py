"""What the entry-cost chart draws first: each symbol's series and the entries and exits
of a recent stretch of time, read from the system's store through a read-only connection
of its own (``read_only.py``: the writer goes on writing meanwhile), a SQLite file or a
PostgreSQL database alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from actors.runtime.persistence.read_only import read_only
from actors.runtime.persistence.source import StoreSource

CHART_POINTS = 1000
"""The most points a symbol's series is read as: a longer stretch is cut into this many
slices of equal time, each read as its last time and its lowest entry cost (the best
chance it offered)."""


class _Snapshot(msgspec.Struct):
    """The part of a strategy's stored context the marks need."""

    arbitrage_cycles: int = 0
    position_opened_at: float | None = None


_decode_snapshot = msgspec.json.Decoder(_Snapshot).decode


def read_chart_history(store: Path | StoreSource, since: float, until: float) -> dict[str, Any]:
    """``{"series": {symbol: [[ts, entry_cost_pct], ...]}, "marks": [{"symbol", "ts",
    "kind", "task_id", "cycle"}, ...]}`` from ``since`` on (Unix seconds), from the store
    ``store`` names (a path: the SQLite file there); marks by time. What the store's
    kind raises where it cannot be read (``read_only.READ_FAILURES``, or a
    :class:`~actors.runtime.persistence.store.StoreError` where a database cannot be
    reached)."""
    with read_only(store) as db:
        width = max((until - since) / CHART_POINTS, 1e-3)
        series: dict[str, list[list[float]]] = {}
        for symbol, ts, cost in db.rows(
            "SELECT symbol, max(ts), min(entry_cost_pct) FROM series WHERE ts >= ? "
            "GROUP BY symbol, floor((ts - ?) / ?) ORDER BY symbol, 2",
            (since, since, width),
        ):
            series.setdefault(symbol, []).append([ts, cost])
        marks = []
        for task_id, cycle, symbol, entry_ts, exit_ts in db.rows(
            "SELECT task_id, cycle, symbol, entry_ts, exit_ts FROM cycles "
            "WHERE exit_ts >= ? OR entry_ts >= ?",
            (since, since),
        ):
            if entry_ts >= since:
                marks.append(_mark(symbol, entry_ts, "entry", task_id, cycle))
            if exit_ts >= since:
                marks.append(_mark(symbol, exit_ts, "exit", task_id, cycle))
        for task_id, symbol, snapshot in db.rows(
            "SELECT task_id, symbol, snapshot FROM tasks WHERE completed_at IS NULL"
        ):
            try:
                ctx = _decode_snapshot(snapshot)
            except msgspec.DecodeError:
                continue  # a record that does not read is quarantined, not charted
            opened = ctx.position_opened_at
            if opened is not None and opened >= since:
                marks.append(_mark(symbol, opened, "entry", task_id, ctx.arbitrage_cycles + 1))
    marks.sort(key=lambda m: (m["ts"], m["task_id"], m["kind"]))
    return {"series": series, "marks": marks}


def _mark(symbol: str, ts: float, kind: str, task_id: str, cycle: int) -> dict[str, Any]:
    return {"symbol": symbol, "ts": ts, "kind": kind, "task_id": task_id, "cycle": cycle}
