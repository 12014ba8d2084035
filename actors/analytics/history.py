"""What the store holds for analysis, read for a window of time and a symbol."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import attrs
import msgspec

from actors.runtime.persistence.store import StoreError
from protocols.history import FillRecord, FundingRecord, SeriesPoint
from protocols.messages import TradeRecord


@attrs.frozen
class Window:
    start: float | None = None
    end: float | None = None
    symbol: str | None = None


@attrs.frozen
class SymbolSettings:
    max_entry_cost_pct: float
    min_profit_pct: float
    max_hours: float


@attrs.frozen
class OpenPosition:
    task_id: str
    symbol: str
    opened_at: float | None
    qty: float
    realized_usdt: float
    unrealized_usdt: float | None


@attrs.frozen
class Incident:
    ts: float
    kind: str
    level: str
    text: str


@attrs.frozen
class History:
    window: Window
    cycles: list[TradeRecord]
    fills: list[FillRecord]
    funding: list[FundingRecord]
    series: dict[str, list[SeriesPoint]]
    settings: dict[str, SymbolSettings]
    open_positions: list[OpenPosition]
    incidents: list[Incident]


_decode_trade = msgspec.json.Decoder(TradeRecord).decode


def read_history(store_path: Path, window: Window) -> History:
    try:
        db = sqlite3.connect(f"{store_path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return _read(db, window)
        finally:
            db.close()
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{store_path}: not a Basis store with history ({error})") from None


def _inside(ts: float, symbol: str | None, window: Window) -> bool:
    return (
        (window.start is None or ts >= window.start)
        and (window.end is None or ts <= window.end)
        and (window.symbol is None or symbol is None or symbol == window.symbol)
    )


def _read(db: sqlite3.Connection, window: Window) -> History:
    cycles = sorted(
        (t for (r,) in db.execute("SELECT record FROM cycles") if (t := _decode_trade(r))),
        key=lambda t: (t.exit_ts, t.task_id, t.cycle),
    )
    cycles = [t for t in cycles if _inside(t.exit_ts, t.symbol, window)]
    fills = [
        f
        for row in db.execute("SELECT * FROM fills ORDER BY ts, client_id, trade_id")
        if _inside((f := _fill(row)).ts, f.symbol, window)
    ]
    funding = [
        f
        for row in db.execute(
            "SELECT task_id, cycle, symbol, venue, ledger_id, ts, amount_usdt FROM funding "
            "ORDER BY ts, task_id, ledger_id"
        )
        if _inside((f := FundingRecord(*row)).ts, f.symbol, window)
    ]
    series: dict[str, list[SeriesPoint]] = {}
    for row in db.execute("SELECT * FROM series ORDER BY symbol, ts"):
        point = SeriesPoint(*row)
        if _inside(point.ts, point.symbol, window):
            series.setdefault(point.symbol, []).append(point)
    settings: dict[str, SymbolSettings] = {}
    open_positions = []
    for task_id, symbol, snapshot, completed in db.execute(
        "SELECT task_id, symbol, snapshot, completed_at FROM tasks ORDER BY created_at"
    ):
        if window.symbol is not None and symbol != window.symbol:
            continue
        ctx = msgspec.json.decode(snapshot)
        params = ctx.get("params", {})
        settings[symbol] = SymbolSettings(
            params.get("max_entry_cost_pct", 0.5),
            params.get("min_profit_pct", 0.58),
            params.get("max_hours", 6.0),
        )
        qty = ctx.get("positions", {}).get("spot", {}).get("qty", 0.0)
        if completed is None and qty > 0:
            last = [p for p in series.get(symbol, []) if p.unrealized_usdt is not None]
            open_positions.append(
                OpenPosition(
                    task_id,
                    symbol,
                    ctx.get("position_opened_at"),
                    qty,
                    ctx.get("cycle", {}).get("realized_usdt", 0.0),
                    last[-1].unrealized_usdt if last else None,
                )
            )
    incidents = []
    for (body,) in db.execute("SELECT body FROM alert_outbox"):
        alert = msgspec.json.decode(body)
        incidents.append(Incident(alert["ts"], "alert", alert["severity"], alert["title"]))
    for ts, reason, symbol in db.execute("SELECT ts, reason, symbol FROM quarantine"):
        if window.symbol is None or symbol == window.symbol:
            incidents.append(Incident(ts, "quarantine", "critical", reason))
    runs = db.execute("SELECT started_at, stopped_at FROM runs ORDER BY id").fetchall()
    for number, (started, stopped) in enumerate(runs):
        incidents.append(Incident(started, "restart", "info", "Basis started"))
        if stopped is None and number + 1 < len(runs):
            incidents.append(Incident(runs[number + 1][0], "crash", "critical", "run crashed"))
    for mode, reason, since, set_by in db.execute(
        "SELECT mode, reason, since, set_by FROM risk_modes"
    ):
        incidents.append(Incident(since, "risk_mode", "warning", f"{mode}: {reason} ({set_by})"))
    for ts, action, symbol, result in db.execute(
        "SELECT ts, action, symbol, result FROM operator_actions"
    ):
        incidents.append(Incident(ts, "operator", "info", f"{action} {symbol or ''}: {result}"))
    incidents = sorted(
        (i for i in incidents if _inside(i.ts, None, window)), key=lambda i: (i.ts, i.kind, i.text)
    )
    return History(window, cycles, fills, funding, series, settings, open_positions, incidents)


def _fill(row: tuple) -> FillRecord:
    (client_id, trade_id, task_id, cycle, symbol, venue, leg, side, role, ts, qty, price,
     decision, fee, commission, asset) = row  # fmt: skip
    return FillRecord(
        task_id, cycle, symbol, venue, leg, side, role, client_id, trade_id, ts, qty, price,
        decision, fee, commission, asset,
    )  # fmt: skip
