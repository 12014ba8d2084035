"""What the stores write, as their tables' rows: the same for SQLite and PostgreSQL, whose
statements differ only in their dialect."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec

from protocols.history import FillRecord, FundingRecord, HistoryRecord, SeriesPoint
from protocols.messages import TradeRecord

if TYPE_CHECKING:
    from actors.runtime.persistence.store import IntentRecord, OrderEventRecord, SnapshotRecord

_encode_trade = msgspec.json.Encoder().encode


class HistoryRows(NamedTuple):
    """History records by table, each a row in the table's column order."""

    cycles: list[tuple[Any, ...]]
    fills: list[tuple[Any, ...]]
    funding: list[tuple[Any, ...]]
    points: list[tuple[Any, ...]]


def history_rows(records: Iterable[TradeRecord | HistoryRecord]) -> HistoryRows:
    rows = HistoryRows([], [], [], [])
    for r in records:
        kind = type(r)
        if kind is SeriesPoint:
            rows.points.append(
                (r.symbol, r.ts, r.entry_cost_pct, r.pnl_usdt, r.pnl_pct, r.unrealized_usdt)
            )
        elif kind is FillRecord:
            rows.fills.append(
                (
                    r.client_id, r.trade_id, r.task_id, r.cycle, r.symbol, r.venue, r.leg,
                    r.side, r.role, r.ts, r.qty, r.price, r.decision_price, r.fee_usdt,
                    r.commission, r.commission_asset,
                )
            )  # fmt: skip
        elif kind is FundingRecord:
            rows.funding.append(
                (r.task_id, r.ledger_id, r.ts, r.cycle, r.symbol, r.venue, r.amount_usdt)
            )
        else:
            assert kind is TradeRecord, f"not a history record: {r!r}"
            rows.cycles.append(
                (r.task_id, r.cycle, r.symbol, r.entry_ts, r.exit_ts, _encode_trade(r))
            )
    return rows


def snapshot_row(s: SnapshotRecord) -> tuple[Any, ...]:
    """``tasks``' columns: task id, type, symbol, state, snapshot, created, updated,
    completed (the snapshot's time, when it completes the task)."""
    return (
        s.task_id,
        s.task_type,
        s.symbol,
        s.state,
        s.snapshot,
        s.now,
        s.now,
        s.now if s.completed else None,
    )


def intent_row(i: IntentRecord) -> tuple[Any, ...]:
    """``orders``' columns of a new intent: client id, task id, venue, leg, symbol, side,
    quantity, price, created and updated (both its time); its status is ``pending``."""
    return (i.client_id, i.task_id, i.venue, i.leg, i.symbol, i.side, i.qty, i.price, i.now, i.now)


def folded_events(events: Iterable[OrderEventRecord]) -> dict[str, list[Any]]:
    """Client id -> what its events tell of the order, later events winning: status,
    venue order id, filled quantity, average price (``None`` where none told) and the
    last event's time."""
    folded: dict[str, list[Any]] = {}
    for e in events:
        told = folded.setdefault(e.client_id, [None, None, None, None, e.now])
        for index, value in enumerate((e.status, e.venue_order_id, e.filled_qty, e.avg_price)):
            if value is not None:
                told[index] = value
        told[4] = e.now
    return folded
